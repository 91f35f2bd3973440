"""The small HDF5 helpers every reader of the explorer uses: text and JSON-safe values,
object paths checked and looked up (through links), attributes read without failing."""

from __future__ import annotations

import math
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest, NotFound
from neurodatashare.nwb import links, references
from neurodatashare.nwb.limits import MAX_ATTR_BYTES, MAX_ATTR_ITEMS, MAX_TEXT

_SPEC_ROOT = "/specifications"


def _text(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _cut(text: str, limit: int = MAX_TEXT) -> str:
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
        items = [_small_value(v, h5) for v in flat[:MAX_ATTR_ITEMS]]
        if flat.size > MAX_ATTR_ITEMS:
            items.append(f"… ({flat.size - MAX_ATTR_ITEMS} more)")
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
            get_id = getattr(obj.attrs, "get_id", None)  # lindi's (NWB-Zarr) have none
            size = get_id(name).get_storage_size() if get_id else 0
            if size > MAX_ATTR_BYTES:
                out[name] = f"<{size:,} bytes, not shown>"
                continue
            out[name] = _small_value(obj.attrs[name], h5)
        except (OSError, RuntimeError, TypeError, ValueError, KeyError):
            out[name] = "<unreadable>"
    return out


def _check_float(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"'{name}' must be a number of seconds.") from exc
    if not math.isfinite(x):
        raise BadRequest(f"'{name}' must be a finite number.")
    return x


def visit_items(h5: Any, visit: Any) -> Any:
    """`h5.visititems(visit)`; lindi's files (NWB-Zarr, nwb/zarr_lindi.py) have no HDF5
    ids to visit, so their objects are walked here group by group, by name, without
    following soft links (as h5py's visit does not)."""
    if not isinstance(getattr(h5, "id", None), str):
        return h5.visititems(visit)
    stack: list[tuple[str, Any]] = [("", h5)]
    while stack:
        prefix, group = stack.pop()
        children = []
        for name in sorted(group.keys()):
            if isinstance(group.get(name, getlink=True), h5py.SoftLink):
                continue
            obj = group[name]
            path = prefix + name
            found = visit(path, obj)
            if found is not None:
                return found
            if isinstance(obj, h5py.Group):
                children.append((path + "/", obj))
        stack.extend(reversed(children))
    return None
