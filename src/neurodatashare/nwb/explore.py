"""Read what one explorer view needs from an open NWB (HDF5) file, and nothing more.

Every function takes an open :class:`h5py.File` (local, or any file object h5py can open,
such as a remote or byte-counting file) and the HDF5 path of an object in it, like
``/acquisition/ElectricalSeries``. None of them reads a dataset whole unless it is small:

* :func:`describe_tree` reads attributes, shapes and datasets of a few elements only;
* :func:`read_window` reads the samples of the requested window, or, for a zoomed-out
  view, the min/max blocks of an overview level (:mod:`neurodatashare.nwb.overview`); if a
  window would need more than ``max_raw_values`` raw values and no overview can serve it,
  it refuses (409) instead of reading the range;
* irregular timestamps are binary-searched with a few small reads;
* tables read one page of rows; sorting, filtering and summaries read whole columns only
  for tables up to :data:`MAX_SORT_ROWS` rows; ragged cells show their first
  :data:`MAX_CELL_ITEMS` elements, and multi-dimensional cells (image masks, waveforms)
  only their shape;
* spikes, PSTHs, frames, projections and ROI masks have explicit count limits.

So a "bomb" (a dataset declared with billions of rows but tiny on disk) costs the same as
a normal file: nothing here is proportional to a declared shape.

A bad request (a path that is not in the file, the wrong kind of object, a window outside
the recording) raises :class:`~neurodatashare.errors.BadRequest` or
:class:`~neurodatashare.errors.NotFound` with a sentence a scientist understands; a
zoomed-out window that needs an overview that is not built yet raises
:class:`~neurodatashare.errors.Conflict`.

Orientation of images: NWB (and NeuroConv) store imaging data as ``(frame, x, y)`` and
image masks as ``(roi, x, y)``. Frames and projections are returned as
``(height, width) = (y, x)`` arrays, i.e. the stored frame transposed, so that row 0 is the
top of the picture; ROI pixel coordinates are ``x`` (column) and ``y`` (row) in that same
picture. The metadata of every image says so in ``orientation``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest, Conflict, NotFound
from neurodatashare.nwb import links, references
from neurodatashare.nwb.view_types import spec_unit, type_views

if TYPE_CHECKING:
    from neurodatashare.nwb.overview import OverviewLevel, OverviewReader

# ------------------------------------------------------------------------------ limits

#: Widest plot (pixels) a window may be asked for.
MAX_WIDTH = 10_000
#: Raw values a window may read when no overview level can serve it (4 M int16 = 8 MB).
MAX_RAW_VALUES = 4_000_000
#: When the raw samples are over budget and no overview level is fine enough, the finest
#: level still serves a window if one of its blocks spans at most this many pixels (its
#: blocks are then wider than a pixel: a coarser but true envelope, instead of a 409).
MAX_PIXELS_PER_BLOCK = 32
#: Longest list of table rows per request.
MAX_TABLE_LIMIT = 1000
#: Largest table that may be sorted, filtered or summarised (whole columns are read).
MAX_SORT_ROWS = 1_000_000
#: Elements shown of one ragged cell (its length is always given).
MAX_CELL_ITEMS = 20
#: Cells with more elements than this (image masks, waveforms) show only their shape.
MAX_CELL_VALUES = 64
#: Elements a "contains" filter may scan in a ragged column.
MAX_RAGGED_SCAN = 5_000_000
#: Units per spikes/waveforms request, and per PSTH request.
MAX_UNITS = 1000
MAX_PSTH_UNITS = 200
#: Bins per PSTH, and spikes a PSTH may read in total.
MAX_PSTH_BINS = 2000
MAX_PSTH_SPIKES = 20_000_000
MAX_PSTH_CELLS = 20_000_000  # trials x bins, per unit
#: Largest frame (pixels) an imaging view returns.
MAX_FRAME_PIXELS = 4096 * 4096
#: ROIs per request, and mask pixels returned in total.
MAX_ROIS = 5000
MAX_ROI_PIXELS = 4_000_000
#: A unit's spike train is read whole up to this many spikes; longer ones are bisected.
_READ_WHOLE_TRAIN = 65_536
#: Strings longer than this are cut in tree attributes and table cells.
_MAX_TEXT = 200
#: Array attributes longer than this are cut; attributes stored in more bytes are not read.
_MAX_ATTR_ITEMS = 32
_MAX_ATTR_BYTES = 1 << 20
#: The tree stops listing after this many objects.
MAX_TREE_ENTRIES = 100_000

_SPEC_ROOT = "/specifications"

# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _cut(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _clean(value: Any) -> Any:
    """Numpy scalars and arrays to JSON-safe Python (NaN and infinities become None)."""
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()] if value.ndim else _clean(value.item())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _norm_path(path: Any) -> str:
    if not isinstance(path, str) or not path.strip().strip("/"):
        if isinstance(path, str) and path.strip() == "/":
            return "/"
        raise BadRequest(
            "Give the path of an object in the file, like /acquisition/ElectricalSeries."
        )
    parts = [p for p in path.strip().split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise BadRequest(f"'{_cut(path, 80)}' is not a valid object path.")
    return "/" + "/".join(parts)


def _get(h5: h5py.File, path: Any) -> Any:
    p = _norm_path(path)
    if p == "/":
        return h5["/"]
    try:
        obj = h5.get(p)
    except (KeyError, ValueError, RuntimeError, OSError):
        obj = None
    if obj is None:
        obj, missing = links.follow(p)
        if missing:
            raise NotFound(missing)
    if obj is None:
        raise NotFound(f"There is no object at {_cut(p, 120)} in this file.")
    return obj


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    try:
        value = obj.attrs.get(name, default)
    except (OSError, RuntimeError, TypeError, KeyError):
        return default
    if isinstance(value, bytes | np.bytes_):
        return _text(value)
    return value


def _ndtype(obj: Any) -> str | None:
    value = _attr(obj, "neurodata_type")
    return None if value is None else _text(value)


def _deref(h5: h5py.File, ref: Any) -> str | None:
    """The path an object reference points at (or None when it is empty or dangling)."""
    return references.target_path(h5, ref)


def _num(value: Any, default: float) -> float:
    try:
        x = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return default
    return x if math.isfinite(x) else default


def _kind_of(obj: Any) -> str:
    return "group" if isinstance(obj, h5py.Group) else "dataset"


# ------------------------------------------------------------------- type hierarchy


@lru_cache(maxsize=1)
def _core_types() -> dict[str, tuple[str, ...]]:
    """Every type pynwb knows (core, hdmf-common, ...) -> itself and its ancestors."""
    import pynwb

    catalog = pynwb.get_type_map().namespace_catalog
    out: dict[str, tuple[str, ...]] = {}
    for ns in catalog.namespaces:
        for name in catalog.get_namespace(ns).get_registered_types():
            out.setdefault(name, tuple(catalog.get_hierarchy(ns, name)))
    return out


class _Types:
    """Ancestry of neurodata types: pynwb's catalog, plus the file's cached extension specs
    (read lazily, only when a type is not a core one)."""

    def __init__(self, h5: h5py.File) -> None:
        # Load pynwb's catalog now, not first inside an h5py visit callback: h5py holds
        # its global lock there, and importing pynwb while another request's thread does
        # the same deadlocks the two (the tree and the overview load together).
        _core_types()
        self.h5 = h5
        self._parents: dict[str, str] | None = None
        self._memo: dict[str, tuple[str, ...]] = {}

    def _file_parents(self) -> dict[str, str]:
        if self._parents is not None:
            return self._parents
        parents: dict[str, str] = {}
        spec = self.h5.get(_SPEC_ROOT)
        if isinstance(spec, h5py.Group):
            for ns_name, ns in spec.items():
                if ns_name in ("core", "hdmf-common", "hdmf-experimental"):
                    continue
                if not isinstance(ns, h5py.Group) or not len(ns):
                    continue
                version = sorted(ns.keys())[-1]
                group = ns[version]
                if not isinstance(group, h5py.Group):
                    continue
                for source in group.values():
                    if not isinstance(source, h5py.Dataset) or source.shape != ():
                        continue
                    try:
                        doc = json.loads(_text(source[()]))
                    except (ValueError, TypeError, OSError):
                        continue
                    _collect_spec_types(doc, parents)
        self._parents = parents
        return parents

    def hierarchy(self, name: str | None) -> tuple[str, ...]:
        if not name:
            return ()
        if name in self._memo:
            return self._memo[name]
        core = _core_types()
        chain: list[str] = []
        current: str | None = name
        while current is not None and current not in chain:
            if current in core:
                chain.extend(core[current])
                break
            chain.append(current)
            current = self._file_parents().get(current)
        self._memo[name] = tuple(chain)
        return self._memo[name]

    def isa(self, name: str | None, base: str) -> bool:
        return base in self.hierarchy(name)


def _collect_spec_types(node: Any, parents: dict[str, str]) -> None:
    if isinstance(node, dict):
        name = node.get("neurodata_type_def") or node.get("data_type_def")
        parent = node.get("neurodata_type_inc") or node.get("data_type_inc")
        if isinstance(name, str) and isinstance(parent, str):
            parents.setdefault(name, parent)
        for value in node.values():
            if isinstance(value, list | dict):
                _collect_spec_types(value, parents)
    elif isinstance(node, list):
        for item in node:
            _collect_spec_types(item, parents)


# --------------------------------------------------------------------------- the tree


def _dtype_name(dtype: np.dtype[Any]) -> str:
    if h5py.check_string_dtype(dtype) is not None:
        return "text"
    ref = h5py.check_ref_dtype(dtype)
    if ref is not None:
        return "region reference" if ref is h5py.RegionReference else "reference"
    if dtype.names:
        fields_: Any = dtype.fields or {}
        fields = ", ".join(f"{n}: {_dtype_name(fields_[n][0])}" for n in dtype.names)
        return f"compound({fields})"
    if h5py.check_vlen_dtype(dtype) is not None:
        return "ragged"
    if dtype.kind == "O":
        return "object"
    return str(dtype)


def _small_value(value: Any, h5: h5py.File) -> Any:
    """An attribute or tiny dataset value as short JSON."""
    if isinstance(value, h5py.Reference):
        return _deref(h5, value)
    if isinstance(value, bytes | np.bytes_ | str):
        return _cut(_text(value))
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            return f"<{value.shape} compound>"
        flat = value.reshape(-1)
        items = [_small_value(v, h5) for v in flat[:_MAX_ATTR_ITEMS]]
        if flat.size > _MAX_ATTR_ITEMS:
            items.append(f"… ({flat.size - _MAX_ATTR_ITEMS} more)")
        elif value.ndim > 1 and flat.size:
            return _clean(np.array(items, dtype=object).reshape(value.shape))
        return items
    if isinstance(value, np.void):
        return _clean(references.compound_cell(h5, value.dtype, value))
    return _clean(value)


def _attrs(obj: Any, h5: h5py.File) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        names = list(obj.attrs.keys())
    except (OSError, RuntimeError):
        return out
    for name in names:
        if name in (".specloc",):
            continue
        try:
            size = obj.attrs.get_id(name).get_storage_size()
            if size > _MAX_ATTR_BYTES:
                out[name] = f"<{size:,} bytes, not shown>"
                continue
            out[name] = _small_value(obj.attrs[name], h5)
        except (OSError, RuntimeError, TypeError, ValueError, KeyError):
            out[name] = "<unreadable>"
    return out


def _dataset_facts(ds: h5py.Dataset) -> dict[str, Any]:
    compression = ds.compression
    return {
        "shape": list(ds.shape) if ds.shape is not None else None,
        "dtype": _dtype_name(ds.dtype),
        "chunks": list(ds.chunks) if ds.chunks else None,
        "compression": compression,
        "compression_opts": _clean(ds.compression_opts) if compression else None,
        "shuffle": bool(ds.shuffle),
    }


_EVENT_NAME = re.compile(r"event|lick|reward|ttl|pulse|stim|trigger|press", re.IGNORECASE)
_EVENT_TYPES = ("AnnotationSeries", "IntervalSeries", "Events", "LabeledEvents", "TTLs")


def _is_series_group(obj: Any, hier: tuple[str, ...]) -> bool:
    if not isinstance(obj, h5py.Group):
        return False
    if "TimeSeries" in hier:
        return True
    data = obj.get("data")
    return isinstance(data, h5py.Dataset) and ("timestamps" in obj or "starting_time" in obj)


def _views(obj: Any, hier: tuple[str, ...]) -> list[str]:
    """Which explorer views can show this object (the most specific first)."""
    by_type = type_views(obj, hier)
    if by_type is not None:
        return by_type
    if not isinstance(obj, h5py.Group):
        return []
    views: list[str] = []
    if _is_series_group(obj, hier):
        data = obj.get("data")
        shape = data.shape if isinstance(data, h5py.Dataset) else None
        numeric = isinstance(data, h5py.Dataset) and data.dtype.kind in "biuf"
        ndim = len(shape) if shape is not None else 0
        n = shape[0] if shape else 0
        if ("ImageSeries" in hier or ndim >= 3) and ndim in (3, 4) and n > 0 and numeric:
            views.append("imaging")
        elif ndim in (1, 2) and n > 0 and numeric:
            has_ts = isinstance(obj.get("timestamps"), h5py.Dataset)
            if "SpatialSeries" in hier and ndim == 2 and shape is not None and shape[1] == 2:
                views.append("behavior")
            if has_ts and ndim == 1 and _looks_like_events(obj, data, hier):
                views.append("events")
            views.append("traces")
        elif any(t in hier for t in _EVENT_TYPES) and isinstance(
            obj.get("timestamps"), h5py.Dataset
        ):
            views.append("events")
    elif "Events" in hier and isinstance(obj.get("timestamps"), h5py.Dataset):
        views.append("events")
    if "colnames" in obj.attrs:
        if "Units" in hier:
            views.append("units")
        if "PlaneSegmentation" in hier:
            views.append("segmentation")
        views.append("table")
    return views


def _looks_like_events(group: h5py.Group, data: h5py.Dataset, hier: tuple[str, ...]) -> bool:
    if any(t in hier for t in _EVENT_TYPES):
        return True
    name = group.name.rsplit("/", 1)[-1]
    if _EVENT_NAME.search(name):
        return True
    if data.size and data.size <= 10_000:
        try:
            values = data[()]
        except (OSError, RuntimeError, TypeError, ValueError):
            return False
        return bool(np.all(values == values.reshape(-1)[0]))
    return False


def _tiny_value(ds: h5py.Dataset, h5: h5py.File) -> Any:
    """The value of a dataset of at most 8 elements (never for specifications)."""
    if ds.name and ds.name.startswith(_SPEC_ROOT):
        return None
    if ds.shape is None or ds.size > 8 or ds.dtype.names:
        return None
    try:
        value = ds[()]
    except (OSError, RuntimeError, TypeError, ValueError):
        return None
    return _small_value(value, h5)


def describe_tree(h5: h5py.File) -> list[dict[str, Any]]:
    """Every group and dataset in the file, with what the explorer needs to list it.

    Each entry: ``path``, ``name``, ``kind`` ("group"/"dataset"), ``neurodata_type``,
    ``attrs`` (short values; long strings and arrays cut), ``shape``, ``dtype``,
    ``chunks``, ``compression`` (+ ``compression_opts``, ``shuffle``), ``unit``,
    ``description``, ``views`` (see the module docs), ``links`` (soft links of a group:
    name -> target path) and ``value`` (for datasets of at most 8 elements). For a time
    series or image series group, shape/dtype/chunks/compression describe its ``data``.
    The first entry is the root ("/"); a file with more than :data:`MAX_TREE_ENTRIES`
    objects is cut there, and the root says ``truncated``.
    """
    types = _Types(h5)
    root = h5["/"]
    entries: list[dict[str, Any]] = [_entry(root, "/", types, h5)]
    by_path: dict[str, dict[str, Any]] = {"/": entries[0]}
    truncated = False

    def visit(name: str, link: Any) -> Any:
        nonlocal truncated
        path = "/" + name
        parent_path = path.rsplit("/", 1)[0] or "/"
        if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
            parent = by_path.get(parent_path)
            if parent is not None:
                target = (
                    link.path if isinstance(link, h5py.SoftLink) else f"{link.filename}:{link.path}"
                )
                parent.setdefault("links", {})[path.rsplit("/", 1)[-1]] = target
            return None
        if len(entries) >= MAX_TREE_ENTRIES:
            truncated = True
            return True  # stop visiting
        try:
            obj = h5[path]
        except (KeyError, OSError, RuntimeError):
            return None
        entry = _entry(obj, path, types, h5)
        entries.append(entry)
        if entry["kind"] == "group":
            by_path[path] = entry
        return None

    h5.visititems_links(visit)
    for entry in entries:
        if entry["kind"] == "group":
            entry.setdefault("links", {})
    if truncated:
        entries[0]["truncated"] = True
    return entries


def _entry(obj: Any, path: str, types: _Types, h5: h5py.File) -> dict[str, Any]:
    ndtype = _ndtype(obj)
    hier = types.hierarchy(ndtype)
    entry: dict[str, Any] = {
        "path": path,
        "name": path.rsplit("/", 1)[-1] or "/",
        "kind": _kind_of(obj),
        "neurodata_type": ndtype,
        "attrs": _attrs(obj, h5),
        "shape": None,
        "dtype": None,
        "chunks": None,
        "compression": None,
        "compression_opts": None,
        "shuffle": None,
        "unit": None,
        "description": None,
        "views": [],
        "value": None,
    }
    description = _attr(obj, "description")
    if description is not None:
        entry["description"] = _cut(_text(description), 1000)
    if isinstance(obj, h5py.Dataset):
        entry.update(_dataset_facts(obj))
        unit = _attr(obj, "unit")
        entry["unit"] = None if unit is None else _text(unit)
        entry["value"] = _tiny_value(obj, h5)
        entry["views"] = _views(obj, hier)
        return entry
    try:
        entry["views"] = _views(obj, hier)
    except (OSError, RuntimeError, KeyError):
        entry["views"] = []
    if _is_series_group(obj, hier):
        data = obj.get("data")
        if isinstance(data, h5py.Dataset):
            entry.update(_dataset_facts(data))
            unit = _attr(data, "unit")
            entry["unit"] = spec_unit(hier) if unit is None else _text(unit)
    return entry


def trace_series_paths(h5: h5py.File) -> list[str]:
    """Paths of every group the "traces" view can show (what overviews are built for)."""
    types = _Types(h5)
    out: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and not obj.name.startswith(_SPEC_ROOT):
            try:
                if "traces" in _views(obj, types.hierarchy(_ndtype(obj))):
                    out.append("/" + name)
            except (OSError, RuntimeError, KeyError):
                pass

    h5.visititems(visit)
    return out


# ---------------------------------------------------------------------- time series


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
    from neurodatashare.nwb.overview import needs_overview

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


# --------------------------------------------------------------------------- windows


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


def _check_float(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"'{name}' must be a number of seconds.") from exc
    if not math.isfinite(x):
        raise BadRequest(f"'{name}' must be a finite number.")
    return x


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


def block_minmax(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of consecutive blocks of ``size`` rows (the last may be shorter).

    NaNs are ignored (a block of only NaNs gives NaN). Integer input keeps its dtype.
    Shared by :func:`read_window` and the overview builder, so both agree exactly.
    """
    n = values.shape[0]
    full = n // size
    lo_op, hi_op = (np.fmin, np.fmax) if values.dtype.kind == "f" else (np.minimum, np.maximum)
    parts_lo, parts_hi = [], []
    if full:
        body = values[: full * size].reshape(full, size, *values.shape[1:])
        parts_lo.append(lo_op.reduce(body, axis=1))
        parts_hi.append(hi_op.reduce(body, axis=1))
    if n > full * size:
        tail = values[full * size :]
        parts_lo.append(lo_op.reduce(tail, axis=0, keepdims=True))
        parts_hi.append(hi_op.reduce(tail, axis=0, keepdims=True))
    if not parts_lo:
        empty = np.empty((0, *values.shape[1:]), dtype=values.dtype)
        return empty, empty.copy()
    if len(parts_lo) == 1:
        return parts_lo[0], parts_hi[0]
    return np.concatenate(parts_lo), np.concatenate(parts_hi)


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
    if count * n_ch <= max_raw_values:
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


