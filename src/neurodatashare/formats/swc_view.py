"""Morphologies as sections for drawing: the 3D reconstruction, a dendrogram, a Sholl profile.

A `Cell` is the same for every source: points, their radii, and sections (unbranched runs
of points, each starting with its parent's last point so lines join up) with a neurite type
and a parent section. MorphIO gives sections directly (formats/swc.py's strict parse); the
tolerant reader (formats/swc_tolerant.py) and NeuroML segments (formats/neuroml_view.py)
give a tree of points, cut into sections here. The Sholl profile is counted on a point
tree with the function and centre of the summary's profile, so the two agree.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodatashare.formats import swc_tolerant as tol
from neurodatashare.formats.swc_strict import _strict

MAX_POINTS = 100_000  # drawn at full detail; longer reconstructions are decimated
MAX_RADII = 1_000  # radii in one Sholl profile
SOMA = tol.SOMA
# One trace per kind keeps plotly fast; labels 0 and 5+ are drawn together as `custom`.
KINDS = {1: "soma", 2: "axon", 3: "basal", 4: "apical"}
KIND_ORDER = ("soma", "axon", "basal", "apical", "custom")


def kind_of(code: int) -> str:
    return KINDS.get(int(code), "custom")


@dataclass
class Cell:
    points: np.ndarray  # (M, 3)
    radius: np.ndarray  # (M,)
    offsets: np.ndarray  # (S + 1,): section k is points[offsets[k]:offsets[k + 1]]
    types: np.ndarray  # (S,) SWC type codes
    parent: np.ndarray  # (S,) parent section, -1 for a root; a parent comes before its children
    source: str  # morphio, tolerant or neuroml
    units: str = "µm"
    note: str | None = None
    tree: tol.Tree | None = None  # the point tree the Sholl profile is counted on
    text: str | None = None  # SWC text, read by the tolerant reader when `tree` is needed

    @property
    def sections(self) -> int:
        return len(self.types)

    def order(self) -> np.ndarray:
        """Branch order per section: 0 for a neurite's first section, +1 below each fork."""
        forks = np.bincount(self.parent[self.parent >= 0], minlength=self.sections)
        order = np.zeros(self.sections, dtype=np.int64)
        for k in range(self.sections):
            up = self.parent[k]
            if up >= 0 and self.types[up] != SOMA:
                order[k] = order[up] + (1 if forks[up] >= 2 else 0)
        return order


def from_morphio(morph: Any, *, units: str) -> Cell:
    """MorphIO's sections, with its soma points as a first section of type soma."""
    points = np.asarray(morph.points, dtype=np.float64).reshape(-1, 3)
    radius = np.asarray(morph.diameters, dtype=np.float64) / 2
    offsets = np.asarray(morph.section_offsets, dtype=np.int64)
    types = np.asarray([int(t) for t in morph.section_types], dtype=np.int64)
    parent = np.full(len(types), -1, dtype=np.int64)
    for up, below in morph.connectivity.items():
        if up >= 0:
            parent[below] = up
    soma = np.asarray(morph.soma.points, dtype=np.float64).reshape(-1, 3)
    if len(soma):
        soma_r = np.asarray(morph.soma.diameters, dtype=np.float64) / 2
        points = np.concatenate([soma, points])
        radius = np.concatenate([soma_r, radius])
        offsets = np.concatenate([[0], offsets + len(soma)])
        types = np.concatenate([[SOMA], types])
        parent = np.concatenate([[-1], np.where(parent >= 0, parent + 1, -1)])
    return Cell(points, radius, offsets, types, parent, "morphio", units)


def from_points(
    xyz: np.ndarray, radius: np.ndarray, types: np.ndarray, parent: np.ndarray, *, source: str
) -> Cell:
    """Sections of a point tree (parent index per point, -1 for roots): a section starts at
    a root, below a fork, or where the type changes, and ends at a fork or a tip. Points
    that never reach a root (a cycle) are left out, since no walk from a root meets them."""
    n = len(xyz)
    has_parent = parent >= 0
    children = np.bincount(parent[has_parent], minlength=n) if n else np.zeros(0, np.int64)
    only_child = np.full(n, -1, dtype=np.int64)
    only_child[parent[has_parent]] = np.flatnonzero(has_parent)
    up = np.maximum(parent, 0)
    starts = ~has_parent | (children[up] != 1) | (types[up] != types)
    below: dict[int, list[int]] = {}
    for i in np.flatnonzero(starts & has_parent).tolist():
        below.setdefault(int(parent[i]), []).append(i)
    chain: list[int] = []
    offsets = [0]
    sec_types: list[int] = []
    sec_parent: list[int] = []
    queue: deque[tuple[int, int]] = deque((int(r), -1) for r in np.flatnonzero(~has_parent))
    nxt = only_child.tolist()
    is_start = starts.tolist()
    while queue:
        first, up_section = queue.popleft()
        if up_section >= 0:
            chain.append(int(parent[first]))  # the parent's point, so the line joins up
        i = first
        while True:
            chain.append(i)
            j = nxt[i]
            if j < 0 or is_start[j]:
                break
            i = j
        me = len(sec_types)
        sec_types.append(int(types[first]))
        sec_parent.append(up_section)
        offsets.append(len(chain))
        for child in below.get(i, ()):
            queue.append((child, me))
    index = np.asarray(chain, dtype=np.int64)
    return Cell(
        points=xyz[index] if len(index) else np.zeros((0, 3)),
        radius=radius[index] if len(index) else np.zeros(0),
        offsets=np.asarray(offsets, dtype=np.int64),
        types=np.asarray(sec_types, dtype=np.int64),
        parent=np.asarray(sec_parent, dtype=np.int64),
        source=source,
    )


