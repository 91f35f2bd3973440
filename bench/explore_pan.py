"""Panning a trace in the explorer: what 20 consecutive window requests cost the server.

Loads the demo dataset (published, so anonymous requests may read it) into a fresh archive
on SQLite, then asks `/explore/window` for 20 consecutive 1-second windows of the raw
ElectricalSeries (16 channels, 1,000 px), one after the other through the ASGI app, and
counts, per request: HDF5 files opened (h5py's `make_fid`, which every `h5py.File` open
goes through), SQL statements sent to the engine, and wall time (median and max).
A first request warms up (and, after issue 10, fills the handle cache); it is not counted.

    python bench/explore_pan.py [--seconds 10] [--pans 20] [--window 1.0] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import h5py._hl.files as h5files
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from neurodatashare.archive.context import Archive
from neurodatashare.archive.demo import load_demo
from neurodatashare.config import Settings
from neurodatashare.db.models import Asset, VersionAsset
from neurodatashare.demo.write import write_demo_dataset
from neurodatashare.server.app import create_api

SERIES = "/acquisition/ElectricalSeries"


class Counts:
    def __init__(self) -> None:
        self.opens = 0
        self.queries = 0


def instrument(archive: Archive, counts: Counts) -> None:
    real = h5files.make_fid

    def counting(*args: Any, **kwargs: Any) -> Any:
        counts.opens += 1
        return real(*args, **kwargs)

    h5files.make_fid = counting  # File.__init__ looks the name up in its module

    @event.listens_for(archive.db.engine, "before_cursor_execute")
    def count(*_args: Any) -> None:
        counts.queries += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="demo recording length")
    parser.add_argument("--pans", type=int, default=20)
    parser.add_argument("--window", type=float, default=1.0, help="seconds per window")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp) / "demo"
        files = write_demo_dataset(root, duration_s=args.seconds, jobs=1)
        archive = Archive.open(Settings(home=Path(tmp) / "home"))
        try:
            load_demo(archive, files=files[:1], root=root)
            with archive.db.read() as s:
                asset_id = s.scalars(
                    select(Asset.id).join(VersionAsset, VersionAsset.asset_id == Asset.id)
                ).first()
            client = TestClient(create_api(archive=archive))  # no lifespan: no worker
            url = f"/api/assets/{asset_id}/explore/window"
            step = max(0.05, (args.seconds - args.window) / args.pans)

            def pan(i: int) -> None:
                start = round(i * step, 3)
                end = start + args.window
                params = {"path": SERIES, "start": start, "end": end, "width": 1000}
                r = client.get(url, params={**params, "channels": "0-15"})
                assert r.status_code == 200, r.text

            pan(0)
            counts = Counts()
            instrument(archive, counts)
            took = []
            for i in range(args.pans):
                t0 = time.perf_counter()
                pan(i)
                took.append((time.perf_counter() - t0) * 1000)
            n = args.pans
            print(f"{n} pans of a {args.window:g} s, 16-channel window on {SERIES}:")
            print(f"  HDF5 file opens   {counts.opens:4d}  ({counts.opens / n:.1f} per request)")
            print(
                f"  SQL statements    {counts.queries:4d}  ({counts.queries / n:.1f} per request)"
            )
            print(f"  median ms/request {statistics.median(took):7.2f}  (max {max(took):.2f})")
        finally:
            archive.close()


if __name__ == "__main__":
    main()
