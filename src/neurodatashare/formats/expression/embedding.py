"""An embedding (any obsm entry of two or more coordinates: UMAP, t-SNE, PCA, spatial)
as a screen's worth: the cells in the requested window as points when they are few
enough (POINT_BUDGET), else a density grid of the requested pixel size with, per bin,
the count and the mean colour value or the majority category. Either way the answer is a
few hundred kilobytes of float32, whatever the number of cells.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.formats.expression.limits import (
    DEFAULT_BIN_PIXELS,
    MAX_BINS,
    MAX_LEGEND,
    POINT_BUDGET,
)
from neurodatashare.formats.expression.matrix import H5ad, _short, factorized


@dataclass
class Colour:
    """What the cells are coloured by: `category` codes (-1 missing) with their names, or
    `number` values (an obs column or, for `gene`, a column of X; NaN missing)."""

    kind: str  # "none", "category", "number", "gene"
    name: str = ""
    values: np.ndarray | None = None
    categories: tuple[str, ...] = ()
    gene_index: int | None = None

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.kind == "category":
            out["categories"] = list(self.categories)
        elif self.values is not None and self.values.size:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all missing
                lo, hi = float(np.nanmin(self.values)), float(np.nanmax(self.values))
            out["min"] = lo if math.isfinite(lo) else None
            out["max"] = hi if math.isfinite(hi) else None
        if self.gene_index is not None:
            out["gene_index"] = self.gene_index
        return out


def colour_of(ad: H5ad, color: str | None) -> Colour:
    """An obs column by that name, else a gene (obs columns win a tie)."""
    if not color:
        return Colour("none")
    if color in ad.obs_columns():
        col = ad.obs_column(color)
        if col.kind == "number":
            return Colour("number", color, col.values)
        codes, categories = factorized(col)
        if len(categories) > MAX_LEGEND:
            raise BadRequest(
                f"obs column '{_short(color)}' has {len(categories):,} distinct values; colour "
                f"by a column of at most {MAX_LEGEND} categories, a number column or a gene."
            )
        return Colour("category", color, codes, categories)
    j = ad.gene(color)
    column = ad.gene_columns([j])[j]
    return Colour("gene", ad.gene_label(j), column, gene_index=j)


@dataclass
class EmbeddingView:
    """Points (n, 4: x, y, value, cell row) or bins (2, ny, nx: count, value) as float32,
    with a JSON header (`meta`)."""

    data: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return np.ascontiguousarray(self.data, dtype="<f4").tobytes()

    def meta(self) -> dict[str, Any]:
        return {**self.header, "shape": list(self.data.shape), "dtype": "float32"}


def _grid(width: int, height: int, bin_pixels: int) -> tuple[int, int, int]:
    """Bins across and down for a plot of width x height pixels, enlarging the bins until
    there are at most MAX_BINS."""
    px = max(1, bin_pixels)
    while math.ceil(width / px) * math.ceil(height / px) > MAX_BINS:
        px += 1
    return math.ceil(width / px), math.ceil(height / px), px


def _majority(bins: np.ndarray, codes: np.ndarray, counts: np.ndarray, n_cats: int) -> np.ndarray:
    """The most common category per bin (NaN where a bin has no categorised cell)."""
    n_bins = counts.size
    out = np.full(n_bins, np.nan, dtype=np.float32)
    if codes.size and codes.min() < 0:  # missing categories take no part
        ok = codes >= 0
        bins, codes = bins[ok], codes[ok]
        counts = np.bincount(bins, minlength=n_bins)
    if not bins.size:
        return out
    filled = counts > 0
    if n_bins * n_cats <= 2**24:
        pair = bins * np.int32(n_cats) + codes.astype(np.int32, copy=False)
        table = np.bincount(pair, minlength=n_bins * n_cats).reshape(n_bins, n_cats)
        out[filled] = table[filled].argmax(axis=1)
        return out
    pairs, tally = np.unique(bins.astype(np.int64) * n_cats + codes, return_counts=True)
    pb, pc = pairs // n_cats, pairs % n_cats
    order = np.lexsort((-tally, pb))  # per bin, the largest count first
    first = np.concatenate([[True], pb[order][1:] != pb[order][:-1]])
    out[pb[order][first]] = pc[order][first]
    return out


def _bins(
    xy: np.ndarray, rows: np.ndarray | None, window: list[float], nx: int, ny: int
) -> np.ndarray:
    """Each cell's bin (row-major, int32) for the cells `rows` (all when None)."""
    x, y = (xy[0], xy[1]) if rows is None else (xy[0][rows], xy[1][rows])
    ix = ((x - window[0]) * (nx / (window[1] - window[0]))).astype(np.int32)
    iy = ((y - window[2]) * (ny / (window[3] - window[2]))).astype(np.int32)
    np.clip(ix, 0, nx - 1, out=ix)  # the window's far edges, and rounding at the near ones
    np.clip(iy, 0, ny - 1, out=iy)
    iy *= np.int32(nx)
    iy += ix
    return iy


