"""An NWB-shaped HDF5 file with many objects, for tree paging tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def write_many_objects(path: Path, *, n_series: int = 10_000) -> Path:
    """/acquisition holds `n_series` TimeSeries groups with data and timestamps each
    (3 objects per series, so 10,000 series make a 30,000-object file)."""
    with h5py.File(path, "w") as f:
        f.attrs["neurodata_type"] = "NWBFile"
        f.attrs["namespace"] = "core"
        acq = f.create_group("acquisition")
        f.create_group("processing")
        for i in range(n_series):
            g = acq.create_group(f"series_{i:05d}")
            g.attrs["neurodata_type"] = "TimeSeries"
            g.attrs["namespace"] = "core"
            g.attrs["description"] = f"channel {i}"
            d = g.create_dataset("data", data=np.arange(4, dtype="f4"))
            d.attrs["unit"] = "volts"
            g.create_dataset("timestamps", data=np.arange(4, dtype="f8"))
        acq["alias"] = h5py.SoftLink("/acquisition/series_00000")
    return path
