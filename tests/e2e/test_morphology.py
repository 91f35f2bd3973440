"""The morphology, dendrogram, Sholl and network views in Chromium: an SWC reconstruction
drawn in 3D from the server's data, the colour selector, and a NeuroML model's network
table, with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.testing import scales

from .conftest import DemoServer, Page

pytestmark = pytest.mark.slow

DRAWN = """(sel) => { const d = document.querySelector(sel);
  return !!(d && d.data && d.data.length && d.data.some((t) => (t.x || []).length > 0)); }"""
# the 3D view is a WebGL canvas (views/lib/lines3d.js), not a plotly graph
DRAWN_3D = """() => { const s = document.querySelector('section[data-view="morphology"]');
  return !!(s && s.dataset.drawnAt && s.querySelector('.morphology-plot canvas')); }"""
CANVAS = "() => document.querySelector('.morphology-plot canvas')"


@pytest.fixture(scope="module")
def cells(demo: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A big SWC tree, an SWC MorphIO refuses, and a NeuroML model, in a new dataset."""
    from neurodatashare.testing.factories import Caller

    folder: Path = tmp_path_factory.mktemp("cells")
    nml = scales.write_neuroml(folder / "cell.nml").read_bytes()
    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("morphologies in the browser")
        made = {
            "swc": caller.add_file(ds, "cells/big.swc", scales.big_swc(20_000).encode()),
            "refused": caller.add_file(ds, "cells/mid.swc", scales.swc("soma_mid_tree").encode()),
            "nml": caller.add_file(ds, "models/cell.nml", nml),
        }
        caller.wait_for_checks(made["nml"]["asset_id"])  # its views come from its summary
    finally:
        caller.close()
    return {k: str(v["asset_id"]) for k, v in made.items()}


def test_an_swc_is_drawn_in_3d_with_its_dendrogram_and_sholl(
    demo: DemoServer, cells: dict[str, str], page: Page
) -> None:
    page.goto(f"{demo.url}/asset/{cells['swc']}")
    page.wait(DRAWN_3D)
    canvas = page.js(f"() => ({CANVAS})().dataset")
    assert int(canvas["segments"]) > 19_000 and canvas["colour"] == "type"
    legend = page.js(
        "() => [...document.querySelectorAll('.morphology-legend li')].map((l) => l.innerText)"
    )
    assert [t.split(" (")[0] for t in legend] == ["soma", "basal dendrite"]
    by_type = page.js(f"() => ({CANVAS})().ndsPixels()")
    assert by_type["drawn"] > 2_000 and by_type["colours"] >= 1
    page.wait(DRAWN, ".dendrogram-plot")
    page.wait(DRAWN, ".sholl-plot")
    sholl = page.js("() => document.querySelector('.sholl-plot').data[0]")
    assert len(sholl["x"]) == 8 and max(sholl["y"]) > 0
    # colour by branch order: many colours, and the legend a colour scale
    page.page.select_option(".morphology-colour", "order")
    page.wait(f"() => ({CANVAS})().dataset.colour === 'order'")
    by_order = page.js(f"() => ({CANVAS})().ndsPixels()")
    assert by_order["colours"] > by_type["colours"] + 5
    page.wait_text(".morphology-legend", "branch order 0 to")
    # drag to rotate: the drawing changes
    box = page.page.locator(".morphology-plot canvas").bounding_box()
    before = page.js(f"() => ({CANVAS})().toDataURL()")
    page.page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + 320, box["y"] + 260, steps=4)
    page.page.mouse.up()
    page.page.wait_for_timeout(200)
    assert page.js(f"() => ({CANVAS})().toDataURL()") != before
    page.wait_text('section[data-view="morphology"] .msg', "points in")
    page.shot("morphology", 'section[data-view="morphology"]', docs=True)
    page.assert_no_errors()


def test_a_refused_swc_still_draws_and_a_model_shows_its_network(
    demo: DemoServer, cells: dict[str, str], page: Page
) -> None:
    page.goto(f"{demo.url}/asset/{cells['refused']}")
    page.wait(DRAWN_3D)
    page.wait_text('section[data-view="morphology"] .msg', "tolerant reader")
    page.goto(f"{demo.url}/asset/{cells['nml']}")
    page.wait(DRAWN_3D)
    page.wait("() => document.querySelectorAll('.network-table tbody tr').length === 2")
    rows = page.js(
        "() => [...document.querySelectorAll('.network-table tbody tr')].map((r) => r.innerText)"
    )
    assert rows[0].split("\t") == ["pop", "pyr", "3"]
    assert rows[1].split("\t")[:4] == ["proj", "pop", "pop", "syn"]
    assert page.js("() => document.querySelectorAll('svg.network-diagram circle').length") == 1
    page.assert_no_errors()
