"""The cell page in a real browser, on the Patch-seq demo that `nds serve --demo` loads
beside the first: the first sweep drawn, the reconstruction and the top genes, and no
console errors."""

from __future__ import annotations

import pytest

from .conftest import DemoServer, Page

pytestmark = pytest.mark.slow


def _patchseq(demo: DemoServer) -> tuple[str, str]:
    found = demo.api("/dandisets/?search=Patch-seq")["results"]
    (ds,) = [d for d in found if "Patch-seq" in (d["draft_version"]["name"] or "")]
    return ds["identifier"], ds["most_recent_published_version"]["version"]


def test_cell_page_shows_sweep_shape_and_genes(demo: DemoServer, page: Page) -> None:
    ds, version = _patchseq(demo)
    page.goto(f"{demo.url}/dandiset/{ds}/{version}")
    page.page.click("a.subjects-link")
    page.page.click("text=mouse03")
    page.page.click("a.chip:text-is('cell01')")
    assert page.page.url.endswith(f"/dandiset/{ds}/{version}/cells/cell01")
    page.wait("() => document.querySelector('#sweep-plot')?.dataset.drawn === 'true'")
    points = page.js("() => document.querySelector('#sweep-plot').data[0].x.length")
    assert points > 100  # the whole first sweep, as raw samples or min/max pairs
    for panel in ("#panel-sweeps", "#panel-morphology", "#panel-expression"):
        assert page.page.locator(panel).is_visible()
    assert page.page.locator("#panel-morphology a", has_text="cell01.swc").count() == 1
    genes = page.page.locator("#panel-expression table.top-genes tbody tr")
    assert genes.count() == 20
    assert "Pvalb" in genes.first.inner_text()
    page.shot("cell-page", full=True)
    page.assert_no_errors()
