"""The AnnData views in Chromium: an h5ad uploaded to the demo server opens with its
embedding drawn (points, then a density grid when binned, recoloured by a gene), its dot
plot and its cells table, with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.testing import scales

from .conftest import PLOT_READY, DemoServer, Page, page_url

EMBEDDING = 'section[data-view="embedding"]'
DOTPLOT = 'section[data-view="dotplot"]'
CELLS = 'section[data-view="cells"]'


@pytest.fixture(scope="module")
def h5ad_asset(demo: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    from neurodatashare.testing.factories import Caller

    folder = tmp_path_factory.mktemp("h5ad")
    path = scales.write_h5ad(folder / "cells.h5ad", cells=30_000, genes=40, symbols=True)
    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("expression views")
        asset = caller.add_file(ds, "rna/cells.h5ad", path.read_bytes())
        caller.wait_for_checks(asset["asset_id"])
    finally:
        caller.close()
    return str(asset["asset_id"])


def test_embedding_dotplot_and_cells_are_drawn(
    demo: DemoServer, h5ad_asset: str, page: Page
) -> None:
    page.goto(page_url(demo, h5ad_asset))
    plot = f"{EMBEDDING} .js-plotly-plot"
    page.wait(PLOT_READY, plot)
    # 30,000 cells are more than a screen's worth of points: the server binned them
    assert page.js("(s) => document.querySelector(s).dataset.mode", EMBEDDING) == "bins"
    traces = page.js("(s) => document.querySelector(s).data.map((t) => t.type)", plot)
    assert traces == ["heatmap"]
    page.wait_text(f"{EMBEDDING} .msg", "30,000 cells in X_umap")
    page.shot("anndata-embedding", EMBEDDING, docs=True)
    # colour by a gene, found by typing part of its name
    page.page.fill("#embedding-gene", "Pval")
    page.wait("() => document.querySelectorAll('#embedding-gene-list option').length > 0")
    page.page.fill("#embedding-gene", "Pvalb")
    page.page.dispatch_event("#embedding-gene", "change")
    page.wait_text(f"{EMBEDDING} .msg", "colour: Pvalb")
    # zoom into one island (the generator puts a cell type at (-6, 0)): single cells
    page.js(
        "(s) => Plotly.relayout(document.querySelector(s), "
        "{'xaxis.range[0]': -6.5, 'xaxis.range[1]': -5.5, 'yaxis.range[0]': -0.5, "
        "'yaxis.range[1]': 0.5})",
        plot,
    )
    page.wait(
        "(s) => document.querySelector(s).dataset.mode === 'points' && "
        "document.querySelector(s + ' .js-plotly-plot').data[0].type === 'scattergl'",
        EMBEDDING,
    )
    # the dot plot of the first genes by cell type, and the cells table
    page.wait(PLOT_READY, f"{DOTPLOT} .js-plotly-plot")
    page.wait_text(f"{DOTPLOT} .msg", "6 genes . 3 groups of cell_type")
    page.wait_text(f"{CELLS} .msg", "Cells 1.50 of 30,000")
    page.page.fill(f"{CELLS} input", "cell_type:eq:Sst")
    page.page.press(f"{CELLS} input", "Enter")
    page.wait_text(f"{CELLS} .msg", "matching \\(of 30,000\\)")
    column = page.js(
        "(s) => [...document.querySelectorAll(s + ' tbody tr')]"
        ".map((r) => r.children[1].textContent)",
        CELLS,
    )
    assert column and set(column) == {"Sst"}
    page.shot("anndata-dotplot", DOTPLOT, docs=True)
    page.shot("anndata-cells", CELLS, docs=True)
    page.assert_no_errors()


def test_the_dotplot_says_when_a_gene_is_unknown(
    demo: DemoServer, h5ad_asset: str, page: Page
) -> None:
    page.goto(page_url(demo, h5ad_asset))
    page.wait(PLOT_READY, f"{DOTPLOT} .js-plotly-plot")
    page.page.fill("#dotplot-genes", "Gad1,NoSuchGene")
    page.page.press("#dotplot-genes", "Enter")
    page.wait_text(f"{DOTPLOT} .msg", "No gene is named 'NoSuchGene'")
    # the 400 is the only console error (the browser logs failed requests)
    page.assert_no_errors(allow=("400",))


def test_the_generator_puts_one_cell_type_at_minus_six(tmp_path: Path) -> None:
    """The generator gives the islands the zoom above relies on."""
    import anndata
    import numpy as np

    a = anndata.read_h5ad(scales.write_h5ad(tmp_path / "c.h5ad", cells=3000))
    centre = a.obsm["X_umap"][a.obs["cell_type"].cat.codes.to_numpy() == 0].mean(axis=0)
    assert np.allclose(centre, [-6, 0], atol=0.2)
