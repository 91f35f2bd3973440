"""The OME-Zarr slice viewer (web/static/views/volume.js) in Chromium, on volumes written by
ome-zarr-py: the planes, the axis sliders and the channels draw real data with no console
errors, and a 137 GB sparse volume's first view reads a screenful of chunks.

Zarr assets are not stored yet (the Zarr storage lands separately), so the asset page
cannot host the viewer: this test serves the viewer's routes (server/routes/volumes.py,
the store dependency pointed at test directories), the static files, and a test-only page
holding the same `<section data-view="volume" data-api=...>` the asset page gives a view.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest

from neurodatashare.testing.server import free_port
from neurodatashare.testing.volumes import (
    CountingStore,
    DirMapping,
    blobs,
    write_sparse,
    write_volume,
)

from .conftest import CANVAS_RANGE, DemoServer, Page

pytestmark = pytest.mark.slow

SMALL = "0e0b7b7e-0000-4000-8000-000000000001"
BIG = "0e0b7b7e-0000-4000-8000-000000000002"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>volume</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css">
<link rel="stylesheet" href="/static/explorer.css">
<script type="module" src="/static/views/volume.js"></script></head><body><main>
<section class="card view" data-view="volume" data-asset-id="{id}"
 data-api="/api/assets/{id}/explore/"><p class="msg loading" role="status">Loading…</p></section>
</main></body></html>"""
TILES_DRAWN = """() => { const s = document.querySelector('section[data-view="volume"]');
  return s && Number(s.dataset.tiles) > 0 && s.dataset.loaded === s.dataset.tiles; }"""
COLOURS = """(sel) => { const c = document.querySelector(sel);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) { r += d[i] > 0; g += d[i + 1] > 0; b += d[i + 2] > 0; }
  return {r, g, b}; }"""


@dataclass
class VolumeServer:
    url: str
    stores: dict[str, CountingStore]


@pytest.fixture(scope="module")
def volume_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VolumeServer]:
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    from neurodatashare.server.errors import install_error_handlers
    from neurodatashare.server.routes import volumes as routes
    from neurodatashare.web.views import static_files

    folder = tmp_path_factory.mktemp("volumes")
    shape = (2, 2, 6, 1200, 1600)
    write_volume(
        folder / "small.ome.zarr",
        shape=shape,
        axes="tczyx",
        dtype="uint16",
        levels=3,
        chunks=(1, 1, 2, 256, 256),
        data=blobs(shape, "tczyx"),
    )
    write_sparse(folder / "big.ome.zarr")
    stores = {
        SMALL: CountingStore(DirMapping(folder / "small.ome.zarr")),
        BIG: CountingStore(DirMapping(folder / "big.ome.zarr")),
    }
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(routes.router)
    app.mount("/static", static_files(), name="static")

    def store_for(asset_id: str) -> tuple[Mapping[str, bytes], None]:
        return stores[asset_id], None

    app.dependency_overrides[routes.volume_store] = lambda asset_id: lambda: store_for(asset_id)

    @app.get("/test-volume/{asset_id}", response_class=HTMLResponse)
    def page(asset_id: str) -> str:  # test-only: the asset page's view section
        return PAGE.replace("{id}", asset_id)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield VolumeServer(f"http://127.0.0.1:{port}", stores)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_slice_viewer_draws_planes_channels_and_follows_sliders(
    volume_server: VolumeServer, page: Page
) -> None:
    page.goto(f"{volume_server.url}/test-volume/{SMALL}")
    page.wait(TILES_DRAWN)
    section = 'section[data-view="volume"]'
    assert page.js(f"() => document.querySelector('{section}').dataset.level") in ("1", "2")
    picture = page.js(CANVAS_RANGE, ".volume-canvas")
    assert picture["hi"] > 0
    colours = page.js(COLOURS, ".volume-canvas")
    assert colours["r"] > 1000 and colours["g"] > 1000 and colours["b"] == 0  # red + green
    page.shot("volume", section, docs=True)
    # one channel off: no green left
    page.page.locator(".volume-channel-on").nth(1).uncheck()
    page.wait(f"(sel) => ({COLOURS})(sel).g === 0", ".volume-canvas")
    page.wait(TILES_DRAWN)
    # the z slider asks for another plane's tiles
    before = int(page.js(f"() => document.querySelector('{section}').dataset.requested"))
    page.page.locator('.volume-axis[data-axis="z"]').fill("2")
    page.wait(f"() => Number(document.querySelector('{section}').dataset.requested) > {before}")
    page.wait(TILES_DRAWN)
    # the x-z plane: sliders for t and y
    page.page.select_option(".volume-plane", "xz")
    page.wait("() => !!document.querySelector('.volume-axis[data-axis=\"y\"]')")
    page.wait(TILES_DRAWN)
    assert page.js(CANVAS_RANGE, ".volume-canvas")["hi"] > 0
    # zoom in twice: a finer level, tiles of the view only
    page.page.select_option(".volume-plane", "xy")
    page.wait(TILES_DRAWN)
    for _ in range(3):
        page.page.locator('button[data-act="in"]').click()
    page.wait(f"() => document.querySelector('{section}').dataset.level === '0'")
    page.wait(TILES_DRAWN)
    tiles = int(page.js(f"() => document.querySelector('{section}').dataset.tiles"))
    assert tiles <= 9  # zoomed 8x: a screenful, not the plane's 35 level-0 tiles
    page.assert_no_errors()


