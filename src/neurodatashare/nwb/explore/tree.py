"""The file's object tree: every object described at once (:func:`describe_tree`), or a
page at a time (:func:`tree_page`), and which explorer views can show each object.

:func:`describe_tree` describes every object of a file in one answer; for a file with
tens of thousands of objects that is megabytes and seconds. :func:`tree_page` describes
only the objects of the requested page (their attributes, views, shapes), breadth-first,
so the first page of any file holds its top levels and a group's further children are
asked for when it is opened. Each group entry of a page says how many children it has
(``child_count``), so a reader knows whether it holds them all.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest, NotFound
from neurodatashare.nwb.explore._h5 import (
    _SPEC_ROOT,
    _attr,
    _attrs,
    _clean,
    _cut,
    _dtype_name,
    _kind_of,
    _ndtype,
    _small_value,
    _text,
)
from neurodatashare.nwb.explore.types import _Types, spec_unit, type_views
from neurodatashare.nwb.limits import DEFAULT_PAGE, MAX_PAGE, MAX_TREE_ENTRIES


def _dataset_facts(ds: h5py.Dataset) -> dict[str, Any]:
    compression = ds.compression
    return {
        "shape": list(ds.shape) if ds.shape is not None else None,
        "dtype": _dtype_name(ds.dtype),
        "chunks": list(ds.chunks) if ds.chunks else None,
        "compression": compression,
        "compression_opts": _clean(ds.compression_opts) if compression else None,
        "shuffle": _shuffle(ds),
    }


def _shuffle(ds: Any) -> bool:
    try:
        return bool(ds.shuffle)
    except AttributeError:  # lindi's datasets (NWB-Zarr, nwb/zarr_lindi.py) have no filters
        return False


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


# ------------------------------------------------------------------------- pages


def _norm_group(h5: h5py.File, path: str) -> str:
    path = "/" + path.strip("/") if path.strip("/") else "/"
    obj = h5.get(path)
    if obj is None:
        raise NotFound(f"There is no object {path} in this file.")
    if not isinstance(obj, h5py.Group):
        raise BadRequest(f"{path} is a dataset, not a group; it has no children.")
    return path


def _child(path: str, name: str) -> str:
    return f"/{name}" if path == "/" else f"{path}/{name}"


def tree_page(
    h5: h5py.File,
    *,
    path: str = "/",
    depth: int | None = None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> dict[str, Any]:
    """Entries below group `path`, breadth-first, `depth` levels deep (None: all).

    Returns ``{"path", "depth", "offset", "limit", "nodes", "next_offset"}``. On the first
    page (offset 0) the group itself comes first. ``next_offset`` is None when the page
    holds everything that was asked for. Entries are those of ``describe_tree`` plus
    ``child_count`` on groups; soft and external links are listed in their group's
    ``links``, not as entries.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"'limit' must be between 1 and {MAX_PAGE}.")
    root = _norm_group(h5, path)
    types = _Types(h5)
    nodes: list[dict[str, Any]] = []
    seen = 0  # positions walked, including skipped ones
    queue: deque[tuple[str, int]] = deque([(root, 0)])
    more = False
    expanded: set[Any] = set()  # groups hard-linked twice are walked once (no cycles)

    def add(obj: Any, obj_path: str) -> None:
        entry = _entry(obj, obj_path, types, h5)
        if isinstance(obj, h5py.Group):
            links: dict[str, str] = {}
            count = 0
            for name in obj:
                link = obj.get(name, getlink=True)
                if isinstance(link, h5py.SoftLink):
                    links[name] = link.path
                elif isinstance(link, h5py.ExternalLink):
                    links[name] = f"{link.filename}:{link.path}"
                else:
                    count += 1
            entry["links"] = links
            entry["child_count"] = count
        nodes.append(entry)

    expanded.add(h5[root].id)
    if offset == 0:
        add(h5[root], root)
    while queue and not more:
        group_path, level = queue.popleft()
        if depth is not None and level >= depth:
            continue
        group = h5[group_path]
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
                continue
            child_path = _child(group_path, name)
            try:
                obj = group[name]
            except (KeyError, OSError, RuntimeError):
                continue
            if isinstance(obj, h5py.Group) and obj.id not in expanded:
                expanded.add(obj.id)
                queue.append((child_path, level + 1))
            seen += 1
            if seen <= offset:
                continue
            if len(nodes) >= limit + (1 if offset == 0 else 0):
                more = True
                break
            add(obj, child_path)
    return {
        "path": root,
        "depth": depth,
        "offset": offset,
        "limit": limit,
        "nodes": nodes,
        "next_offset": seen - 1 if more else None,
    }
