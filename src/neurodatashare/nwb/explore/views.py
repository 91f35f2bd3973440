"""Data for the explorer views chosen by neurodata type (see :mod:`.types`).

* :func:`read_snippets`: spike snippets of a ``SpikeEventSeries`` in a time window, at
  most ``limit`` of them (evenly spaced), with the mean over at most 2,000;
* :func:`read_bands`: a ``DecompositionSeries`` channel as bands x time, one column per
  pixel (block means), for a heatmap;
* :func:`read_picture`: a static ``Image`` or one frame of a colour ``ImageSeries`` as
  (height, width, channels), colours kept.

The events view (:func:`~neurodatashare.nwb.explore.events.read_events`) shares the
window helpers here. Like the other readers, nothing here reads more than a screen
needs, and bad requests raise :class:`~neurodatashare.errors.BadRequest` with a readable
sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.explore._h5 import (
    _attr,
    _check_float,
    _clean,
    _cut,
    _get,
    _ndtype,
    _norm_path,
    _text,
)
from neurodatashare.nwb.explore.imaging import _ORIENTATION
from neurodatashare.nwb.explore.series import _channel_labels, _search_timestamps, _series
from neurodatashare.nwb.explore.types import _Types, is_colour, spec_unit
from neurodatashare.nwb.limits import (
    MAX_BAND_VALUES,
    MAX_PICTURE_PIXELS,
    MAX_SNIPPET_VALUES,
    MAX_SNIPPETS,
    MAX_WIDTH,
    MEAN_EVENTS,
    MIN_BAND_WIDTH,
    SNIPPETS,
)


@dataclass
class Payload:
    """Float32 numbers with a JSON header, like the explorer's other binary replies."""

    data: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        return _clean({**self.header, "shape": list(self.data.shape), "dtype": "float32"})

    def to_bytes(self) -> bytes:
        return np.ascontiguousarray(self.data, dtype="<f4").tobytes()


def _window(start: Any, end: Any, t_start: float, t_end: float) -> tuple[float, float]:
    a = t_start if start is None else _check_float("start", start)
    b = t_end if end is None else _check_float("end", end)
    if b <= a:
        raise BadRequest(f"The window must end after it starts (got {a:g} to {b:g} s).")
    return a, b


def _times_between(ts: h5py.Dataset, n: int, a: float, b: float) -> tuple[int, int]:
    """Indices [i0, i1) of sorted timestamps with a <= t <= b."""
    i0 = _search_timestamps(ts, n, a)
    i1 = _search_timestamps(ts, n, math.nextafter(b, math.inf))
    return i0, max(i0, i1)


def _spread(i0: int, i1: int, limit: int) -> np.ndarray:
    """At most ``limit`` evenly spaced indices of [i0, i1)."""
    if i1 - i0 <= limit:
        return np.arange(i0, i1)
    return np.unique(np.linspace(i0, i1 - 1, limit).round().astype(np.int64))


# ------------------------------------------------------------------------- snippets


