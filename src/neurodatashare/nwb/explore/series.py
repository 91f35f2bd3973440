"""Time series: a series group checked and described (:func:`series_info`), its channels
labelled from the electrodes or ROI table, and the small reads every series view shares
(channel lists, timestamps bisected, rows of data)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.explore._h5 import (
    _attr,
    _clean,
    _cut,
    _deref,
    _dtype_name,
    _get,
    _ndtype,
    _norm_path,
    _num,
    _text,
)
from neurodatashare.nwb.explore.tree import _is_series_group
from neurodatashare.nwb.explore.types import _Types, spec_unit
from neurodatashare.nwb.minmax import needs_overview

if TYPE_CHECKING:
    from neurodatashare.nwb.overview import OverviewLevel, OverviewReader


@dataclass
class _Series:
    path: str
    group: h5py.Group
    neurodata_type: str | None
    hierarchy: tuple[str, ...]
    data: h5py.Dataset
    n_samples: int
    n_channels: int
    rate: float | None
    starting_time: float
    timestamps: h5py.Dataset | None
    conversion: float
    offset: float
    channel_conversion: np.ndarray | None
    unit: str

    @property
    def has_timestamps(self) -> bool:
        return self.timestamps is not None

    def time_of(self, index: int) -> float:
        """Time of sample ``index`` (regular sampling only)."""
        assert self.rate is not None
        return self.starting_time + index / self.rate

    def first_time(self) -> float:
        if self.timestamps is not None:
            return float(self.timestamps[0])
        return self.starting_time

    def last_time(self) -> float:
        if self.timestamps is not None:
            return float(self.timestamps[self.n_samples - 1])
        return self.time_of(self.n_samples - 1)

    def end_time(self) -> float:
        """Time just after the last sample (last sample + one period when regular)."""
        if self.timestamps is not None:
            return self.last_time()
        assert self.rate is not None
        return self.starting_time + self.n_samples / self.rate


def _series(h5: h5py.File, path: Any, *, need: str | None = None) -> _Series:
    """A time series group, checked; ``need`` is "traces" or "imaging"."""
    obj = _get(h5, path)
    p = _norm_path(path)
    types = _Types(h5)
    ndtype = _ndtype(obj)
    hier = types.hierarchy(ndtype)
    what = f"{p} ({ndtype})" if ndtype else p
    if isinstance(obj, h5py.Dataset):
        parent = obj.parent
        hint = f"; its series is {parent.name}" if _is_series_group(parent, ()) else ""
        raise BadRequest(f"{what} is a dataset, not a time series{hint}.")
    if not _is_series_group(obj, hier):
        raise BadRequest(f"{what} is not a time series (it has no data with times).")
    data = obj.get("data")
    if not isinstance(data, h5py.Dataset) or data.shape is None:
        raise BadRequest(f"{what} has no data array (its data may be in an external file).")
    shape = data.shape
    if need == "traces":
        if len(shape) >= 3:
            raise BadRequest(
                f"{what} holds images ({'x'.join(map(str, shape))}); "
                "use the frame or projection view instead of traces."
            )
        if len(shape) == 0 or data.dtype.kind not in "biuf":
            raise BadRequest(f"{what} does not hold numbers that can be plotted as traces.")
    if need == "imaging" and len(shape) not in (3, 4):
        raise BadRequest(
            f"{what} is not an image series: its data has shape {list(shape)}, not (frames, x, y)."
        )
    n = int(shape[0]) if shape else 0
    n_channels = int(shape[1]) if len(shape) == 2 else 1
    ts = obj.get("timestamps")
    timestamps = ts if isinstance(ts, h5py.Dataset) and ts.ndim == 1 else None
    rate: float | None = None
    starting_time = 0.0
    if timestamps is not None:
        n = min(n, int(timestamps.shape[0]))
    else:
        st = obj.get("starting_time")
        if not isinstance(st, h5py.Dataset):
            raise BadRequest(f"{what} has neither timestamps nor a starting time and rate.")
        try:
            starting_time = _num(st[()], 0.0)
        except (OSError, RuntimeError):
            starting_time = 0.0
        rate = _num(_attr(st, "rate", float("nan")), float("nan"))
        if not (math.isfinite(rate) and rate > 0):
            raise BadRequest(f"{what} has no valid sampling rate (rate={rate}).")
    cc = obj.get("channel_conversion")
    channel_conversion = None
    if isinstance(cc, h5py.Dataset) and cc.ndim == 1 and cc.shape[0] == n_channels:
        channel_conversion = np.asarray(cc[()], dtype=np.float64)
    unit = _attr(data, "unit")
    return _Series(
        path=p,
        group=obj,
        neurodata_type=ndtype,
        hierarchy=hier,
        data=data,
        n_samples=n,
        n_channels=n_channels,
        rate=rate,
        starting_time=starting_time,
        timestamps=timestamps,
        conversion=_num(_attr(data, "conversion", 1.0), 1.0),
        offset=_num(_attr(data, "offset", 0.0), 0.0),
        channel_conversion=channel_conversion,
        unit=(spec_unit(hier) or "") if unit is None else _text(unit),
    )


def _region_rows(h5: h5py.File, group: h5py.Group, name: str) -> tuple[np.ndarray, Any] | None:
    """(row indices, target table group) of a small DynamicTableRegion child."""
    ds = group.get(name)
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.shape[0] > 100_000:
        return None
    try:
        rows = np.asarray(ds[()], dtype=np.int64)
        ref = ds.attrs.get("table")
        table = h5[ref] if ref is not None else None
    except (OSError, RuntimeError, ValueError, TypeError, KeyError):
        return None
    return rows, table


def _column(table: Any, name: str, rows: np.ndarray) -> list[Any] | None:
    """Values of a small non-ragged column at the given rows (or None)."""
    if table is None or name not in table or f"{name}_index" in table:
        return None
    ds = table[name]
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.shape[0] > 100_000:
        return None
    values = ds[()]
    ok = (rows >= 0) & (rows < len(values))
    return [values[r] if good else None for r, good in zip(rows, ok, strict=True)]


def _channel_labels(h5: h5py.File, s: _Series) -> tuple[list[str], list[str] | None, Any]:
    """Labels of the series' channels, their group names, and the electrode/ROI rows."""
    n = s.n_channels
    if "ElectricalSeries" in s.hierarchy or "SpikeEventSeries" in s.hierarchy:
        found = _region_rows(h5, s.group, "electrodes")
        if found is not None and len(found[0]) == n:
            rows, table = found
            ids = _column(table, "id", rows)
            locations = _column(table, "location", rows)
            group_names = _column(table, "group_name", rows)
            if group_names is None:
                refs = _column(table, "group", rows)
                if refs is not None:
                    group_names = [
                        (_deref(h5, r) or "").rsplit("/", 1)[-1] if r is not None else None
                        for r in refs
                    ]
            labels = []
            for i, row in enumerate(rows):
                ident = ids[i] if ids is not None and ids[i] is not None else row
                where = _text(locations[i]) if locations and locations[i] is not None else ""
                label = f"e{int(ident)}"
                if where:
                    label += f" {where}"
                labels.append(label)
            groups = (
                [_text(g) if g is not None else "" for g in group_names]
                if group_names is not None
                else None
            )
            return labels, groups, [int(r) for r in rows]
    if "RoiResponseSeries" in s.hierarchy:
        found = _region_rows(h5, s.group, "rois")
        if found is not None and len(found[0]) == n:
            rows, table = found
            ids = _column(table, "id", rows)
            labels = [
                f"ROI {int(ids[i]) if ids is not None and ids[i] is not None else int(r)}"
                for i, r in enumerate(rows)
            ]
            return labels, None, [int(r) for r in rows]
    if "SpatialSeries" in s.hierarchy and n <= 3:
        return ["x", "y", "z"][:n], None, None
    return [str(c) for c in range(n)], None, None