def embedding(
    ad: H5ad,
    *,
    key: str | None = None,
    color: str | None = None,
    x0: float | None = None,
    x1: float | None = None,
    y0: float | None = None,
    y1: float | None = None,
    width: int = 800,
    height: int = 600,
    bin_pixels: int = DEFAULT_BIN_PIXELS,
    budget: int = POINT_BUDGET,
) -> EmbeddingView:
    """The embedding `key` (the first one when absent) in the window [x0, x1] x [y0, y1]
    (the whole extent where a side is absent), coloured by `color`."""
    keys = ad.embedding_keys()
    if key is None:
        if not keys:
            raise BadRequest("This file has no embedding (no obsm entry of two coordinates).")
        key = next((k for k in keys if "umap" in k.lower()), keys[0])
    xy, extent = ad.embedding(key)
    colour = colour_of(ad, color)
    window = [extent[i] if v is None else float(v) for i, v in enumerate((x0, x1, y0, y1))]
    if not (window[0] < window[1] and window[2] < window[3]):
        raise BadRequest("The window needs x0 < x1 and y0 < y1.")
    if not all(math.isfinite(10_000 / (b - a)) for a, b in (window[:2], window[2:])):
        raise BadRequest("The window is too small to draw; zoom out a little.")
    x, y = xy[0], xy[1]
    whole = window == extent
    if whole:  # every cell with coordinates is in view
        finite = ad.cache.fetch(
            (ad.blob_id, "finite", key), lambda: np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        )
        everyone = finite.size == x.size
        rows = np.arange(x.size) if everyone and x.size <= budget else finite
    else:
        inside = (x >= window[0]) & (x <= window[1]) & (y >= window[2]) & (y <= window[3])
        rows = np.flatnonzero(inside)
        everyone = rows.size == x.size
    header: dict[str, Any] = {
        "key": key,
        "keys": keys,
        "cells": int(x.size),
        "in_view": int(rows.size),
        "window": window,
        "extent": extent,
        "budget": budget,
        "color": colour.meta(),
    }
    values = colour.values
    if rows.size <= budget:
        data = np.empty((rows.size, 4), dtype=np.float32)
        data[:, 0], data[:, 1] = x[rows], y[rows]
        if values is None:
            data[:, 2] = np.nan
        elif colour.kind == "category":
            codes = values[rows].astype(np.float32)
            data[:, 2] = np.where(codes < 0, np.nan, codes)
        else:
            data[:, 2] = values[rows]
        data[:, 3] = rows
        return EmbeddingView(
            data, {**header, "mode": "points", "fields": ["x", "y", "value", "cell"]}
        )
    nx, ny, px = _grid(width, height, bin_pixels)
    subset = None if everyone else rows
    if whole:  # the same bins for every colour of the whole view: kept with the coordinates
        bins = ad.cache.fetch(
            (ad.blob_id, "bins", key, nx, ny), lambda: _bins(xy, subset, window, nx, ny)
        )
    else:
        bins = _bins(xy, subset, window, nx, ny)
    n_bins = nx * ny
    counts = np.bincount(bins, minlength=n_bins)
    if values is None:
        shade = np.full(n_bins, np.nan, dtype=np.float32)
    elif colour.kind == "category":
        codes = values if everyone else values[rows]
        shade = _majority(bins, codes, counts, len(colour.categories))
    else:
        v = values if everyone else values[rows]
        ok = np.isfinite(v)
        if ok.all():
            sums, seen = np.bincount(bins, weights=v, minlength=n_bins), counts
        else:
            sums = np.bincount(bins[ok], weights=v[ok], minlength=n_bins)
            seen = np.bincount(bins[ok], minlength=n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            shade = np.where(seen > 0, sums / seen, np.nan).astype(np.float32)
    grid = np.stack([counts.astype(np.float32), shade]).reshape(2, ny, nx)
    return EmbeddingView(
        grid,
        {
            **header,
            "mode": "bins",
            "nx": nx,
            "ny": ny,
            "bin_pixels": px,
            "fields": ["count", "value"],
        },
    )
