"""One open h5ad file as the views read it: obs columns, var names, gene columns of X and
embeddings, each read once per blob and kept in the column cache (cache.py).

A gene is a column of X. CSC and dense matrices give it directly; CSR stores rows, so the
column is collected by scanning the `indices` in chunks of SCAN_CHUNK with numpy and
reading `data` only where a chunk has hits. Several genes share one scan (the dot plot).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.formats.expression.cache import COLUMNS, ColumnCache
from neurodatashare.formats.expression.limits import SCAN_CHUNK

#: var columns that hold gene symbols, in the names other tools write (CELLxGENE first).
SYMBOL_COLUMNS = ("feature_name", "gene_symbols", "gene_symbol", "gene_name", "symbol", "name")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class Column:
    """An obs column: `category` (int32 codes, -1 missing, with `categories`), `number`
    (float64, NaN missing), `bool` or `text` (str objects)."""

    name: str
    kind: str
    values: np.ndarray
    categories: tuple[str, ...] = ()
    dtype: str = ""


def _as_column(name: str, raw: Any) -> Column:
    import pandas as pd

    if isinstance(raw, pd.Categorical):
        cats = tuple(_text(c) for c in raw.categories)
        return Column(name, "category", np.asarray(raw.codes, dtype=np.int32), cats, "category")
    dtype = str(getattr(raw, "dtype", ""))
    if isinstance(raw, pd.api.extensions.ExtensionArray):  # nullable ints, bools, strings
        if pd.api.types.is_bool_dtype(raw.dtype):
            values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
            return Column(name, "number", values, (), dtype)
        if pd.api.types.is_numeric_dtype(raw.dtype):
            return Column(name, "number", raw.to_numpy(np.float64, na_value=np.nan), (), dtype)
        raw = raw.to_numpy(dtype=object, na_value="")
    arr = np.asarray(raw)
    if arr.ndim != 1:
        raise BadRequest(f"obs column '{_short(name)}' is not one value per cell.")
    if arr.dtype.kind == "b":
        return Column(name, "bool", arr, (), dtype)
    if arr.dtype.kind in "iuf":
        return Column(name, "number", arr.astype(np.float64, copy=False), (), dtype)
    return Column(name, "text", np.array([_text(v) for v in arr], dtype=object), (), dtype)


def factorized(col: Column) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and categories of a category, text or bool column (for colours and groups)."""
    import pandas as pd

    if col.kind == "category":
        return col.values, col.categories
    if col.kind == "bool":
        return col.values.astype(np.int32), ("False", "True")
    if col.kind == "text":
        codes, uniques = pd.factorize(col.values, sort=True)
        return codes.astype(np.int32), tuple(str(u) for u in uniques)
    raise BadRequest(f"obs column '{_short(col.name)}' holds numbers, not groups.")


