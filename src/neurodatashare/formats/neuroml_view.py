"""NeuroML 2 read for views: a cell's segments as a formats/swc_view.py `Cell`, so the
morphology view draws models like reconstructions, and the networks' populations and
projections. Parsed as formats/neuroml.py parses (lxml, no entities, no network).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodatashare.formats.neuroml import NS, _local, _network_summary
from neurodatashare.formats.swc_view import Cell, from_points

# Segment group ids and segment names of libNeuroML's conventions (soma_group,
# dendrite_group, axon_group), and NeuroMorpho-like words, to SWC type codes
_WORDS = (("soma", 1), ("axon", 2), ("apical", 4), ("dend", 3), ("basal", 3))


def _root(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"The file is not well-formed XML: {exc}") from None
    if root.tag != f"{{{NS}}}neuroml":
        raise ValueError("The file is not NeuroML 2 (its root element is not <neuroml>).")
    return root


def _code(name: str | None) -> int | None:
    low = (name or "").lower()
    return next((code for word, code in _WORDS if word in low), None)


def _morphologies(root: Any) -> list[tuple[str, Any]]:
    """(cell id, morphology element) for each cell that has one, inline or by reference."""
    top = {el.get("id"): el for el in root if el.get("id") is not None}
    out = []
    for el in root:
        tag = _local(el.tag)
        if not (tag == "cell" or tag.endswith("Cell")):
            continue
        morph = el.find(f"{{{NS}}}morphology")
        if morph is None and el.get("morphology") in top:
            morph = top[el.get("morphology")]
        if morph is not None and morph.find(f"{{{NS}}}segment") is not None:
            out.append((str(el.get("id")), morph))
    return out


def _point(el: Any) -> tuple[float, float, float, float] | None:
    if el is None:
        return None
    try:
        x, y, z, d = (float(el.get(k)) for k in ("x", "y", "z", "diameter"))
    except (TypeError, ValueError):
        return None
    return x, y, z, d / 2


def read_cell(data: bytes, *, cell_id: str | None = None) -> Cell:
    """The segments of the cell `cell_id` (else the first cell with a morphology) as a point
    tree (a proximal and a distal point per segment; a segment without proximal starts at
    its parent's distal point), cut into sections."""
    root = _root(data)
    cells = _morphologies(root)
    if not cells:
        raise LookupError("The file has no cell with a morphology (segments) to draw.")
    chosen = next((m for c, m in cells if c == cell_id), None) if cell_id else cells[0][1]
    if chosen is None:
        names = ", ".join(c for c, _ in cells[:20])
        raise LookupError(f"No cell `{cell_id}` with a morphology; cells with one: {names}.")
    groups: dict[str, int] = {}
    for group in chosen.iter(f"{{{NS}}}segmentGroup"):
        code = _code(group.get("id"))
        if code is None:
            continue
        for member in group.iter(f"{{{NS}}}member"):
            groups.setdefault(str(member.get("segment")), code)
    xyz: list[tuple[float, float, float]] = []
    radius: list[float] = []
    types: list[int] = []
    parent: list[int] = []
    distal_of: dict[str, int] = {}
    pending: list[tuple[int, str]] = []  # (point, parent segment) resolved once all are read
    for seg in chosen.iter(f"{{{NS}}}segment"):
        sid = str(seg.get("id"))
        code = groups.get(sid) or _code(seg.get("name")) or 3
        up_el = seg.find(f"{{{NS}}}parent")
        up = None if up_el is None else str(up_el.get("segment"))
        distal = _point(seg.find(f"{{{NS}}}distal"))
        if distal is None:
            continue
        proximal = _point(seg.find(f"{{{NS}}}proximal"))
        first = len(xyz)
        if proximal is not None:
            xyz.append(proximal[:3])
            radius.append(proximal[3])
            types.append(code)
            parent.append(-1)
            xyz.append(distal[:3])
            radius.append(distal[3])
            types.append(code)
            parent.append(first)
        else:
            xyz.append(distal[:3])
            radius.append(distal[3])
            types.append(code)
            parent.append(-1)
        if up is not None:
            pending.append((first, up))
        distal_of[sid] = len(xyz) - 1
    for point, up in pending:
        parent[point] = distal_of.get(up, -1)
    return from_points(
        np.asarray(xyz, dtype=np.float64).reshape(-1, 3),
        np.asarray(radius, dtype=np.float64),
        np.asarray(types, dtype=np.int64),
        np.asarray(parent, dtype=np.int64),
        source="neuroml",
    )


def networks(data: bytes) -> list[dict[str, Any]]:
    """Each network's populations (id, component, size) and projections (pre, post,
    synapse, connections), as formats/neuroml.py summarises them."""
    root = _root(data)
    return [_network_summary(el) for el in root.iter(f"{{{NS}}}network")]
