"""Windows of a time series for the traces view: the raw samples, or min/max blocks from
the raw samples or from an overview level (:mod:`neurodatashare.nwb.overview`), never more
than the plot can show."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest, Conflict
from neurodatashare.nwb.explore._h5 import _check_float, _clean
from neurodatashare.nwb.explore.series import (
    _read_rows,
    _search_timestamps,
    _Series,
    _series,
    _usable_levels,
    parse_index_list,
    raw_cost,
)
from neurodatashare.nwb.limits import (
    MAX_PIXELS_PER_BLOCK,
    MAX_RAW_BYTES,
    MAX_RAW_CHUNKS,
    MAX_RAW_VALUES,
    MAX_WIDTH,
)
from neurodatashare.nwb.minmax import block_minmax

if TYPE_CHECKING:
    from neurodatashare.nwb.overview import OverviewLevel, OverviewReader


@dataclass
class Window:
    """A window of a time series: raw samples or min/max blocks, in the series' unit.

    ``data`` is float32 with shape (n, channels) for raw, (n, channels, 2) for min/max.
    Row i starts at ``t0 + i * dt`` seconds, or at ``times[i]`` when the series has
    irregular timestamps (then ``t0``/``dt`` are None). ``block`` is the number of samples
    per row (1 for raw) and ``first_sample`` the index of row 0's first sample; min/max
    blocks are aligned to multiples of ``block`` from the first sample of the series, so
    panning gives the same blocks.
    """

    kind: str
    level: int
    t0: float | None
    dt: float | None
    times: np.ndarray | None
    data: np.ndarray
    channels: list[int]
    unit: str
    start: float
    end: float
    block: int = 1
    first_sample: int = 0
    n_samples: int = 0
    source: str = "file"

    def meta(self) -> dict[str, Any]:
        """The JSON header (``X-NDS-Meta``) that goes with :meth:`to_bytes`."""
        return _clean(
            {
                "kind": self.kind,
                "shape": list(self.data.shape),
                "dtype": "float32",
                "t0": self.t0 if self.times is None else None,
                "dt": self.dt if self.times is None else None,
                "times": self.times is not None,
                "level": self.level,
                "block": self.block,
                "first_sample": self.first_sample,
                "n_samples": self.n_samples,
                "channels": self.channels,
                "unit": self.unit,
                "start": self.start,
                "end": self.end,
                "source": self.source,
            }
        )

    def to_bytes(self) -> bytes:
        """Body: [n float64 times if irregular] + float32 data, little-endian, C order."""
        body = np.ascontiguousarray(self.data, dtype="<f4").tobytes()
        if self.times is None:
            return body
        return np.ascontiguousarray(self.times, dtype="<f8").tobytes() + body


def _sample_range(s: _Series, start: float, end: float) -> tuple[int, int]:
    """Samples i with start <= t_i < end (clipped to the series); 400 if none overlap."""
    if s.n_samples == 0:
        raise BadRequest(f"{s.path} has no samples.")
    first = s.first_time()
    last = s.last_time()
    end_t = s.end_time()
    if end <= first or start > last:
        raise BadRequest(
            f"The window {start:g}-{end:g} s is outside {s.path}, which covers "
            f"{first:g}-{end_t:g} s."
        )
    if s.timestamps is None:
        assert s.rate is not None
        i0 = max(0, math.ceil((start - s.starting_time) * s.rate - 1e-9))
        i1 = min(s.n_samples, math.ceil((end - s.starting_time) * s.rate - 1e-9))
        return i0, max(i0, i1)
    i0 = _search_timestamps(s.timestamps, s.n_samples, start)
    i1 = _search_timestamps(s.timestamps, s.n_samples, end)
    return i0, max(i0, i1)


def _scale_factors(s: _Series, channels: np.ndarray) -> np.ndarray:
    factor = np.full(len(channels), s.conversion, dtype=np.float64)
    if s.channel_conversion is not None:
        factor = factor * s.channel_conversion[channels]
    return factor


def _scale(values: np.ndarray, s: _Series, channels: np.ndarray) -> np.ndarray:
    """Stored values -> float32 in the series' unit (conversion, channel_conversion, offset)."""
    factor = _scale_factors(s, channels).astype(np.float32)
    out = values.astype(np.float32, copy=True)
    if not np.all(factor == 1):
        out *= factor
    if s.offset:
        out += np.float32(s.offset)
    return out


