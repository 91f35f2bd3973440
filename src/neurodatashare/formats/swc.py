"""Neuron morphologies: SWC (and Neurolucida `.asc`), strict with MorphIO, tolerant with
formats/swc_tolerant.py, morphometrics by NeuroM's definitions.

SWC has no registered media type; `text/x-swc` says it is text and which dialect family.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from neurodatashare.formats import swc_accepted, swc_binary, swc_view
from neurodatashare.formats import swc_tolerant as tol
from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.formats.common import finding
from neurodatashare.formats.swc_accepted import section_parents
from neurodatashare.formats.swc_strict import _strict_parse
from neurodatashare.validation.types import Severity

log = logging.getLogger("neurodatashare.formats.swc")

SHOLL_STEPS = 8  # radii per Sholl profile in the summary


def _depths(parent: np.ndarray) -> np.ndarray:
    """Sections above each section (its branch order), by pointer jumping."""
    depth = (parent >= 0).astype(np.int64)
    up = parent.copy()
    while (up >= 0).any():
        has = up >= 0
        at = np.where(has, up, 0)
        depth = np.where(has, depth + depth[at], depth)
        up = np.where(has, up[at], -1)
    return depth


def _morphometrics(morph: Any, parent: np.ndarray | None = None) -> dict[str, Any]:
    """NeuroM's morphometrics (its definitions: a section's length is the path length of
    its points; tips are sections without children, bifurcations sections with two; the
    branch order counts the sections above), computed on MorphIO's arrays at once rather
    than by NeuroM's section-by-section Python, which takes 0.6 s for 7,500 sections.
    tests/test_format_swc.py checks the numbers against NeuroM's own."""
    import neurom

    offsets = np.asarray(morph.section_offsets)
    points = np.asarray(morph.points, dtype=np.float64)
    sections = len(offsets) - 1
    types = np.asarray(morph.section_types, dtype=np.int64)
    step = np.diff(points, axis=0)
    step = np.sqrt(np.einsum("ij,ij->i", step, step))
    inside = np.ones(len(step), dtype=bool)
    inside[offsets[1:-1] - 1] = False  # the step from one section's last point to the next's
    cumulative = np.concatenate([[0.0], np.cumsum(np.where(inside, step, 0.0))])
    length = cumulative[offsets[1:] - 1] - cumulative[offsets[:-1]]
    parent = section_parents(morph) if parent is None else parent
    children = np.bincount(parent[parent >= 0], minlength=sections)
    order = _depths(parent)
    per_type: dict[str, dict[str, Any]] = {}
    for code, name in ((2, "axon"), (3, "basal_dendrite"), (4, "apical_dendrite")):
        mine = types == code
        if not mine.any():
            continue
        per_type[name] = {
            "neurites": int((mine & (parent < 0)).sum()),
            "total_length": round(float(length[mine].sum()), 3),
            "sections": int(mine.sum()),
            "bifurcations": int((mine & (children == 2)).sum()),
            "tips": int((mine & (children == 0)).sum()),
        }
    return {
        "total_length": round(float(length.sum()), 3),
        "sections": sections,
        "bifurcations": int((children == 2).sum()),
        "tips": int((children == 0).sum()),
        "max_branch_order": int(order.max(initial=0)),
        "soma_radius": round(float(neurom.load_morphology(morph).soma.radius), 3),
        "by_type": per_type,
    }


@cache
def _neurom_version() -> str:
    return version("neurom")


def _sholl_profile(tree: tol.Tree) -> dict[str, list[float] | list[int]]:
    centre = tol.soma_centre(tree)
    finite = tree.xyz[np.isfinite(tree.xyz).all(axis=1)]
    reach = float(np.linalg.norm(finite - centre, axis=1).max(initial=0.0)) if len(finite) else 0
    if reach <= 0:
        return {"radii": [], "crossings": []}
    radii = [round(reach * (i + 1) / (SHOLL_STEPS + 1), 3) for i in range(SHOLL_STEPS)]
    return {"radii": radii, "crossings": tol.sholl(tree, centre, radii)}


