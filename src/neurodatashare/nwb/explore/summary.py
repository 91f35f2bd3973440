"""What the asset page shows first: a file's session, subject, devices and electrodes at a
glance, the recording's time span, and its main acquisition object.

Read straight from the HDF5 file with small reads (attributes, scalar datasets, a few
elements of each series' time base), so it costs the same for a 10 MB and a 100 GB file.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import h5py
import numpy as np

from neurodatashare.nwb.explore._h5 import _attr, _clean, _cut, _ndtype, _text, visit_items
from neurodatashare.nwb.explore.tree import _views
from neurodatashare.nwb.explore.types import _Types
from neurodatashare.nwb.limits import MAX_SPAN_SERIES

_SESSION_FIELDS = {
    "session_description": "/session_description",
    "identifier": "/identifier",
    "session_start_time": "/session_start_time",
    "session_id": "/general/session_id",
    "experiment_description": "/general/experiment_description",
    "experimenter": "/general/experimenter",
    "lab": "/general/lab",
    "institution": "/general/institution",
    "keywords": "/general/keywords",
}
_SUBJECT_FIELDS = (
    "subject_id",
    "species",
    "age",
    "sex",
    "strain",
    "genotype",
    "date_of_birth",
    "weight",
    "description",
)
#: The main acquisition view, most telling first.
_MAIN_ORDER = (
    "ElectricalSeries",
    "TwoPhotonSeries",
    "OnePhotonSeries",
    "SpatialSeries",
    "ImageSeries",
    "TimeSeries",
)


def _value(h5: h5py.File, path: str) -> Any:
    ds = h5.get(path)
    if not isinstance(ds, h5py.Dataset) or ds.size > 64:
        return None
    try:
        value = ds[()]
    except (OSError, RuntimeError, TypeError, ValueError):
        return None
    if isinstance(value, np.ndarray):
        return [_cut(_text(v)) for v in value.reshape(-1)]
    return _cut(_text(value), 2000)


def _age(group: h5py.Group) -> Any:
    ds = group.get("age")
    if not isinstance(ds, h5py.Dataset):
        return None
    text = _text(ds[()])
    ref = _attr(ds, "reference")
    return f"{text} (from {_text(ref)})" if ref and _text(ref) != "birth" else text


def _subject(h5: h5py.File) -> dict[str, Any] | None:
    group = h5.get("/general/subject")
    if not isinstance(group, h5py.Group):
        return None
    out: dict[str, Any] = {}
    for name in _SUBJECT_FIELDS:
        if name == "age":
            out[name] = _age(group)
            continue
        value = _value(h5, f"{group.name}/{name}")
        if name == "weight" and value is not None:
            unit = _attr(group.get(name), "unit")
            value = f"{value} {_text(unit)}" if unit else value
        out[name] = value
    return out


def _devices(h5: h5py.File, types: _Types) -> list[dict[str, Any]]:
    group = h5.get("/general/devices")
    if not isinstance(group, h5py.Group):
        return []
    out = []
    for name, dev in list(group.items())[:50]:
        # only devices: not the `models` group (DeviceModel, NWB 2.9+) or other containers
        if not isinstance(dev, h5py.Group) or not types.isa(_ndtype(dev), "Device"):
            continue
        out.append(
            {
                "name": name,
                "description": _cut(_text(_attr(dev, "description", "")), 300) or None,
                "manufacturer": _cut(_text(_attr(dev, "manufacturer", "")), 200) or None,
            }
        )
    return out


def _column(table: h5py.Group, name: str) -> list[str] | None:
    ds = table.get(name)
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 or ds.shape[0] > 100_000:
        return None
    if h5py.check_string_dtype(ds.dtype) is None and ds.dtype.kind not in "OSU":
        return None
    return [_text(v) for v in ds[()]]


def _electrodes(h5: h5py.File) -> dict[str, Any] | None:
    ecephys = h5.get("/general/extracellular_ephys")
    if not isinstance(ecephys, h5py.Group):
        return None
    groups = []
    for name, g in ecephys.items():
        if isinstance(g, h5py.Group) and _ndtype(g) and name != "electrodes":
            link = g.get("device", getlink=True)
            device = link.path if isinstance(link, h5py.SoftLink) else None
            groups.append(
                {
                    "name": name,
                    "location": _cut(_text(_attr(g, "location", "")), 200) or None,
                    "description": _cut(_text(_attr(g, "description", "")), 200) or None,
                    "device": device.rsplit("/", 1)[-1] if device else None,
                }
            )
    table = ecephys.get("electrodes")
    count = 0
    locations: dict[str, int] = {}
    if isinstance(table, h5py.Group) and isinstance(table.get("id"), h5py.Dataset):
        count = int(table["id"].shape[0])
        locs = _column(table, "location")
        if locs is not None:
            locations = dict(Counter(locs).most_common(20))
        names = _column(table, "group_name")
        if names is not None:
            per = Counter(names)
            for g in groups:
                g["electrodes"] = per.get(g["name"], 0)
    return {"count": count, "groups": groups, "locations": locations}


def _span_of(group: h5py.Group) -> tuple[float, float] | None:
    """First and last time of a series, from two reads at most."""
    data = group.get("data")
    n = int(data.shape[0]) if isinstance(data, h5py.Dataset) and data.shape else 0
    ts = group.get("timestamps")
    try:
        if isinstance(ts, h5py.Dataset) and ts.ndim == 1 and ts.shape[0]:
            last = min(int(ts.shape[0]), n or int(ts.shape[0])) - 1
            a, b = float(ts[0]), float(ts[last])
        else:
            st = group.get("starting_time")
            if not isinstance(st, h5py.Dataset) or not n:
                return None
            rate = float(_attr(st, "rate", 0.0) or 0.0)
            if rate <= 0:
                return None
            a = float(st[()])
            b = a + n / rate
    except (OSError, RuntimeError, TypeError, ValueError):
        return None
    if not (np.isfinite(a) and np.isfinite(b)):
        return None
    return a, max(a, b)


def file_overview(h5: h5py.File) -> dict[str, Any]:
    """Session, subject, devices, electrodes, recording span and main acquisition object.

    ``span`` is [first, last] second over every time series in the file (None when it
    has none); ``main`` the path of the acquisition object the page draws first (the
    largest ElectricalSeries, else imaging, behaviour... with a view), or None.
    """
    types = _Types(h5)
    session = {key: _value(h5, path) for key, path in _SESSION_FIELDS.items()}
    lo, hi = np.inf, -np.inf
    seen = 0
    candidates: list[tuple[int, int, str]] = []

    def visit(name: str, obj: Any) -> Any:
        nonlocal lo, hi, seen
        if not isinstance(obj, h5py.Group) or name.startswith("specifications"):
            return None
        hier = types.hierarchy(_ndtype(obj))
        if "TimeSeries" not in hier:
            return None
        seen += 1
        if seen > MAX_SPAN_SERIES:
            return True
        span = _span_of(obj)
        if span is not None:
            lo, hi = min(lo, span[0]), max(hi, span[1])
        if name.startswith("acquisition/"):
            views = _views(obj, hier)
            if views:
                rank = next((i for i, t in enumerate(_MAIN_ORDER) if t in hier), len(_MAIN_ORDER))
                data = obj.get("data")
                size = int(data.size) if isinstance(data, h5py.Dataset) else 0
                candidates.append((rank, -size, "/" + name))
        return None

    visit_items(h5, visit)
    candidates.sort()
    counts = {}
    units = h5.get("/units")
    if isinstance(units, h5py.Group) and isinstance(units.get("id"), h5py.Dataset):
        counts["units"] = int(units["id"].shape[0])
    trials = h5.get("/intervals/trials")
    if isinstance(trials, h5py.Group) and isinstance(trials.get("id"), h5py.Dataset):
        counts["trials"] = int(trials["id"].shape[0])
    return _clean(
        {
            "nwb_version": _text(_attr(h5["/"], "nwb_version", "")) or None,
            "session": session,
            "subject": _subject(h5),
            "devices": _devices(h5, types),
            "electrodes": _electrodes(h5),
            "counts": counts,
            "span": [float(lo), float(hi)] if np.isfinite(lo) and np.isfinite(hi) else None,
            "main": candidates[0][2] if candidates else None,
        }
    )
