"""The explorer in a real browser: `nds serve --demo` driven by Chromium through Playwright.

Every view type must draw real data from the demo files, the time cursor must be shared by
every time-based view, errors must show as messages in their panel, and the page must
log no console errors. Screenshots go to test-output/screenshots/ (copy good ones to
docs/img/ with NDS_E2E_DOCS_IMG=1). The server and browser fixtures are in conftest.py.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from .conftest import (
    CANVAS_RANGE,
    CURSORS,
    DFF,
    EPHYS,
    IMAGING,
    LFP,
    LICKS,
    PLOT_READY,
    POSITION,
    SEGMENTATION,
    STATUS_READY,
    TRIALS,
    UNITS,
    DemoServer,
    Page,
    asset_url,
)

pytestmark = pytest.mark.slow


def test_landing_dataset_and_asset_pages(demo: DemoServer, page: Page) -> None:
    page.goto(f"{demo.url}/")
    page.page.get_by_role("link", name=demo.dataset_id).first.click()
    page.page.wait_for_url(re.compile(rf"/dandiset/{demo.dataset_id}/"))
    body = page.page.locator("main").inner_text()
    assert "At a glance" in body and "Mus musculus" in body
    for text in ("Species", "Approaches", "Techniques", "Variables measured", "subjects"):
        assert text in body, text
    page.page.get_by_role("link", name="sub-mouse01/").click()
    page.page.get_by_role("link", name="Explore").first.click()
    page.page.wait_for_url(re.compile(r"/asset/[0-9a-f-]+\?dataset="))
    page.wait("() => document.getElementById('explorer').dataset.state === 'ready'")
    crumbs = page.page.locator("nav.crumbs").inner_text()
    assert demo.dataset_id in crumbs and "sub-mouse01" in crumbs
    assert page.page.locator("[role=treeitem]").count() > 10
    page.shot("dataset-page")
    page.assert_no_errors()


def test_traces_envelope_raw_paging_and_groups(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, EPHYS, t0=0, t1=10, cursor=2.5))
    page.wait(PLOT_READY, ".traces-plot")
    status = page.wait(STATUS_READY, ".traces-plot ~ .status").json_value()
    assert "min/max envelope" in status, status
    traces = page.js("() => document.querySelector('.traces-plot').data")
    assert len(traces) == 32 and all(t["type"] == "scattergl" for t in traces)
    assert all(t.get("fill") == "toself" and len(t["x"]) > 100 for t in traces)
    assert "channels 1\u201332 of 64" in page.page.locator(".pagelabel").inner_text()
    page.shot("traces-envelope", ".panel", docs=True)
    # zoomed in: raw samples
    page.page.locator("[name=t0]").fill("1")
    page.page.locator("[name=t1]").fill("1.02")
    page.page.locator("[name=t1]").press("Enter")
    page.wait_text(".traces-plot ~ .status", r"raw samples")
    traces = page.js("() => document.querySelector('.traces-plot').data")
    assert all(t.get("fill") != "toself" and len(t["x"]) >= 500 for t in traces)
    page.shot("traces-raw", ".panel")
    # next channel page with the keyboard, then a group filter
    page.page.locator(".panel").first.focus()
    page.page.keyboard.press("PageDown")
    page.wait_text(".pagelabel", r"channels 33\u201364 of 64")
    page.wait("() => /chp=1/.test(location.search)")
    groups = page.page.locator("select[name=group] option").all_inner_texts()
    assert len(groups) >= 3, groups
    page.page.locator("select[name=group]").select_option(index=1)
    page.wait_text(".pagelabel", r"channels 1\u2013\d+ of \d+")
    page.wait("() => /group=/.test(location.search)")
    page.wait(PLOT_READY, ".traces-plot")
    # channels can also be filtered by brain region (the electrodes' location)
    regions = [g for g in groups if g.startswith("region: ")]
    assert regions, groups
    page.page.locator("select[name=group]").select_option(label=regions[0])
    page.wait_text(".pagelabel", r"channels 1\u2013\d+ of \d+")
    page.wait(PLOT_READY, ".traces-plot")
    page.assert_no_errors()


def test_units_raster_psth_and_waveforms(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, UNITS, t0=0, t1=20, groupby="stimulus_orientation", unit=3))
    page.wait(PLOT_READY, ".raster-plot")
    page.wait(PLOT_READY, ".psth-plot")
    page.wait(PLOT_READY, ".wave-plot")
    raster = page.js("() => document.querySelector('.raster-plot').data")
    assert sum(len(t["x"]) for t in raster[:2]) > 100  # spikes
    assert raster[1]["x"], "the selected unit's spikes are highlighted"
    assert len(raster[2]["x"]) == 30  # a firing rate per unit
    psth = page.js("() => document.querySelector('.psth-plot').data")
    assert len(psth) == 4 and all("stimulus_orientation" in t["name"] for t in psth)
    assert any(max(t["y"]) > 0 for t in psth)
    page.shot("units", ".panel", docs=True)
    # arrow keys choose the next unit
    page.page.locator(".panel").first.focus()
    page.page.keyboard.press("ArrowDown")
    page.wait_text(".unitlabel", r"unit #4")
    page.wait("() => /unit=4/.test(location.search)")
    page.assert_no_errors()


def test_imaging_frames_rois_traces_and_player(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, IMAGING, t0=0, t1=20, cursor=5))
    page.wait(f"() => ({CANVAS_RANGE})('canvas.image') && ({CANVAS_RANGE})('canvas.image').hi > 0")
    image = page.js(CANVAS_RANGE, "canvas.image")
    assert image["w"] == 128 and image["h"] == 128 and image["hi"] - image["lo"] > 50, image
    overlay = page.js(CANVAS_RANGE, "canvas.overlay")
    assert overlay["alpha"] > 500, "ROI masks are drawn over the image"
    page.wait(PLOT_READY, ".roi-trace")
    page.wait(PLOT_READY, ".roi-heatmap")
    heat = page.js("() => document.querySelector('.roi-heatmap').data[0]")
    assert heat["type"] == "heatmap" and len(heat["z"]) == 40
    assert "frame 151 of 1800" in page.page.locator(".imaging-left .pagelabel").inner_text()
    page.shot("imaging", ".panel", docs=True)
    # click on ROI 7's centroid: its trace is shown
    roi = demo.api(f"/assets/{demo.asset_id}/explore/rois?path={SEGMENTATION}")["rois"][7]
    box = page.page.locator("canvas.overlay").bounding_box()
    cx, cy = roi["centroid"]  # x is the column, y the row
    page.page.mouse.click(
        box["x"] + (cx + 0.5) * box["width"] / 128, box["y"] + (cy + 0.5) * box["height"] / 128
    )
    page.wait("() => /roi=7/.test(location.search)")
    assert "ROI" in page.page.locator(".roilabel").inner_text()
    # the player advances the frames and the cursor
    page.page.get_by_role("button", name="Play").click()
    page.wait_text(".imaging-left .pagelabel", r"frame (?!151 )\d+ of")
    page.page.get_by_role("button", name="Pause").click()
    # mean projection
    page.page.locator("select[name=img]").select_option("mean")
    page.wait_text(".imaging-left .pagelabel", r"mean of")
    page.assert_no_errors()


def test_segmentation_behaviour_events_tables(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, SEGMENTATION, t0=0, t1=20))
    page.wait(f"() => ({CANVAS_RANGE})('canvas.image') && ({CANVAS_RANGE})('canvas.image').hi > 0")
    assert page.js(CANVAS_RANGE, "canvas.overlay")["alpha"] > 500
    page.shot("segmentation", ".panel")

    page.goto(asset_url(demo, POSITION, t0=0, t1=20, cursor=4))
    page.wait(PLOT_READY, ".trajectory-plot")
    page.wait(PLOT_READY, ".timeline-plot")
    traj = page.js("() => document.querySelector('.trajectory-plot').data")
    assert len(traj[1]["x"]) > 500 and len(traj[2]["x"]) == 1  # trajectory + cursor position
    timeline = page.js("() => document.querySelector('.timeline-plot')")
    assert timeline is not None
    licks = page.js("() => document.querySelector('.timeline-plot').data[1].x.length")
    assert licks > 0, "lick events on the timeline"
    page.shot("behaviour", ".panel", docs=True)

    page.goto(asset_url(demo, LICKS, t0=0, t1=60))
    page.wait(PLOT_READY, ".events-plot")

    page.goto(asset_url(demo, DFF, t0=0, t1=30))
    page.wait(PLOT_READY, ".traces-plot")
    assert page.js("() => document.querySelector('.traces-plot').data[0].type") == "heatmap"

    page.goto(asset_url(demo, LFP, t0=0, t1=5))
    page.wait(PLOT_READY, ".traces-plot")

    page.goto(asset_url(demo, TRIALS))
    page.wait("() => document.querySelectorAll('table.datatable tbody tr').length > 0")
    assert page.page.locator("table.datatable tbody tr").count() == 15
    heads = page.page.locator("table.datatable thead th[scope=col]").all_inner_texts()
    assert any("mean" in h for h in heads), "numeric columns show a summary"
    page.page.locator("table.datatable th button", has_text="stimulus_contrast").click()
    page.wait("() => /sort=stimulus_contrast/.test(location.search)")
    page.page.locator("input[name='filter-stimulus_orientation']").fill("= 90")
    page.page.locator("input[name='filter-stimulus_orientation']").press("Enter")
    page.wait("() => /filter=stimulus_orientation/.test(location.search)")
    page.wait_text(".pagelabel", r"of \d+ \(filtered")
    col = page.js(
        "() => [...document.querySelectorAll('table.datatable thead th[scope=col]')]"
        ".findIndex((th) => th.textContent.startsWith('stimulus_orientation'))"
    )
    values = page.js(
        "(col) => [...document.querySelectorAll('table.datatable tbody tr')]"
        ".map((tr) => tr.children[col].textContent)",
        col,
    )
    assert values and set(values) == {"90"}, values
    page.shot("table", ".panel", docs=True)

    page.goto(asset_url(demo, UNITS, tab=f"{UNITS}:table"))
    page.wait("() => document.querySelectorAll('table.datatable tbody tr').length > 0")
    assert page.page.locator("table.datatable td.ragged").count() > 0, "ragged spike times"
    page.assert_no_errors()


def test_one_time_cursor_for_every_view(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, EPHYS, UNITS, IMAGING, POSITION, t0=0, t1=10, cursor=2.5))
    for sel in (".traces-plot", ".raster-plot", ".roi-trace", ".roi-heatmap", ".timeline-plot"):
        page.wait(PLOT_READY, sel)
    page.wait_text(".imaging-left .pagelabel", r"frame")
    before = page.js(CURSORS)
    assert len(before) >= 5 and all(abs(c["x"] - 2.5) < 1e-6 for c in before), before
    # click 3/4 of the way across the traces plot: the cursor moves to ~7.5 s everywhere
    drag = page.page.locator(".traces-plot .nsewdrag").first.bounding_box()
    page.page.mouse.click(drag["x"] + drag["width"] * 0.75, drag["y"] + drag["height"] / 2)
    page.wait(f"() => ({CURSORS})().every((c) => Math.abs(c.x - 7.5) < 0.1)")
    page.wait(
        "() => Math.abs(Number(new URLSearchParams(location.search).get('cursor')) - 7.5) < 0.1"
    )
    page.wait_text(".imaging-left .pagelabel", r"frame 22[4-6] of")
    page.wait(
        "() => { const d = document.querySelector('.trajectory-plot').data[2];"
        " return d && d.x.length === 1; }"
    )
    page.shot("all-views", docs=True, full=True)
    # keys: Shift+→ moves the cursor, → pans every plot, + zooms every plot
    page.page.locator("h1").click()
    page.page.keyboard.press("Shift+ArrowRight")
    page.wait(f"() => ({CURSORS})().every((c) => Math.abs(c.x - 7.6) < 0.1)")
    page.page.keyboard.press("ArrowRight")
    page.wait(
        f"() => ({CURSORS})().every((c) => Math.abs(c.range[0] - 2.5) < 0.01"
        " && Math.abs(c.range[1] - 12.5) < 0.01)"
    )
    page.page.keyboard.press("+")
    page.wait(f"() => ({CURSORS})().every((c) => Math.abs((c.range[1] - c.range[0]) - 5) < 0.01)")
    for sel in (".traces-plot", ".raster-plot", ".timeline-plot"):
        page.wait(PLOT_READY, sel)
    page.assert_no_errors()


def test_keyboard_tree_and_shortcuts(demo: DemoServer, page: Page) -> None:
    page.goto(f"{demo.url}/asset/{demo.asset_id}")
    page.wait("() => document.getElementById('explorer').dataset.state === 'ready'")
    page.page.locator("#tree-filter").focus()
    page.page.keyboard.press("Tab")
    focused = page.js("() => document.activeElement.getAttribute('role')")
    assert focused == "treeitem"
    page.page.locator("#tree-filter").fill("TwoPhoton")
    page.page.locator("#tree-filter").press("Tab")
    for _ in range(5):
        if page.js("() => document.activeElement.dataset.path") == IMAGING:
            break
        page.page.keyboard.press("ArrowDown")
    assert page.js("() => document.activeElement.dataset.path") == IMAGING
    page.page.keyboard.press("Enter")
    page.wait(f"() => ({CANVAS_RANGE})('canvas.image') && ({CANVAS_RANGE})('canvas.image').hi > 0")
    page.wait("() => /obj=\\/acquisition\\/TwoPhotonSeries/.test(location.search)")
    page.page.locator("h1").click()
    page.page.keyboard.press("?")
    assert page.page.locator("#keys-help").is_visible()
    page.page.keyboard.press("Escape")
    page.assert_no_errors()


def test_errors_are_messages_in_the_panel(demo: DemoServer, page: Page) -> None:
    page.goto(asset_url(demo, "/not/in/this/file"))
    page.wait_text(".panel .msg.error", r"is not in this file")
    page.goto(asset_url(demo, "/general/subject"))
    page.wait_text(".panel .msg", r"There is no view")
    assert page.page.locator(".panel details.facts-box[open]").count() == 1
    # a link whose window misses the series: the window moves to the series' span
    page.goto(asset_url(demo, EPHYS, t0=5000, t1=5010))
    page.wait("() => Number(new URLSearchParams(location.search).get('t1')) <= 10.001")
    page.wait(PLOT_READY, ".traces-plot")
    # moving it away afterwards says where the data are
    page.page.locator("[name=t1]").fill("5010")  # the end first: start < end at every step
    page.page.locator("[name=t0]").fill("5000")
    page.page.locator("[name=t0]").press("Enter")
    page.wait_text(".traces-plot ~ .status", r"Nothing in this window")
    page.assert_no_errors()
    # the server's 4xx detail shows in the panel (and the browser logs the failed request)
    page.goto(asset_url(demo, TRIALS, filter="stimulus_orientation:gt:not-a-number"))
    page.wait("() => document.querySelector('.panel .status.error')?.textContent.length > 0")
    assert "HTTP 4" in page.page.locator(".panel .status.error").inner_text()
    # a file that cannot be read: an ".nwb" that is text
    from neurodatashare.testing.factories import Caller

    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("broken file")
        bad = caller.add_file(ds, "sub-x/sub-x_ses-1.nwb", b"subject,session\nmouse,1\n" * 10)
    finally:
        caller.close()
    page.goto(f"{demo.url}/asset/{bad['asset_id']}")
    page.wait("() => document.getElementById('explorer').dataset.state === 'error'")
    text = page.page.locator("#panels .msg.error").inner_text()
    assert "cannot be explored" in text and "HTTP 4" in text, text
    page.shot("error-unreadable")
    page.assert_no_errors(allow=("Failed to load resource",))


def test_plotly_is_served_and_pages_are_fast(demo: DemoServer, page: Page) -> None:
    with urllib.request.urlopen(f"{demo.url}/static/vendor/plotly.min.js") as r:
        assert r.status == 200 and "immutable" in r.headers["Cache-Control"]
    started = time.monotonic()
    page.goto(asset_url(demo, EPHYS, t0=0, t1=10))
    page.wait(PLOT_READY, ".traces-plot")
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"the first trace plot took {elapsed:.1f} s"
    page.assert_no_errors()
