"""Remote open and slice reads of NWB files in every chunk layout, through a 50 ms link.

Starts `nds serve` behind a counting proxy that adds 50 ms to every request (and names
the proxy as the server's public URL, so every byte any reader fetches is counted),
uploads one recording per layout (testing/layouts.py) and waits for its index:

- contiguous: pynwb's default (no chunks), 60 s x 64 channels;
- tiny: chunks of 4 x 8 samples, a million of them (mostly fill value, gzip);
- neuroconv: NeuroConv's default chunking, 60 s x 64 channels;
- archive: the archive's own layout (nwb/convert/layout.py), 60 s x 64 channels.

For each layout and reader (ours: `open_asset`; h5py + remfile; h5py + fsspec's HTTP file;
optionally h5py with no cache) it measures: index bytes; requests, MB and seconds to
open the file and build the pynwb tree; the same for the first slice of the never-read
series (1 s of one channel) and then 1 s of every channel; and bytes fetched (everything
the proxy carried: chunk-table blocks included, also shown apart as "table") / bytes
that hold the slice (whole rows of contiguous data, else the stored chunks it touches).

    python bench/remote_open.py [--seconds 60] [--tiny-chunks 1000000] [--latency-ms 50]
        [--layouts tiny,archive] [--no-fsspec]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import httpx
import numpy as np

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.layouts import (
    LAYOUTS,
    RATE,
    SERIES,
    TINY_ROWS,
    chunk_count,
    holding_bytes,
    write_layout,
)
from neurodatashare.testing.proxy import CountingProxy
from neurodatashare.testing.server import create_user, free_port, run_server

OURS = "ours (index)"
#: Bytes of chunk-table answers since the last `measure` (also in the proxy's count).
TABLE_BYTES = [0]


def count_tables(r: httpx.Response) -> None:
    if r.url.path.endswith("/chunk-tables"):
        TABLE_BYTES[0] += int(r.headers.get("content-length", 0))


class NoCacheHTTPFile(io.RawIOBase):
    """A file over HTTP that sends one Range request for every read h5py makes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=60)
        self.size = int(self.http.head(url).headers["content-length"])
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = [offset, self.pos + offset, self.size + offset][whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        r = self.http.get(self.url, headers={"Range": f"bytes={self.pos}-{self.pos + n - 1}"})
        buffer[: len(r.content)] = r.content
        self.pos += len(r.content)
        return len(r.content)


def nwb_from_h5(h5: Any) -> Any:
    from pynwb import NWBHDF5IO

    io_ = NWBHDF5IO(file=h5, mode="r", load_namespaces=True)
    nwb = io_.read()
    nwb._bench_io = io_
    return nwb


def openers(
    api_url: str, asset_id: str, url: str, http: httpx.Client, no_cache: bool
) -> dict[str, Any]:
    import fsspec
    import remfile

    from neurodatashare.client.streaming import open_asset

    remote = SimpleNamespace(
        client=SimpleNamespace(http=http, api_url=api_url), id=asset_id, path="x.nwb"
    )
    readers = {
        OURS: lambda: open_asset(remote),
        "h5py+remfile": lambda: nwb_from_h5(h5py.File(remfile.File(url), "r")),
        "h5py+fsspec": lambda: nwb_from_h5(h5py.File(fsspec.open(url, "rb").open(), "r")),
    }
    if no_cache:
        readers["h5py, no cache"] = lambda: nwb_from_h5(h5py.File(NoCacheHTTPFile(url), "r"))
    return readers


def measure(proxy: CountingProxy, task: Any) -> tuple[Any, dict[str, float]]:
    proxy.reset()
    TABLE_BYTES[0] = 0
    t0 = time.perf_counter()
    result = task()
    seconds = time.perf_counter() - t0
    return result, {
        "requests": proxy.requests,
        "mb": proxy.bytes_down / 1e6,
        "s": seconds,
        "table_mb": TABLE_BYTES[0] / 1e6,
    }


def write_all(
    tmpdir: Path, seconds: float, tiny_chunks: int, layouts: list[str]
) -> dict[str, Path]:
    paths = {}
    for layout in layouts:
        t0 = time.perf_counter()
        path = tmpdir / f"{layout}.nwb"
        if layout == "tiny":
            write_layout(path, layout, rows=tiny_chunks * TINY_ROWS, channels=8)
        else:
            write_layout(path, layout, rows=int(seconds * RATE), channels=64)
        with h5py.File(path, "r") as f:
            chunks = f[SERIES].chunks
        print(
            f"wrote {layout}: {path.stat().st_size / 1e6:.0f} MB, chunks {chunks}, "
            f"{chunk_count(path):,} of them, in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        paths[layout] = path
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="recording length")
    ap.add_argument("--tiny-chunks", type=int, default=1_000_000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--no-cache-reader", action="store_true", help="also h5py, no cache")
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated subset")
    ap.add_argument("--no-fsspec", action="store_true", help="leave h5py+fsspec out")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        paths = write_all(tmpdir, args.seconds, args.tiny_chunks, args.layouts.split(","))
        port = free_port()
        results: dict[str, Any] = {}
        with (
            CountingProxy(port, delay_s=args.latency_ms / 1000) as proxy,
            run_server(tmpdir / "home", port=port, public_url=proxy.url) as server,
        ):
            key = create_user(server, "bench")
            caller = Caller(server.direct_url, key)
            ds = caller.create_dataset("bench")
            for layout, path in paths.items():
                results[layout] = bench_layout(args, proxy, caller, ds, key, layout, path)
                # at once: a reader failing on a later layout leaves these numbers
                report(layout, results[layout], latency=args.latency_ms)
        summary(results)


def bench_layout(
    args: Any, proxy: CountingProxy, caller: Caller, ds: str, key: str, layout: str, path: Path
) -> dict[str, Any]:
    t0 = time.perf_counter()
    asset = caller.add_file(ds, f"sub-b1/{layout}.nwb", path.read_bytes())
    aid = asset["asset_id"]
    deadline = time.monotonic() + 1800
    while (r := caller.get(f"/api/assets/{aid}/lindi.json")).status_code != 200:
        assert time.monotonic() < deadline, "index not built"
        time.sleep(0.2)
    print(f"  {layout}: uploaded and indexed in {time.perf_counter() - t0:.1f} s", flush=True)
    url = f"{proxy.url}/api/assets/{aid}/download/"
    with h5py.File(path, "r") as f:
        n, channels = f[SERIES].shape
    at1, at2 = int(n * 0.4), int(n * 0.7)  # two different places: no cache help
    one = (slice(at1, at1 + int(RATE)), slice(3, 4))
    every = (slice(at2, at2 + int(RATE)), slice(0, channels))
    need = {"one": holding_bytes(path, *one), "every": holding_bytes(path, *every)}
    rows: dict[str, dict[str, dict[str, float]]] = {}
    with httpx.Client(
        headers={"Authorization": f"token {key}"},
        timeout=120,
        event_hooks={"response": [count_tables]},
    ) as http:
        readers = openers(f"{proxy.url}/api", aid, url, http, args.no_cache_reader)
        if args.no_fsspec:
            readers.pop("h5py+fsspec")
        for opener in readers.values():  # warm imports and pynwb's type map: untimed
            opener()
        for name, opener in readers.items():
            nwb, opened = measure(proxy, opener)
            data = nwb.acquisition["recording"].data
            got1, r1 = measure(proxy, lambda d=data: d[one])
            got2, r2 = measure(proxy, lambda d=data: d[every])
            with h5py.File(path, "r") as f:
                assert np.array_equal(got1, f[SERIES][one]), (layout, name)
                assert np.array_equal(got2, f[SERIES][every]), (layout, name)
            rows[name] = {"open": opened, "one": r1, "every": r2}
            print(f"    measured {name}", flush=True)
    return {"rows": rows, "need": need, "index_bytes": len(r.content), "chunks": chunk_count(path)}


def report(layout: str, result: dict[str, Any], *, latency: float) -> None:
    rows, need = result["rows"], result["need"]
    print(
        f"\n{layout}: {result['chunks']:,} chunks, index {result['index_bytes'] / 1e6:.3f} MB; "
        f"{latency:.0f} ms per request (requests / MB / s; over-read = fetched / needed)"
    )
    tasks = {"open": "open", "one": "first slice: 1 s, 1 ch", "every": "1 s, all channels"}
    print(f"{'reader':18}" + "".join(f"{t:>48}" for t in tasks.values()))
    for name, row in rows.items():
        cells = ""
        for t in tasks:
            cell = f"{row[t]['requests']:.0f} / {row[t]['mb']:.2f} / {row[t]['s']:.2f}s"
            if t in need:
                cell += f" ({row[t]['mb'] * 1e6 / need[t]:.2f}x)"
            if row[t]["table_mb"]:
                cell += f" table {row[t]['table_mb']:.3f}"
            cells += f"{cell:>48}"
        print(f"{name:18}{cells}")
    base = rows["h5py+remfile"]
    print(
        f"{'time / remfile':18}"
        + "".join(f"{rows[OURS][t]['s'] / base[t]['s']:>48.2f}" for t in tasks)
    )


def summary(results: dict[str, Any]) -> None:
    print("\nTargets: open in 1 request, index < 1 MB at a million chunks, first slice of a")
    print("never-read dataset in <= 2 requests, over-read <= 1.5x on every layout (bytes")
    print("fetched include the chunk-table blocks)")
    for layout, result in results.items():
        ours, need = result["rows"][OURS], result["need"]
        over = max(ours[t]["mb"] * 1e6 / need[t] for t in need)
        print(
            f"  {layout:11} open {ours['open']['requests']:.0f} req, index "
            f"{result['index_bytes'] / 1e6:.3f} MB, first slice {ours['one']['requests']:.0f} "
            f"req, worst over-read {over:.2f}x"
        )


if __name__ == "__main__":
    main()
