"""NWB recordings in the chunk layouts the archive meets, for streaming tests and benches.

- ``contiguous``: pynwb's default (no H5DataIO): one contiguous dataset, no chunks;
- ``tiny``: chunks of a few rows (more than 100,000 of them), sparse: mostly the fill
  value and gzip-compressed, so the file stays small while the chunk table is long;
- ``neuroconv``: NeuroConv's default backend configuration (about 10 MB chunks, gzip);
- ``archive``: the archive's own ephys layout (nwb/convert/layout.py).

Every layout writes the same kind of series, a (samples, channels) int16
``acquisition/recording/data`` at :data:`RATE`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

LAYOUTS = ("contiguous", "tiny", "neuroconv", "archive")
SERIES = "acquisition/recording/data"
RATE = 30_000.0
TINY_ROWS = 4  # rows per chunk of the "tiny" layout


def values(rows: int, channels: int, *, sparse: bool, seed: int = 0) -> np.ndarray:
    if sparse:  # a few non-zero samples (every 997th), the rest the fill value 0
        data = np.zeros((rows, channels), np.int16)
        flat = data.reshape(-1)
        flat[::997] = np.arange(len(flat[::997])) % 3000 + 1
        return data
    rng = np.random.default_rng(seed)
    return rng.normal(0, 40, size=(rows, channels)).astype(np.int16)


def write_layout(path: Path, layout: str, *, rows: int, channels: int) -> Path:
    """Write a `rows` x `channels` recording in `layout` to `path`."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(
        session_description=f"{layout} layout",
        identifier=f"layout-{layout}",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    data: Any = values(rows, channels, sparse=layout == "tiny")
    if layout == "tiny":
        data = H5DataIO(data, chunks=(TINY_ROWS, channels), compression="gzip")
    elif layout == "archive":
        from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks

        data = H5DataIO(data, chunks=ephys_chunks(rows, channels, 2), **COMPRESSION)
    elif layout != "contiguous" and layout != "neuroconv":
        raise ValueError(f"unknown layout {layout!r}")
    nwb.add_acquisition(TimeSeries(name="recording", data=data, unit="V", rate=RATE))
    if layout == "neuroconv":
        from neuroconv.tools.nwb_helpers import (
            configure_backend,
            get_default_backend_configuration,
        )

        config = get_default_backend_configuration(nwbfile=nwb, backend="hdf5")
        configure_backend(nwbfile=nwb, backend_configuration=config)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def holding_bytes(path: Path, rows: slice, cols: slice) -> int:
    """Bytes of the file that hold data[rows, cols]: the whole rows of a contiguous
    dataset, else the stored (compressed) size of every chunk the slice touches."""
    with h5py.File(path, "r") as f:
        ds = f[SERIES]
        if ds.chunks is None:
            return (rows.stop - rows.start) * math.prod(ds.shape[1:]) * ds.dtype.itemsize
        c0, c1 = ds.chunks
        r0, c_0 = rows.start // c0 * c0, cols.start // c1 * c1
        total = 0

        # one pass over the chunk index: HDF5 looks a chunk up by coordinates by walking
        # the whole index, so a lookup per chunk of a million-chunk dataset takes minutes
        def visit(info: Any) -> None:
            nonlocal total
            r, c = info.chunk_offset
            if r0 <= r < rows.stop and c_0 <= c < cols.stop and info.byte_offset is not None:
                total += info.size

        ds.id.chunk_iter(visit)
        return total


def chunk_count(path: Path) -> int:
    with h5py.File(path, "r") as f:
        ds = f[SERIES]
        return 1 if ds.chunks is None else int(ds.id.get_num_chunks())
