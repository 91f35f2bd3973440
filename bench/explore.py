"""Explorer trace windows: min/max overviews against reading the raw samples, by zoom.

Writes a synthetic 384-channel, 30 kHz int16 recording for each duration (1 and 10 min by
default, 60 min too with --full) with the archive's chunk layout and filters
(``ephys_chunks``, ``COMPRESSION``: shuffle + gzip 1) through pynwb/hdmf's ``H5DataIO``,
builds its overview (timed), then, for zoom levels from the whole recording down to 100 ms,
asks ``read_window`` for a 1,500-pixel-wide plot of 64 channels (and of all 384 channels
for the whole recording) and measures:

* ours: server-side seconds per ``read_window`` call (a fresh h5py handle per call, so no
  HDF5 chunk cache carries over; the OS page cache is warm, as on a busy server) and the
  bytes it reads from the NWB file and the overview file (both opened through a counting
  file object);
* raw: the same window computed from the raw samples through h5py (read in slabs, min/max
  per pixel block), the cost without an overview.

Targets: < 300 ms per window at every zoom, flat in recording duration, and >= 100x fewer
bytes than raw for the full-recording view.

    python bench/explore.py [--minutes 1 10] [--full] [--dir DIR] [--repeat 5]

Writing the samples: the recording is declared through ``H5DataIO(shape=..., dtype=...)``
and its chunks are then written with ``write_direct_chunk``, compressed by the same
filters HDF5 would apply (byte shuffle, then zlib level 1), cycling through 24 distinct
noise chunks; compressing 14 GB with gzip in-process would take ~3 min per 10 minutes of
recording and measure nothing of interest here. Reading is unaffected: every chunk is
decompressed as usual.
"""

from __future__ import annotations

import argparse
import io
import math
import shutil
import statistics
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodatashare.nwb import explore
from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks
from neurodatashare.nwb.explore.types import _core_types
from neurodatashare.nwb.overview import OverviewReader, build_overviews

RATE = 30_000.0
CHANNELS = 384
WIDTH = 1500
SHOWN = list(range(128, 192))  # the 64 channels of the plot (one chunk column)
SERIES = "/acquisition/ElectricalSeries"
POOL = 24


class CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes and read calls h5py makes through it."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.bytes = 0
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer: Any) -> int:
        n = self._f.readinto(buffer)
        self.bytes += n or 0
        self.reads += 1
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


# ------------------------------------------------------------------------ recording


