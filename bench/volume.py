"""Time to first slice of an OME-Zarr volume: a 137 GB-declared sparse volume against a small
one (the ratio should be flat, about 1).

The first slice is what the slice viewer (web/static/views/volume.js) asks for on opening:
the layout (`/explore/volume`), then the whole middle x-y plane fitted to a 1280 x 720
screen (`/explore/volume/slice.png`, the level chosen by the screen). Both go through the
routes (server/routes/volumes.py) with the store dependency pointed at a directory, each
volume opened fresh (nothing cached between runs but the OS's file cache). `--latency-ms`
adds a delay to every store read, as an object store over the network would; the reads and
bytes read are counted by testing/volumes.py `CountingStore`.

The big volume is 4096^3 uint16 (137 GB declared) in 64^3 chunks with 7 levels, only the
chunks through its centre stored (testing/volumes.py `write_sparse`); the small one is
2 x 16 x 256 x 256 uint16 (4 MB) with 3 levels, written by ome-zarr-py.

    python bench/volume.py [--repeat 5] [--latency-ms 0] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurodatashare.server.errors import install_error_handlers
from neurodatashare.server.routes import volumes as routes
from neurodatashare.testing.volumes import CountingStore, DirMapping, write_sparse, write_volume

ASSET = "0e0b7b7e-0000-4000-8000-0000000000b0"
SCREEN = (1280, 720)


class SlowStore(DirMapping):
    def __init__(self, root: Path, latency: float) -> None:
        super().__init__(root)
        self.latency = latency

    def __getitem__(self, key: str) -> bytes:
        if self.latency:
            time.sleep(self.latency)
        return super().__getitem__(key)


def first_slice(path: Path, latency: float) -> dict[str, Any]:
    store = CountingStore(SlowStore(path, latency))
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(routes.router)

    def override(asset_id: str) -> Callable[[], tuple[Mapping[str, bytes], None]]:
        return lambda: (store, None)

    app.dependency_overrides[routes.volume_store] = override
    api = f"/api/assets/{ASSET}/explore/volume"
    with TestClient(app) as client:
        t0 = time.perf_counter()
        layout = client.get(api).json()
        shape = layout["levels"][0]["shape"]
        ny, nx = shape[-2], shape[-1]
        fit = min(SCREEN[0] / nx, SCREEN[1] / ny)
        params: dict[str, Any] = {
            "width": max(1, round(nx * fit)),
            "height": max(1, round(ny * fit)),
        }
        if "z" in layout["spatial"]:
            params["z"] = shape[-3] // 2
        r = client.get(f"{api}/slice.png", params=params)
        took = time.perf_counter() - t0
        assert r.status_code == 200, r.text
    return {
        "seconds": took,
        "reads": len(store.reads),
        "chunk_reads": len(store.chunk_reads()),
        "bytes_read": store.bytes_read,
        "level": int(r.headers["x-volume-level"]),
        "png_bytes": len(r.content),
        "declared": shape,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-volume-"))
    small, big = folder / "small.ome.zarr", folder / "big.ome.zarr"
    if not small.exists():
        write_volume(small, shape=(2, 16, 256, 256), axes="czyx", dtype="uint16", levels=3)
    if not big.exists():
        write_sparse(big)
    results = {}
    for name, path in (("small (4 MB)", small), ("sparse (137 GB declared)", big)):
        runs = [first_slice(path, args.latency_ms / 1000) for _ in range(args.repeat)]
        results[name] = runs
        r = runs[0]
        med = statistics.median(x["seconds"] for x in runs)
        print(
            f"{name:26s} shape {r['declared']}: first slice {med * 1000:7.1f} ms (median of "
            f"{len(runs)}), level {r['level']}, {r['reads']} store reads "
            f"({r['chunk_reads']} chunk keys), {r['bytes_read']:,} bytes read, "
            f"PNG {r['png_bytes']:,} bytes"
        )
    s = statistics.median(x["seconds"] for x in results["small (4 MB)"])
    b = statistics.median(x["seconds"] for x in results["sparse (137 GB declared)"])
    print(f"ratio sparse/small: {b / s:.2f} (latency per read {args.latency_ms} ms)")


if __name__ == "__main__":
    main()
