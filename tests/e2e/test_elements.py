"""A NeuroML file's element tree in Chromium (findings on their elements, a node opened, a
big population paged), and the Patch-seq demo's model linked to its recording both ways,
with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.testing import scales

from .conftest import DemoServer, Page

pytestmark = pytest.mark.slow

READY = "() => document.querySelector('section[data-view=\"elements\"]')?.dataset.ready === '1'"


@pytest.fixture(scope="module")
def models(demo: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from neurodatashare.testing.factories import Caller

    folder: Path = tmp_path_factory.mktemp("models")
    broken = scales.write_neuroml(folder / "b.nml", "broken_include").read_bytes()
    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("element trees in the browser")
        made = {
            "broken": caller.add_file(ds, "models/broken.nml", broken),
            "big": caller.add_file(ds, "models/big.nml", scales.big_network_neuroml(3_000, 100)),
            "junk": caller.add_file(ds, "models/junk.nml", b"\x00\x01 not xml"),
        }
        for asset in made.values():
            caller.wait_for_checks(asset["asset_id"])
    finally:
        caller.close()
    return {k: str(v["asset_id"]) for k, v in made.items()}


def test_the_element_tree_shows_findings_and_opens_nodes(
    demo: DemoServer, models: dict[str, str], page: Page
) -> None:
    page.goto(f"{demo.url}/asset/{models['broken']}")
    page.wait(READY)
    section = 'section[data-view="elements"]'
    rows = page.js(
        f"() => [...document.querySelectorAll('{section} .el-tree > li > ul > li > .el-row')]"
        ".map((r) => r.innerText)"
    )
    rows = [" ".join(r.split()) for r in rows]
    assert rows[0].startswith("· include href=../../elsewhere/channels.nml"), rows
    assert "(outside the dataset)" in rows[0] and rows[0].endswith("1 finding")
    assert any(r.startswith("▸ cell pyr 2 children") for r in rows), rows
    # the include carries its finding, opened without a click
    finding = page.page.locator(f"{section} li.kind-include .el-finding")
    assert finding.count() == 1 and "does not name a file in this dataset" in finding.inner_text()
    population = page.page.locator(f"{section} li.kind-population .el-finding")
    assert "ghost" in population.inner_text()
    page.wait_text(f"{section} > .msg", "finding")
    # open the cell: its morphology and biophysics appear
    cell = page.page.locator(f"{section} li.kind-cell").first
    cell.locator(":scope > .el-row .el-toggle").click()
    page.wait(
        f"() => [...document.querySelectorAll('{section} li.kind-cell > ul > li .el-tag')]"
        ".some((t) => t.textContent === 'morphology')"
    )
    page.shot("neuroml-elements", section, docs=True)
    page.assert_no_errors()

    page.goto(f"{demo.url}/asset/{models['big']}")
    page.wait(READY)
    for kind in ("network", "population"):  # closed at first: open them as a reader would
        page.page.locator(f"{section} li.kind-{kind} > .el-row .el-toggle").first.click()
    instances = f"{section} li.kind-population > ul > li.kind-instance"
    page.wait(f"() => document.querySelectorAll('{instances}').length === 50")
    more = page.page.locator(f"{section} li.kind-population button.el-more")
    assert "2,950 left" in more.inner_text()
    more.click()
    page.wait(f"() => document.querySelectorAll('{instances}').length === 100")
    page.assert_no_errors()

    # nothing parses: the card says why (the API's 400 is the only console message)
    page.goto(f"{demo.url}/asset/{models['junk']}")
    page.wait_text(f"{section} > .msg.error", "Nothing in the file could be read as XML")
    page.assert_no_errors(allow=("400 (Bad Request)",))


def _patchseq(demo: DemoServer) -> tuple[str, str]:
    found = demo.api("/dandisets/?search=Patch-seq")["results"]
    (ds,) = [d for d in found if "Patch-seq" in (d["draft_version"]["name"] or "")]
    return ds["identifier"], ds["most_recent_published_version"]["version"]


def test_the_demo_model_and_its_recording_link_both_ways(demo: DemoServer, page: Page) -> None:
    ds, version = _patchseq(demo)
    listed = demo.api(f"/dandisets/{ds}/versions/{version}/assets/?path=models/")["results"]
    (model,) = [a for a in listed if a["path"].endswith(".nml")]
    page.goto(f"{demo.url}/asset/{model['asset_id']}?dataset={ds}&version={version}")
    link = page.page.locator("#related ul.built-from a")
    assert link.count() == 1
    assert link.inner_text() == "sub-mouse03/sub-mouse03_obj-cell01_icephys.nwb"
    page.wait(READY)
    page.assert_no_errors()
    link.click()
    page.page.wait_for_url("**/asset/*")
    back = page.page.locator("#related ul.models-built-from a")
    assert back.count() == 1 and back.inner_text() == model["path"]
    page.shot("model-built-from", "#related")
    back.click()
    page.page.wait_for_url(f"**/asset/{model['asset_id']}*")
    page.wait(READY)
    page.assert_no_errors()