def write_recording(path: Path, *, minutes: float, seed: int = 0) -> dict[str, Any]:
    """An NWB file with a (minutes x 30 kHz, 384) int16 ElectricalSeries, 0.195 uV/bit."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject

    n = int(minutes * 60 * RATE)
    chunks = ephys_chunks(n, CHANNELS, 2)
    nwb = NWBFile(
        session_description="explorer benchmark",
        identifier=f"bench-explore-{minutes}",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id="b1", species="Mus musculus", sex="M", age="P90D"),
    )
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank0", description="shank", location="CA1", device=device)
    for _ in range(CHANNELS):
        nwb.add_electrode(group=group, location="CA1")
    region = nwb.create_electrode_table_region(list(range(CHANNELS)), "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            data=H5DataIO(shape=(n, CHANNELS), dtype=np.int16, chunks=chunks, **COMPRESSION),
            electrodes=region,
            rate=RATE,
            conversion=0.195e-6,
        )
    )
    t = time.perf_counter()
    with NWBHDF5IO(str(path), "w") as io_:
        io_.write(nwb)
    rng = np.random.default_rng(seed)
    pool = []
    for k in range(POOL):
        t_axis = np.arange(chunks[0])[:, None] / RATE
        lfp = 150 * np.sin(2 * np.pi * (4 + k % 5) * t_axis + np.arange(chunks[1]) / 9)
        block = (rng.normal(0, 40, size=chunks) + lfp).astype(np.int16)
        shuffled = block.view(np.uint8).reshape(-1, 2).T.tobytes()  # HDF5's shuffle filter
        pool.append((block, zlib.compress(shuffled, COMPRESSION["compression_opts"])))
    with h5py.File(path, "r+") as f:
        ds = f[SERIES + "/data"]
        k = 0
        for r in range(0, n, chunks[0]):
            for c in range(0, CHANNELS, chunks[1]):
                block, payload = pool[k % POOL]
                if r + chunks[0] > n:  # the last chunk row: re-encode the cut block
                    cut = np.zeros_like(block)
                    cut[: n - r] = block[: n - r]
                    payload = zlib.compress(cut.view(np.uint8).reshape(-1, 2).T.tobytes(), 1)
                ds.id.write_direct_chunk((r, c), payload)
                k += 1
        check = ds[chunks[0] : chunks[0] + 10, 64:128]  # the filters decode what we wrote
        assert np.array_equal(check, pool[(CHANNELS // chunks[1] + 1) % POOL][0][:10])
    return {
        "n_samples": n,
        "chunks": chunks,
        "raw_bytes": n * CHANNELS * 2,
        "file_bytes": path.stat().st_size,
        "write_s": time.perf_counter() - t,
    }


# --------------------------------------------------------------------------- measure


def ours(path: Path, ov_path: Path, start: float, end: float, channels: list[int]) -> dict:
    """One read_window call: seconds (native file handles) and bytes (counting handles)."""
    with h5py.File(path, "r") as f, OverviewReader(ov_path) as ov:
        t = time.perf_counter()
        w = explore.read_window(
            f, SERIES, start=start, end=end, width=WIDTH, channels=channels, overview=ov
        )
        seconds = time.perf_counter() - t
    src, ovf = CountingFile(path), CountingFile(ov_path)
    with h5py.File(src, "r") as f, OverviewReader(ovf) as ov:
        src.bytes = ovf.bytes = 0  # count the window, not the open
        explore.read_window(
            f, SERIES, start=start, end=end, width=WIDTH, channels=channels, overview=ov
        )
    src.close()
    ovf.close()
    meta = w.meta()
    return {
        "s": seconds,
        "bytes": src.bytes + ovf.bytes,
        "ov_bytes": ovf.bytes,
        "what": f"{meta['kind']} L{meta['level']}" if meta["kind"] == "minmax" else "raw",
        "rows": meta["shape"][0],
        "payload": len(w.to_bytes()),
    }


def raw(path: Path, start: float, end: float, channels: list[int]) -> dict:
    """The same plot from raw samples: read the window's rows (in slabs), min/max per
    pixel block. Seconds with a native handle; bytes with a counting one (one pass each)."""

    def run(f: h5py.File) -> None:
        ds = f[SERIES + "/data"]
        i0, i1 = int(start * RATE), min(ds.shape[0], math.ceil(end * RATE))
        block = max(1, (i1 - i0) // WIDTH)
        c0, c1 = channels[0], channels[-1] + 1
        slab = max(block, (32_000_000 // len(channels)) // block * block)
        for a in range(i0, i1, slab):
            values = ds[a : min(i1, a + slab), c0:c1]
            if block > 2:
                explore.block_minmax(values, block)

    with h5py.File(path, "r") as f:
        t = time.perf_counter()
        run(f)
        seconds = time.perf_counter() - t
    counting = CountingFile(path)
    with h5py.File(counting, "r") as f:
        counting.bytes = 0
        run(f)
    counting.close()
    return {"s": seconds, "bytes": counting.bytes}


def zooms(duration: float) -> list[float]:
    out = [duration]
    w = duration / 10
    while w > 0.1 * 1.0001:
        out.append(w)
        w /= 10
    out.append(0.1)
    return out


def bench_duration(folder: Path, minutes: float, repeat: int) -> dict[str, Any]:
    path = folder / f"rec-{minutes:g}min.nwb"
    ov_path = folder / f"rec-{minutes:g}min.overview.h5"
    print(
        f"\n== {minutes:g} min: writing {minutes * 60 * RATE * CHANNELS * 2 / 1e9:.1f} GB "
        "of int16 samples ...",
        flush=True,
    )
    info = write_recording(path, minutes=minutes)
    print(
        f"   {info['file_bytes'] / 1e9:.2f} GB on disk, chunks {info['chunks']}, "
        f"written in {info['write_s']:.1f} s",
        flush=True,
    )
    with h5py.File(path, "r") as f:
        t = time.perf_counter()
        summary = build_overviews(f, ov_path)
        build_s = time.perf_counter() - t
    entry = summary["series"][SERIES]
    info.update(build_s=build_s, ov_bytes=ov_path.stat().st_size, levels=entry["levels"])
    print(
        f"   overview built in {build_s:.1f} s "
        f"({info['raw_bytes'] / 1e6 / build_s:.0f} MB/s of samples), "
        f"{info['ov_bytes'] / 1e6:.0f} MB = {info['ov_bytes'] / info['file_bytes']:.1%} of "
        f"the file, levels {[lv['block'] for lv in entry['levels']]}",
        flush=True,
    )
    duration = info["n_samples"] / RATE
    rng = np.random.default_rng(1)
    rows = []
    plan = [(z, SHOWN) for z in zooms(duration)] + [(duration, list(range(CHANNELS)))]
    for width_s, channels in plan:
        starts = (
            [0.0] if width_s >= duration else list(rng.uniform(0, duration - width_s, size=repeat))
        )
        ours_runs = [ours(path, ov_path, s, s + width_s, channels) for s in starts]
        raw_run = raw(path, starts[0], starts[0] + width_s, channels)
        row = {
            "window_s": width_s,
            "channels": len(channels),
            "what": ours_runs[0]["what"],
            "ours_ms": 1000 * statistics.median(r["s"] for r in ours_runs),
            "ours_max_ms": 1000 * max(r["s"] for r in ours_runs),
            "ours_mb": statistics.median(r["bytes"] for r in ours_runs) / 1e6,
            "payload_mb": ours_runs[0]["payload"] / 1e6,
            "raw_ms": 1000 * raw_run["s"],
            "raw_mb": raw_run["bytes"] / 1e6,
        }
        rows.append(row)
        print(
            f"   {width_s:>9.3f} s x {len(channels):>3} ch: {row['what']:>10} "
            f"{row['ours_ms']:>7.1f} ms {row['ours_mb']:>8.2f} MB | raw {row['raw_ms']:>9.1f} ms "
            f"{row['raw_mb']:>9.1f} MB",
            flush=True,
        )
    path.unlink()
    ov_path.unlink()
    return {"minutes": minutes, "info": info, "rows": rows}


def report(results: list[dict[str, Any]]) -> bool:
    print(
        "\nread_window, 1,500 px wide (ours: median over random positions; raw: h5py "
        "read + min/max of the same window)\n"
    )
    head = (
        f"{'rec':>6} {'window':>10} {'ch':>4} {'served as':>10} {'ours ms':>8} "
        f"{'ours MB':>8} {'raw ms':>9} {'raw MB':>9} {'bytes x':>8}"
    )
    print(head)
    print("-" * len(head))
    ok = True
    for res in results:
        for r in res["rows"]:
            ratio = r["raw_mb"] / r["ours_mb"] if r["ours_mb"] else float("inf")
            print(
                f"{res['minutes']:>4g}m {r['window_s']:>9.3g}s {r['channels']:>4} "
                f"{r['what']:>10} {r['ours_ms']:>8.1f} {r['ours_mb']:>8.2f} "
                f"{r['raw_ms']:>9.1f} {r['raw_mb']:>9.1f} {ratio:>8.0f}"
            )
    print("\nOverview build")
    for res in results:
        i = res["info"]
        print(
            f"  {res['minutes']:>4g} min: {i['raw_bytes'] / 1e9:.1f} GB of samples "
            f"({i['file_bytes'] / 1e9:.2f} GB file) in {i['build_s']:.1f} s = "
            f"{i['raw_bytes'] / 1e6 / i['build_s']:.0f} MB/s; overview "
            f"{i['ov_bytes'] / 1e6:.1f} MB ({i['ov_bytes'] / i['file_bytes']:.1%} of the file)"
        )
    print("\nTargets")
    worst = max(r["ours_max_ms"] for res in results for r in res["rows"])
    good = worst < 300
    ok &= good
    print(f"  {'PASS' if good else 'FAIL'} every window < 300 ms (slowest call {worst:.0f} ms)")
    fulls = [next(r for r in res["rows"] if r["channels"] == 64) for res in results]
    if len(fulls) > 1:
        growth = fulls[-1]["ours_ms"] / fulls[0]["ours_ms"]
        span = results[-1]["minutes"] / results[0]["minutes"]
        good = growth < 3
        ok &= good
        print(
            f"  {'PASS' if good else 'FAIL'} flat in duration: full view "
            f"{fulls[0]['ours_ms']:.1f} ms -> {fulls[-1]['ours_ms']:.1f} ms for a {span:g}x "
            f"longer recording ({growth:.2f}x)"
        )
    for res, full in zip(results, fulls, strict=True):
        ratio = full["raw_mb"] / full["ours_mb"]
        good = ratio >= 100
        ok &= good
        print(
            f"  {'PASS' if good else 'FAIL'} {res['minutes']:g} min full view reads "
            f"{ratio:,.0f}x fewer bytes than raw ({full['ours_mb']:.2f} vs "
            f"{full['raw_mb']:,.0f} MB)"
        )
    return ok


def plan_full(results: list[dict[str, Any]], free: int, minutes: list[float]) -> None:
    """How the costs grow with duration, from the rates measured in this run."""
    if not results:
        return
    last = results[-1]["info"]
    stored = last["file_bytes"] / last["raw_bytes"]
    ov_share = last["ov_bytes"] / last["file_bytes"]
    rate = last["raw_bytes"] / last["build_s"]
    print("\nScaling (rates measured above; a window's cost does not grow with duration):")
    for m in minutes:
        raw_b = m * 60 * RATE * CHANNELS * 2
        print(
            f"  {m:>4g} min: {raw_b / 1e9:6.1f} GB of samples, file ~{raw_b * stored / 1e9:5.1f} "
            f"GB, overview ~{raw_b * stored * ov_share / 1e9:5.2f} GB, built in "
            f"~{raw_b / rate:5.0f} s (every chunk read once)"
        )
    print(f"  free disk here: {free / 1e9:.0f} GB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--full", action="store_true", help="also 60 min (83 GB of samples)")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: temp)")
    ap.add_argument("--repeat", type=int, default=5, help="random windows per zoom")
    args = ap.parse_args()
    minutes = list(args.minutes) + ([60.0] if args.full else [])
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        free = shutil.disk_usage(folder).free
        runnable = []
        for m in minutes:
            need = m * 60 * RATE * CHANNELS * 2 * 0.75  # file + overview, with margin
            if need > 0.8 * free:
                print(f"skipping {m:g} min: needs ~{need / 1e9:.0f} GB, {free / 1e9:.0f} GB free")
                continue
            runnable.append(m)
        _core_types()  # pynwb's type catalog: loaded once per process, untimed
        results = [bench_duration(folder, m, args.repeat) for m in runnable]
    ok = report(results)
    plan_full(results, free, sorted({*minutes, 60.0}))
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