def _scale_minmax(mn: np.ndarray, mx: np.ndarray, s: _Series, channels: np.ndarray) -> np.ndarray:
    lo = _scale(mn, s, channels)
    hi = _scale(mx, s, channels)
    out = np.empty((*lo.shape, 2), dtype=np.float32)
    out[..., 0] = np.fmin(lo, hi)  # a negative conversion swaps min and max
    out[..., 1] = np.fmax(lo, hi)
    return out


def read_window(
    h5: h5py.File,
    path: str,
    *,
    start: float,
    end: float,
    width: int,
    channels: Sequence[int] | str | None = None,
    overview: OverviewReader | None = None,
    max_raw_values: int = MAX_RAW_VALUES,
) -> Window:
    """The part of a time series between ``start`` and ``end`` seconds, for a plot
    ``width`` pixels wide.

    * At most 2 samples per pixel: the raw samples (``kind="raw"``).
    * Otherwise min/max blocks (``kind="minmax"``) with 1-2 blocks per pixel: from the
      coarsest overview level whose block is not longer than a pixel (adjacent level
      blocks merged to reach 1-2 per pixel), else computed from the raw samples if they
      are at most ``max_raw_values`` values (``level`` 0), else from the finest overview
      level even though its blocks span more than a pixel (at most
      :data:`MAX_PIXELS_PER_BLOCK`; the meta's ``block``/``dt`` say how wide they are).
    * Otherwise :class:`~neurodatashare.errors.Conflict` (409): the overview is not built
      yet (or was skipped); zoom in or show fewer channels. The range is never read.

    Samples with ``start <= t < end`` are covered (min/max blocks are aligned, so the first
    and last may reach outside). ``channels`` is a list of channel indices (or text like
    "0-63"); 1-D data is one channel. Values are in the series' unit: conversion,
    channel_conversion and offset are applied.
    """
    s = _series(h5, path, need="traces")
    start = _check_float("start", start)
    end = _check_float("end", end)
    if start >= end:
        raise BadRequest(f"The window must end after it starts (start={start:g}, end={end:g}).")
    try:
        width = int(width)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'width' must be a whole number of pixels.") from exc
    if not 1 <= width <= MAX_WIDTH:
        raise BadRequest(f"'width' must be between 1 and {MAX_WIDTH} pixels (got {width}).")
    chosen = parse_index_list(channels, s.n_channels, what="channel")
    chans = np.arange(s.n_channels) if chosen is None else np.asarray(chosen, dtype=np.int64)
    i0, i1 = _sample_range(s, start, end)
    count = i1 - i0
    n_ch = len(chans)
    base: dict[str, Any] = {
        "channels": [int(c) for c in chans],
        "unit": s.unit,
        "start": start,
        "end": end,
        "n_samples": s.n_samples,
    }
    dt_raw = 1.0 / s.rate if s.rate else None
    if count == 0:
        return Window(
            kind="raw",
            level=0,
            t0=s.time_of(i0) if s.rate else None,
            dt=dt_raw,
            times=None if s.rate else np.empty(0),
            data=np.empty((0, n_ch), dtype=np.float32),
            first_sample=i0,
            **base,
        )
    spp = count / width
    if spp <= 2:
        if count * n_ch > max_raw_values:
            raise BadRequest(
                f"This window needs {count * n_ch:,} values, more than {max_raw_values:,}: "
                "show fewer channels or a narrower plot."
            )
        if not _raw_affordable(s, i0, i1, chans, max_raw_values):
            raise BadRequest(
                "This window would read too much of the file for its values (the file's "
                "chunks are very small or span many channels): show a shorter window."
            )
        values = _scale(_read_rows(s, i0, i1, chans), s, chans)
        times = None
        if s.timestamps is not None:
            times = np.asarray(s.timestamps[i0:i1], dtype=np.float64)
        return Window(
            kind="raw",
            level=0,
            t0=s.time_of(i0) if s.rate else None,
            dt=dt_raw,
            times=times,
            data=values,
            first_sample=i0,
            **base,
        )

    levels, status = _usable_levels(h5, s, overview)
    coarse = [lv for lv in levels if lv.block <= spp]
    if coarse and overview is not None:
        return _window_from_overview(s, overview, coarse[-1], spp, i0, i1, chans, base)
    if count * n_ch <= max_raw_values and _raw_affordable(s, i0, i1, chans, max_raw_values):
        return _window_from_raw(s, spp, i0, i1, chans, base)
    if levels and overview is not None and levels[0].block <= MAX_PIXELS_PER_BLOCK * spp:
        return _window_from_overview(s, overview, levels[0], spp, i0, i1, chans, base)
    seconds = max_raw_values / n_ch / (s.rate or max(count, 1) / max(end - start, 1e-9))
    if status in ("none", "ready", "stale"):
        why = "the overview of this series is not built yet (it is made after upload)"
        if status == "stale":
            why = "the overview of this series is out of date"
        elif status == "ready":
            why = "the overview has no level for this zoom"
    else:
        why = f"this series has no overview ({status})"
    raise Conflict(
        f"This window needs {count * n_ch:,} raw values and {why}. "
        f"Zoom in to about {seconds:.3g} s or less, or show fewer channels."
    )


