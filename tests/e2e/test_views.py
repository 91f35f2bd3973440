"""Views by neurodata type and the asset page's overview, in a real browser.

The views corpus (testing/views_corpus.py) is uploaded to the demo server: a
SpikeEventSeries, a DecompositionSeries, a colour ImageSeries, Images (grey, RGB, RGBA),
an IntervalSeries and an event table, all starting at 100 s. Screenshots go to
test-output/screenshots/ (and docs/img/ with NDS_E2E_DOCS_IMG=1).
"""

from __future__ import annotations

import pytest

from neurodatashare.testing import views_corpus as vc

from .conftest import (
    EPHYS,
    LICKS,
    PLOT_READY,
    STATUS_READY,
    TRIALS,
    UNITS,
    DemoServer,
    Page,
    asset_url,
    page_url,
)

pytestmark = pytest.mark.slow

READY = "() => document.getElementById('explorer').dataset.state === 'ready'"
NO_OBJECT_TEXT = "() => !/\\[object Object\\]|\\[object [A-Z]/.test(document.body.innerText)"
PIXEL = """([sel, x, y]) => { const c = document.querySelector(sel);
  if (!c || !c.width) return null;
  return [...c.getContext('2d').getImageData(x, y, 1, 1).data]; }"""
WINDOW = "() => ['t0', 't1'].map((k) => Number(new URLSearchParams(location.search).get(k)))"


def no_object_text(page: Page) -> None:
    assert page.js(NO_OBJECT_TEXT), "a view printed [object ...]"


def test_overview_opens_first_with_the_main_acquisition_drawn(demo: DemoServer, page: Page) -> None:
    page.goto(f"{demo.url}/asset/{demo.asset_id}")
    page.wait(READY)
    overview = page.page.locator("#overview")
    page.wait_text("#overview", r"Subject")
    text = overview.inner_text()
    for word in ("Session", "Start", "Experimenters", "Lab", "Institution", "Keywords"):
        assert word in text, word
    for word in ("Species", "Mus musculus", "Age", "Sex", "Strain", "Genotype"):
        assert word in text, word
    assert "Devices" in text and "Electrodes" in text and "group " in text
    # the main acquisition view is drawn without a click
    page.wait(PLOT_READY, ".traces-plot")
    assert page.js("() => new URLSearchParams(location.search).getAll('obj')") == [EPHYS]
    # the time bar shows the whole recording, not only the open series
    info = page.page.locator("#timebar .info").inner_text()
    overview_span = demo.api(f"/assets/{demo.asset_id}/explore/overview")["span"]
    assert f"{overview_span[1]:.2f}" in info or f"{overview_span[1]:.3f}" in info, info
    no_object_text(page)
    page.shot("overview", full=True, docs=True)
    page.assert_no_errors()


def test_units_axes_psth_zero_and_group_names(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, UNITS, t0=0, t1=20, unit=3))
    page.wait(PLOT_READY, ".psth-plot")
    page.wait(PLOT_READY, ".wave-plot")
    psth = page.js("() => document.querySelector('.psth-plot').layout")
    assert any(s.get("x0") == 0 and s.get("x1") == 0 for s in psth["shapes"]), "t = 0 marked"
    assert page.page.locator("input[name=bin]").input_value() == "0.05"  # 30 bins over 1.5 s
    wave = page.js("() => document.querySelector('.wave-plot').layout.yaxis.title.text")
    assert wave == "µV"
    page.shot("units-axes", ".panel")
    # a single trace: real values on a y axis with the unit
    page.goto(asset_url(demo, LICKS, t0=0, t1=60, tab=f"{LICKS}:traces"))
    page.wait(PLOT_READY, ".traces-plot")
    title = page.js("() => document.querySelector('.traces-plot').layout.yaxis.title.text")
    assert title, "a single trace has a y-axis title"
    # electrode_group: names, not object paths, and they open the group
    page.goto(asset_url(demo, "/general/extracellular_ephys/electrodes"))
    page.wait("() => document.querySelectorAll('table.datatable tbody tr').length > 0")
    refs = page.page.locator("table.datatable td.ref").all_inner_texts()
    assert refs and all("/" not in r for r in refs), refs[:3]
    no_object_text(page)
    page.assert_no_errors()


def test_snippets_move_the_window_to_their_span(
    demo: DemoServer, views_asset: str, page: Page
) -> None:
    page.goto(page_url(demo, views_asset, vc.SPIKE_EVENTS, t0=0, t1=10))
    page.wait(PLOT_READY, ".snippets-plot")
    status = page.wait(STATUS_READY, ".snippets-plot ~ .status").json_value()
    assert "snippets in the window drawn" in status, status
    t0, t1 = page.wait(f"() => {{ const w = ({WINDOW})(); return w[0] >= 100 && w; }}").json_value()
    assert t0 >= vc.T_START and t1 - t0 == pytest.approx(10)
    data = page.js("() => document.querySelector('.snippets-plot').data")
    means = [d for d in data if d["name"] == "mean"]
    assert len(means) == vc.SNIPPET_CHANNELS and len(means[0]["x"]) == vc.SNIPPET_SAMPLES
    layout = page.js("() => document.querySelector('.snippets-plot').layout")
    assert layout["yaxis"]["title"]["text"] == "µV"
    no_object_text(page)
    page.shot("snippets", ".panel", docs=True)
    page.assert_no_errors()


