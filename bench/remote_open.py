"""Remote open and slice reads of an NWB file through a 50 ms-latency link, side by side.

Starts `nds serve` behind a counting proxy that adds 50 ms to every request (and names
the proxy as the server's public URL, so every byte any reader fetches is counted),
uploads a synthetic recording written with the archive's ephys chunk layout, waits for
its LINDI index, then measures for each reader:

- ours: `open_asset` (the LINDI index from /api/assets/{id}/lindi.json, then chunks);
- h5py + remfile (the peer that DANDI tools use);
- h5py + fsspec's HTTP file with default options;
- h5py with no cache (one Range request per read h5py makes).

Tasks: open the file and build the pynwb tree; read 1 s of one channel; read 1 s of all
channels. Prints requests, MB and seconds per task, the ratios against remfile, and the
bytes fetched per slice against the bytes of the chunks that hold it.

    python bench/remote_open.py [--seconds 140] [--channels 64] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import httpx
import numpy as np

from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.proxy import CountingProxy
from neurodatashare.testing.server import create_user, free_port, run_server

RATE = 30_000.0
SERIES = "acquisition/ElectricalSeries/data"


def write_recording(path: Path, *, seconds: float, channels: int, seed: int = 0) -> int:
    """A 30 kHz int16 recording written the way the demo and converters write one."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject

    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    data = np.empty((n, channels), dtype=np.int16)
    block = 1_000_000
    for start in range(0, n, block):
        stop = min(n, start + block)
        data[start:stop] = rng.normal(0, 40, size=(stop - start, channels)).astype(np.int16)
    nwb = NWBFile(
        session_description="remote-open benchmark",
        identifier="bench-remote-open",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id="b1", species="Mus musculus", sex="M", age="P90D"),
    )
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank0", description="shank", location="CA1", device=device)
    for _ in range(channels):
        nwb.add_electrode(group=group, location="CA1")
    region = nwb.create_electrode_table_region(list(range(channels)), "all")
    chunks = ephys_chunks(n, channels, data.itemsize)
    nwb.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            data=H5DataIO(data, chunks=chunks, **COMPRESSION),
            electrodes=region,
            rate=RATE,
            conversion=0.195e-6,
        )
    )
    with NWBHDF5IO(str(path), "w") as io_:
        io_.write(nwb)
    return data.nbytes


