"""Neurodata types: their ancestry, and the explorer views a type decides.

:class:`_Types` knows each type's ancestors from pynwb's catalog plus the extension specs
cached in the file. :func:`type_views` picks the view of objects whose shape would
mislead: a ``SpikeEventSeries`` (events x channels x samples) and a
``DecompositionSeries`` (time x channels x bands) are 3-D like a movie, a colour
``ImageSeries`` (frames, x, y, 3) is 4-D like a volume, static ``Image`` datasets are not
series at all, and an event table is just a table: chosen by shape, each would get the
wrong view. It decides by type first; :func:`neurodatashare.nwb.explore.tree._views` falls
back to shapes. :func:`spec_unit` knows the unit a type's specification fixes
(``ElectricalSeries`` data are volts), for files that leave the attribute out.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import h5py

from neurodatashare.nwb.explore._h5 import _SPEC_ROOT, _text

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


# ------------------------------------------------------------- views decided by type

#: Columns that hold event times in an event table (ndx-events' EventsTable: timestamp).
TIME_COLUMNS = ("timestamp", "timestamps", "time", "times", "event_time", "event_times")
#: Columns that may accompany the times of an event table and still make it "events".
EVENT_EXTRA_COLUMNS = ("duration", "stop_time", "value", "label", "event_type", "type")
_IMAGE_TYPES = ("Image", "GrayscaleImage", "RGBImage", "RGBAImage")
_MICROSCOPY = ("TwoPhotonSeries", "OnePhotonSeries")


def _colnames(obj: h5py.Group) -> list[str]:
    raw = obj.attrs.get("colnames")
    if raw is None:
        return []
    items = raw.tolist() if hasattr(raw, "tolist") else raw
    if isinstance(items, str | bytes):
        items = [items]
    return [x.decode() if isinstance(x, bytes) else str(x) for x in items]


def time_column(obj: h5py.Group) -> str | None:
    """The event-time column of a table that holds only event times (or None)."""
    names = _colnames(obj)
    found = next((c for c in names if c in TIME_COLUMNS), None)
    if found is None:
        return None
    ds = obj.get(found)
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.dtype.kind not in "iuf":
        return None
    if f"{found}_index" in obj:
        return None
    others = [c for c in names if c != found]
    if all(c in EVENT_EXTRA_COLUMNS for c in others):
        return found
    return None


def is_colour(data: Any) -> bool:
    """An image series' data of shape (frames, x, y, 3 or 4)."""
    return (
        isinstance(data, h5py.Dataset)
        and data.ndim == 4
        and data.shape[3] in (3, 4)
        and data.dtype.kind in "biuf"
    )


def type_views(obj: Any, hier: tuple[str, ...]) -> list[str] | None:
    """The views of an object whose type decides them, or None to decide by shape."""
    if isinstance(obj, h5py.Dataset):
        if any(t in hier for t in _IMAGE_TYPES) and obj.ndim in (2, 3):
            return ["picture"]
        return None
    if not isinstance(obj, h5py.Group):
        return None
    if "Images" in hier:
        return ["picture"]
    data = obj.get("data")
    if "SpikeEventSeries" in hier and isinstance(data, h5py.Dataset) and data.ndim in (2, 3):
        return ["snippets", "events"] if isinstance(obj.get("timestamps"), h5py.Dataset) else []
    if "DecompositionSeries" in hier and isinstance(data, h5py.Dataset) and data.ndim == 3:
        return ["bands"]
    if "ImageSeries" in hier and not any(t in hier for t in _MICROSCOPY) and is_colour(data):
        return ["picture"]
    if "IntervalSeries" in hier and isinstance(obj.get("timestamps"), h5py.Dataset):
        return ["events", "traces"]
    table = "colnames" in obj.attrs and "TimeIntervals" not in hier and "Units" not in hier
    if table and time_column(obj) is not None:
        return ["events", "table"]
    return None


@lru_cache(maxsize=256)
def _spec_unit(name: str) -> str | None:
    import pynwb

    catalog = pynwb.get_type_map().namespace_catalog
    for ns in catalog.namespaces:
        try:
            spec = catalog.get_spec(ns, name)
        except (KeyError, ValueError):
            continue
        get = getattr(spec, "get_dataset", None)
        data = get("data") if get else None
        attr = data.get_attribute("unit") if data is not None else None
        if attr is None:
            return None
        value = attr.value if attr.value is not None else attr.default_value
        return str(value) if value is not None else None
    return None


def spec_unit(hier: tuple[str, ...]) -> str | None:
    """The unit the type's specification fixes or defaults to (e.g. volts), if any."""
    for name in hier:
        unit = _spec_unit(name)
        if unit:
            return unit
    return None