def test_band_power_heatmap(demo: DemoServer, views_asset: str, page: Page) -> None:
    page.goto(page_url(demo, views_asset, vc.DECOMPOSITION, t0=0, t1=30))
    page.wait(PLOT_READY, ".bands-plot")
    heat = page.js("() => document.querySelector('.bands-plot').data[0]")
    assert heat["type"] == "heatmap" and len(heat["z"]) == len(vc.BANDS)
    assert heat["y"][0].startswith("theta")
    assert min(heat["x"]) >= vc.T_START
    page.shot("bands", ".panel", docs=True)
    no_object_text(page)
    page.assert_no_errors()


def test_pictures_are_drawn_in_colour(demo: DemoServer, views_asset: str, page: Page) -> None:
    page.goto(page_url(demo, views_asset, vc.IMAGES))
    page.wait("() => document.querySelectorAll('canvas.picture').length === 3")
    page.wait(f"() => ({PIXEL})(['canvas.picture', 1, 1]) !== null")
    gray, rgb, rgba = (f".picture-box:nth-child({i}) canvas" for i in (1, 2, 3))
    # stored (x, y): x < a third is red, so the left third of the picture is red
    assert page.js(PIXEL, [rgb, 2, 16]) == [255, 0, 0, 255]
    assert page.js(PIXEL, [rgb, 16, 16]) == [0, 255, 0, 255]
    assert page.js(PIXEL, [rgb, 30, 16]) == [0, 0, 255, 255]
    r, g, b, _ = page.js(PIXEL, [gray, 31, 31])
    assert r == g == b == 255
    assert page.js(PIXEL, [rgba, 2, 0])[3] == 0 and page.js(PIXEL, [rgba, 2, 31])[3] == 255
    page.shot("pictures", ".panel", docs=True)
    # a colour video: the frame at the cursor, in colour
    page.goto(page_url(demo, views_asset, vc.COLOUR_VIDEO))
    page.wait_text(".panel .pagelabel", r"frame \d+ of 30")
    pixels = page.js(
        """() => { const c = document.querySelector('canvas.picture');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let red = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 60) red++;
        return red; }"""
    )
    assert pixels > 20, "the red dot is drawn in colour"
    no_object_text(page)
    page.shot("colour-video", ".panel")
    page.assert_no_errors()


def test_intervals_and_event_tables_are_events(
    demo: DemoServer, views_asset: str, page: Page
) -> None:
    page.goto(page_url(demo, views_asset, vc.INTERVALS, vc.EVENT_TABLE, t0=0, t1=30))
    page.wait("() => document.querySelectorAll('.events-plot').length === 2")
    page.wait(PLOT_READY, f".panel[data-path='{vc.INTERVALS}'] .events-plot")
    page.wait(PLOT_READY, f".panel[data-path='{vc.EVENT_TABLE}'] .events-plot")
    shapes = page.js(
        f"() => document.querySelector(\".panel[data-path='{vc.INTERVALS}'] .events-plot\")"
        ".layout.shapes.filter((s) => s.type === 'rect')"
    )
    assert len(shapes) >= 3 and all(s["x1"] - s["x0"] == pytest.approx(2.0) for s in shapes)
    t0, _t1 = page.js(WINDOW)
    assert t0 >= vc.T_START, "the window moved to the events"
    no_object_text(page)
    page.shot("events", docs=True)
    page.assert_no_errors()


def test_error_objects_become_sentences(demo: DemoServer, views_asset: str, page: Page) -> None:
    # a filter the server refuses: the status shows its sentence, not an object
    page.goto(
        page_url(
            demo,
            views_asset,
            vc.EVENT_TABLE,
            tab=f"{vc.EVENT_TABLE}:table",
            filter="timestamp:gt:soon",
        )
    )
    page.wait("() => document.querySelector('.panel .status.error')?.textContent.length > 0")
    text = page.page.locator(".panel .status.error").inner_text()
    assert "HTTP 4" in text and "object" not in text, text
    page.goto(asset_url(demo, TRIALS, filter="stimulus_orientation:gt:x"))
    page.wait("() => document.querySelector('.panel .status.error')?.textContent.length > 0")
    no_object_text(page)
    page.assert_no_errors(allow=("Failed to load resource",))


def test_api_docs_fetch_nothing_from_outside(demo: DemoServer, page: Page) -> None:
    outside: list[str] = []
    page.page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(demo.url) else None,
    )
    page.goto(f"{demo.url}/api/docs")
    page.page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    page.page.wait_for_load_state("networkidle")
    assert "neurodatashare" in page.page.locator(".swagger-ui .info .title").inner_text()
    assert page.page.locator(".opblock").count() > 20  # every route is listed
    assert not outside, outside
    page.assert_no_errors()
