"""An SWC file MorphIO accepts without a warning, checked and described from MorphIO's own
arrays, so that validating it costs little more than MorphIO's parse.

The tolerant reader (formats/swc_tolerant.py) parses the text a second time, which costs
more than MorphIO itself. For a file MorphIO reads without warnings most of its checks
cannot fire: MorphIO refuses repeated and missing ids, short and non-numeric rows, types 0,
negative and 20+, a soma below a neurite and several soma roots, and it warns of zero radii,
a missing soma and neurites without a root. What it does not check is computed here:

- rows that never reach a root (a cycle): MorphIO leaves them out silently, so the rows it
  placed are counted against the text's rows (blank lines and comments aside);
- the soma rows' own parents (a soma cycle, NeuroMorpho's three-point form), read from the
  head of the file, where exporters write the soma;
- types 5 to 19, nanometre units, NaN coordinates or radii, header tags.

`describe` returns None whenever it cannot vouch that the tolerant reader would find the
same: any MorphIO warning, comments or odd line breaks after the soma, soma rows that are
not all at the head, a soma of 2 or 4+ points (its neurites' attachment points, which
the Sholl profile needs, are not in MorphIO's arrays), or a row count that differs. The
caller then runs the tolerant reader. tests/test_format_swc.py checks that both give the
same findings and summary on the generated dialects and defects.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from neurodatashare.formats import swc_tolerant as tol

_BLANK = re.compile(r"\n[ \t\r]*(?=\n)")
_ODD_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")  # str.splitlines breaks there too
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 13, 32]] = True  # tab, \r, space: what a blank line holds
MAX_HEAD_ROWS = 10_000  # soma rows looked for at the head of the file


def section_parents(morph: Any) -> np.ndarray:
    """Each MorphIO section's parent section, -1 for a root."""
    parent = np.full(len(morph.section_types), -1, dtype=np.int64)
    ups: list[int] = []
    below: list[int] = []
    for up, kids in morph.connectivity.items():
        if up >= 0:
            ups += [up] * len(kids)
            below += kids
    parent[below] = ups
    return parent


def _head(text: str) -> tuple[list[list[float]], list[int], dict[str, str], int] | None:
    """The soma rows at the start of the file (after comments and blank lines), their
    line numbers, the header tags, and where the first other row starts."""
    rows: list[list[float]] = []
    lines: list[int] = []
    header: dict[str, str] = {}
    pos, number = 0, 0
    while pos < len(text) and len(rows) <= MAX_HEAD_ROWS:
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end].strip()
        number += 1
        if not line:
            pos = end + 1
            continue
        if line[0] == "#":
            tol.header_tag(line, header)
            pos = end + 1
            continue
        parts = line.split()
        try:
            values = [float(v) for v in parts[:7]]
        except ValueError:
            return None
        if len(values) < 7:
            return None
        if values[1] != tol.SOMA:
            return rows, lines, header, pos
        rows.append(values)
        lines.append(number)
        pos = end + 1
    return (rows, lines, header, len(text)) if pos >= len(text) else None


def _rows_after(text: str, start: int) -> int | None:
    """Data rows in text[start:], or None if it has comments or line breaks other than
    \\n and \\r\\n (which the tolerant reader would count differently)."""
    if not text.isascii() or any(text.find(c, start) >= 0 for c in ("#", *_ODD_BREAKS)):
        return None
    if text.find("\r", start) >= 0 and text.count("\r", start) != text.count("\r\n", start):
        return None
    body = np.frombuffer(text.encode("ascii"), dtype=np.uint8)[start:]
    if not len(body):
        return 0
    breaks = np.flatnonzero(body == 10)
    begins = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(body)]])
    first = body[np.minimum(begins, len(body) - 1)]
    filled = ends > begins
    if not _SPACE[first[filled]].any():  # every line starts with a field
        return int(filled.sum())
    # some lines start with a space, a tab or \r: count the blank ones by pattern
    tail = text[start:].strip()
    return (tail.count("\n") + 1 - len(_BLANK.findall(tail))) if tail else 0


