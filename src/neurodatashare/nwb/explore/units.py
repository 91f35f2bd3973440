"""Units: spike times in a window, PSTHs aligned to the rows of an intervals table, and
mean waveforms; every request is bounded in units, bins and spikes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.explore._h5 import _attr, _check_float, _clean, _num, _text
from neurodatashare.nwb.explore.series import parse_index_list
from neurodatashare.nwb.explore.table import _column_values, _read_at, _Table
from neurodatashare.nwb.limits import (
    MAX_PSTH_BINS,
    MAX_PSTH_CELLS,
    MAX_PSTH_SPIKES,
    MAX_PSTH_UNITS,
    MAX_SPIKES,
    MAX_UNITS,
    READ_WHOLE_TRAIN,
)


@dataclass
class _Units:
    tbl: _Table
    times: h5py.Dataset
    index: h5py.Dataset
    ids: np.ndarray
    bounds: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def span(self, unit: int) -> tuple[int, int]:
        return int(self.bounds[unit]), int(self.bounds[unit + 1])


def _units(h5: h5py.File, path: Any) -> _Units:
    tbl = _Table(h5, path)
    col = tbl.columns.get("spike_times")
    if col is None or len(col.indexes) != 1:
        raise BadRequest(f"{tbl.path} has no spike_times column, so it has no spikes to show.")
    if tbl.n_rows > 1_000_000:
        raise BadRequest(f"{tbl.path} has {tbl.n_rows:,} units, more than this view handles.")
    stops = np.asarray(col.indexes[0][()], dtype=np.int64)
    ids = np.asarray(tbl.columns["id"].data[()])
    return _Units(
        tbl=tbl,
        times=col.data,
        index=col.indexes[0],
        ids=ids,
        bounds=np.concatenate([[0], stops]),
    )


def _search_sorted(ds: h5py.Dataset, lo: int, hi: int, t: float) -> int:
    """First i in [lo, hi] with ds[i] >= t (ds sorted in [lo, hi)), with small reads."""
    while hi - lo > READ_WHOLE_TRAIN:
        mid = (lo + hi) // 2
        if float(ds[mid]) < t:
            lo = mid + 1
        else:
            hi = mid
    if hi <= lo:
        return lo
    return lo + int(np.searchsorted(np.asarray(ds[lo:hi], dtype=np.float64), t, side="left"))


def _unit_list(units: Any, n: int, limit: int) -> list[int]:
    chosen = parse_index_list(units, n, what="unit", limit=limit)
    if chosen is None:
        if n > limit:
            raise BadRequest(
                f"This table has {n} units; choose at most {limit} (like units=0-{limit - 1})."
            )
        chosen = list(range(n))
    return chosen


def read_spikes(
    h5: h5py.File,
    path: str,
    *,
    start: float,
    end: float,
    units: Sequence[int] | str | None = None,
    max_spikes: int = MAX_SPIKES,
) -> dict[str, Any]:
    """Spike times of the chosen units (row indices; default all) with start <= t < end.

    Returns ``{"path", "start", "end", "units": [{"index", "id", "count", "times"}],
    "total", "truncated", "message"}``. If the window holds more than ``max_spikes``
    spikes, ``times`` is None for every unit (only the counts are given), ``truncated``
    is true and ``message`` says to zoom in. Counting needs a few small reads per unit
    (bisection), so a long recording costs no more than a short one.
    """
    start = _check_float("start", start)
    end = _check_float("end", end)
    if start >= end:
        raise BadRequest(f"The window must end after it starts (start={start:g}, end={end:g}).")
    u = _units(h5, path)
    chosen = _unit_list(units, u.tbl.n_rows, MAX_UNITS)
    spans = []
    total = 0
    for unit in chosen:
        a, b = u.span(unit)
        i0 = _search_sorted(u.times, a, b, start)
        i1 = _search_sorted(u.times, i0, b, end)
        spans.append((i0, i1))
        total += i1 - i0
    truncated = total > max_spikes
    out_units = []
    for unit, (i0, i1) in zip(chosen, spans, strict=True):
        times = None if truncated else np.asarray(u.times[i0:i1], dtype=np.float64)
        out_units.append(
            {
                "index": unit,
                "id": u.ids[unit] if unit < len(u.ids) else unit,
                "count": i1 - i0,
                "times": times,
            }
        )
    message = None
    if truncated:
        message = (
            f"The window holds {total:,} spikes, more than {max_spikes:,}: only counts are "
            "given. Zoom in or choose fewer units to see the spikes."
        )
    return _clean(
        {
            "path": u.tbl.path,
            "start": start,
            "end": end,
            "units": out_units,
            "total": total,
            "truncated": truncated,
            "message": message,
        }
    )


def _group_label(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return _text(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def psth(
    h5: h5py.File,
    *,
    units_path: str,
    intervals_path: str,
    align: str,
    group_by: str | None = None,
    pre: float,
    post: float,
    bin: float,
    units: Sequence[int] | str | None = None,
) -> dict[str, Any]:
    """Spike counts aligned to each row of a table and grouped by one of its columns.

    For every chosen unit and every value of ``group_by`` (all rows in one group "all"
    when None): the summed spike count in each bin of ``[t - pre, t + post)`` around
    every row's ``align`` time, and the number of rows (trials) in the group. Rows whose
    align time is missing (NaN) are left out and counted in ``n_skipped``. Bins are
    ``bin`` seconds wide (at most :data:`MAX_PSTH_BINS`); divide counts by
    ``n_trials * bin`` for a rate.

    Returns ``{"units_path", "intervals_path", "align", "group_by", "pre", "post",
    "bin", "edges", "groups": [{"value", "n_trials"}], "units": [{"index", "id",
    "groups": [{"value", "n_trials", "counts"}]}], "n_trials", "n_skipped"}``.
    """
    pre = _check_float("pre", pre)
    post = _check_float("post", post)
    width = _check_float("bin", bin)
    if pre < 0 or post < 0 or pre + post <= 0:
        raise BadRequest("'pre' and 'post' must be positive (seconds before/after the event).")
    if width <= 0:
        raise BadRequest("'bin' must be a positive number of seconds.")
    n_bins = round((pre + post) / width)
    if abs(n_bins * width - (pre + post)) > 1e-6 * max(1.0, pre + post):
        n_bins = math.ceil((pre + post) / width - 1e-9)
    if n_bins > MAX_PSTH_BINS:
        raise BadRequest(
            f"{n_bins} bins is too many (at most {MAX_PSTH_BINS}); use wider bins or a "
            "shorter window."
        )
    n_bins = max(1, n_bins)
    tbl = _Table(h5, intervals_path)
    tbl.need_small("a PSTH")
    acol = tbl.col(align)
    if acol.ragged or acol.cell_shape or acol.kind != "number":
        raise BadRequest(f"Column '{align}' of {tbl.path} is not a column of times (numbers).")
    align_times = np.asarray(acol.data[()], dtype=np.float64)
    keep = np.isfinite(align_times)
    if group_by:
        gcol = tbl.col(group_by)
        if gcol.ragged or gcol.cell_shape or gcol.kind in ("compound", "other"):
            raise BadRequest(f"Column '{group_by}' cannot be used to group rows.")
        labels = [_group_label(v) for v in _column_values(tbl, gcol)]
    else:
        labels = ["all"] * tbl.n_rows
    n_skipped = int((~keep).sum())
    rows = np.flatnonzero(keep)
    times = align_times[rows]
    row_labels = [labels[r] for r in rows]
    values = sorted(set(row_labels), key=_natural_key)
    if len(values) > 100:
        raise BadRequest(
            f"Column '{group_by}' has {len(values)} different values; group by a column "
            "with at most 100."
        )
    group_of = np.array([values.index(v) for v in row_labels], dtype=np.int64)
    n_trials = np.bincount(group_of, minlength=len(values)) if len(rows) else np.zeros(0, int)
    if len(rows) * (n_bins + 1) > MAX_PSTH_CELLS:
        raise BadRequest(
            f"{len(rows):,} rows x {n_bins} bins is too much for one PSTH; use wider bins."
        )
    u = _units(h5, units_path)
    chosen = _unit_list(units, u.tbl.n_rows, MAX_PSTH_UNITS)
    edges = -pre + width * np.arange(n_bins + 1)
    grid = times[:, None] + edges[None, :]  # (trials, bins + 1)
    lo = float(grid.min()) if grid.size else 0.0
    hi = float(grid.max()) if grid.size else 0.0
    spans = []
    total = 0
    for unit in chosen:
        a, b = u.span(unit)
        i0 = _search_sorted(u.times, a, b, lo)
        i1 = _search_sorted(u.times, i0, b, hi)
        spans.append((i0, i1))
        total += i1 - i0
    if total > MAX_PSTH_SPIKES:
        raise BadRequest(
            f"These units have {total:,} spikes around the events, more than "
            f"{MAX_PSTH_SPIKES:,}: choose fewer units."
        )
    out_units = []
    for unit, (i0, i1) in zip(chosen, spans, strict=True):
        train = np.sort(np.asarray(u.times[i0:i1], dtype=np.float64))
        pos = np.searchsorted(train, grid, side="left")
        per_trial = np.diff(pos, axis=1)  # (trials, bins)
        counts = np.zeros((len(values), n_bins), dtype=np.int64)
        if len(rows):
            np.add.at(counts, group_of, per_trial)
        out_units.append(
            {
                "index": unit,
                "id": u.ids[unit] if unit < len(u.ids) else unit,
                "groups": [
                    {"value": v, "n_trials": int(n_trials[g]), "counts": counts[g]}
                    for g, v in enumerate(values)
                ],
            }
        )
    return _clean(
        {
            "units_path": u.tbl.path,
            "intervals_path": tbl.path,
            "align": align,
            "group_by": group_by,
            "pre": pre,
            "post": post,
            "bin": width,
            "edges": edges,
            "groups": [{"value": v, "n_trials": int(n_trials[g])} for g, v in enumerate(values)],
            "units": out_units,
            "n_trials": len(rows),
            "n_skipped": n_skipped,
        }
    )


def _natural_key(text: str) -> tuple[Any, ...]:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def read_waveforms(
    h5: h5py.File, path: str, *, units: Sequence[int] | str | None = None
) -> dict[str, Any]:
    """Mean waveforms (and their SD when present) of the chosen units.

    Returns ``{"path", "rate", "unit", "n_samples", "units": [{"index", "id", "mean",
    "sd", "electrodes"}]}``; ``mean``/``sd`` are (samples, channels) lists in ``unit``,
    ``electrodes`` the electrode table rows of those channels when the table says.
    """
    tbl = _Table(h5, path)
    col = tbl.columns.get("waveform_mean")
    if col is None or col.ragged:
        raise BadRequest(f"{tbl.path} has no waveform_mean column, so no mean waveforms.")
    shape = col.data.shape
    if len(shape) not in (2, 3):
        raise BadRequest(f"waveform_mean of {tbl.path} has an unexpected shape {list(shape)}.")
    if math.prod(shape[1:]) > 100_000:
        raise BadRequest(f"The waveforms of {tbl.path} are too large to show ({list(shape)}).")
    chosen = _unit_list(units, tbl.n_rows, MAX_PSTH_UNITS)
    rows = np.asarray(chosen, dtype=np.int64)
    mean = _read_at(col.data, rows)
    sd_col = tbl.columns.get("waveform_sd")
    sd = (
        _read_at(sd_col.data, rows)
        if sd_col is not None and not sd_col.ragged and sd_col.data.shape == shape
        else None
    )
    electrodes: list[Any] = [None] * len(rows)
    ecol = tbl.columns.get("electrodes")
    n_ch = shape[2] if len(shape) == 3 else 1
    if ecol is not None and len(ecol.indexes) == 1:
        starts, stops = tbl.bounds(ecol, rows)
        for i, (a, b) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
            if b - a == n_ch:
                electrodes[i] = np.asarray(ecol.data[a:b]).tolist()
    ids = _read_at(tbl.columns["id"].data, rows)
    out = []
    for i, unit in enumerate(chosen):
        m = mean[i] if mean.ndim == 3 else mean[i][:, None]
        entry = {
            "index": unit,
            "id": ids[i],
            "mean": np.asarray(m, dtype=np.float64),
            "sd": None,
            "electrodes": electrodes[i],
        }
        if sd is not None:
            entry["sd"] = np.asarray(sd[i] if sd.ndim == 3 else sd[i][:, None], dtype=np.float64)
        out.append(entry)
    rate = _attr(col.data, "sampling_rate")
    if rate is None:
        rate = _attr(tbl.group, "waveform_rate")
    unit_name = _attr(col.data, "unit") or _attr(tbl.group, "waveform_unit") or "volts"
    return _clean(
        {
            "path": tbl.path,
            "rate": None if rate is None else _num(rate, float("nan")),
            "unit": _text(unit_name),
            "n_samples": int(shape[1]),
            "units": out,
        }
    )