def read_snippets(
    h5: h5py.File,
    path: str,
    *,
    start: float | None = None,
    end: float | None = None,
    limit: int = SNIPPETS,
) -> dict[str, Any]:
    """Spike snippets of a SpikeEventSeries in [start, end] (the whole series by default).

    Returns ``{"path", "unit", "n_events", "in_window", "n_channels", "n_samples",
    "channel_labels", "t_start", "t_end", "start", "end", "times", "snippets", "mean",
    "mean_of"}``: ``snippets[c]`` is the list of the shown snippets of channel ``c``
    (each ``n_samples`` values, in ``unit``), ``mean[c]`` the mean of channel ``c`` over
    ``mean_of`` evenly spaced events of the window.
    """
    obj = _get(h5, path)
    hier = _Types(h5).hierarchy(_ndtype(obj))
    p = _norm_path(path)
    if "SpikeEventSeries" not in hier:
        raise BadRequest(f"{p} is not a SpikeEventSeries, so it has no spike snippets.")
    if not 1 <= int(limit) <= MAX_SNIPPETS:
        raise BadRequest(f"'limit' is the number of snippets to draw, 1 to {MAX_SNIPPETS}.")
    s = _series(h5, path)
    data = s.data
    if data.ndim not in (2, 3) or s.timestamps is None:
        raise BadRequest(f"{p} does not hold snippets as (events, channels, samples).")
    n = s.n_samples
    n_channels = int(data.shape[1]) if data.ndim == 3 else 1
    n_samples = int(data.shape[-1])
    if n_channels * n_samples > MAX_SNIPPET_VALUES:
        raise BadRequest(f"The snippets of {p} are too large to draw ({list(data.shape[1:])}).")
    t_start = float(s.timestamps[0]) if n else 0.0
    t_end = float(s.timestamps[n - 1]) if n else 0.0
    a, b = _window(start, end, t_start, t_end)
    i0, i1 = _times_between(s.timestamps, n, a, b) if n else (0, 0)
    shown = _spread(i0, i1, int(limit))
    averaged = _spread(i0, i1, MEAN_EVENTS)

    def read(rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, n_channels, n_samples), dtype=np.float64)
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        if hi - lo <= 4 * len(rows) + 64:
            block = np.asarray(data[lo:hi], dtype=np.float64)[rows - lo]
        else:
            block = np.asarray(data[rows.tolist()], dtype=np.float64)
        block = block.reshape(len(rows), n_channels, n_samples)
        return block * s.conversion + s.offset

    snippets = read(shown)
    mean = read(averaged).mean(axis=0) if len(averaged) else None
    labels = _channel_labels(h5, replace(s, n_channels=n_channels))[0]
    if len(labels) != n_channels:
        labels = [str(c) for c in range(n_channels)]
    return _clean(
        {
            "path": p,
            "unit": s.unit or spec_unit(hier) or "",
            "n_events": n,
            "in_window": i1 - i0,
            "n_channels": n_channels,
            "n_samples": n_samples,
            "channel_labels": labels,
            "t_start": t_start,
            "t_end": t_end,
            "start": a,
            "end": b,
            "times": np.asarray(s.timestamps[i0:i1][shown - i0]) if len(shown) else [],
            "snippets": [snippets[:, c, :] for c in range(n_channels)],
            "mean": None if mean is None else [mean[c] for c in range(n_channels)],
            "mean_of": len(averaged),
        }
    )


# ---------------------------------------------------------------------------- bands


def _band_names(group: h5py.Group, n_bands: int) -> tuple[list[str], list[Any]]:
    table = group.get("bands")
    names: list[str] = []
    limits: list[Any] = []
    if isinstance(table, h5py.Group):
        ds = table.get("band_name")
        if isinstance(ds, h5py.Dataset) and ds.ndim == 1 and ds.shape[0] == n_bands:
            names = [_cut(_text(x), 40) for x in ds[()]]
        lim = table.get("band_limits")
        if isinstance(lim, h5py.Dataset) and lim.shape == (n_bands, 2):
            limits = np.asarray(lim[()], dtype=np.float64).tolist()
    if not names:
        names = [f"band {i}" for i in range(n_bands)]
    return names, limits


def read_bands(
    h5: h5py.File,
    path: str,
    *,
    start: float | None = None,
    end: float | None = None,
    width: int = 1000,
    channel: int = 0,
) -> Payload:
    """One channel of a DecompositionSeries as (columns, bands), block means per pixel."""
    obj = _get(h5, path)
    p = _norm_path(path)
    hier = _Types(h5).hierarchy(_ndtype(obj))
    if "DecompositionSeries" not in hier:
        raise BadRequest(f"{p} is not a DecompositionSeries, so it has no bands to show.")
    s = _series(h5, path)
    data = s.data
    if data.ndim != 3:
        raise BadRequest(f"{p} does not hold (time, channels, bands) data.")
    if not MIN_BAND_WIDTH <= int(width) <= MAX_WIDTH:
        raise BadRequest(
            f"width is the plot's width in pixels, between {MIN_BAND_WIDTH} and {MAX_WIDTH:,}."
        )
    n_channels, n_bands = int(data.shape[1]), int(data.shape[2])
    if not 0 <= int(channel) < n_channels:
        raise BadRequest(
            f"There is no channel {channel}: {p} has {n_channels} (0-{n_channels - 1})."
        )
    n = s.n_samples
    if n == 0:
        raise BadRequest(f"{p} has no samples.")
    t_start, t_end = s.first_time(), s.end_time()
    a, b = _window(start, end, t_start, t_end)
    if b <= t_start or a > s.last_time():
        raise BadRequest(
            f"The window {a:g}-{b:g} s is outside {p}, which covers {t_start:g}-{t_end:g} s."
        )
    if s.timestamps is None:
        assert s.rate is not None
        i0 = max(0, math.floor((a - s.starting_time) * s.rate))
        i1 = min(n, math.ceil((b - s.starting_time) * s.rate))
    else:
        i0, i1 = _times_between(s.timestamps, n, a, b)
    i1 = max(i1, i0 + 1)
    step = 1
    if (i1 - i0) * n_bands > MAX_BAND_VALUES:
        step = math.ceil((i1 - i0) * n_bands / MAX_BAND_VALUES)
    values = np.asarray(data[i0:i1:step, int(channel), :], dtype=np.float64)
    block = max(1, math.ceil(len(values) / int(width)))
    full = len(values) // block * block
    columns = values[:full].reshape(-1, block, n_bands).mean(axis=1) if full else values[:0]
    if full < len(values):
        columns = np.concatenate([columns, values[full:].mean(axis=0, keepdims=True)])
    columns = columns * s.conversion + s.offset
    per = block * step
    if s.timestamps is not None:
        first = np.asarray(s.timestamps[i0:i1:per], dtype=np.float64)[: len(columns)]
        t0 = float(first[0])
        dt = float(first[1] - first[0]) if len(first) > 1 else (b - a)
    else:
        assert s.rate is not None
        t0 = s.time_of(i0)
        dt = per / s.rate
    names, limits = _band_names(s.group, n_bands)
    metric = _attr(s.group, "metric")
    return Payload(
        columns.astype(np.float32),
        {
            "kind": "bands",
            "path": p,
            "t0": t0,
            "dt": dt,
            "start": a,
            "end": b,
            "t_start": t_start,
            "t_end": t_end,
            "channel": int(channel),
            "n_channels": n_channels,
            "bands": names,
            "band_limits": limits,
            "metric": None if metric is None else _text(metric),
            "unit": s.unit,
            "samples_per_column": per,
        },
    )


