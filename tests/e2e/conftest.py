"""The browser tests' server and browser: `nds serve --demo` driven by Chromium through
Playwright (shared by every test module here, started once per session).

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
    home: Path = Path()  # the server's NDS_HOME (for `nds admin` commands beside it)

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


@pytest.fixture(scope="session")
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
        server = DemoServer(url, key, dataset_id, "", {}, proc, log, home)
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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def views_asset(demo: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The views corpus file (testing/views_corpus.py) uploaded to a new dataset: its id."""
    from neurodatashare.testing.factories import Caller
    from neurodatashare.testing.views_corpus import write_views_file

    path = write_views_file(tmp_path_factory.mktemp("views") / "sub-v_ses-1.nwb")
    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("views corpus")
        asset = caller.add_file(ds, "sub-v/sub-v_ses-1.nwb", path.read_bytes())
    finally:
        caller.close()
    return str(asset["asset_id"])


def page_url(demo: DemoServer, asset_id: str, *objs: str, **state: Any) -> str:
    from urllib.parse import urlencode

    query = [("obj", o) for o in objs] + [(k, str(v)) for k, v in state.items()]
    return f"{demo.url}/asset/{asset_id}" + (f"?{urlencode(query)}" if query else "")