def from_tolerant(tree: tol.Tree) -> Cell:
    cell = from_points(tree.xyz, tree.radius, tree.types, tree.parent, source="tolerant")
    cell.units, cell.tree = tol.units(tree), tree
    return cell


def read_swc(text: str, *, extension: str) -> Cell:
    """MorphIO's sections when it reads the file, else the tolerant reader's points."""

    morph, _, refusal = _strict(text, extension)
    if morph is not None:
        cell = from_morphio(morph, units="µm")
        span = float(np.ptp(cell.points, axis=0).max()) if len(cell.points) else 0.0
        cell.units = "nm" if span > tol.NM_EXTENT else "µm"  # tol.units' rule
        # the tolerant rows only for a Sholl profile: reading them costs more than MorphIO
        cell.text = text if extension == "swc" else None
        return cell
    tree = tol.parse(text) if extension == "swc" else None
    if tree is None:
        raise ValueError(f"MorphIO could not read this file: {refusal}")
    cell = from_tolerant(tree)
    cell.note = f"MorphIO refuses the file ({refusal}); drawn from the tolerant reader's rows."
    return cell


def point_tree(cell: Cell) -> tol.Tree:
    """The cell as a point tree (each section's first point under its parent's last)."""
    if cell.tree is None and cell.text is not None:
        cell.tree = tol.parse(cell.text)
    if cell.tree is not None:
        return cell.tree
    m = len(cell.points)
    parent = np.arange(-1, m - 1, dtype=np.int64)
    sec_types = np.repeat(cell.types, np.diff(cell.offsets))
    firsts = cell.offsets[:-1]
    ups = cell.parent
    parent[firsts] = np.where(ups >= 0, cell.offsets[1:][np.maximum(ups, 0)] - 1, -1)
    return tol.Tree(
        ids=np.arange(1, m + 1),
        types=sec_types,
        xyz=cell.points,
        radius=cell.radius,
        parent=parent,
        lines=np.zeros(m, dtype=np.int64),
    )


# -- the payloads ---------------------------------------------------------------------------


def _floats(values: np.ndarray, digits: int = 3) -> str:
    """A JSON list of numbers, NaN as null (plotly breaks a line at null)."""
    text = json.dumps(np.round(values, digits).tolist(), separators=(",", ":"))
    return text.replace("NaN", "null")


def _kept(cell: Cell, step: int) -> np.ndarray:
    """Per point: kept when drawing every `step`-th point of each section (and its ends)."""
    lengths = np.diff(cell.offsets)
    pos = np.arange(len(cell.points)) - np.repeat(cell.offsets[:-1], lengths)
    last = np.repeat(lengths - 1, lengths)
    return (pos % step == 0) | (pos == last)


def drawing(cell: Cell, *, radii: bool = False) -> str:
    """The reconstruction as JSON: per kind one trace of x, y, z with null between sections,
    and per section its point count (`lengths`) and branch order, for colouring."""
    # the reconstruction's own points: each joined section repeats its parent's last point
    total = len(cell.points) - int((cell.parent >= 0).sum())
    step = max(1, math.ceil(total / MAX_POINTS))
    keep = _kept(cell, step) if step > 1 else np.ones(len(cell.points), dtype=bool)
    order = cell.order()
    kinds = np.asarray([kind_of(t) for t in cell.types.tolist()], dtype=object)
    sec_of_point = np.repeat(np.arange(cell.sections), np.diff(cell.offsets))
    traces = []
    drawn = 0
    for kind in KIND_ORDER:
        mine = np.flatnonzero(kinds == kind)
        if not len(mine):
            continue
        in_kind = keep & np.isin(sec_of_point, mine)
        idx = np.flatnonzero(in_kind)
        counts = np.bincount(sec_of_point[idx], minlength=cell.sections)[mine]
        # a null after each section: place the points, leaving one slot per section
        slots = np.arange(len(idx)) + np.repeat(np.arange(len(mine)), counts)
        width = len(idx) + len(mine)
        coords = np.full((width, 3), np.nan)
        coords[slots] = cell.points[idx]
        parts = [
            f'"type":"{kind}"',
            f'"sections":{len(mine)}',
            f'"x":{_floats(coords[:, 0])}',
            f'"y":{_floats(coords[:, 1])}',
            f'"z":{_floats(coords[:, 2])}',
            f'"lengths":{json.dumps(counts.tolist())}',
            f'"order":{json.dumps(order[mine].tolist())}',
        ]
        if radii:
            r = np.full(width, np.nan)
            r[slots] = cell.radius[idx]
            parts.append(f'"r":{_floats(r)}')
        traces.append("{" + ",".join(parts) + "}")
        drawn += len(idx)
    head = {
        "source": cell.source,
        "units": cell.units,
        "points": total,
        "sections": cell.sections,
        "drawn_points": drawn,
        "decimated": step > 1,
        "decimation": step,
        "max_order": int(order.max(initial=0)),
        "bounds": bounds(cell.points),
        "note": cell.note,
    }
    return json.dumps(head, ensure_ascii=False)[:-1] + ',"traces":[' + ",".join(traces) + "]}"