def chunk_bytes(path: Path, rows: slice, cols: slice) -> int:
    """Stored (compressed) bytes of every chunk that holds data[rows, cols]."""
    with h5py.File(path, "r") as f:
        ds = f[SERIES]
        c0, c1 = ds.chunks
        total = 0
        for r in range(rows.start // c0 * c0, rows.stop, c0):
            for c in range(cols.start // c1 * c1, cols.stop, c1):
                total += ds.id.get_chunk_info_by_coord((r, c)).size
        return total


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


def openers(api_url: str, asset_id: str, url: str, http: httpx.Client) -> dict[str, Any]:
    import fsspec
    import remfile

    from neurodatashare.client.streaming import open_asset

    remote = SimpleNamespace(
        client=SimpleNamespace(http=http, api_url=api_url), id=asset_id, path="x.nwb"
    )
    return {
        "ours (LINDI index)": lambda: open_asset(remote),
        "h5py+remfile": lambda: nwb_from_h5(h5py.File(remfile.File(url), "r")),
        "h5py+fsspec": lambda: nwb_from_h5(h5py.File(fsspec.open(url, "rb").open(), "r")),
        "h5py, no cache": lambda: nwb_from_h5(h5py.File(NoCacheHTTPFile(url), "r")),
    }


def measure(proxy: CountingProxy, task: Any) -> tuple[Any, dict[str, float]]:
    proxy.reset()
    t0 = time.perf_counter()
    result = task()
    seconds = time.perf_counter() - t0
    return result, {"requests": proxy.requests, "mb": proxy.bytes_down / 1e6, "s": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=140.0, help="recording length")
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        path = tmpdir / "recording.nwb"
        t0 = time.perf_counter()
        raw = write_recording(path, seconds=args.seconds, channels=args.channels)
        print(
            f"wrote {raw / 1e6:.0f} MB of samples ({path.stat().st_size / 1e6:.0f} MB on disk, "
            f"chunks {ephys_chunks(int(args.seconds * RATE), args.channels, 2)}) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        port = free_port()
        with (
            CountingProxy(port, delay_s=args.latency_ms / 1000) as proxy,
            run_server(tmpdir / "home", port=port, public_url=proxy.url) as server,
        ):
            key = create_user(server, "bench")
            caller = Caller(server.direct_url, key)
            ds = caller.create_dataset("bench")
            asset = caller.add_file(ds, "sub-b1/recording.nwb", path.read_bytes())
            aid = asset["asset_id"]
            deadline = time.monotonic() + 600
            while caller.get(f"/api/assets/{aid}/lindi.json").status_code != 200:
                assert time.monotonic() < deadline, "index not built"
                time.sleep(0.2)
            url = f"{proxy.url}/api/assets/{aid}/download/"
            n = int(args.seconds * RATE)
            at1, at2 = int(n * 0.3), int(n * 0.6)  # two different places: no cache help
            one = (slice(at1, at1 + int(RATE)), slice(7, 8))
            every = (slice(at2, at2 + int(RATE)), slice(0, args.channels))
            need_one = chunk_bytes(path, *one)
            need_all = chunk_bytes(path, *every)
            rows: dict[str, dict[str, dict[str, float]]] = {}
            with httpx.Client(headers={"Authorization": f"token {key}"}, timeout=60) as http:
                readers = openers(f"{proxy.url}/api", aid, url, http)
                for opener in readers.values():  # warm imports and pynwb's type map: untimed
                    opener()
                for name, opener in readers.items():
                    nwb, opened = measure(proxy, opener)
                    data = nwb.acquisition["ElectricalSeries"].data
                    got1, r1 = measure(proxy, lambda d=data: d[one])
                    got2, r2 = measure(proxy, lambda d=data: d[every])
                    with h5py.File(path, "r") as f:
                        assert np.array_equal(got1, f[SERIES][one])
                        assert np.array_equal(got2, f[SERIES][every])
                    rows[name] = {"open": opened, "one channel 1 s": r1, "all channels 1 s": r2}
                    print(f"  measured {name}", flush=True)
        report(rows, need_one=need_one, need_all=need_all, latency=args.latency_ms)


def report(
    rows: dict[str, dict[str, dict[str, float]]], *, need_one: int, need_all: int, latency: float
) -> None:
    print(f"\nRemote NWB reads through a {latency:.0f} ms-latency link (requests / MB / s)\n")
    tasks = ["open", "one channel 1 s", "all channels 1 s"]
    print(f"{'reader':22}" + "".join(f"{t:>28}" for t in tasks))
    for name, row in rows.items():
        cells = "".join(
            f"{row[t]['requests']:>8.0f} {row[t]['mb']:>8.2f} {row[t]['s']:>9.2f}s" for t in tasks
        )
        print(f"{name:22}{cells}")
    base = rows["h5py+remfile"]
    print("\nRatios against h5py+remfile (time; lower is better; <1 means faster than remfile)")
    for name, row in rows.items():
        print(f"{name:22}" + "".join(f"{row[t]['s'] / base[t]['s']:>28.2f}" for t in tasks))
    ours = rows["ours (LINDI index)"]
    print(
        f"\nours: open in {ours['open']['requests']:.0f} request(s), "
        f"{base['open']['s'] / ours['open']['s']:.1f}x faster than remfile"
    )
    print(
        f"bytes fetched / bytes of the chunks holding the slice: one channel "
        f"{ours['one channel 1 s']['mb'] * 1e6 / need_one:.2f}, all channels "
        f"{ours['all channels 1 s']['mb'] * 1e6 / need_all:.2f} "
        f"(chunks: {need_one / 1e6:.2f} MB and {need_all / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
