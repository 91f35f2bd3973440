"""The 3D view's compact payload: a reconstruction as integer-quantised points and section
arrays in one binary body, for web/static/views/morphology.js to draw with one WebGL call.

The JSON drawing (formats/swc_view.py `drawing`) spells 100,000 points as 2.2 MB of text
that plotly then turns into per-trace objects. Here the same points (decimated the same
way past MAX_POINTS) are int16, scaled by one factor for all three axes so that the
shape keeps its proportions (a step of 1/32767 of the largest half-extent: 0.03 µm for a
cell 2 mm across), 6 bytes a point. Layout, little-endian, every array 4-byte aligned:

    "NDSM" | uint32 header length | header JSON (UTF-8, space-padded)
    int16 xyz[3 * points] | uint32 offsets[sections + 1] | uint8 kind[sections]
    | uint16 order[sections]

The header has the JSON drawing's fields (source, units, points, sections, drawn_points,
decimated, decimation, max_order, bounds, note), `kinds` (the names of the kind codes),
`per_kind` (sections per kind), `centre` and `half` (a stored value v is the coordinate
centre + v / 32767 * half), and each array's byte offset and length.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np

from neurodatashare.formats import swc_view
from neurodatashare.formats.swc_view import KIND_ORDER, MAX_POINTS, Cell

MAGIC = b"NDSM"
VERSION = "1"  # of the layout and of what is kept; a change rebuilds stored bodies
MEDIA_TYPE = "application/x-nds-morphology"
SCALE = 32767


def _pad(data: bytes, fill: bytes = b"\0") -> bytes:
    return data + fill * (-len(data) % 4)


def encode(cell: Cell) -> bytes:
    """The cell as the binary body described above."""
    total = len(cell.points) - int((cell.parent >= 0).sum())
    step = max(1, math.ceil(total / MAX_POINTS))
    keep = swc_view._kept(cell, step) if step > 1 else np.ones(len(cell.points), dtype=bool)
    lengths = np.bincount(
        np.repeat(np.arange(cell.sections), np.diff(cell.offsets))[keep], minlength=cell.sections
    )
    points = cell.points[keep]
    finite = np.isfinite(points).all(axis=1)
    bounds = swc_view.bounds(cell.points)  # of every point, as the JSON drawing gives
    lo, hi = np.asarray(bounds["min"]), np.asarray(bounds["max"])
    centre = (lo + hi) / 2
    half = float(max((hi - lo).max() / 2, 1e-9))
    scaled = np.where(finite[:, None], (points - centre) / half * SCALE, 0.0)
    xyz = np.clip(np.round(scaled), -SCALE, SCALE).astype("<i2")
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype("<u4")
    codes = {name: i for i, name in enumerate(KIND_ORDER)}
    kinds = np.asarray([codes[swc_view.kind_of(t)] for t in cell.types.tolist()], dtype="u1")
    order = cell.order()
    arrays = [
        ("xyz", xyz.tobytes()),
        ("offsets", offsets.tobytes()),
        ("kind", kinds.tobytes()),
        ("order", np.minimum(order, 65535).astype("<u2").tobytes()),
    ]
    head: dict[str, Any] = {
        "source": cell.source,
        "units": cell.units,
        "points": total,
        "sections": cell.sections,
        "drawn_points": int(keep.sum()),
        "decimated": step > 1,
        "decimation": step,
        "max_order": int(order.max(initial=0)),
        "bounds": bounds,
        "note": cell.note,
        "kinds": list(KIND_ORDER),
        "per_kind": {
            k: int((kinds == i).sum()) for i, k in enumerate(KIND_ORDER) if (kinds == i).any()
        },
        "centre": [round(float(v), 6) for v in centre],
        "half": half,
    }
    # the header's length depends on the offsets it lists: lay out with room for them
    layout: dict[str, list[int]] = {name: [0, len(data)] for name, data in arrays}
    head["arrays"] = layout
    size = len(_pad(json.dumps(head, ensure_ascii=False).encode(), b" ")) + 64
    start = 8 + size
    for name, data in arrays:
        layout[name][0] = start
        start += len(_pad(data))
    text = json.dumps(head, ensure_ascii=False).encode()
    header = text + b" " * (size - len(text))
    body = [MAGIC, struct.pack("<I", len(header)), header]
    body += [_pad(data) for _, data in arrays]
    return b"".join(body)


def decode(body: bytes) -> dict[str, Any]:
    """The header and arrays of an encoded body (for tests and scripts)."""
    if body[:4] != MAGIC:
        raise ValueError("not a morphology body")
    (length,) = struct.unpack("<I", body[4:8])
    head = json.loads(body[8 : 8 + length])
    dtypes = {"xyz": "<i2", "offsets": "<u4", "kind": "u1", "order": "<u2"}
    out = dict(head)
    for name, (start, size) in head["arrays"].items():
        out[name] = np.frombuffer(body[start : start + size], dtype=dtypes[name])
    out["xyz"] = out["xyz"].reshape(-1, 3)
    return out