def bounds(points: np.ndarray) -> dict[str, list[float]]:
    finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
    if not len(finite):
        return {"min": [0.0, 0.0, 0.0], "max": [0.0, 0.0, 0.0]}
    return {
        "min": [round(float(v), 3) for v in finite.min(axis=0)],
        "max": [round(float(v), 3) for v in finite.max(axis=0)],
    }


def dendrogram(cell: Cell) -> dict[str, Any]:
    """Neurite sections laid out with x by tree order (tips side by side, a fork midway over
    its children) and y by path distance from the neurite's start, as line segments: per
    kind, x and y with null between sections."""
    neurite = cell.types != SOMA
    steps = np.linalg.norm(np.diff(cell.points, axis=0), axis=1) if len(cell.points) > 1 else []
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    length = cumulative[cell.offsets[1:] - 1] - cumulative[cell.offsets[:-1]]
    s = cell.sections
    up = [int(p) if p >= 0 and neurite[p] else -1 for p in cell.parent.tolist()]
    kids: list[list[int]] = [[] for _ in range(s)]
    for k in range(s):
        if neurite[k] and up[k] >= 0:
            kids[up[k]].append(k)
    y0 = np.zeros(s)
    y1 = np.zeros(s)
    for k in range(s):  # parents come first
        y0[k] = y1[up[k]] if up[k] >= 0 else 0.0
        y1[k] = y0[k] + length[k]
    x = np.zeros(s)
    leaves = 0
    for root in (k for k in range(s) if neurite[k] and up[k] < 0):
        stack, seen = [root], []
        while stack:
            k = stack.pop()
            seen.append(k)
            if not kids[k]:
                x[k] = leaves
                leaves += 1
            stack.extend(reversed(kids[k]))
        for k in reversed(seen):
            if kids[k]:
                x[k] = float(np.mean(x[kids[k]]))
    traces = []
    for kind in KIND_ORDER:
        mine = [k for k in range(s) if neurite[k] and kind_of(cell.types[k]) == kind]
        if not mine:
            continue
        xs: list[float | None] = []
        ys: list[float | None] = []
        for k in mine:
            corner = x[up[k]] if up[k] >= 0 else x[k]
            xs += [float(corner), float(x[k]), float(x[k]), None]
            ys += [round(float(y0[k]), 3), round(float(y0[k]), 3), round(float(y1[k]), 3), None]
        traces.append({"type": kind, "sections": len(mine), "x": xs, "y": ys})
    return {
        "units": cell.units,
        "sections": int(neurite.sum()),
        "leaves": leaves,
        "max_path": round(float(y1.max(initial=0.0)), 3),
        "traces": traces,
    }


def sholl(cell: Cell, *, step: float | None, default_steps: int) -> dict[str, Any]:
    """Crossings per radius around the soma centre (formats/swc_tolerant.py's `sholl`). With
    no step, the summary's radii: `default_steps` radii evenly up to the farthest point."""
    tree = point_tree(cell)
    centre = tol.soma_centre(tree)
    finite = tree.xyz[np.isfinite(tree.xyz).all(axis=1)]
    reach = float(np.linalg.norm(finite - centre, axis=1).max(initial=0.0)) if len(finite) else 0
    if reach <= 0:
        radii: list[float] = []
    elif step is None:
        radii = [round(reach * (i + 1) / (default_steps + 1), 3) for i in range(default_steps)]
    else:
        count = int(reach // step)
        if count > MAX_RADII:
            raise ValueError(
                f"A step of {step:g} {cell.units} gives {count:,} radii out to the farthest "
                f"point at {reach:,.1f} {cell.units}; at most {MAX_RADII:,} are counted: "
                f"use a step of at least {reach / MAX_RADII:.3g}."
            )
        radii = [round(step * (i + 1), 6) for i in range(count)]
    return {
        "units": cell.units,
        "centre": [round(float(v), 3) for v in centre],
        "reach": round(reach, 3),
        "step": step,
        "radii": radii,
        "crossings": tol.sholl(tree, centre, radii) if radii else [],
    }
