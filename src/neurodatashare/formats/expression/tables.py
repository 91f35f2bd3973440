"""The expression views that answer JSON: gene search, the dot plot, and the obs table a
page at a time with the NWB table view's sort and COLUMN:OP:VALUE filters (the parser and
comparisons of nwb/explore/table.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.formats.expression.limits import (
    MAX_CELLS_LIMIT,
    MAX_DOTPLOT_GENES,
    MAX_DOTPLOT_GROUPS,
    MAX_GENE_RESULTS,
    MAX_TEXT,
)
from neurodatashare.formats.expression.matrix import Column, H5ad, _short, factorized


def search_genes(ad: H5ad, *, q: str = "", limit: int = 20) -> dict[str, Any]:
    """Genes whose var name or symbol contains `q` (case ignored): exact matches first,
    then those starting with it, then the rest, each in file order; at most `limit`."""
    limit = max(1, min(int(limit), MAX_GENE_RESULTS))
    index, symbols = ad.var_names()
    low = q.strip().lower()
    names = np.char.lower(index.astype(str))
    syms = np.char.lower(symbols.astype(str)) if symbols is not None else None
    if not low:
        rank = np.full(len(index), 3, dtype=np.int8)
    else:
        rank = np.full(len(index), 9, dtype=np.int8)
        for arr in (names, syms):
            if arr is None:
                continue
            rank = np.minimum(rank, np.where(np.char.find(arr, low) >= 0, 2, 9))
            rank = np.minimum(rank, np.where(np.char.startswith(arr, low), 1, 9))
            rank = np.minimum(rank, np.where(arr == low, 0, 9))
    hits = np.flatnonzero(rank < 9)
    order = hits[np.argsort(rank[hits], kind="stable")][:limit]
    found = []
    for j in order.tolist():
        item: dict[str, Any] = {"index": j, "name": str(index[j])}
        if symbols is not None:
            item["symbol"] = str(symbols[j])
        found.append(item)
    return {
        "q": q,
        "genes": found,
        "total": int(hits.size),
        "truncated": bool(hits.size > len(found)),
        "symbol_column": ad.symbol_column(),
        "n_vars": ad.n_vars,
    }


def parse_genes(text: str) -> list[str]:
    """'a,b,c' as gene names, at most MAX_DOTPLOT_GENES (checked before any file is read)."""
    genes = [g.strip() for g in text.split(",") if g.strip()]
    if not genes:
        raise BadRequest("Name at least one gene, like genes=Gad1,Sst.")
    if len(genes) > MAX_DOTPLOT_GENES:
        raise BadRequest(f"Ask for at most {MAX_DOTPLOT_GENES} genes at once (got {len(genes)}).")
    return list(dict.fromkeys(genes))


def dotplot(ad: H5ad, *, genes: Sequence[str], group: str) -> dict[str, Any]:
    """Per group of the obs column `group` and per gene: the mean expression over the
    group's cells and the fraction of them in which the gene is above zero."""
    if len(genes) > MAX_DOTPLOT_GENES:
        raise BadRequest(f"Ask for at most {MAX_DOTPLOT_GENES} genes at once (got {len(genes)}).")
    codes, categories = factorized(ad.obs_column(group))
    if len(categories) > MAX_DOTPLOT_GROUPS:
        raise BadRequest(
            f"obs column '{_short(group)}' has {len(categories):,} groups; a dot plot shows at "
            f"most {MAX_DOTPLOT_GROUPS}. Choose a coarser column."
        )
    positions = [ad.gene(g) for g in genes]
    columns = ad.gene_columns(positions)
    n = len(categories)
    ok = codes >= 0
    sizes = np.bincount(codes[ok], minlength=n)
    mean, fraction = [], []
    for j in positions:
        values = columns[j][ok].astype(np.float64)
        sums = np.bincount(codes[ok], weights=values, minlength=n)
        expressing = np.bincount(codes[ok], weights=(values > 0), minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean.append([_num(v) for v in sums / sizes])
            fraction.append([_num(v) for v in expressing / sizes])
    return {
        "group": group,
        "groups": list(categories),
        "group_sizes": sizes.tolist(),
        "genes": [ad.gene_label(j) for j in positions],
        "gene_index": positions,
        "mean": mean,  # [gene][group]
        "fraction": fraction,
    }


def _num(v: float) -> float | None:
    return None if not math.isfinite(v) else round(float(v), 6)


def _column_meta(col: Column) -> dict[str, Any]:
    kind = {"category": "text", "text": "text", "number": "number", "bool": "bool"}[col.kind]
    out: dict[str, Any] = {"name": col.name, "kind": kind, "dtype": col.dtype}
    if col.kind == "category":
        out["categories"] = len(col.categories)
    return out


def _comparable(col: Column) -> np.ndarray:
    """The column as values a filter compares: text as str, numbers as float."""
    if col.kind == "category":
        cats = np.array([*col.categories, ""], dtype=object)
        return cats[col.values]  # code -1 picks the trailing ""
    return col.values


def _mask(ad: H5ad, raw: str) -> np.ndarray:
    from neurodatashare.nwb.explore.table import _compare, _parse_bool, _parse_filter, _parse_number

    name, op, value = _parse_filter(raw)
    if name == "cell":
        values: np.ndarray = ad.obs_names()
        kind = "text"
    else:
        col = ad.obs_column(name)
        values, kind = _comparable(col), col.kind
    if kind in ("category", "text"):
        text = values.astype(str)
        if op == "contains":
            return np.asarray(np.char.find(np.char.lower(text), value.lower()) >= 0)
        return _compare(text, op, value)
    if op == "contains":
        raise BadRequest(f"'contains' works on text columns; '{_short(name)}' holds numbers.")
    if kind == "bool":
        if op not in ("eq", "ne"):
            raise BadRequest(f"Column '{_short(name)}' is true/false; filter it with eq or ne.")
        return _compare(values.astype(bool), op, _parse_bool(value))
    return _compare(values, op, _parse_number(value, name))


def _sort_order(ad: H5ad, rows: np.ndarray, sort: str, desc: bool) -> np.ndarray:
    if sort == "cell":
        keys: np.ndarray = ad.obs_names()[rows].astype(str)
    else:
        col = ad.obs_column(sort)
        if col.kind == "category":
            # by category name: rank the categories once, then sort the codes' ranks
            names = np.array(col.categories, dtype=object).astype(str)
            rank = np.empty(len(names) + 1, dtype=np.int64)
            rank[np.argsort(names, kind="stable")] = np.arange(len(names))
            rank[-1] = len(names)  # missing last
            keys = rank[col.values[rows]]
        elif col.kind == "text":
            keys = col.values[rows].astype(str)
        else:
            keys = col.values[rows]
    if keys.dtype.kind == "f":
        missing = np.isnan(keys)
        idx = np.argsort(keys[~missing], kind="stable")
        present = rows[~missing][idx[::-1] if desc else idx]
        return np.concatenate([present, rows[missing]])
    idx = np.argsort(keys, kind="stable")
    return rows[idx[::-1] if desc else idx]


def _cell(col: Column, i: int) -> Any:
    v = col.values[i]
    if col.kind == "category":
        return col.categories[v] if v >= 0 else None
    if col.kind == "number":
        f = float(v)
        return None if not math.isfinite(f) else (int(f) if f.is_integer() else f)
    if col.kind == "bool":
        return bool(v)
    return _short(str(v), MAX_TEXT)


def cells(
    ad: H5ad,
    *,
    offset: int = 0,
    limit: int = 100,
    sort: str | None = None,
    desc: bool = False,
    filters: Sequence[str] = (),
) -> dict[str, Any]:
    """A page of the obs table: the cell name (column `cell`) and every obs column."""
    if not 1 <= limit <= MAX_CELLS_LIMIT:
        raise BadRequest(f"'limit' must be between 1 and {MAX_CELLS_LIMIT} (got {limit}).")
    n = ad.n_obs
    order: np.ndarray | None = None
    if filters:
        mask = np.ones(n, dtype=bool)
        for raw in filters:
            mask &= _mask(ad, raw)
        order = np.flatnonzero(mask)
    if sort:
        order = _sort_order(ad, order if order is not None else np.arange(n), sort, desc)
    total = n if order is None else int(order.size)
    if order is None:
        page = np.arange(min(offset, n), min(offset + limit, n))
    else:
        page = order[offset : offset + limit]
    columns = [ad.obs_column(c) for c in ad.obs_columns()]
    names = ad.obs_names()
    rows = []
    for i in page.tolist():
        row: dict[str, Any] = {"cell": _short(str(names[i]), MAX_TEXT)}
        for col in columns:
            row[col.name] = _cell(col, i)
        rows.append(row)
    return {
        "columns": [{"name": "cell", "kind": "text", "dtype": "obs index"}]
        + [_column_meta(c) for c in columns],
        "rows": rows,
        "row_indices": page.tolist(),
        "total": n,
        "filtered_total": total,
        "offset": offset,
        "limit": limit,
    }