def describe(
    text: str, morph: Any, *, parent: np.ndarray, sholl_steps: int
) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """(findings, summary fields) as the tolerant reader would give them, or None."""
    head = _head(text)
    if head is None:
        return None
    soma_rows, soma_lines, header, rest = head
    soma = np.asarray(morph.soma.points, dtype=np.float64).reshape(-1, 3)
    if len(soma_rows) != len(soma) or len(soma) not in (1, 3):
        return None
    three_point = str(morph.soma_type).endswith("THREE_POINT_CYLINDERS")
    if len(soma) == 3 and not three_point:
        return None  # which soma point each neurite hangs from is not in MorphIO's arrays
    table = np.asarray(soma_rows, dtype=np.float64)
    ids = np.round(table[:, 0]).astype(np.int64)
    parent_ids = np.round(table[:, 6]).astype(np.int64)
    where = {int(v): i for i, v in enumerate(ids.tolist())}
    if len(where) != len(ids) or any(p >= 0 and p not in where for p in parent_ids.tolist()):
        return None
    mini = tol.Tree(
        ids=ids,
        types=np.full(len(ids), tol.SOMA, dtype=np.int64),
        xyz=table[:, 2:5],
        radius=table[:, 5],
        parent=np.asarray([where.get(int(p), -1) for p in parent_ids], dtype=np.int64),
        lines=np.asarray(soma_lines, dtype=np.int64),
    )
    if int((mini.parent < 0).sum()) != 1 or tol._cycles(mini).any():
        return None
    raw = np.asarray(morph.points)  # float32, as MorphIO keeps them
    diameters = np.asarray(morph.diameters)
    offsets = np.asarray(morph.section_offsets, dtype=np.int64)
    types = np.asarray(morph.section_types, dtype=np.int64)
    finite = np.isfinite(raw).all() and np.isfinite(mini.xyz).all()
    if not finite or not (diameters > 0).all() or not (mini.radius > 0).all():
        return None
    # each section below another starts with a copy of its parent's last point
    lengths = np.diff(offsets) - (parent >= 0)
    total = len(soma) + int(lengths.sum())
    after = _rows_after(text, rest)
    if after is None or len(soma) + after != total:
        return None  # rows MorphIO left out (a cycle), or duplicated points in the file
    per_type = np.bincount(types, weights=lengths, minlength=tol.SOMA + 1).astype(np.int64)
    per_type[tol.SOMA] += len(soma)
    by_label = {code: int(n) for code, n in enumerate(per_type.tolist()) if n}
    flat = raw.reshape(-1, 3)
    # per column: numpy's reduction along the rows of an (N, 3) array is 20 times slower
    lo = np.asarray([min(flat[:, k].min(initial=np.inf), mini.xyz[:, k].min()) for k in range(3)])
    hi = np.asarray([max(flat[:, k].max(initial=-np.inf), mini.xyz[:, k].max()) for k in range(3)])
    span = float((hi - lo).max())
    findings = tol.label_findings(by_label) + tol.units_findings(span)
    summary: dict[str, Any] = {
        "points": total,
        "soma": tol.soma_form(mini),
        "labels": {tol.TYPE_NAMES.get(k, f"type_{k}"): v for k, v in by_label.items()},
        "units": "nm" if span > tol.NM_EXTENT else "µm",
        "trees": 1,
        "bounding_box": {
            "min": [round(float(v), 3) for v in lo],
            "max": [round(float(v), 3) for v in hi],
        },
        "sholl": _sholl(mini, raw.astype(np.float64).reshape(-1, 3), offsets, parent, sholl_steps),
    }
    if header:
        summary["header"] = header
    return findings, summary


def _sholl(
    soma: tol.Tree, points: np.ndarray, offsets: np.ndarray, parent: np.ndarray, steps: int
) -> dict[str, list[float] | list[int]]:
    """formats/swc.py's profile (tol.sholl's crossings at its radii) on MorphIO's
    sections: each step within a section is a row and its parent; a root section's first
    point hangs from the soma's first row (MorphIO warns when a neurite hangs elsewhere)."""
    centre = soma.xyz.mean(axis=0)
    away = points - centre
    dist = np.sqrt(np.einsum("ij,ij->i", away, away))
    reach = float(max(dist.max(initial=0.0), np.linalg.norm(soma.xyz - centre, axis=1).max()))
    if reach <= 0:
        return {"radii": [], "crossings": []}
    radii = [round(reach * (i + 1) / (steps + 1), 3) for i in range(steps)]
    step = np.ones(max(len(points) - 1, 0), dtype=bool)
    step[offsets[1:-1] - 1] = False  # from one section's last point to the next's first
    near, far = dist[:-1][step], dist[1:][step]
    roots = offsets[:-1][parent < 0]
    at_soma = float(np.linalg.norm(soma.xyz[0] - centre))
    near = np.concatenate([near, np.full(len(roots), at_soma)])
    far = np.concatenate([far, dist[roots]])
    low, high = np.minimum(near, far), np.maximum(near, far)
    crossings = [int(np.count_nonzero(low < r) - np.count_nonzero(high < r)) for r in radii]
    return {"radii": radii, "crossings": crossings}