# ---------------------------------------------------------------------------- tables


@dataclass
class _Column:
    name: str
    data: h5py.Dataset
    indexes: list[h5py.Dataset]  # outermost first: x_index_index, x_index
    kind: str  # number, bool, text, reference, region, compound, array
    description: str
    target: str | None = None  # table a region column points to
    cell_shape: tuple[int, ...] = ()

    @property
    def ragged(self) -> bool:
        return bool(self.indexes)

    @property
    def cell_size(self) -> int:
        return math.prod(self.cell_shape)


class _Table:
    def __init__(self, h5: h5py.File, path: Any) -> None:
        obj = _get(h5, path)
        p = _norm_path(path)
        if not isinstance(obj, h5py.Group) or "colnames" not in obj.attrs:
            kind = _ndtype(obj) or _kind_of(obj)
            raise BadRequest(f"{p} ({kind}) is not a table (it has no columns).")
        self.h5 = h5
        self.group = obj
        self.path = p
        self.neurodata_type = _ndtype(obj)
        names = [_text(c) for c in np.atleast_1d(obj.attrs["colnames"])]
        names += references.category_columns(obj)
        ids = obj.get("id")
        if not isinstance(ids, h5py.Dataset) or ids.ndim != 1:
            raise BadRequest(f"{p} has no id column, so it is not a valid table.")
        self.n_rows = int(ids.shape[0])
        self.columns: dict[str, _Column] = {
            "id": _Column("id", ids, [], "number", "Row identifier.")
        }
        for name in names:
            col = self._column(name)
            if col is not None:
                self.columns[name] = col

    def _column(self, name: str) -> _Column | None:
        g = self.group
        ds = g.get(name)
        if not isinstance(ds, h5py.Dataset) or ds.shape is None:
            return None
        indexes: list[h5py.Dataset] = []
        key = name
        while isinstance(g.get(f"{key}_index"), h5py.Dataset):
            key = f"{key}_index"
            indexes.insert(0, g[key])
        dtype = ds.dtype
        nd = _ndtype(ds)
        target = None
        if nd == "DynamicTableRegion" or (nd and "DynamicTableRegion" in _core_types().get(nd, ())):
            kind = "region"
            ref = ds.attrs.get("table")
            target = _deref(self.h5, ref) if ref is not None else None
        elif h5py.check_ref_dtype(dtype) is not None:
            kind = "reference"
        elif h5py.check_string_dtype(dtype) is not None or dtype.kind in "OSU":
            kind = "text"
        elif dtype.names:
            kind = "compound"
        elif dtype.kind == "b":
            kind = "bool"
        elif dtype.kind in "iuf":
            kind = "number"
        else:
            kind = "other"
        cell_shape = tuple(int(x) for x in ds.shape[1:])
        if cell_shape and kind in ("number", "bool"):
            kind = "array"
        description = _attr(ds, "description")
        return _Column(
            name=name,
            data=ds,
            indexes=indexes,
            kind=kind,
            description="" if description is None else _cut(_text(description), 500),
            target=target,
            cell_shape=cell_shape,
        )

    def col(self, name: str) -> _Column:
        if name not in self.columns:
            valid = ", ".join(self.columns)
            raise BadRequest(f"{self.path} has no column '{_cut(name, 60)}' (it has: {valid}).")
        return self.columns[name]

    def need_small(self, what: str) -> None:
        if self.n_rows > MAX_SORT_ROWS:
            raise BadRequest(
                f"{self.path} has {self.n_rows:,} rows; {what} works on tables of up to "
                f"{MAX_SORT_ROWS:,} rows. Page through it without {what}."
            )

    # -- ragged structure
    def bounds(self, col: _Column, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and stop (into the innermost data, or the next index) of the given rows."""
        index = col.indexes[0]
        return _index_bounds(index, rows)

    def lengths(self, col: _Column) -> np.ndarray:
        idx = np.asarray(col.indexes[0][()], dtype=np.int64)
        return np.diff(np.concatenate([[0], idx]))


def _index_bounds(index: h5py.Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) of rows in a VectorIndex, reading only the entries needed."""
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo, hi = int(rows.min()), int(rows.max())
    if hi - lo < 4 * len(rows) + 1024:
        a = max(0, lo - 1)
        seg = np.asarray(index[a : hi + 1], dtype=np.int64)
        stops = seg[rows - a]
        starts = np.where(rows > 0, seg[np.maximum(rows - 1 - a, 0)], 0)
        if lo == 0:
            starts = np.where(rows == 0, 0, starts)
        return starts, stops
    need = np.unique(np.concatenate([rows, rows[rows > 0] - 1]))
    values = np.asarray(index[need.tolist()], dtype=np.int64)
    lookup = dict(zip(need.tolist(), values.tolist(), strict=True))
    stops = np.array([lookup[int(r)] for r in rows], dtype=np.int64)
    starts = np.array([lookup[int(r) - 1] if r > 0 else 0 for r in rows], dtype=np.int64)
    return starts, stops


def _read_at(ds: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """ds[rows] for any order of rows, touching only what is needed."""
    if len(rows) == 0:
        return np.asarray(ds[0:0])
    lo, hi = int(rows.min()), int(rows.max())
    if hi - lo < 4 * len(rows) + 1024:
        return np.asarray(ds[lo : hi + 1])[rows - lo]
    unique, inverse = np.unique(rows, return_inverse=True)
    return np.asarray(ds[unique.tolist()])[inverse]


def _cell_value(h5: h5py.File, col: _Column, value: Any) -> Any:
    if col.kind == "reference":
        return _deref(h5, value)
    if col.kind == "text":
        return _cut(_text(value))
    if col.kind == "compound":
        return _clean(references.compound_cell(h5, col.data.dtype, value))
    return _clean(value)


def _cells(tbl: _Table, col: _Column, rows: np.ndarray) -> list[Any]:
    """Display values of one column at the given rows."""
    h5 = tbl.h5
    if not col.ragged:
        if col.cell_size > MAX_CELL_VALUES:
            cell = {"shape": list(col.cell_shape), "dtype": _dtype_name(col.data.dtype)}
            return [dict(cell) for _ in rows]
        stored = _read_at(col.data, rows)
        return [_cell_value(h5, col, v) for v in stored]
    starts, stops = tbl.bounds(col, rows)
    out: list[Any] = []
    inner = col.indexes[1:]
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        length = b - a
        if inner:  # doubly ragged: show the lengths of the first sub-lists
            sub = np.asarray(inner[0][a : min(b, a + MAX_CELL_ITEMS)], dtype=np.int64)
            first = int(inner[0][a - 1]) if a > 0 else 0
            sizes = np.diff(np.concatenate([[first], sub])).tolist()
            out.append({"length": length, "values": sizes, "lengths_of_sublists": True})
            continue
        if col.cell_size > MAX_CELL_VALUES:
            out.append({"length": length, "shape": list(col.cell_shape)})
            continue
        chunk = col.data[a : min(b, a + MAX_CELL_ITEMS)] if length > 0 else []
        out.append({"length": length, "values": [_cell_value(h5, col, v) for v in chunk]})
    return out


def _column_values(tbl: _Table, col: _Column) -> np.ndarray:
    """A whole (small-table) column as something sortable/comparable."""
    if col.ragged:
        return tbl.lengths(col)
    if col.cell_shape:
        raise BadRequest(f"Column '{col.name}' holds arrays; it cannot be sorted or filtered.")
    values = col.data[()]
    if col.kind == "reference":
        return np.array([_deref(tbl.h5, v) or "" for v in values], dtype=object)
    if col.kind == "text":
        return np.array([_text(v) for v in values], dtype=object)
    if col.kind == "compound":
        raise BadRequest(f"Column '{col.name}' holds records; it cannot be sorted or filtered.")
    return np.asarray(values)


def _summary(tbl: _Table, col: _Column) -> dict[str, Any] | None:
    if tbl.n_rows > MAX_SORT_ROWS:
        return None
    try:
        if col.ragged:
            lengths = tbl.lengths(col)
            if not len(lengths):
                return {"kind": "lengths", "min": None, "max": None, "mean": None, "total": 0}
            return {
                "kind": "lengths",
                "min": int(lengths.min()),
                "max": int(lengths.max()),
                "mean": float(lengths.mean()),
                "total": int(lengths.sum()),
            }
        if col.cell_shape or col.kind in ("compound", "other"):
            return None
        if col.kind in ("number", "region"):
            values = np.asarray(col.data[()], dtype=np.float64)
            finite = values[np.isfinite(values)]
            return {
                "kind": "number",
                "min": float(finite.min()) if finite.size else None,
                "max": float(finite.max()) if finite.size else None,
                "mean": float(finite.mean()) if finite.size else None,
                "missing": int(values.size - finite.size),
            }
        if col.kind == "bool":
            values = np.asarray(col.data[()], dtype=bool)
            return {
                "kind": "bool",
                "true": int(values.sum()),
                "false": int(np.logical_not(values).sum()),
            }
        if col.kind in ("text", "reference"):
            if col.kind == "reference" and tbl.n_rows > 10_000:
                return None
            values = _column_values(tbl, col)
            counts = Counter(values.tolist())
            return {
                "kind": "text",
                "distinct": len(counts),
                "top": [[_cut(str(v), 80), c] for v, c in counts.most_common(5)],
            }
    except (OSError, RuntimeError, ValueError, TypeError):
        return None
    return None


_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "contains")


def _parse_filter(item: Any) -> tuple[str, str, str]:
    parts = item.split(":", 2) if isinstance(item, str) else [str(x) for x in item]
    if len(parts) != 3 or not parts[0]:
        raise BadRequest(
            f"'{_cut(str(item), 60)}' is not a filter; write COLUMN:OP:VALUE, "
            "like quality:eq:good or start_time:gt:10."
        )
    col, op, value = parts
    if op not in _OPS:
        raise BadRequest(f"'{op}' is not a filter operation; use one of {', '.join(_OPS)}.")
    return col, op, value


def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1", "yes", "y", "t"):
        return True
    if t in ("false", "0", "no", "n", "f"):
        return False
    raise BadRequest(f"'{_cut(text, 40)}' is not true or false.")


def _compare(values: np.ndarray, op: str, target: Any) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "eq":
            return np.asarray(values == target, dtype=bool)
        if op == "ne":
            return np.asarray(values != target, dtype=bool)
        if op == "lt":
            return np.asarray(values < target, dtype=bool)
        if op == "le":
            return np.asarray(values <= target, dtype=bool)
        if op == "gt":
            return np.asarray(values > target, dtype=bool)
        return np.asarray(values >= target, dtype=bool)


def _filter_mask(tbl: _Table, col: _Column, op: str, raw: str) -> np.ndarray:
    if col.ragged:
        if op != "contains":
            lengths = tbl.lengths(col)
            target = _parse_number(raw, col.name)
            return _compare(lengths.astype(np.float64), op, target)
        total = int(np.asarray(col.indexes[0][-1])) if tbl.n_rows else 0
        if len(col.indexes) > 1 or col.cell_shape or total > MAX_RAGGED_SCAN:
            raise BadRequest(
                f"Column '{col.name}' is too large to search with 'contains' "
                f"({total:,} values; at most {MAX_RAGGED_SCAN:,})."
            )
        data = col.data[()]
        if col.kind in ("text", "reference"):
            if col.kind == "reference":
                flat = np.array([_deref(tbl.h5, v) or "" for v in data], dtype=object)
            else:
                flat = np.array([_text(v) for v in data], dtype=object)
            low = raw.lower()
            hit = np.array([low in v.lower() for v in flat], dtype=bool)
        else:
            hit = np.asarray(data, dtype=np.float64) == _parse_number(raw, col.name)
        stops = np.asarray(col.indexes[0][()], dtype=np.int64)
        cum = np.concatenate([[0], np.cumsum(hit)])
        starts = np.concatenate([[0], stops[:-1]])
        return np.asarray((cum[stops] - cum[starts]) > 0)
    values = _column_values(tbl, col)
    if col.kind in ("text", "reference"):
        if op == "contains":
            low = raw.lower()
            return np.array([low in str(v).lower() for v in values], dtype=bool)
        return _compare(values.astype(str), op, raw)
    if op == "contains":
        raise BadRequest(f"'contains' works on text and list columns; '{col.name}' holds numbers.")
    if col.kind == "bool":
        if op not in ("eq", "ne"):
            raise BadRequest(f"Column '{col.name}' is true/false; filter it with eq or ne.")
        return _compare(values.astype(bool), op, _parse_bool(raw))
    return _compare(values.astype(np.float64), op, _parse_number(raw, col.name))


def _parse_number(raw: str, column: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise BadRequest(f"Column '{column}' holds numbers; '{_cut(raw, 40)}' is not one.") from exc


def read_table(
    h5: h5py.File,
    path: str,
    *,
    offset: int = 0,
    limit: int = 100,
    sort: str | None = None,
    desc: bool = False,
    filters: Iterable[str | Sequence[str]] = (),
    summaries: bool = True,
) -> dict[str, Any]:
    """A page of rows of any DynamicTable (trials, electrodes, units, ROIs, ...).

    Returns ``{"path", "neurodata_type", "description", "columns", "rows", "row_indices",
    "total", "filtered_total", "offset", "limit"}``. Each column: ``name``, ``dtype``,
    ``kind`` (number, bool, text, reference, region, array, compound), ``description``,
    ``ragged``, ``shape`` (of one cell), ``target`` (the table a region column points
    to) and ``summary`` (numbers: min/max/mean/missing; bool: counts; text: distinct count
    and the 5 most common values; ragged: min/max/mean/total length; None for arrays or
    tables over :data:`MAX_SORT_ROWS` rows, or when ``summaries`` is False). Each row is a
    dict ``{column: cell}``; ragged cells are ``{"length": n, "values": [first 20]}``,
    cells of more than :data:`MAX_CELL_VALUES` elements ``{"shape": [...]}``, references
    the path of their target, region cells row numbers of their target table.
    ``row_indices`` gives each row's position in the table.

    ``filters`` are ``COL:OP:VALUE`` (ops eq, ne, lt, le, gt, ge, contains; on ragged
    columns the comparisons apply to the length and ``contains`` to the elements); they
    combine with AND. ``sort`` sorts by a column (ragged: by length; missing values last).
    Sorting, filtering and summaries read whole columns, so they are refused (400) on
    tables over :data:`MAX_SORT_ROWS` rows; plain paging works on any size.
    """
    tbl = _Table(h5, path)
    try:
        offset = int(offset)
        limit = int(limit)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'offset' and 'limit' must be whole numbers.") from exc
    if offset < 0:
        raise BadRequest("'offset' cannot be negative.")
    if not 1 <= limit <= MAX_TABLE_LIMIT:
        raise BadRequest(f"'limit' must be between 1 and {MAX_TABLE_LIMIT} (got {limit}).")
    parsed = [_parse_filter(f) for f in filters]
    order: np.ndarray | None = None
    if parsed:
        tbl.need_small("filtering")
        mask = np.ones(tbl.n_rows, dtype=bool)
        for name, op, raw in parsed:
            mask &= _filter_mask(tbl, tbl.col(name), op, raw)
        order = np.flatnonzero(mask)
    if sort:
        tbl.need_small("sorting")
        key_col = tbl.col(sort)
        keys = _column_values(tbl, key_col)
        rows = order if order is not None else np.arange(tbl.n_rows)
        k = keys[rows]
        if k.dtype.kind == "f":
            missing = np.isnan(k)
            present = rows[~missing]
            kp = k[~missing]
            idx = np.argsort(kp, kind="stable")
            if desc:
                idx = idx[::-1]
            order = np.concatenate([present[idx], rows[missing]])
        else:
            if k.dtype == object:
                k = k.astype(str)
            idx = np.argsort(k, kind="stable")
            order = rows[idx[::-1] if desc else idx]
    filtered_total = tbl.n_rows if order is None else len(order)
    if order is None:
        page = np.arange(min(offset, tbl.n_rows), min(offset + limit, tbl.n_rows))
    else:
        page = order[offset : offset + limit]
    page = np.asarray(page, dtype=np.int64)
    columns = []
    cells: dict[str, list[Any]] = {}
    for col in tbl.columns.values():
        columns.append(
            {
                "name": col.name,
                "dtype": _dtype_name(col.data.dtype),
                "kind": col.kind,
                "description": col.description,
                "ragged": col.ragged,
                "shape": list(col.cell_shape) if col.cell_shape else None,
                "target": col.target,
                "summary": _summary(tbl, col) if summaries else None,
            }
        )
        cells[col.name] = _cells(tbl, col, page)
    rows_out = [{name: cells[name][i] for name in cells} for i in range(len(page))]
    description = _attr(tbl.group, "description")
    return _clean(
        {
            "path": tbl.path,
            "neurodata_type": tbl.neurodata_type,
            "description": None if description is None else _cut(_text(description), 1000),
            "columns": columns,
            "rows": rows_out,
            "row_indices": page.tolist(),
            "total": tbl.n_rows,
            "filtered_total": filtered_total,
            "offset": offset,
            "limit": limit,
        }
    )


# ---------------------------------------------------------------------------- units


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
    while hi - lo > _READ_WHOLE_TRAIN:
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
    max_spikes: int = 200_000,
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


# ---------------------------------------------------------------------------- imaging

_ORIENTATION = (
    "rows are y and columns are x: the file's (x, y) frames are transposed, so row 0 is "
    "the top of the image"
)


@dataclass
class Image:
    """One frame or a projection: float32 (height, width), in the series' unit."""

    kind: str  # "frame" | "mean" | "max"
    data: np.ndarray
    path: str
    unit: str
    index: int | None = None
    frames: list[int] = field(default_factory=list)
    n_frames: int = 0
    time: float | None = None
    plane: int | None = None

    def meta(self) -> dict[str, Any]:
        finite = self.data[np.isfinite(self.data)]
        return _clean(
            {
                "kind": "image",
                "image": self.kind,
                "shape": list(self.data.shape),
                "dtype": "float32",
                "path": self.path,
                "unit": self.unit,
                "index": self.index,
                "time": self.time,
                "n_frames": self.n_frames,
                "frames_used": len(self.frames) if self.kind != "frame" else 1,
                "plane": self.plane,
                "min": float(finite.min()) if finite.size else None,
                "max": float(finite.max()) if finite.size else None,
                "orientation": _ORIENTATION,
            }
        )

    def to_bytes(self) -> bytes:
        return np.ascontiguousarray(self.data, dtype="<f4").tobytes()


def _imaging(h5: h5py.File, path: Any) -> _Series:
    s = _series(h5, path, need="imaging")
    shape = s.data.shape
    if math.prod(shape[1:3]) > MAX_FRAME_PIXELS:
        raise BadRequest(f"The frames of {s.path} are too large to show ({list(shape[1:])}).")
    return s


def _frame_to_image(frame: np.ndarray) -> np.ndarray:
    """Stored (x, y[, z]) -> (y, x), the first plane of a volume."""
    if frame.ndim == 3:
        frame = frame[..., 0]
    return np.ascontiguousarray(frame.T)


def read_frame(h5: h5py.File, path: str, *, index: int) -> Image:
    """Frame ``index`` of an image series (a volume's first plane), as (height, width)."""
    s = _imaging(h5, path)
    try:
        index = int(index)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'index' must be a whole number (a frame number).") from exc
    n = s.n_samples
    if not 0 <= index < n:
        raise BadRequest(f"There is no frame {index}: {s.path} has {n} frames (0-{n - 1}).")
    sel = np.s_[index] if s.data.ndim == 3 else np.s_[index, :, :, 0]
    frame = np.asarray(s.data[sel])
    image = _frame_to_image(frame).astype(np.float32) * np.float32(s.conversion)
    if s.offset:
        image += np.float32(s.offset)
    t = float(s.timestamps[index]) if s.timestamps is not None else s.time_of(index)
    return Image(
        kind="frame",
        data=image,
        path=s.path,
        unit=s.unit,
        index=index,
        frames=[index],
        n_frames=n,
        time=t,
        plane=0 if s.data.ndim == 4 else None,
    )


def projection(h5: h5py.File, path: str, *, kind: str = "mean", max_frames: int = 500) -> Image:
    """Mean or max projection over at most ``max_frames`` evenly spaced frames.

    Frames are read chunk by chunk, so each stored chunk is decompressed at most once.
    """
    if kind not in ("mean", "max"):
        raise BadRequest(f"'{_cut(str(kind), 20)}' is not a projection; use mean or max.")
    s = _imaging(h5, path)
    try:
        max_frames = int(max_frames)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'max_frames' must be a whole number.") from exc
    if not 1 <= max_frames <= 5000:
        raise BadRequest("'max_frames' must be between 1 and 5000.")
    n = s.n_samples
    if n == 0:
        raise BadRequest(f"{s.path} has no frames.")
    picks = np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(np.int64))
    chunk = int(s.data.chunks[0]) if s.data.chunks else 1
    acc: np.ndarray | None = None
    for c in np.unique(picks // chunk):
        inside = picks[(picks // chunk) == c]
        a, b = int(inside[0]), int(inside[-1]) + 1
        sel = np.s_[a:b] if s.data.ndim == 3 else np.s_[a:b, :, :, 0]
        block = np.asarray(s.data[sel])[inside - a]
        if kind == "mean":
            part = block.sum(axis=0, dtype=np.float64)
            acc = part if acc is None else acc + part
        else:
            part = block.max(axis=0).astype(np.float64)
            acc = part if acc is None else np.maximum(acc, part)
    assert acc is not None
    if kind == "mean":
        acc = acc / len(picks)
    image = _frame_to_image(acc[..., None] if acc.ndim == 2 else acc)
    image = image.astype(np.float32) * np.float32(s.conversion)
    if s.offset:
        image += np.float32(s.offset)
    return Image(
        kind=kind,
        data=image,
        path=s.path,
        unit=s.unit,
        frames=picks.tolist(),
        n_frames=n,
        plane=0 if s.data.ndim == 4 else None,
    )


def _link_target(group: h5py.Group, name: str) -> str | None:
    try:
        link = group.get(name, getlink=True)
    except (KeyError, OSError, RuntimeError):
        return None
    if isinstance(link, h5py.SoftLink):
        return str(link.path)
    obj = group.get(name)
    return str(obj.name) if obj is not None else None


def read_rois(h5: h5py.File, path: str, *, max_rois: int = MAX_ROIS) -> dict[str, Any]:
    """ROI masks of a PlaneSegmentation, as pixel lists in the frame view's orientation.

    Returns ``{"path", "shape": [height, width], "mask_type": "image_mask" |
    "pixel_mask" | "voxel_mask", "imaging_series", "rois": [{"index", "id", "x", "y",
    "centroid": [x, y], "n_pixels"}], "orientation", "truncated"}``: the pixels whose
    weight is above half the ROI's peak, their weighted centroid, and the image shape
    (from the masks, or the referenced imaging series). Volumes are projected (max) over
    z. At most ``max_rois`` ROIs and :data:`MAX_ROI_PIXELS` pixels in total.
    """
    tbl = _Table(h5, path)
    g = tbl.group
    series = None
    refs = g.get("reference_images")
    if isinstance(refs, h5py.Group):
        for name in refs:
            series = _link_target(refs, name)
            if series:
                break
    shape: list[int] | None = None
    if series:
        ds = h5.get(series + "/data")
        if isinstance(ds, h5py.Dataset) and ds.ndim >= 3:
            shape = [int(ds.shape[2]), int(ds.shape[1])]
    n = tbl.n_rows
    count = min(n, int(max_rois))
    ids = np.asarray(tbl.columns["id"].data[:count])
    rois: list[dict[str, Any]] = []
    total_pixels = 0
    truncated = count < n
    if "image_mask" in g and isinstance(g["image_mask"], h5py.Dataset):
        mask_type = "image_mask"
        ds = g["image_mask"]
        if ds.ndim not in (3, 4):
            raise BadRequest(f"image_mask of {tbl.path} has an unexpected shape {list(ds.shape)}.")
        if math.prod(ds.shape[1:3]) > MAX_FRAME_PIXELS:
            raise BadRequest(f"The masks of {tbl.path} are too large ({list(ds.shape)}).")
        shape = [int(ds.shape[2]), int(ds.shape[1])]
        per_read = max(1, (8 << 20) // max(1, math.prod(ds.shape[1:]) * ds.dtype.itemsize))
        for a in range(0, count, per_read):
            block = np.asarray(ds[a : min(count, a + per_read)], dtype=np.float32)
            if block.ndim == 4:
                block = block.max(axis=3)
            for k, mask in enumerate(block):
                x, y = np.nonzero(_above_half(mask))
                w = mask[x, y]
                rois.append(_roi(a + k, ids[a + k], x, y, w))
                total_pixels += len(x)
            if total_pixels > MAX_ROI_PIXELS:
                truncated = True
                break
    elif "pixel_mask" in g or "voxel_mask" in g:
        mask_type = "pixel_mask" if "pixel_mask" in g else "voxel_mask"
        col = tbl.col(mask_type)
        if len(col.indexes) != 1 or not col.data.dtype.names:
            raise BadRequest(f"{mask_type} of {tbl.path} is not a list of pixels.")
        starts, stops = tbl.bounds(col, np.arange(count))
        names = col.data.dtype.names
        weight_name = "weight" if "weight" in names else names[-1]
        max_x = max_y = 0
        for i, (a, b) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
            if total_pixels + (b - a) > MAX_ROI_PIXELS:
                truncated = True
                break
            rec = np.asarray(col.data[a:b])
            x = np.asarray(rec["x"], dtype=np.int64)
            y = np.asarray(rec["y"], dtype=np.int64)
            w = np.asarray(rec[weight_name], dtype=np.float32)
            keep = w > 0.5 * w.max() if len(w) and w.max() > 0 else np.ones(len(w), bool)
            rois.append(_roi(i, ids[i], x[keep], y[keep], w[keep]))
            total_pixels += int(keep.sum())
            if len(x):
                max_x, max_y = max(max_x, int(x.max())), max(max_y, int(y.max()))
        if shape is None:
            shape = [max_y + 1, max_x + 1]
    else:
        raise BadRequest(f"{tbl.path} has no image_mask or pixel_mask column, so no ROI masks.")
    return _clean(
        {
            "path": tbl.path,
            "shape": shape,
            "mask_type": mask_type,
            "imaging_series": series,
            "rois": rois,
            "total": n,
            "truncated": truncated,
            "orientation": "x is the column and y the row of the frame view's image",
        }
    )


def _above_half(mask: np.ndarray) -> np.ndarray:
    peak = float(np.nanmax(mask)) if mask.size else 0.0
    if not peak > 0:
        return np.zeros(mask.shape, dtype=bool)
    return np.asarray(mask > 0.5 * peak)


def _roi(index: int, ident: Any, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    if len(x):
        weights = np.where(np.isfinite(w) & (w > 0), w, 0).astype(np.float64)
        if weights.sum() <= 0:
            weights = np.ones(len(x))
        centroid = [
            float(np.average(x, weights=weights)),
            float(np.average(y, weights=weights)),
        ]
    else:
        centroid = None
    return {
        "index": index,
        "id": ident,
        "x": np.asarray(x, dtype=np.int64),
        "y": np.asarray(y, dtype=np.int64),
        "centroid": centroid,
        "n_pixels": len(x),
    }


__all__ = [
    "MAX_RAW_VALUES",
    "Image",
    "Window",
    "block_minmax",
    "describe_tree",
    "parse_index_list",
    "projection",
    "psth",
    "read_frame",
    "read_rois",
    "read_spikes",
    "read_table",
    "read_waveforms",
    "read_window",
    "series_info",
    "trace_series_paths",
]
