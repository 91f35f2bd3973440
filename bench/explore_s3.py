"""Explorer trace windows with the blobs on S3 (SeaweedFS) against the local blob store.

Starts SeaweedFS (`weed mini`, signatures enforced) and two archives in this process, one
per store, each behind a real HTTP server. Uploads the same synthetic recording from
testing/nwbfiles.py to both (on S3 through presigned part URLs), waits for its overview,
then times `GET /api/assets/{id}/explore/window` at three zoom levels:

* cold: the archive's open-file cache is emptied before every request, so the request
  opens the NWB file (and overview) from the store: on S3 that is ranged GETs through
  the RangedReader's block cache;
* warm: the file stays open between requests, as on a busy server.

Prints medians per zoom and store, and the S3 / local ratio (target: within 2x).

    python bench/explore_s3.py [--channels 64] [--seconds 60] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from neurodatashare.archive import Archive
from neurodatashare.config import Settings
from neurodatashare.testing.factories import Caller, poll
from neurodatashare.testing.live import Live, free_port, serve_in_thread
from neurodatashare.testing.nwbfiles import make_ephys_file
from neurodatashare.testing.seaweed import run_seaweed

SERIES = "/acquisition/ElectricalSeries"


def zooms(seconds: float) -> dict[str, dict[str, Any]]:
    mid = seconds / 2
    return {
        "10 ms, 4 ch (raw)": {"start": mid, "end": mid + 0.01, "channels": "0-3"},
        "1 s, 32 ch": {"start": mid, "end": mid + 1.0, "channels": "0-31"},
        "whole, 32 ch (overview)": {"start": 0, "end": seconds, "channels": "0-31"},
    }


def prepare(archive: Archive, url: str, nwb: Path) -> tuple[Caller, str, str]:
    live = Live(url=url, archive=archive, backend="sqlite")
    alice = live.user("alice")
    ds = alice.create_dataset("bench")
    asset = alice.add_file(ds, "sub-bench/sub-bench_ecephys.nwb", nwb.read_bytes())
    aid = asset["asset_id"]
    poll(
        lambda: (
            alice.get(f"/api/assets/{aid}/explore/series", params={"path": SERIES})
            .json()
            .get("overview_status")
            == "ready"
        ),
        what="overview",
        timeout=600,
    )
    return alice, aid, asset["blob"]


def measure(
    archive: Archive,
    caller: Caller,
    aid: str,
    blob_id: str,
    params: dict[str, Any],
    *,
    cold: bool,
    repeat: int,
) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            archive.files.forget(blob_id)
        t = time.perf_counter()
        r = caller.get(
            f"/api/assets/{aid}/explore/window",
            params={"path": SERIES, "width": 1500, **params},
        )
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nds-bench-s3-") as tmp:
        root = Path(tmp)
        nwb = make_ephys_file(
            root / "rec.nwb", n_channels=args.channels, duration_s=args.seconds, n_units=5
        )
        print(
            f"recording: {args.channels} channels, {args.seconds:.0f} s, "
            f"{nwb.stat().st_size / 2**20:.1f} MiB"
        )
        results: dict[tuple[str, str, str], float] = {}
        with run_seaweed(root / "s3") as s3:
            for store in ("local", "s3"):
                extra = {"blob_store": "s3", **s3.settings()} if store == "s3" else {}
                port = free_port()
                settings = Settings(home=root / f"home-{store}", port=port, **extra)
                archive = Archive.open(settings)
                try:
                    with serve_in_thread(archive, port) as url:
                        caller, aid, blob_id = prepare(archive, url, nwb)
                        for name, params in zooms(args.seconds).items():
                            for mode in ("cold", "warm"):
                                results[(name, mode, store)] = measure(
                                    archive,
                                    caller,
                                    aid,
                                    blob_id,
                                    params,
                                    cold=mode == "cold",
                                    repeat=args.repeat,
                                )
                        caller.close()
                finally:
                    archive.close()
    print(f"\nmedian of {args.repeat} requests per cell, ms")
    print(f"{'window':26} {'mode':5} {'local':>8} {'s3':>8} {'s3/local':>9}")
    worst = 0.0
    for name in zooms(args.seconds):
        for mode in ("cold", "warm"):
            local, s3 = results[(name, mode, "local")], results[(name, mode, "s3")]
            worst = max(worst, s3 / local)
            print(f"{name:26} {mode:5} {local * 1e3:8.1f} {s3 * 1e3:8.1f} {s3 / local:8.2f}x")
    print(f"\nworst ratio {worst:.2f}x (target <= 2x): {'met' if worst <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