def _asc_summary(morph: Any) -> dict[str, Any]:
    """What MorphIO's reading of a Neurolucida file tells (the tolerant reader is SWC's)."""
    points = np.asarray(morph.points, dtype=np.float64)
    soma = np.asarray(morph.soma.points, dtype=np.float64)
    every = np.concatenate([points, soma]) if len(soma) else points
    lo, hi = (every.min(axis=0), every.max(axis=0)) if len(every) else (np.zeros(3),) * 2
    extent = float((hi - lo).max()) if len(every) else 0.0
    return {
        "points": len(points) + len(soma),
        "soma": str(morph.soma_type).rsplit(".", 1)[-1],
        "units": "nm" if extent > tol.NM_EXTENT else "µm",
        "bounding_box": {
            "min": [round(float(v), 3) for v in lo],
            "max": [round(float(v), 3) for v in hi],
        },
    }


def analyse(text: str, *, extension: str) -> Processed:
    """One morphology's findings and description; `extension` is "swc" or "asc"."""
    morph, strict_findings, refusal, warned = _strict_parse(text, extension)
    results: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"dialect": extension, "strict_parse": refusal is None}
    # a file MorphIO reads without a warning is checked from its arrays (swc_accepted.py);
    # the tolerant reader, which parses the text again, only for the others
    quick = None
    parent = section_parents(morph) if morph is not None else None
    if extension == "swc" and parent is not None and not warned:
        quick = swc_accepted.describe(text, morph, parent=parent, sholl_steps=SHOLL_STEPS)
    tree = tol.parse(text) if extension == "swc" and quick is None else None
    if quick is not None:
        results += quick[0]
        summary |= quick[1]
    if tree is not None:
        results += tol.check(tree)
        if not len(tree):  # MorphIO accepts an empty file; there is nothing to describe
            return Processed(None, results, "The file has no SWC rows.")
        summary |= {
            "points": len(tree),
            "soma": tol.soma_form(tree),
            "labels": tol.labels(tree),
            "units": tol.units(tree),
            "trees": int((tree.parent < 0).sum()),
            "bounding_box": tol.bounding_box(tree),
            "sholl": _sholl_profile(tree),
        }
        if tree.header:
            summary["header"] = tree.header
    if refusal is not None:
        blocking = any(Severity.parse(r["severity"]) >= Severity.ERROR for r in results)
        results.append(
            finding(
                Severity.ERROR if tree is None or not len(tree) else Severity.WARNING,
                "swc.strict_parse",
                f"MorphIO refuses the file: {refusal.rstrip('.')}."
                + ("" if tree is None else " It was read by the tolerant reader instead."),
                "Fix the findings above"
                + ("" if blocking else " (MorphIO's message names the line)")
                + " so that MorphIO, NEURON and NeuroM can load it.",
            )
        )
    results += strict_findings
    if morph is not None:
        try:
            summary["morphometrics"] = _morphometrics(morph, parent)
            summary["morphometrics_by"] = f"neurom {_neurom_version()} definitions"
        except Exception as exc:  # NeuroM refuses some trees MorphIO accepts
            log.info("NeuroM features failed: %s", exc)
            morph = None
        if extension == "asc" and morph is not None:
            summary |= _asc_summary(morph)
    if morph is None and quick is not None:  # NeuroM refused a cell MorphIO read
        tree = tol.parse(text)
        tol.check(tree)  # marks rows on cycles, which the morphometrics leave out
    if morph is None and tree is not None and len(tree):
        summary["morphometrics"] = tol.morphometrics(tree)
        summary["morphometrics_by"] = "tolerant reader"
    if tree is None and morph is None:
        return Processed(None, results, f"MorphIO could not read this file: {refusal}")
    media = SWC.media_type if extension == "swc" else "text/x-neurolucida"
    meta = {"schemaKey": "BareAsset", "encodingFormat": media, "nds:summary": summary}
    return Processed(meta, results)


