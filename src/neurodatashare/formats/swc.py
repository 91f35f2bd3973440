"""Neuron morphologies: SWC (and Neurolucida `.asc`), strict with MorphIO, tolerant with
formats/swc_tolerant.py, morphometrics with NeuroM.

SWC has no registered media type; `text/x-swc` says it is text and which dialect family.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any, BinaryIO

import numpy as np

from neurodatashare.formats import swc_tolerant as tol
from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.formats.common import finding
from neurodatashare.validation.types import Severity

log = logging.getLogger("neurodatashare.formats.swc")

SHOLL_STEPS = 8  # radii per Sholl profile in the summary
MAX_MORPHIO_WARNINGS = 20
# MorphIO warnings the tolerant reader already reports in its own words
_COVERED = {"ZeroDiameter", "NoSomaFound", "DisconnectedNeurite"}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain(message: str) -> str:
    """MorphIO's message without terminal colours and its `$STRING$` stand-in file name."""
    text = _ANSI.sub("", message).replace("$STRING$:", "line ").replace(":error", ": error")
    return " ".join(text.split())[:500]


def _strict(text: str, extension: str) -> tuple[Any, list[dict[str, Any]], str | None]:
    """MorphIO's parse of the text: the morphology (None if refused), its warnings as
    findings, and the refusal message."""
    import morphio

    collector = morphio.WarningHandlerCollector()
    try:
        morph = morphio.Morphology(text, extension, warning_handler=collector)
    except morphio.MorphioError as exc:
        return None, [], _plain(str(exc))
    out: list[dict[str, Any]] = []
    by_kind: dict[str, list[int]] = {}
    for item in collector.get_all():
        kind = type(item.warning).__name__
        by_kind.setdefault(kind, []).append(int(getattr(item.warning, "line_number", 0)))
    for kind, lines in sorted(by_kind.items()):
        if kind in _COVERED or len(out) >= MAX_MORPHIO_WARNINGS:
            continue
        out.append(
            finding(
                Severity.INFO,
                f"swc.morphio.{kind}",
                f"MorphIO warns {kind}"
                + (f" at {tol._lines([n for n in lines if n > 0])}." if any(lines) else "."),
                "See MorphIO's warning list (doc/source/warnings.rst in MorphIO) for the fix.",
                object_path=f"line {lines[0]}" if lines and lines[0] > 0 else None,
            )
        )
    return morph, out, None


def _neurom_features(morph: Any) -> dict[str, Any]:
    """NeuroM's morphometrics per neurite type and for the whole cell."""
    import neurom
    from neurom import NeuriteType, features

    cell = neurom.load_morphology(morph)
    per_type: dict[str, dict[str, Any]] = {}
    for kind in (NeuriteType.axon, NeuriteType.basal_dendrite, NeuriteType.apical_dendrite):
        count = features.get("number_of_neurites", cell, neurite_type=kind)
        if not count:
            continue
        per_type[kind.name] = {
            "neurites": int(count),
            "total_length": round(float(features.get("total_length", cell, neurite_type=kind)), 3),
            "sections": int(features.get("number_of_sections", cell, neurite_type=kind)),
            "bifurcations": int(features.get("number_of_bifurcations", cell, neurite_type=kind)),
            "tips": int(features.get("number_of_leaves", cell, neurite_type=kind)),
        }
    orders = features.get("section_branch_orders", cell)
    return {
        "total_length": round(float(features.get("total_length", cell)), 3),
        "sections": int(features.get("number_of_sections", cell)),
        "bifurcations": int(features.get("number_of_bifurcations", cell)),
        "tips": int(features.get("number_of_leaves", cell)),
        "max_branch_order": int(max(orders, default=0)),
        "soma_radius": round(float(features.get("soma_radius", cell)), 3),
        "by_type": per_type,
    }


def _sholl_profile(tree: tol.Tree) -> dict[str, list[float] | list[int]]:
    centre = tol.soma_centre(tree)
    finite = tree.xyz[np.isfinite(tree.xyz).all(axis=1)]
    reach = float(np.linalg.norm(finite - centre, axis=1).max(initial=0.0)) if len(finite) else 0
    if reach <= 0:
        return {"radii": [], "crossings": []}
    radii = [round(reach * (i + 1) / (SHOLL_STEPS + 1), 3) for i in range(SHOLL_STEPS)]
    return {"radii": radii, "crossings": tol.sholl(tree, centre, radii)}


def analyse(text: str, *, extension: str) -> Processed:
    """One morphology's findings and description; `extension` is "swc" or "asc"."""
    morph, strict_findings, refusal = _strict(text, extension)
    results: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"dialect": extension, "strict_parse": refusal is None}
    tree = tol.parse(text) if extension == "swc" else None
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
            summary["morphometrics"] = _neurom_features(morph)
            summary["morphometrics_by"] = f"neurom {version('neurom')}"
        except Exception as exc:  # NeuroM refuses some trees MorphIO accepts
            log.info("NeuroM features failed: %s", exc)
            morph = None
        if extension == "asc":
            summary["points"] = len(morph.points) if morph is not None else 0
    if morph is None and tree is not None and len(tree):
        summary["morphometrics"] = tol.morphometrics(tree)
        summary["morphometrics_by"] = "tolerant reader"
    if tree is None and morph is None:
        return Processed(None, results, f"MorphIO could not read this file: {refusal}")
    meta = {"schemaKey": "BareAsset", "encodingFormat": SWC.media_type, "nds:summary": summary}
    return Processed(meta, results)


class SWCFormat:
    name = "swc"
    media_type = "text/x-swc"
    suffixes: tuple[str, ...] = (".swc", ".asc")
    version = "swc-1"
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes) -> bool:
        lower = path.lower()
        if lower.endswith(".swc"):
            return True
        # `.asc` is also plain ASCII data (EEG, GPS); a Neurolucida file opens with `;`
        # comments or a `(` expression
        return lower.endswith(".asc") and (not head or head.lstrip()[:1] in (b";", b"("))

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        reader.seek(0)
        text = reader.read().decode("utf-8", errors="replace")
        extension = "asc" if path.lower().endswith(".asc") else "swc"
        return analyse(text, extension=extension)

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["download"]


SWC = SWCFormat()
