"""First draw of a big morphology in headless Chromium: the asset page of a random-walk SWC
tree (testing/scales.py `big_swc`) served by the whole app on SQLite, opened --repeat times
in a fresh page each, once the archive's pipeline has checked the file and stored the 3D
view's body (formats/swc.py `build_drawing`), as after an upload: the first visit reads that
body, later ones find it in the server's memory. `--no-wait` opens the page at once, so the
first visit parses the file itself (the pipeline may still be running). Unless `--cold`,
the page of another (small) cell is shown first, so the server's templates and imports and
the browser's cache of the site's scripts are warm, as for a user who has used the site.

The morphology view (web/static/views/morphology.js) records on its section, once its
first 3D drawing is done: `drawnAt` (ms since the page's navigation started), `fetchMs`
(its data request) and `drawMs` (from the data to the drawn frame). Chromium runs as the
browser tests run it (software WebGL: `--disable-gpu`); Debian's Chromium and the
playwright package are needed (tests/e2e/conftest.py).

    python bench/morphology_draw.py [--points 100000] [--repeat 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from neurodatashare.archive.context import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.users import create_user
from neurodatashare.config import Settings
from neurodatashare.testing import scales
from neurodatashare.testing.live import free_port, serve_in_thread

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
DRAWN = "() => document.querySelector('section[data-view=\"morphology\"]')?.dataset.drawnAt"
TIMES = """() => { const s = document.querySelector('section[data-view="morphology"]');
  return {drawnAt: +s.dataset.drawnAt, fetchMs: +s.dataset.fetchMs || null,
          drawMs: +s.dataset.drawMs}; }"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the pipeline")
    parser.add_argument(
        "--cold", action="store_true", help="no other cell's page shown first (cold caches)"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        source = Path(tmp) / "big.swc"
        source.write_text(scales.big_swc(args.points, seed=0))
        archive = Archive.open(Settings(home=Path(tmp) / "home"))
        try:
            alice = create_user(archive, username="alice")
            ident = create_dataset(archive, user=alice, name="bench", metadata={"name": "b"})
            asset = ingest_file(
                archive, user=alice, dataset_id=ident["identifier"], path="big.swc", source=source
            )
            small = Path(tmp) / "small.swc"
            small.write_text(scales.big_swc(1_000, seed=1))
            other = ingest_file(
                archive, user=alice, dataset_id=ident["identifier"], path="small.swc", source=small
            )
            rows = []
            with serve_in_thread(archive, free_port()) as url, sync_playwright() as p:
                if not args.no_wait:  # the server's workers run the pipeline
                    _wait_for_drawing(archive, str(asset["asset_id"]))
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    if not args.cold:  # a server and a browser that have shown another cell
                        _wait_for_drawing(archive, str(other["asset_id"]))
                        page = browser.new_page(viewport={"width": 1366, "height": 860})
                        page.goto(f"{url}/asset/{other['asset_id']}")
                        page.wait_for_function(DRAWN, timeout=120_000)
                        page.close()
                    for _ in range(args.repeat):
                        page = browser.new_page(viewport={"width": 1366, "height": 860})
                        page.goto(f"{url}/asset/{asset['asset_id']}")
                        page.wait_for_function(DRAWN, timeout=120_000)
                        rows.append(page.evaluate(TIMES))
                        page.close()
                finally:
                    browser.close()
        finally:
            archive.close()
    print(f"morphology of {args.points:,} points, headless Chromium (software WebGL)")
    print(f"{'visit':>5} {'first draw ms':>14} {'data request ms':>16} {'draw ms':>8}")
    for i, row in enumerate(rows):
        fetch = f"{row['fetchMs']:.0f}" if row["fetchMs"] else "-"
        print(f"{i + 1:>5} {row['drawnAt']:>14.0f} {fetch:>16} {row['drawMs']:>8.0f}")
    later = [r["drawnAt"] for r in rows[1:]] or [rows[0]["drawnAt"]]
    print(f"median first draw of the cached visits: {statistics.median(later):.0f} ms")


def _wait_for_drawing(archive: Archive, asset_id: str, timeout: float = 300) -> None:
    from sqlalchemy import select

    from neurodatashare.db.models import Asset, Derived
    from neurodatashare.formats.swc import DRAWING_KIND

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with archive.db.read() as s:
            blob_id = s.scalar(select(Asset.blob_id).where(Asset.id == asset_id))
            done = s.scalar(
                select(Derived.id).where(Derived.blob_id == blob_id, Derived.kind == DRAWING_KIND)
            )
        if done is not None:
            return
        time.sleep(0.2)
    raise SystemExit(f"the pipeline did not store the drawing in {timeout:.0f} s")


if __name__ == "__main__":
    main()
