"""Tables (any DynamicTable: trials, electrodes, units, ROIs...): a page of rows, sorted
and filtered when the table is small enough to read whole columns, with a summary of
each column; ragged and multi-dimensional cells are cut to what a screen shows."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb import references
from neurodatashare.nwb.explore._h5 import (
    _attr,
    _clean,
    _cut,
    _deref,
    _dtype_name,
    _get,
    _kind_of,
    _ndtype,
    _norm_path,
    _text,
)
from neurodatashare.nwb.explore.types import _core_types
from neurodatashare.nwb.limits import (
    MAX_CELL_ITEMS,
    MAX_CELL_VALUES,
    MAX_RAGGED_SCAN,
    MAX_SORT_ROWS,
    MAX_TABLE_LIMIT,
)


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
