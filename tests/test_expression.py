"""formats/expression/ on generated h5ad files: an embedding as points or a density grid,
coloured by a category, a number or a gene (checked against anndata's own `adata[:, g].X`),
gene search, the dot plot against numpy, and the obs table's sort and filter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neurodatashare.errors import BadRequest
from neurodatashare.formats.expression import (
    ColumnCache,
    H5ad,
    cells,
    dotplot,
    embedding,
    search_genes,
)
from neurodatashare.formats.expression import matrix as matrix_module
from neurodatashare.formats.expression.limits import MAX_BINS, MAX_DOTPLOT_GENES
from neurodatashare.testing import scales


@pytest.fixture
def h5ad(tmp_path: Path) -> Path:
    return scales.write_h5ad(tmp_path / "cells.h5ad", cells=500, genes=40, symbols=True)


def reader(path: Path, cache: ColumnCache | None = None) -> Iterator[H5ad]:
    with h5py.File(path, "r") as h5:
        yield H5ad(h5, blob_id=str(path), cache=ColumnCache() if cache is None else cache)


@pytest.fixture
def ad(h5ad: Path) -> Iterator[H5ad]:
    yield from reader(h5ad)


def adata(path: Path) -> Any:
    import anndata

    return anndata.read_h5ad(path)


def test_few_cells_are_points_with_their_rows(ad: H5ad, h5ad: Path) -> None:
    view = embedding(ad)
    meta = view.meta()
    assert meta["mode"] == "points" and meta["key"] == "X_umap" and meta["cells"] == 500
    assert set(meta["keys"]) == {"X_umap", "X_pca"}
    assert view.data.shape == (500, 4)
    umap = adata(h5ad).obsm["X_umap"]
    rows = view.data[:, 3].astype(int)
    assert np.array_equal(view.data[:, :2], umap[rows])
    assert len(view.to_bytes()) == 500 * 4 * 4


def test_more_cells_than_the_budget_are_a_density_grid(ad: H5ad, h5ad: Path) -> None:
    view = embedding(ad, width=200, height=100, bin_pixels=10, budget=100)
    meta = view.meta()
    assert meta["mode"] == "bins" and (meta["nx"], meta["ny"]) == (20, 10)
    counts = view.data[0]
    assert counts.sum() == 500
    # the same counts by numpy: cell (x, y) falls in bin floor((x - x0) / dx)
    x0, x1, y0, y1 = meta["window"]
    umap = adata(h5ad).obsm["X_umap"].astype(np.float64)
    ix = np.minimum(((umap[:, 0] - x0) / (x1 - x0) * 20).astype(int), 19)
    iy = np.minimum(((umap[:, 1] - y0) / (y1 - y0) * 10).astype(int), 9)
    expected = np.zeros((10, 20))
    np.add.at(expected, (iy, ix), 1)
    assert np.array_equal(counts, expected)
    assert np.isnan(view.data[1]).all()  # no colour asked for


def test_zooming_in_turns_bins_into_points(ad: H5ad) -> None:
    full = embedding(ad, budget=100).meta()
    # the island of one cell type (generator: cell types at (-6, 0), (6, 0), (0, 8))
    zoomed = embedding(ad, budget=300, x0=-10, x1=-2, y0=-4, y1=4)
    meta = zoomed.meta()
    assert full["mode"] == "bins" and meta["mode"] == "points"
    assert 0 < meta["in_view"] < 300 and meta["window"] == [-10, -2, -4, 4]
    xs, ys = zoomed.data[:, 0], zoomed.data[:, 1]
    assert ((xs >= -10) & (xs <= -2) & (ys >= -4) & (ys <= 4)).all()


def test_a_grid_never_grows_past_its_cap(ad: H5ad) -> None:
    view = embedding(ad, width=10_000, height=10_000, bin_pixels=1, budget=10)
    meta = view.meta()
    assert meta["nx"] * meta["ny"] <= MAX_BINS and meta["bin_pixels"] > 1
    assert len(view.to_bytes()) <= 2 * MAX_BINS * 4 < 2 * 2**20


def test_colour_by_a_category(ad: H5ad, h5ad: Path) -> None:
    view = embedding(ad, color="cell_type")
    legend = view.meta()["color"]
    assert legend["kind"] == "category"
    types = adata(h5ad).obs["cell_type"].astype(str).to_numpy()
    rows = view.data[:, 3].astype(int)
    names = np.array(legend["categories"])[view.data[:, 2].astype(int)]
    assert np.array_equal(names, types[rows])


def test_bins_take_the_majority_category(ad: H5ad, h5ad: Path) -> None:
    view = embedding(ad, color="cell_type", width=40, height=40, bin_pixels=10, budget=10)
    meta = view.meta()
    x0, x1, y0, y1 = meta["window"]
    a = adata(h5ad)
    umap = a.obsm["X_umap"].astype(np.float64)
    codes = a.obs["cell_type"].cat.codes.to_numpy()
    ix = np.minimum(((umap[:, 0] - x0) / (x1 - x0) * 4).astype(int), 3)
    iy = np.minimum(((umap[:, 1] - y0) / (y1 - y0) * 4).astype(int), 3)
    for by in range(4):
        for bx in range(4):
            here = codes[(ix == bx) & (iy == by)]
            got = view.data[1, by, bx]
            if not here.size:
                assert np.isnan(got)
                continue
            tally = np.bincount(here, minlength=3)
            assert tally[int(got)] == tally.max()


def test_colour_by_a_number_and_its_bin_means(ad: H5ad, h5ad: Path) -> None:
    counts = adata(h5ad).obs["n_counts"].to_numpy()
    points = embedding(ad, color="n_counts")
    assert points.meta()["color"]["kind"] == "number"
    rows = points.data[:, 3].astype(int)
    assert np.allclose(points.data[:, 2], counts[rows])
    grid = embedding(ad, color="n_counts", width=10, height=10, bin_pixels=10, budget=1)
    (count,), (mean,) = grid.data[0].ravel(), grid.data[1].ravel()
    assert count == 500 and mean == pytest.approx(counts.mean(), rel=1e-5)


@pytest.mark.parametrize("storage", ["csr", "csc", "dense"])
def test_colour_by_a_gene_matches_anndata(tmp_path: Path, storage: str) -> None:
    import anndata
    import scipy.sparse

    path = scales.write_h5ad(tmp_path / "g.h5ad", cells=300, sparse=storage != "dense")
    if storage == "csc":
        a = anndata.read_h5ad(path)
        a.X = scipy.sparse.csc_matrix(a.X)
        a.write_h5ad(path)
    expected = adata(path)[:, "Sst"].X
    expected = np.asarray(expected.toarray() if scipy.sparse.issparse(expected) else expected)
    for ad in reader(path):
        assert ad.storage() == storage
        view = embedding(ad, color="Sst")
        rows = view.data[:, 3].astype(int)
        assert view.meta()["color"]["kind"] == "gene"
        assert np.array_equal(view.data[:, 2], expected.ravel()[rows])


def test_a_csr_scan_in_many_chunks_gives_the_same_columns(
    h5ad: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = adata(h5ad)
    a.var_names = a.var["gene_symbols"].astype(str)
    expected = np.asarray(a[:, ["Gad1", "Vip", "Gene30"]].X.toarray())
    monkeypatch.setattr(matrix_module, "SCAN_CHUNK", 37)
    for ad in reader(h5ad):
        js = [ad.gene(g) for g in ("Gad1", "Vip", "Gene30")]
        columns = ad.gene_columns(js)
        for k, j in enumerate(js):
            assert np.array_equal(columns[j], expected[:, k])


def test_gene_columns_are_read_once(h5ad: Path) -> None:
    cache = ColumnCache()
    for ad in reader(h5ad, cache):
        embedding(ad, color="Gad1")
        misses = cache.misses
        assert misses >= 2  # the coordinates and the gene
        embedding(ad, color="Gad1", x0=-1, x1=1, y0=-1, y1=1)
        assert cache.misses == misses


def test_the_cache_is_bounded(h5ad: Path) -> None:
    cache = ColumnCache(max_bytes=5000)
    for ad in reader(h5ad, cache):
        ad.gene_columns(range(10))  # 10 columns of 500 float32
    assert cache.size <= 5000 and len(cache) == 2


def test_genes_are_found_by_name_or_symbol(ad: H5ad) -> None:
    found = search_genes(ad, q="gad")
    assert [g["symbol"] for g in found["genes"]] == ["Gad1", "Gad2"]
    assert found["symbol_column"] == "gene_symbols"
    assert found["genes"][0]["name"].startswith("ENSMUSG")
    assert search_genes(ad, q="gene3", limit=5)["truncated"]
    exact = search_genes(ad, q="sst")["genes"][0]
    assert exact["symbol"] == "Sst"
    # by the Ensembl id too
    assert ad.gene(found["genes"][1]["name"]) == ad.gene("Gad2") == 1


def test_dotplot_matches_numpy(ad: H5ad, h5ad: Path) -> None:
    out = dotplot(ad, genes=["Gad1", "Sst", "Mbp"], group="cell_type")
    a = adata(h5ad)
    x = a.X.toarray()
    types = a.obs["cell_type"].astype(str).to_numpy()
    assert out["genes"] == ["Gad1", "Sst", "Mbp"]
    for gi, gene in enumerate(["Gad1", "Sst", "Mbp"]):
        column = x[:, list(a.var["gene_symbols"]).index(gene)]
        for ki, group in enumerate(out["groups"]):
            mine = column[types == group]
            assert out["group_sizes"][ki] == mine.size
            assert out["mean"][gi][ki] == pytest.approx(mine.mean(), abs=1e-6)
            assert out["fraction"][gi][ki] == pytest.approx((mine > 0).mean(), abs=1e-6)


def test_cells_sort_and_filter_like_pandas(ad: H5ad, h5ad: Path) -> None:
    obs = adata(h5ad).obs
    page = cells(ad, sort="n_counts", desc=True, filters=["cell_type:eq:Sst"], limit=10)
    want = obs[obs["cell_type"] == "Sst"].sort_values("n_counts", ascending=False, kind="stable")
    assert page["filtered_total"] == len(want) and page["total"] == 500
    assert [r["n_counts"] for r in page["rows"]] == [int(v) for v in want["n_counts"][:10]]
    assert all(r["cell_type"] == "Sst" for r in page["rows"])
    names = [c["name"] for c in page["columns"]]
    assert names[0] == "cell" and "donor_id" in names
    by_name = cells(ad, sort="cell", filters=["cell:contains:-4"], limit=1000)
    assert [r["cell"] for r in by_name["rows"]] == sorted(n for n in obs.index if "-4" in n)
    numeric = cells(ad, filters=["n_counts:gt:15", "brain_region:ne:MOp"], limit=1000)
    rows = obs[(obs["n_counts"] > 15) & (obs["brain_region"] != "MOp")]
    assert numeric["row_indices"] == [obs.index.get_loc(n) for n in rows.index]
    by_type = cells(ad, sort="cell_type", offset=490, limit=10)
    assert [r["cell_type"] for r in by_type["rows"]] == sorted(obs["cell_type"].astype(str))[490:]


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda ad: embedding(ad, color="NoSuchGene"), "No gene is named 'NoSuchGene'"),
        (lambda ad: embedding(ad, key="X_tsne"), "obsm has no embedding 'X_tsne'"),
        (lambda ad: embedding(ad, x0=1, x1=0), "x0 < x1"),
        (lambda ad: dotplot(ad, genes=["Gad1"], group="nope"), "obs has no column 'nope'"),
        (lambda ad: dotplot(ad, genes=["Gad1"], group="n_counts"), "holds numbers"),
        (
            lambda ad: dotplot(ad, genes=["Gad1"] * (MAX_DOTPLOT_GENES + 1), group="cell_type"),
            "at most 50 genes",
        ),
        (lambda ad: cells(ad, filters=["n_counts:gt:lots"]), "is not one"),
        (lambda ad: cells(ad, filters=["cell_type"]), "is not a filter"),
        (lambda ad: cells(ad, sort="nope"), "obs has no column"),
    ],
)
def test_bad_requests_say_what_the_file_has(ad: H5ad, call: Any, words: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(words)):
        call(ad)


def test_a_column_of_too_many_categories_cannot_colour(tmp_path: Path) -> None:
    import anndata
    import pandas as pd

    obs = pd.DataFrame({"barcode": pd.Categorical([f"b{i}" for i in range(300)])})
    obs.index = [f"c{i}" for i in range(300)]
    a = anndata.AnnData(np.ones((300, 2), dtype=np.float32), obs=obs)
    a.obsm["X_umap"] = np.zeros((300, 2), dtype=np.float32)
    a.write_h5ad(tmp_path / "many.h5ad")
    for ad in reader(tmp_path / "many.h5ad"):
        with pytest.raises(BadRequest, match="300 distinct values"):
            embedding(ad, color="barcode")


def test_a_legacy_file_is_refused_with_how_to_fix(tmp_path: Path) -> None:
    path = scales.write_h5ad(tmp_path / "old.h5ad")
    with h5py.File(path, "r+") as h5:
        del h5.attrs["encoding-type"]
    with h5py.File(path, "r") as h5, pytest.raises(BadRequest, match=r"before 0\.7"):
        H5ad(h5, blob_id="x")


def test_views_name_the_embedding_only_when_there_is_one() -> None:
    from neurodatashare.formats.anndata import ANNDATA

    with_umap = {"nds:summary": {"obsm": {"X_umap": [2], "X_pca": [10]}}}
    assert ANNDATA.views(with_umap) == ["download", "embedding", "dotplot", "cells", "summary"]
    flat = {"nds:summary": {"obsm": {"size_factors": [1]}}}
    assert ANNDATA.views(flat) == ["download", "dotplot", "cells", "summary"]
    assert ANNDATA.views({"path": "x.h5ad"}) == ["download", "dotplot", "cells", "summary"]


def test_extreme_windows_are_empty_or_refused(ad: H5ad) -> None:
    far = embedding(ad, x0=1e14, x1=1e15, y0=-1e15, y1=1e15)
    assert far.meta()["in_view"] == 0 and far.data.shape == (0, 4)
    huge = embedding(ad, x0=-1e15, x1=1e15, y0=-1e15, y1=1e15, budget=10)
    assert huge.data[0].sum() == 500  # every cell in a bin, none lost at the edges
    with pytest.raises(BadRequest, match="too small"):
        embedding(ad, x0=0, x1=1e-320, y0=0, y1=1)


def test_a_file_without_x_still_has_its_embedding_and_cells(tmp_path: Path) -> None:
    import anndata
    import pandas as pd

    obs = pd.DataFrame(
        {"cell_type": pd.Categorical(["a", "b"] * 50)}, index=[f"c{i}" for i in range(100)]
    )
    a = anndata.AnnData(obs=obs, var=pd.DataFrame(index=["g1", "g2"]))
    a.obsm["spatial"] = np.arange(200, dtype=np.float32).reshape(100, 2)
    a.write_h5ad(tmp_path / "nox.h5ad")
    for ad in reader(tmp_path / "nox.h5ad"):
        assert embedding(ad, color="cell_type").meta()["key"] == "spatial"
        assert cells(ad, filters=["cell_type:eq:a"])["filtered_total"] == 50
        with pytest.raises(BadRequest, match="has no X"):
            embedding(ad, color="g1")