class H5ad:
    """The views' reader of one open h5ad file (an h5py.File) of blob `blob_id`."""

    def __init__(
        self, h5: Any, *, blob_id: str, cache: ColumnCache = COLUMNS, name: str = "This file"
    ) -> None:
        self.h5 = h5
        self.blob_id = blob_id
        self.cache = cache
        self.name = name
        self._n_obs: int | None = None
        if "encoding-type" not in h5.attrs:
            raise BadRequest(
                f"{name} was written by anndata before 0.7 (no encoding attributes); its "
                "views need today's layout: read and write it once with a current anndata."
            )
        for part in ("obs", "var"):
            if part not in h5:
                raise BadRequest(f"{name} has no {part}, so it is not an AnnData file.")

    def _cached(self, *key: Any, read: Any) -> Any:
        return self.cache.fetch((self.blob_id, *key), read)

    # -- obs ------------------------------------------------------------------------------

    def _frame_index(self, group: Any) -> Any:
        return group[_text(group.attrs.get("_index", "_index"))]

    @property
    def n_obs(self) -> int:
        if self._n_obs is None:
            self._n_obs = int(self._frame_index(self.h5["obs"]).shape[0])
        return self._n_obs

    @property
    def n_vars(self) -> int:
        return int(self._frame_index(self.h5["var"]).shape[0])

    def obs_columns(self) -> list[str]:
        order = self.h5["obs"].attrs.get("column-order", ())
        return [_text(c) for c in np.atleast_1d(order) if _text(c) in self.h5["obs"]]

    def obs_column(self, name: str) -> Column:
        from anndata.io import read_elem

        names = self.obs_columns()
        if name not in names:
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise BadRequest(
                f"obs has no column '{_short(name)}' (it has: {shown or 'no columns'})."
            )
        return self._cached(
            "obs", name, read=lambda: _as_column(name, read_elem(self.h5["obs"][name]))
        )

    def obs_names(self) -> np.ndarray:
        def read() -> np.ndarray:
            values = self._frame_index(self.h5["obs"])[()]
            return np.array([_text(v) for v in values], dtype=object)

        return self._cached("obs_names", read=read)

    # -- var and X ------------------------------------------------------------------------

    def symbol_column(self) -> str | None:
        var = self.h5["var"]
        order = [_text(c) for c in np.atleast_1d(var.attrs.get("column-order", ()))]
        lower = {c.lower(): c for c in order if c in var}
        return next((lower[c] for c in SYMBOL_COLUMNS if c in lower), None)

    def var_names(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The var index and the symbol column (when there is one), as str arrays."""

        def read() -> tuple[np.ndarray, np.ndarray | None]:
            from anndata.io import read_elem

            names = self._frame_index(self.h5["var"])[()]
            index = np.array([_text(v) for v in names], dtype=object)
            column = self.symbol_column()
            if column is None:
                return index, None
            raw = read_elem(self.h5["var"][column])
            return index, np.array([_text(v) for v in np.asarray(raw)], dtype=object)

        return self._cached("var_names", read=read)

    def gene(self, name: str) -> int:
        """The var position of a gene named by its var name or symbol (case ignored when
        nothing matches exactly)."""
        index, symbols = self.var_names()
        for names in (index, symbols):
            if names is not None:
                hit = np.flatnonzero(names == name)
                if hit.size:
                    return int(hit[0])
        low = name.lower()
        for names in (index, symbols):
            if names is not None:
                hit = np.flatnonzero(np.char.lower(names.astype(str)) == low)
                if hit.size:
                    return int(hit[0])
        raise BadRequest(
            f"No gene is named '{_short(name)}' in this file (searched the var names"
            + (" and symbols" if symbols is not None else "")
            + "); the gene search (explore/genes?q=) finds names."
        )

    def gene_label(self, j: int) -> str:
        index, symbols = self.var_names()
        return str(symbols[j] if symbols is not None and symbols[j] else index[j])

    def storage(self) -> str:
        if "X" not in self.h5:
            raise BadRequest(f"{self.name} has no X, so it holds no expression to show.")
        x = self.h5["X"]
        if hasattr(x, "shape") and not hasattr(x, "keys"):
            return "dense"
        kind = _text(x.attrs.get("encoding-type", ""))
        if kind.startswith("csr"):
            return "csr"
        if kind.startswith("csc"):
            return "csc"
        raise BadRequest(f"X is stored as '{_short(kind)}', which the views cannot read.")

    def gene_columns(self, genes: Sequence[int]) -> dict[int, np.ndarray]:
        """Each gene's expression in every cell (float32), from the cache or one read of X."""
        out: dict[int, np.ndarray] = {}
        todo = []
        for j in dict.fromkeys(int(g) for g in genes):
            hit = self.cache.get((self.blob_id, "gene", j))
            if hit is None:
                todo.append(j)
            else:
                out[j] = hit
        if todo:
            read = self._read_genes(sorted(todo))
            for j, column in read.items():
                self.cache.misses += 1
                self.cache.put((self.blob_id, "gene", j), column)
            out.update(read)
        return out

    def _read_genes(self, genes: list[int]) -> dict[int, np.ndarray]:
        kind = self.storage()
        x = self.h5["X"]
        n = self.n_obs
        if kind == "dense":
            block = np.asarray(x[:, genes], dtype=np.float32)
            return {j: np.ascontiguousarray(block[:, k]) for k, j in enumerate(genes)}
        indptr = np.asarray(x["indptr"][()], dtype=np.int64)
        if kind == "csc":
            out = {}
            for j in genes:
                a, b = int(indptr[j]), int(indptr[j + 1])
                column = np.zeros(n, dtype=np.float32)
                rows = np.asarray(x["indices"][a:b], dtype=np.int64)
                np.add.at(column, rows, np.asarray(x["data"][a:b], dtype=np.float32))
                out[j] = column
            return out
        return self._scan_csr(x, indptr, np.asarray(genes, dtype=np.int64), n)

    def _scan_csr(
        self, x: Any, indptr: np.ndarray, genes: np.ndarray, n: int
    ) -> dict[int, np.ndarray]:
        indices, data = x["indices"], x["data"]
        nnz = int(indices.shape[0])
        rows_of: list[list[np.ndarray]] = [[] for _ in genes]
        vals_of: list[list[np.ndarray]] = [[] for _ in genes]
        for start in range(0, nnz, SCAN_CHUNK):
            idx = indices[start : min(start + SCAN_CHUNK, nnz)]
            hit = idx == genes[0] if len(genes) == 1 else np.isin(idx, genes)
            pos = np.flatnonzero(hit)
            if not pos.size:
                continue
            lo, hi = int(pos[0]), int(pos[-1]) + 1
            values = np.asarray(data[start + lo : start + hi], dtype=np.float32)[pos - lo]
            rows = np.searchsorted(indptr, start + pos, side="right") - 1
            which = np.searchsorted(genes, idx[pos])
            for k in np.unique(which):
                mine = which == k
                rows_of[k].append(rows[mine])
                vals_of[k].append(values[mine])
        out = {}
        for k, j in enumerate(genes.tolist()):
            if rows_of[k]:
                rows = np.concatenate(rows_of[k])
                weights = np.concatenate(vals_of[k]).astype(np.float64)
                out[j] = np.bincount(rows, weights=weights, minlength=n).astype(np.float32)
            else:
                out[j] = np.zeros(n, dtype=np.float32)
        return out

    # -- obsm -----------------------------------------------------------------------------

    def embedding_keys(self) -> list[str]:
        """obsm entries with at least two coordinates per cell (arrays or tables)."""
        obsm = self.h5.get("obsm")
        if obsm is None:
            return []
        keys = []
        for key in obsm:
            node = obsm[key]
            if hasattr(node, "keys"):
                order = np.atleast_1d(node.attrs.get("column-order", ()))
                if len(order) >= 2:
                    keys.append(str(key))
            elif len(node.shape) == 2 and node.shape[0] == self.n_obs and node.shape[1] >= 2:
                keys.append(str(key))
        return keys

    def embedding(self, key: str) -> tuple[np.ndarray, list[float]]:
        """The first two coordinates of obsm[key] as float32 rows (2, cells), each row
        contiguous so windows are quick to cut, and their extent [x0, x1, y0, y1]."""
        keys = self.embedding_keys()
        if key not in keys:
            raise BadRequest(
                f"obsm has no embedding '{_short(key)}' (it has: {', '.join(keys) or 'none'})."
            )

        def read() -> tuple[np.ndarray, list[float]]:
            node = self.h5["obsm"][key]
            if hasattr(node, "keys"):  # a table of named coordinates
                from anndata.io import read_elem

                order = [_text(c) for c in np.atleast_1d(node.attrs["column-order"])][:2]
                parts = [np.asarray(read_elem(node[c]), dtype=np.float32) for c in order]
                xy = np.stack(parts)
            else:
                xy = np.ascontiguousarray(np.asarray(node[:, :2], dtype=np.float32).T)
            return xy, _extent(xy)

        return self._cached("obsm", key, read=read)


def _extent(xy: np.ndarray) -> list[float]:
    """The coordinates' bounds with a 2% margin (a unit square when there are none)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        lo, hi = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return [0.0, 1.0, 0.0, 1.0]
    pad = np.where(hi > lo, (hi - lo) * 0.02, 0.5)
    return [
        float(lo[0] - pad[0]),
        float(hi[0] + pad[0]),
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    ]