def _channel_regions(h5: h5py.File, s: _Series) -> list[str] | None:
    """The brain region (electrodes `location`) of each channel of an ElectricalSeries."""
    if "ElectricalSeries" not in s.hierarchy and "SpikeEventSeries" not in s.hierarchy:
        return None
    found = _region_rows(h5, s.group, "electrodes")
    if found is None or len(found[0]) != s.n_channels:
        return None
    rows, table = found
    locations = _column(table, "location", rows)
    if locations is None:
        return None
    return [_text(x) if x is not None else "" for x in locations]


def series_info(
    h5: h5py.File, path: str, *, overview: OverviewReader | None = None
) -> dict[str, Any]:
    """Facts about a time series for the traces view (see docs/explorer-api.md).

    Keys: path, neurodata_type, n_samples, n_channels, rate, starting_time,
    has_timestamps, t_start, t_end, duration, unit, conversion, offset,
    channel_conversion (bool), shape, dtype, chunks, channel_labels, channel_groups,
    channel_regions (electrode locations, for ElectricalSeries), channel_rows (electrode
    or ROI table rows, when known), description,
    overview_levels (a list of {level, block, n_blocks}; empty when there is no usable
    overview) and overview_status ("ready", "none", "not needed", "stale", or why it
    was skipped).
    """
    s = _series(h5, path, need="traces")
    if s.n_samples == 0:
        t_start = t_end = None
    else:
        t_start = s.first_time()
        t_end = s.end_time()
    labels, groups, rows = _channel_labels(h5, s)
    regions = _channel_regions(h5, s)
    levels, status = _usable_levels(h5, s, overview)
    if not levels and status == "none" and not needs_overview(s.n_samples, s.n_channels):
        status = "not needed"
    description = _attr(s.group, "description")
    return _clean(
        {
            "path": s.path,
            "neurodata_type": s.neurodata_type,
            "n_samples": s.n_samples,
            "n_channels": s.n_channels,
            "rate": s.rate,
            "starting_time": s.starting_time if s.timestamps is None else None,
            "has_timestamps": s.has_timestamps,
            "t_start": t_start,
            "t_end": t_end,
            "duration": (t_end - t_start) if t_start is not None and t_end is not None else 0.0,
            "unit": s.unit,
            "conversion": s.conversion,
            "offset": s.offset,
            "channel_conversion": s.channel_conversion is not None,
            "conversion_applied": True,
            "shape": list(s.data.shape),
            "dtype": _dtype_name(s.data.dtype),
            "chunks": list(s.data.chunks) if s.data.chunks else None,
            "channel_labels": labels,
            "channel_groups": groups,
            "channel_regions": regions,
            "channel_rows": rows,
            "description": None if description is None else _cut(_text(description), 1000),
            "overview_levels": [lv.as_dict() for lv in levels],
            "overview_status": status,
        }
    )


