"""Multi-scale views: what the server spends on them, against the plain library call.

Morphology (`bench_morphology`): a random-walk SWC tree (testing/scales.py `big_swc`) in a
fresh archive on SQLite, asked for `/explore/morphology`, `/dendrogram` and `/sholl`
through the ASGI app: the first request (reads and parses the file) and the median of
later ones (the parsed file is cached), the payload in bytes, and the ratio of the first
request to a plain `morphio.Morphology(text, "swc")` of the same text.

    python bench/multiscale.py [--points 100000] [--repeat 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from neurodatashare.archive.context import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.users import create_user
from neurodatashare.config import Settings
from neurodatashare.server.app import create_api
from neurodatashare.testing import scales


def _timed(client: TestClient, url: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    r = client.get(url)
    took = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    return took, r.content


def bench_morphology(points: int = 100_000, repeat: int = 5, folder: Path | None = None) -> None:
    import morphio

    text = scales.big_swc(points, seed=0)
    t0 = time.perf_counter()
    morphio.Morphology(text, "swc")
    plain = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = Path(tmp) / "big.swc"
        source.write_text(text)
        archive = Archive.open(Settings(home=Path(tmp) / "home"))
        try:
            alice = create_user(archive, username="alice")
            ident = create_dataset(archive, user=alice, name="bench", metadata={"name": "b"})
            asset = ingest_file(
                archive,
                user=alice,
                dataset_id=ident["identifier"],
                path="cells/big.swc",
                source=source,
            )
            client = TestClient(create_api(archive=archive))  # no lifespan: no worker
            api = f"/api/assets/{asset['asset_id']}/explore"
            print(f"morphology of {points:,} points ({len(text):,} bytes of SWC)")
            print(f"  plain morphio.Morphology: {plain * 1000:7.1f} ms")
            for name in ("morphology", "dendrogram", "sholl"):
                first, body = _timed(client, f"{api}/{name}")
                later = statistics.median(_timed(client, f"{api}/{name}")[0] for _ in range(repeat))
                zipped = len(gzip.compress(body, 6))
                ratio = f", {first / plain:4.1f}x plain MorphIO" if name == "morphology" else ""
                print(
                    f"  /{name:<10} first {first * 1000:7.1f} ms{ratio}, cached {later * 1000:6.1f}"
                    f" ms, {len(body):>10,} bytes ({zipped:,} gzipped)"
                )
        finally:
            archive.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    bench_morphology(args.points, args.repeat, args.dir)


if __name__ == "__main__":
    main()
