"""MorphIO's strict parse of SWC and Neurolucida text, its warnings as findings.

Its own module so that the views (formats/swc_view.py) and the format (formats/swc.py),
which builds the views' drawing as an artifact, can both use it without importing each
other.
"""

from __future__ import annotations

import re
from typing import Any

from neurodatashare.formats import swc_tolerant as tol
from neurodatashare.formats.common import finding
from neurodatashare.validation.types import Severity

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
    morph, out, refusal, _warned = _strict_parse(text, extension)
    return morph, out, refusal


def _strict_parse(text: str, extension: str) -> tuple[Any, list[dict[str, Any]], str | None, bool]:
    """`_strict`, and whether MorphIO warned at all (its covered warnings included)."""
    import morphio

    collector = morphio.WarningHandlerCollector()
    try:
        morph = morphio.Morphology(text, extension, warning_handler=collector)
    except morphio.MorphioError as exc:
        return None, [], _plain(str(exc)), False
    out: list[dict[str, Any]] = []
    by_kind: dict[str, list[int]] = {}
    warned = collector.get_all()
    for item in warned:
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
    return morph, out, None, bool(warned)
