"""Writing the full-size demo (`nds demo`: four 60 s multi-modal sessions, 64 channels at
30 kHz) against pynwb writing only the raw recordings of the same size.

    python bench/demo_write.py [--jobs 2] [--repeat 1]

  ours   write_demo_dataset(jobs=N): every stream, chunked and gzip-compressed
  peer   pynwb with H5DataIO(compression="gzip"), pynwb's defaults otherwise: four files
         holding one 60 s x 64 ch int16 ElectricalSeries each (the bulk of the demo's bytes)

The demo should take under a minute on a laptop (docs/demo.md); the ratio shows what the
other streams and our chunk layout cost on top of the raw series.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def write_peer(out: Path, *, seconds: float = 60.0) -> float:
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for i in range(4):
        nwb = NWBFile(
            session_description="peer",
            identifier=f"peer-{i}",
            session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        )
        device = nwb.create_device(name="probe")
        group = nwb.create_electrode_group(
            name="shank", description="", location="CA1", device=device
        )
        for _ in range(64):
            nwb.add_electrode(group=group, location="CA1")
        region = nwb.create_electrode_table_region(list(range(64)), "all")
        data = rng.integers(-2000, 2000, size=(int(seconds * 30_000), 64), dtype=np.int16)
        nwb.add_acquisition(
            ElectricalSeries(
                name="ElectricalSeries",
                data=H5DataIO(data, compression="gzip"),
                electrodes=region,
                rate=30_000.0,
            )
        )
        with NWBHDF5IO(str(out / f"peer-{i}.nwb"), "w") as io:
            io.write(nwb)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from neurodatashare.demo.write import write_demo_dataset

    ours, peer = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            write_demo_dataset(Path(tmp) / "ours", seed=0, jobs=args.jobs)
            ours.append(time.perf_counter() - started)
            (Path(tmp) / "peer").mkdir()
            peer.append(write_peer(Path(tmp) / "peer"))
    o, p = min(ours), min(peer)
    print(f"ours (demo, {args.jobs} jobs)   {o:7.1f} s")
    print(f"peer (pynwb raw series)  {p:7.1f} s")
    print(f"ours / peer              {o / p:7.2f}")


if __name__ == "__main__":
    main()