def _raw_affordable(s: _Series, i0: int, i1: int, chans: np.ndarray, max_raw_values: int) -> bool:
    """Whether reading data[i0:i1, chans] stays within the byte and chunk budgets: a
    contiguous file reads whole rows, a file with tiny chunks pays per chunk, so values
    alone do not bound a request (nwb/limits.py)."""
    nbytes, chunks = raw_cost(s, i0, i1, chans)
    budget = MAX_RAW_BYTES * max_raw_values // MAX_RAW_VALUES
    return nbytes <= budget and chunks <= MAX_RAW_CHUNKS


def _window_from_raw(
    s: _Series, spp: float, i0: int, i1: int, chans: np.ndarray, base: dict[str, Any]
) -> Window:
    m = max(2, int(spp))  # samples per block: 1-2 blocks per pixel
    j0, j1 = i0 // m, -(-i1 // m)
    a, b = j0 * m, min(j1 * m, s.n_samples)
    raw = _read_rows(s, a, b, chans)
    mn, mx = block_minmax(raw, m)
    times = None
    if s.timestamps is not None:
        times = np.asarray(s.timestamps[a:b], dtype=np.float64)[::m]
    return Window(
        kind="minmax",
        level=0,
        t0=s.time_of(a) if s.rate else None,
        dt=m / s.rate if s.rate else None,
        times=times,
        data=_scale_minmax(mn, mx, s, chans),
        block=m,
        first_sample=a,
        **base,
    )


def _window_from_overview(
    s: _Series,
    overview: OverviewReader,
    level: OverviewLevel,
    spp: float,
    i0: int,
    i1: int,
    chans: np.ndarray,
    base: dict[str, Any],
) -> Window:
    g = max(1, int(spp // level.block))  # level blocks merged per output block
    size = g * level.block
    j0, j1 = i0 // size, -(-i1 // size)
    b0, b1 = j0 * g, min(j1 * g, level.n_blocks)
    mn, mx = overview.read(s.path, level.level, b0, b1, chans)
    if g > 1:
        mn = block_minmax(mn, g)[0]
        mx = block_minmax(mx, g)[1]
    times = None
    if s.timestamps is not None:
        block_times = overview.times(s.path, level.level, b0, b1)
        if block_times is None:
            raise Conflict(f"The overview of {s.path} has no block times; it must be rebuilt.")
        times = np.asarray(block_times, dtype=np.float64)[::g]
    a = j0 * size
    return Window(
        kind="minmax",
        level=level.level,
        t0=s.time_of(a) if s.rate else None,
        dt=size / s.rate if s.rate else None,
        times=times,
        data=_scale_minmax(mn, mx, s, chans),
        block=size,
        first_sample=a,
        source="overview",
        **base,
    )
