"""Event times (or on/off intervals) of an event series, an ``IntervalSeries`` or an
event table in a window, bounded in count (:data:`~neurodatashare.nwb.limits.MAX_EVENTS`)."""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.explore._h5 import _clean, _cut, _get, _ndtype, _norm_path, _num, _text
from neurodatashare.nwb.explore.types import _Types, time_column
from neurodatashare.nwb.explore.views import _times_between, _window
from neurodatashare.nwb.limits import MAX_EVENTS


def _interval_pairs(stamps: np.ndarray, values: np.ndarray) -> list[list[float]]:
    """IntervalSeries codes: > 0 starts an interval, < 0 stops it."""
    out: list[list[float]] = []
    opened: float | None = None
    for t, v in zip(stamps.tolist(), values.tolist(), strict=False):
        if v > 0 and opened is None:
            opened = t
        elif v < 0 and opened is not None:
            out.append([opened, t])
            opened = None
    if opened is not None:
        out.append([opened, opened])
    return out


def read_events(
    h5: h5py.File, path: str, *, start: float | None = None, end: float | None = None
) -> dict[str, Any]:
    """Event times in [start, end] of an event series, IntervalSeries or event table.

    Returns ``{"path", "kind": "times" | "intervals", "t_start", "t_end", "total",
    "in_window", "times", "values", "intervals", "truncated", "label"}``; for intervals,
    ``intervals`` holds [on, off] pairs overlapping the window.
    """
    obj = _get(h5, path)
    p = _norm_path(path)
    hier = _Types(h5).hierarchy(_ndtype(obj))
    if not isinstance(obj, h5py.Group):
        raise BadRequest(f"{p} is a dataset; event times live in a series or table group.")
    column = time_column(obj) if "colnames" in obj.attrs else None
    stamps = obj.get(column) if column else obj.get("timestamps")
    if not isinstance(stamps, h5py.Dataset) or stamps.ndim != 1:
        raise BadRequest(f"{p} has no event times (no timestamps or time column).")
    n = int(stamps.shape[0])
    data = obj.get("data")
    if not column and isinstance(data, h5py.Dataset) and data.shape:
        n = min(n, int(data.shape[0]))
    t_start = _num(stamps[0], 0.0) if n else 0.0
    t_end = _num(stamps[n - 1], 0.0) if n else 0.0
    a, b = _window(start, end, t_start, t_end if t_end > t_start else t_start + 1)
    out: dict[str, Any] = {
        "path": p,
        "kind": "times",
        "t_start": t_start,
        "t_end": t_end,
        "total": n,
        "label": column or "timestamps",
        "times": [],
        "values": None,
        "intervals": None,
        "truncated": False,
    }
    if "IntervalSeries" in hier and isinstance(data, h5py.Dataset) and n <= 1_000_000:
        i0, i1 = _times_between(stamps, n, a, b)
        lo, hi = max(0, i0 - 1), min(n, i1 + 1)  # the on before and the off after
        pairs = _interval_pairs(
            np.asarray(stamps[lo:hi], dtype=np.float64), np.asarray(data[lo:hi])
        )
        pairs = [q for q in pairs if q[1] >= a and q[0] <= b]
        out.update(kind="intervals", intervals=pairs[:MAX_EVENTS], in_window=len(pairs))
        out["truncated"] = len(pairs) > MAX_EVENTS
        return _clean(out)
    i0, i1 = _times_between(stamps, n, a, b) if n else (0, 0)
    out["in_window"] = i1 - i0
    if i1 - i0 > MAX_EVENTS:
        out["truncated"] = True
        return _clean(out)
    out["times"] = np.asarray(stamps[i0:i1], dtype=np.float64)
    if column:
        duration = obj.get("duration")
        if isinstance(duration, h5py.Dataset) and duration.shape == stamps.shape:
            d = np.asarray(duration[i0:i1], dtype=np.float64)
            out["intervals"] = np.stack([out["times"], out["times"] + d], axis=1)
    elif isinstance(data, h5py.Dataset) and data.ndim == 1 and i1 > i0:
        values = data[i0:i1]
        if data.dtype.kind in "biuf":
            out["values"] = np.asarray(values, dtype=np.float64)
        elif h5py.check_string_dtype(data.dtype) is not None:
            out["values"] = [_cut(_text(v), 80) for v in values]
    return _clean(out)