HEAD_BYTES = 64 * 1024  # what is read of an `.asc` file to tell whether it is Neurolucida
# the blocks of a Neurolucida file (MorphIO's dialect): a file MorphIO refuses is still taken
# for a broken morphology when it has one of them, and for plain text when it has none
_NEUROLUCIDA_BLOCK = re.compile(
    rb"\(\s*\"?(CellBody|Dendrite|Axon|Apical|Contour|ImageCoords|Sections|Thumbnail)\b",
    re.IGNORECASE,
)


def looks_like_neurolucida(head: bytes) -> bool:
    """Neurolucida's ASCII files start with `;` comments or a `(` expression."""
    return head.lstrip()[:1] in (b";", b"(")


def _plain_text(path: str) -> Processed:
    """An `.asc` file that is not a Neurolucida morphology (EEG, GPS or any other ASCII
    export): plain, as if no format had claimed it (`nds:format` says so)."""
    from neurodatashare.formats.plain import PLAIN

    meta = {
        "schemaKey": "BareAsset",
        "encodingFormat": PLAIN.media_type_for(path),
        "nds:format": PLAIN.name,
    }
    return Processed(meta, [])


DRAWING_KIND = "morphology"  # the 3D view's binary body (formats/swc_binary.py)


def drawing_producer() -> str:
    return f"swc-drawing-{swc_binary.VERSION}-morphio-{version('morphio')}"


def build_drawing(reader: BinaryIO, out: Any) -> dict[str, Any] | None:
    """The 3D view's body, made once by the pipeline, so that a page's first visit reads
    about 6 bytes a point instead of parsing the file (1-3 s for 100,000 points). The
    dialect is told from the bytes (no path here); the view uses the body only when it
    matches the one the path names (archive/morphology.py)."""
    reader.seek(0)
    data = reader.read()
    extension = "asc" if looks_like_neurolucida(data[:HEAD_BYTES]) else "swc"
    try:
        cell = swc_view.read_swc(data.decode("utf-8", errors="replace"), extension=extension)
    except ValueError as exc:  # nothing drawable: the view says why when asked
        Path(out).write_bytes(b"")
        return {"dialect": extension, "drawable": False, "reason": str(exc)[:200]}
    Path(out).write_bytes(swc_binary.encode(cell))
    return {"dialect": extension, "drawable": True, "points": len(cell.points)}


class SWCFormat:
    name = "swc"
    media_type = "text/x-swc"
    # `.asc` is also any ASCII export (EEG, GPS). The pipeline and the SQL filters pick
    # formats by path, so `.asc` is claimed by name (with first bytes given, only when they
    # look like Neurolucida), and `process` tells from the bytes: a file that is not
    # Neurolucida gets `nds:format` plain in its metadata, which the asset then shows
    suffixes: tuple[str, ...] = (".swc", ".asc")
    version = "swc-1"
    artifacts: Sequence[Artifact] = (Artifact(DRAWING_KIND, drawing_producer, build_drawing),)

    def claims(self, path: str, head: bytes) -> bool:
        lower = path.lower()
        if lower.endswith(".swc"):
            return True
        return lower.endswith(".asc") and (not head or looks_like_neurolucida(head))

    def media_type_for(self, path: str) -> str:
        return "text/x-neurolucida" if path.lower().endswith(".asc") else self.media_type

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        reader.seek(0)
        if not path.lower().endswith(".asc"):
            return analyse(reader.read().decode("utf-8", errors="replace"), extension="swc")
        head = reader.read(HEAD_BYTES)
        if not looks_like_neurolucida(head):
            return _plain_text(path)
        data = head + reader.read()
        done = analyse(data.decode("utf-8", errors="replace"), extension="asc")
        if done.metadata is None and not _NEUROLUCIDA_BLOCK.search(data):
            return _plain_text(path)
        return done

    def views(self, asset: dict[str, Any]) -> list[str]:
        if isinstance(asset, dict) and asset.get("nds:format") == "plain":
            return ["download"]  # an `.asc` that is not Neurolucida
        return ["download", "morphology", "dendrogram", "sholl", "summary"]


SWC = SWCFormat()