def test_a_137_gb_sparse_volume_opens_with_a_screenful_of_reads(
    volume_server: VolumeServer, page: Page
) -> None:
    store = volume_server.stores[BIG]
    store.reset()
    t0 = time.monotonic()
    page.goto(f"{volume_server.url}/test-volume/{BIG}")
    page.wait(TILES_DRAWN)
    elapsed = time.monotonic() - t0
    section = 'section[data-view="volume"]'
    level = int(page.js(f"() => document.querySelector('{section}').dataset.level"))
    assert level >= 2  # a 4096-voxel plane on a ~1300-pixel canvas
    chunks = store.chunk_reads()
    # the overview (512 px: level 3, 8x8 chunks), the view's tiles, one chunk for contrast
    assert len(chunks) < 600, len(chunks)
    assert not store.listed
    picture = page.js(CANVAS_RANGE, ".volume-canvas")
    assert picture["hi"] > 0  # the bright cube at the centre
    assert elapsed < 30
    page.assert_no_errors()


@pytest.fixture(scope="module")
def stored_volume(demo: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An OME-Zarr written by ome-zarr-py, uploaded as a Zarr asset through DANDI's Zarr API."""
    from pathlib import Path

    from neurodatashare.testing.factories import Caller

    root = tmp_path_factory.mktemp("stored") / "brain.ome.zarr"
    shape = (2, 8, 300, 400)
    write_volume(root, shape=shape, axes="czyx", levels=2, data=blobs(shape, "czyx"))
    files = {
        p.relative_to(root).as_posix(): p.read_bytes() for p in Path(root).rglob("*") if p.is_file()
    }
    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("ome-zarr e2e")
        asset = caller.add_zarr(ds, "sub-v/sub-v_sample-brain.ome.zarr", files)
        caller.wait_for_checks(asset["asset_id"])
    finally:
        caller.close()
    return str(asset["asset_id"])


def test_a_stored_volume_draws_on_its_asset_page(
    demo: DemoServer, page: Page, stored_volume: str
) -> None:
    page.goto(f"{demo.url}/asset/{stored_volume}")
    page.wait(TILES_DRAWN)
    drawn = page.page.evaluate(COLOURS, 'section[data-view="volume"] canvas')
    assert drawn["r"] > 0 or drawn["g"] > 0  # channel colours of real data, not a blank canvas
    card = page.page.locator("table.summary").inner_text()
    assert "300" in card and "400" in card  # the summary card gives the volume's shape
    page.assert_no_errors()
