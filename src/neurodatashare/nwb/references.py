"""Object references as data: the JSON the explorer shows for cells that point elsewhere.

NWB tables point at other objects in three ways:

* a ``TimeSeriesReferenceVectorData`` column (``timeseries`` of trials and epochs, the
  ``stimulus`` and ``response`` columns of the icephys tables) holds compound rows
  ``(idx_start, count, timeseries)``; each becomes
  ``{"ref": "/acquisition/x", "start": 10, "count": 5}`` (``start`` and ``count`` index
  the series' samples; NWB writes ``-1`` for "no data", shown as ``null`` with the path);
* any other compound row becomes an object of its fields, a reference field as
  ``{"ref": path}``;
* an object-reference column holds the path of its target (``null`` when empty or
  dangling), and a ``DynamicTableRegion`` column the row numbers of the table named in
  the column's ``target``.

h5py reads a compound row as a numpy record whose reference fields are
:class:`h5py.Reference` objects; nothing in h5py or hdmf turns them into JSON, so that
small step is written here.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

#: The fields of NWB's TimeSeriesReferenceVectorData rows.
_TS_FIELDS = ("idx_start", "count", "timeseries")


def target_path(h5: h5py.File, ref: Any) -> str | None:
    """The path an object reference points at (None when it is empty or dangling)."""
    try:
        if not ref:
            return None
        name = h5[ref].name
        return str(name) if name else None
    except (ValueError, KeyError, RuntimeError, OSError, TypeError):
        return None


def _is_ref_field(dtype: np.dtype[Any]) -> bool:
    return h5py.check_ref_dtype(dtype) is not None


def is_series_reference(dtype: np.dtype[Any]) -> bool:
    """True for the compound type of TimeSeriesReferenceVectorData."""
    names = dtype.names or ()
    return tuple(names) == _TS_FIELDS and _is_ref_field(dtype["timeseries"])


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def compound_cell(h5: h5py.File, dtype: np.dtype[Any], value: Any) -> Any:
    """One compound row (a numpy record or tuple) as JSON, references as paths."""
    names = dtype.names or ()
    fields = tuple(value) if not isinstance(value, dict) else tuple(value[n] for n in names)
    if is_series_reference(dtype):
        start, count, ref = fields
        start, count = int(start), int(count)
        return {
            "ref": target_path(h5, ref),
            "start": None if start < 0 else start,
            "count": None if count < 0 else count,
        }
    out: dict[str, Any] = {}
    for name, field in zip(names, fields, strict=True):
        if _is_ref_field(dtype[name]):
            out[name] = {"ref": target_path(h5, field)}
        else:
            out[name] = _plain(field)
    return out


def has_references(dtype: np.dtype[Any]) -> bool:
    """True if a dataset of this type holds object references (directly or in a field)."""
    if _is_ref_field(dtype):
        return True
    return any(_is_ref_field(dtype[n]) for n in dtype.names or ())


def category_columns(group: h5py.Group) -> list[str]:
    """The columns of an AlignedDynamicTable's category tables, as ``category/column``.

    The icephys ``intracellular_recordings`` table keeps its columns (electrode, stimulus,
    response) in sub-tables named by its ``categories`` attribute, aligned row by row.
    """
    try:
        categories = group.attrs.get("categories")
    except (OSError, RuntimeError, TypeError):
        return []
    out: list[str] = []
    for raw in np.atleast_1d(categories) if categories is not None else ():
        name = _plain(raw)
        sub = group.get(str(name))
        if not isinstance(sub, h5py.Group) or "colnames" not in sub.attrs:
            continue
        out += [f"{name}/{_plain(c)}" for c in np.atleast_1d(sub.attrs["colnames"])]
    return out
