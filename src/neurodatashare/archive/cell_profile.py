"""One cell's expression profile from an h5ad asset: its top genes (one row of X) and its
place in the first 2-D embedding, read through the archive's cache of open files
(archive/blob_files.py), so nothing but that row is read."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodatashare.archive.access import blob_of, visible_asset
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.errors import BadRequest, NotFound

MAX_CELLS = 2_000_000  # obs names read to find the row
TOP = 20
EMBEDDINGS = ("X_umap", "X_tsne", "X_pca", "spatial")


def _names(group: Any) -> np.ndarray:
    """The index of an anndata obs or var group (the dataset its `_index` attribute names)."""
    key = group.attrs.get("_index", "_index")
    key = key.decode() if isinstance(key, bytes) else str(key)
    data = group[key]
    if len(data) > MAX_CELLS:
        raise BadRequest(
            f"The file has {len(data):,} rows; cells are looked up in files of at most "
            f"{MAX_CELLS:,}."
        )
    return np.asarray(data.asstr()[()] if data.dtype.kind in "OS" else data[()]).astype(str)


def holds_cell(archive: Archive, *, blob_id: str, key: str, cell_id: str) -> bool:
    """Whether an h5ad blob's obs names include `cell_id` (for files whose summary lists
    only a sample of them). The caller has checked access."""
    with archive.files.use(archive.store, blob_id=blob_id, key=key) as entry:
        if "obs" not in entry.h5:
            return False
        return bool((_names(entry.h5["obs"]) == cell_id).any())


def _row(x: Any, row: int, n_genes: int) -> np.ndarray:
    """Row `row` of X: dense, CSR (one slice) or CSC (a scan of its indices)."""
    if not hasattr(x, "keys"):
        return np.asarray(x[row], dtype=np.float64)
    encoding = x.attrs.get("encoding-type", "csr_matrix")
    encoding = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
    out = np.zeros(n_genes)
    if encoding == "csr_matrix":
        lo, hi = (int(v) for v in x["indptr"][row : row + 2])
        out[x["indices"][lo:hi]] = x["data"][lo:hi]
        return out
    indptr = x["indptr"][()]
    indices = x["indices"][()]
    hits = np.flatnonzero(indices == row)
    cols = np.searchsorted(indptr, hits, side="right") - 1
    out[cols] = x["data"][()][hits]
    return out


def _embedding(h5: Any, row: int) -> dict[str, Any] | None:
    if "obsm" not in h5:
        return None
    names = [n for n in EMBEDDINGS if n in h5["obsm"]] + sorted(h5["obsm"])
    for name in names:
        data = h5["obsm"][name]
        if hasattr(data, "shape") and len(data.shape) == 2 and data.shape[1] >= 2:
            x, y = (float(v) for v in data[row, :2])
            return {"name": name, "x": x, "y": y}
    return None


def cell_profile(
    archive: Archive, *, asset_id: str, cell_id: str, user: User | None, top: int = TOP
) -> dict[str, Any]:
    """The cell's `top` genes by value in X, and where it sits in the embedding."""
    with archive.db.read() as s:
        asset, _dataset = visible_asset(s, asset_id=asset_id, user=user)
        blob = blob_of(asset)
        blob_id, key, path = blob.id, blob.key, asset.path
    if not path.lower().endswith(".h5ad"):
        raise NotFound(f"Asset {asset_id} is not an h5ad file.")
    with archive.files.use(archive.store, blob_id=blob_id, key=key) as entry:
        h5 = entry.h5
        if "obs" not in h5 or "var" not in h5 or "X" not in h5:
            raise BadRequest(f"{path} has no obs, var or X.")
        obs_names = _names(h5["obs"])
        where = np.flatnonzero(obs_names == cell_id)
        if not where.size:
            raise NotFound(f"{path} has no cell {cell_id[:80]!r} in its obs names.")
        row = int(where[0])
        genes = _names(h5["var"])
        values = _row(h5["X"], row, len(genes))
        order = np.argsort(-values, kind="stable")[:top]
        return {
            "asset_id": asset_id,
            "path": path,
            "cell_id": cell_id,
            "row": row,
            "cells": len(obs_names),
            "genes": [
                {"gene": str(genes[i]), "value": round(float(values[i]), 4)}
                for i in order
                if values[i] > 0
            ],
            "embedding": _embedding(h5, row),
        }
