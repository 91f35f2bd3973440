"""Our own importer for sampled signals in a ``.npy`` array or a ``.csv`` table.

* ``.npy``: a 1-D array (one signal) or a 2-D array with **time first** (samples x
  channels). It has no clock, so the sampling rate comes from ``timeseries.rate`` (or
  ``--rate``).
* ``.csv``: a header row; a column named ``time`` (or ``timestamp``/``timestamps``/``t``)
  gives each sample's time in seconds, otherwise ``timeseries.rate`` is needed. The other
  columns are the signals, in order.

Regularly spaced times are stored as a starting time and a rate (what the NWB Inspector
recommends); irregular ones as timestamps.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.metadata import MetadataError, TimeSeriesMetadata
from neurodatashare.nwb.convert.tables import read_csv_table

if TYPE_CHECKING:
    from pynwb import NWBFile, TimeSeries

_TIME_COLUMNS = ("time", "timestamp", "timestamps", "t", "time_s", "seconds")
#: Relative jitter under which timestamps count as regularly sampled.
REGULAR_TOLERANCE = 1e-6


def _module_description(name: str) -> str:
    return {
        "behavior": "Behavioural signals.",
        "ecephys": "Processed extracellular electrophysiology.",
        "ophys": "Processed optical physiology.",
        "misc": "Other signals.",
    }.get(name, f"Signals of the {name} module.")


def read_timeseries(
    path: Path, rate: float | None
) -> tuple[np.ndarray, np.ndarray | None, list[str], list[str]]:
    """(data, timestamps or None, channel names, notes) from a .npy or .csv file."""
    path = Path(path)
    notes: list[str] = []
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BadRequest(f"Cannot read {path} as a NumPy array: {exc}") from exc
        if data.ndim not in (1, 2) or data.size == 0:
            raise BadRequest(
                f"{path.name}: expected a 1-D or 2-D (samples x channels) array, got shape "
                f"{data.shape}."
            )
        if data.dtype.kind not in "biuf":
            raise BadRequest(f"{path.name}: expected numbers, got dtype {data.dtype}.")
        if data.ndim == 2 and data.shape[1] > data.shape[0]:
            notes.append(
                f"{path.name} has shape {data.shape}: more channels than samples. NWB stores time "
                "first; if the file is channels x samples, transpose it before converting."
            )
        names = [f"channel{i}" for i in range(1 if data.ndim == 1 else data.shape[1])]
        if rate is None:
            raise MetadataError(
                "timeseries.rate",
                f"{path.name} is a bare array with no time information; give its sampling rate.",
            )
        return data, None, names, notes
    if suffix in (".csv", ".tsv", ".txt"):
        table = read_csv_table(path)
        lower = {c.lower(): c for c in table.columns}
        time_col = next((lower[c] for c in _TIME_COLUMNS if c in lower), None)
        names = [c for c in table.columns if c != time_col]
        if not names:
            raise BadRequest(f"{path.name}: no signal columns besides '{time_col}'.")
        cols = []
        for c in names:
            values = table.columns[c]
            if any(isinstance(v, str) for v in values) or any(isinstance(v, bool) for v in values):
                raise BadRequest(
                    f"{path.name}: column '{c}' is not numeric (e.g. {values[0]!r}); a time series "
                    "holds numbers only. Trial or event tables go through --trials / --events."
                )
            cols.append(np.asarray(values, dtype=np.float64))
        data = np.stack(cols, axis=1) if len(cols) > 1 else cols[0]
        timestamps = None
        if time_col is not None:
            timestamps = np.asarray(table.columns[time_col], dtype=np.float64)
            if not np.all(np.isfinite(timestamps)):
                raise BadRequest(
                    f"{path.name}: column '{time_col}' has empty or non-numeric cells."
                )
            if timestamps.size > 1 and np.any(np.diff(timestamps) <= 0):
                i = int(np.flatnonzero(np.diff(timestamps) <= 0)[0]) + 3
                raise BadRequest(
                    f"{path.name}: the times in '{time_col}' must increase; row {i} does not."
                )
        elif rate is None:
            raise MetadataError(
                "timeseries.rate",
                f"{path.name} has no time column (named 'time'); give the sampling rate.",
            )
        return data, timestamps, names, notes
    raise BadRequest(f"{path.name}: a time series must be a .npy or .csv file.")


def add_timeseries(
    nwbfile: NWBFile, path: Path, meta: TimeSeriesMetadata, *, rate: float | None = None
) -> tuple[TimeSeries, list[str]]:
    """Add the signal in ``path`` as a TimeSeries; returns it and notes for the user."""
    from pynwb import TimeSeries

    rate = rate if rate is not None else meta.rate
    data, timestamps, names, notes = read_timeseries(path, rate)
    for col in meta.columns:
        if col not in names:
            raise BadRequest(
                f"timeseries.columns.{col}: {Path(path).name} has no such column "
                f"(it has {', '.join(names)})."
            )
    timing: dict[str, Any]
    if timestamps is not None:
        if timestamps.size != data.shape[0]:
            raise BadRequest(f"{Path(path).name}: times and samples differ in number.")
        steps = np.diff(timestamps)
        if steps.size and np.all(np.abs(steps - steps.mean()) <= REGULAR_TOLERANCE * steps.mean()):
            timing = {"starting_time": float(timestamps[0]), "rate": float(1.0 / steps.mean())}
        else:
            timing = {"timestamps": timestamps}
    else:
        assert rate is not None
        if not math.isfinite(rate) or rate <= 0:
            raise MetadataError("timeseries.rate", f"{rate} is not a positive sampling rate.")
        timing = {"starting_time": float(meta.starting_time), "rate": float(rate)}
    described = [f"{c}: {meta.columns[c]}" if c in meta.columns else c for c in names]
    description = meta.description or f"Imported from {Path(path).name}."
    if len(names) > 1 or meta.columns:
        description += " Columns: " + "; ".join(described) + "."
    series = TimeSeries(
        name=meta.name,
        description=description,
        data=np.asarray(data),
        unit=meta.unit,
        **timing,
    )
    if meta.module:
        module = nwbfile.processing.get(meta.module) or nwbfile.create_processing_module(
            meta.module, _module_description(meta.module)
        )
        if meta.name in module.data_interfaces:
            raise BadRequest(f"timeseries.name: '{meta.name}' already exists in {meta.module}.")
        module.add(series)
    else:
        if meta.name in nwbfile.acquisition:
            raise BadRequest(f"timeseries.name: '{meta.name}' already exists in acquisition.")
        nwbfile.add_acquisition(series)
    return series, notes