def _source_id(h5: h5py.File) -> str:
    value = _attr(h5["/"], "object_id")
    return "" if value is None else _text(value)


def _usable_levels(
    h5: h5py.File, s: _Series, overview: OverviewReader | None
) -> tuple[list[OverviewLevel], str]:
    """The overview levels of a series that match the file, and a status word."""
    if overview is None:
        return [], "none"
    info = overview.info(s.path)
    if info is None:
        return [], "none"
    if info.get("status") != "built":
        return [], str(info.get("reason") or info.get("status") or "none")
    source = overview.source_id
    if (
        int(info.get("n_samples", -1)) != s.n_samples
        or int(info.get("n_channels", -1)) != s.n_channels
        or (source and source != _source_id(h5))
    ):
        return [], "stale"
    return overview.levels(s.path), "ready"


def parse_index_list(
    value: Any, n: int, *, what: str = "channel", limit: int | None = None
) -> list[int] | None:
    """Indices from ``[0, 3, 5]`` or text like ``"0-63,70"``; checked against ``n``.

    None stays None (meaning "all"). Raises BadRequest naming the valid range.
    """
    if value is None:
        return None
    items: list[int] = []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        for part in text.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", part)
            if not m:
                raise BadRequest(f"'{_cut(part, 40)}' is not a {what} number or range (like 0-63).")
            a = int(m.group(1))
            b = int(m.group(2)) if m.group(2) is not None else a
            if b < a:
                raise BadRequest(f"The {what} range {a}-{b} is backwards.")
            if b - a > 1_000_000:
                raise BadRequest(f"The {what} range {a}-{b} is too long.")
            items.extend(range(a, b + 1))
    else:
        try:
            items = [int(v) for v in value]
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"{what.capitalize()}s must be whole numbers.") from exc
        if any(float(v) != int(v) for v in value):
            raise BadRequest(f"{what.capitalize()}s must be whole numbers.")
    if not items:
        raise BadRequest(f"Choose at least one {what}.")
    bad = [i for i in items if i < 0 or i >= n]
    if bad:
        valid = f"0-{n - 1}" if n > 0 else "none"
        raise BadRequest(f"There is no {what} {bad[0]}: this one has {n} (valid: {valid}).")
    if limit is not None and len(items) > limit:
        raise BadRequest(f"Choose at most {limit} {what}s at a time (you chose {len(items)}).")
    return items