# ------------------------------------------------------------------------- pictures


def _picture_mode(channels: int) -> str:
    return {1: "gray", 3: "rgb", 4: "rgba"}.get(channels, "gray")


def _full_scale(ds: h5py.Dataset, values: np.ndarray) -> float:
    """The value drawn as full brightness: the integer type's maximum, else 1 or the max."""
    if ds.dtype.kind in "iu":
        return float(np.iinfo(ds.dtype).max) if ds.dtype.itemsize == 1 else float(values.max() or 1)
    top = float(np.nanmax(values)) if values.size else 1.0
    return 1.0 if 0 <= top <= 1.0 else (top or 1.0)


def read_picture(h5: h5py.File, path: str, *, index: int | None = None) -> Payload:
    """A static Image (grey, RGB, RGBA) or one frame of a colour ImageSeries, as
    (height, width, channels) float32: rows are y, columns x (the stored (x, y) transposed).
    """
    obj = _get(h5, path)
    p = _norm_path(path)
    hier = _Types(h5).hierarchy(_ndtype(obj))
    header: dict[str, Any] = {"kind": "picture", "path": p, "orientation": _ORIENTATION}
    if isinstance(obj, h5py.Dataset):
        if not any(t in hier for t in ("Image", "GrayscaleImage", "RGBImage", "RGBAImage")):
            raise BadRequest(f"{p} is not an image (Image, GrayscaleImage, RGBImage, RGBAImage).")
        if obj.ndim not in (2, 3) or (obj.ndim == 3 and obj.shape[2] not in (3, 4)):
            raise BadRequest(f"{p} has shape {list(obj.shape)}, not (x, y) or (x, y, 3 or 4).")
        if math.prod(obj.shape[:2]) > MAX_PICTURE_PIXELS:
            raise BadRequest(f"{p} is too large to show ({list(obj.shape)}).")
        ds = obj
        raw = np.asarray(obj[()])
        header.update(n_frames=1, index=None, time=None)
    else:
        if index is None:
            raise BadRequest(f"{p} is an image series: say which frame with index=N.")
        s = _series(h5, path, need="imaging")
        if not is_colour(s.data):
            raise BadRequest(f"{p} is not a colour image series: use the frame view.")
        n = s.n_samples
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise BadRequest("'index' must be a whole number (a frame number).") from None
        if not 0 <= index < n:
            raise BadRequest(f"There is no frame {index}: {p} has {n} frames (0-{n - 1}).")
        if math.prod(s.data.shape[1:3]) > MAX_PICTURE_PIXELS:
            raise BadRequest(f"The frames of {p} are too large to show.")
        ds = s.data
        raw = np.asarray(s.data[index])
        t = float(s.timestamps[index]) if s.timestamps is not None else s.time_of(index)
        header.update(n_frames=n, index=index, time=t, t_start=s.first_time(), t_end=s.end_time())
    if raw.ndim == 2:
        raw = raw[..., None]
    picture = np.ascontiguousarray(raw.transpose(1, 0, 2)).astype(np.float32)
    header.update(
        mode=_picture_mode(picture.shape[2]),
        full_scale=_full_scale(ds, picture),
        description=_cut(_text(_attr(obj, "description", "")), 300),
    )
    return Payload(picture, header)
