"""The explorer in a real browser: `nds serve --demo` driven by Chromium through Playwright.

Every view type must draw real data from the demo files, the time cursor must be shared by
every time-based view, errors must show as messages in their panel, and the page must
log no console errors. Screenshots go to test-output/screenshots/ (copy good ones to
docs/img/ with NDS_E2E_DOCS_IMG=1).

Needs Debian's Chromium (`apt-get install -y chromium`) and the `playwright` package; no
browser is downloaded. NDS_E2E_HOME=DIR reuses a server home across runs (the demo is
written and loaded once), which makes local iterations much faster.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from neurodatashare.testing.server import free_port, nds_executable, server_env

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("NDS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "apt-get update && apt-get install -y chromium, and "
    ".venv/bin/pip install playwright (never `playwright install`)"
)
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "screenshots"
DOCS_IMG = REPO / "docs" / "img"
DEMO_START_TIMEOUT = 600.0
VIEWPORT = {"width": 1366, "height": 860}

EPHYS = "/acquisition/ElectricalSeries"
LFP = "/processing/ecephys/LFP/LFP"
IMAGING = "/acquisition/TwoPhotonSeries"
SEGMENTATION = "/processing/ophys/ImageSegmentation/PlaneSegmentation"
DFF = "/processing/ophys/DfOverF/RoiResponseSeries"
POSITION = "/processing/behavior/Position/position"
LICKS = "/processing/behavior/licks"
TRIALS = "/intervals/trials"
UNITS = "/units"


# -- the server -------------------------------------------------------------------------


@dataclass
class DemoServer:
    url: str
    key: str
    dataset_id: str
    version: str
    assets: dict[str, str]  # path -> asset id
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def asset_id(self) -> str:
        return self.assets[sorted(self.assets)[0]]

    def api(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}/api{path}", headers={"Authorization": f"token {self.key}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())


def _wait_for_demo(proc: subprocess.Popen[bytes], log: Path, url: str) -> str:
    """Wait until the server answers; return its log (which holds the demo's key)."""
    deadline = time.monotonic() + DEMO_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"nds serve --demo exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/api/info/", timeout=2) as r:
                if r.status == 200:
                    return log.read_text()
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"nds serve --demo did not start in time:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    reuse = os.environ.get("NDS_E2E_HOME")
    home = Path(reuse) if reuse else tmp_path_factory.mktemp("e2e-home")
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(nds_executable()), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(home, port=port),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        text = _wait_for_demo(proc, log, url)
        key = re.findall(r"API key \(new each start\): (\S+)", text)[-1]
        dataset_id = re.findall(r"/dandiset/(\d{6})", text)[-1]
        server = DemoServer(url, key, dataset_id, "", {}, proc, log)
        versions = server.api(f"/dandisets/{dataset_id}/versions/")["results"]
        server.version = next(v["version"] for v in versions if v["version"] != "draft")
        listing = server.api(f"/dandisets/{dataset_id}/versions/{server.version}/assets/")
        server.assets = {a["path"]: a["asset_id"] for a in listing["results"]}
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


# -- the browser ------------------------------------------------------------------------


@dataclass
class Page:
    """A browser page that records console errors and uncaught exceptions."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def wait(self, script: str, arg: Any = None, timeout: float = 30_000) -> Any:
        return self.page.wait_for_function(script, arg=arg, timeout=timeout)

    def wait_text(self, selector: str, pattern: str, timeout: float = 30_000) -> None:
        """Wait until the element's text matches the regular expression `pattern`."""
        self.wait(
            "([s, p]) => new RegExp(p).test(document.querySelector(s)?.textContent || '')",
            [selector, pattern],
            timeout,
        )

    def shot(
        self, name: str, selector: str | None = None, docs: bool = False, full: bool = False
    ) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.mouse.move(1, 1)  # no hover labels in the picture
        self.page.wait_for_timeout(150)
        if selector:
            self.page.locator(selector).first.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), full_page=full)
        if docs and os.environ.get("NDS_E2E_DOCS_IMG"):
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMG / path.name)
        return path

    def assert_no_errors(self, allow: tuple[str, ...] = ()) -> None:
        left = [e for e in self.errors if not any(a in e for a in allow)]
        assert not left, "console errors:\n" + "\n".join(left)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"The browser tests need the playwright package: {INSTALL_HINT}.")
    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}: {INSTALL_HINT}.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    raw = context.new_page()
    raw.set_default_timeout(30_000)
    wrapped = Page(raw)
    raw.on(
        "console",
        lambda m: (
            wrapped.errors.append(f"{m.text} ({m.location.get('url', '')})")
            if m.type == "error"
            else None
        ),
    )
    raw.on("pageerror", lambda e: wrapped.errors.append(f"uncaught: {e}"))
    yield wrapped
    context.close()


def asset_url(demo: DemoServer, *objs: str, **state: Any) -> str:
    from urllib.parse import urlencode

    query = [("obj", o) for o in objs] + [(k, str(v)) for k, v in state.items()]
    return f"{demo.url}/asset/{demo.asset_id}?{urlencode(query)}"


# JS helpers: how much data a plotly graph holds, and whether a canvas shows an image.
PLOT_POINTS = """(sel) => {
  const gd = document.querySelector(sel);
  if (!gd || !gd.data) return 0;
  return gd.data.reduce((n, t) => n + (t.x ? t.x.length : 0) + (t.z ? t.z.length : 0), 0);
}"""
PLOT_READY = f"(sel) => ({PLOT_POINTS})(sel) > 0"
CANVAS_RANGE = """(sel) => {
  const c = document.querySelector(sel);
  if (!c || !c.width) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let lo = 255, hi = 0, alpha = 0;
  for (let i = 0; i < d.length; i += 4) {
    lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); if (d[i + 3] > 0) alpha++;
  }
  return {w: c.width, h: c.height, lo, hi, alpha};
}"""
CURSORS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter((gd) => gd.layout && (gd.layout.shapes || []).some((s) => s.name === 'cursor'))
  .map((gd) => ({cls: gd.className, x: gd.layout.shapes.find((s) => s.name === 'cursor').x0,
                 range: gd.layout.xaxis.range}))"""
STATUS_READY = """(sel) => { const s = document.querySelector(sel);
  return s && s.textContent && !/Loading/.test(s.textContent) ? s.textContent : false; }"""


# -- tests --------------------------------------------------------------------------------


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
    page.goto(asset_url(demo, EPHYS, t0=5000, t1=5010))
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