def _search_timestamps(ts: h5py.Dataset, n: int, t: float) -> int:
    """First index i in [0, n] with ts[i] >= t, by bisection with small reads.

    Long ranges are bisected one element at a time (each read touches one chunk); the
    last 64 Ki elements are read in one go and searched in memory.
    """
    lo, hi = 0, n
    while hi - lo > 65_536:
        mid = (lo + hi) // 2
        value = float(ts[mid])
        if value < t or math.isnan(value):
            lo = mid + 1
        else:
            hi = mid
    if hi <= lo:
        return lo
    block = np.asarray(ts[lo:hi], dtype=np.float64)
    return lo + int(np.searchsorted(block, t, side="left"))


def raw_cost(s: _Series, a: int, b: int, channels: np.ndarray) -> tuple[int, int]:
    """(bytes, chunks) HDF5 reads for data[a:b, channels]: whole rows of a contiguous
    dataset; else every chunk the rows and channels touch, at its uncompressed size."""
    ds = s.data
    if b <= a:
        return 0, 0
    row = math.prod(ds.shape[1:]) * ds.dtype.itemsize
    if not ds.chunks:
        return (b - a) * row, 1
    c0 = int(ds.chunks[0])
    rows = (b - 1) // c0 - a // c0 + 1
    columns = 1
    if ds.ndim > 1 and len(channels):
        c1 = int(ds.chunks[1])
        columns = len({int(c) // c1 for c in channels})
    chunks = rows * columns * math.prod(int(c) for c in ds.chunks[2:])
    return chunks * math.prod(int(c) for c in ds.chunks) * ds.dtype.itemsize, chunks


def _read_rows(s: _Series, a: int, b: int, channels: np.ndarray) -> np.ndarray:
    """data[a:b, channels] as a 2-D array in the stored dtype (no scaling)."""
    ds = s.data
    if ds.ndim == 1:
        return np.asarray(ds[a:b]).reshape(-1, 1)
    c = channels
    if len(c) == s.n_channels and np.array_equal(c, np.arange(s.n_channels)):
        return np.asarray(ds[a:b])
    if len(c) and np.array_equal(c, np.arange(c[0], c[0] + len(c))):
        return np.asarray(ds[a:b, int(c[0]) : int(c[0]) + len(c)])
    unique, inverse = np.unique(c, return_inverse=True)
    block = np.asarray(ds[a:b, unique.tolist()])
    return block[:, inverse]
