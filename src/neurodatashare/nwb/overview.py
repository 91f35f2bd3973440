"""Min/max overview pyramids: what lets a zoomed-out trace view skip the raw samples.

A plot ``W`` pixels wide can show at most ``W`` distinct columns, so for a window of more
than ~2 samples per pixel the explorer draws, per pixel, the range (min and max) of the
samples under it. Computing that from the raw data costs the whole window (a 10-minute,
384-channel, 30 kHz recording is 14 GB of int16), so after upload we compute it once, at a
few block sizes, into a separate HDF5 file per asset, and :func:`read_window
<neurodatashare.nwb.explore.read_window>` then reads ~1,500-6,000 blocks of one level.

Design
------
* Level ``k`` holds, for each channel, the min and the max of each block of
  ``FACTOR ** k`` consecutive samples (blocks aligned to sample 0; the last one may be
  short), as two ``(blocks, channels)`` datasets ``min`` and ``max``.
* :data:`FACTOR` = 4. Consecutive levels differ by 4x in block length, so the level a
  window picks has 1-4 blocks per pixel; :func:`read_window` merges adjacent blocks to
  give 1-2 per pixel. A factor of 4 bounds what a window reads from the overview to
  ``4 x width`` blocks (for 1,500 px x 64 channels: at most 1.5 MB); 8 or 16 would halve
  the number of levels but double or quadruple that read; 2 would double the levels for
  a read that is already small.
* :data:`FIRST_LEVEL` = 3: the finest level has blocks of 64 samples (2 ms at 30 kHz).
  Finer levels would cost more to store than they save: a window of under 64 samples per
  pixel is at most ``64 x width`` samples per channel (about 3 s at 30 kHz for 1,500 px),
  a few chunks, which :func:`read_window` reads raw (if within its raw budget). The whole
  pyramid then stores ``2 values / 64 samples x 4/3`` = 1/24 of the samples: for int16
  data, 8% of the raw size (before compression).
* Integer data keep their own dtype (min and max of int16 counts are exact int16, half the
  size of float32); float data are stored as float32. Values are stored *before*
  conversion, offset and channel_conversion; :func:`read_window` applies them at read time,
  exactly as it does to raw samples, so both paths agree. NaNs are ignored (a block of only
  NaNs is NaN).
* Levels are built from :data:`FIRST_LEVEL` upwards until one has fewer than
  :data:`TOP_BLOCKS` blocks (that one is kept): the coarsest level then has 500-2,000
  blocks, enough for a full-recording view of any plot width up to 2,000 px without
  merging more than 4 blocks.
* Series with timestamps (irregular sampling) also store the time of each block's first
  sample (``times``, float64), so a window never bisects the raw timestamps at each block.
* Only "traces" series need a pyramid, and only when a full view of them would cost more
  than :data:`~neurodatashare.nwb.limits.MAX_RAW_VALUES` raw values or they have at least
  :data:`MIN_SAMPLES` samples.

Building reads the source once, in slabs of whole chunk rows (every channel of a run of
chunks, so each chunk is decompressed once, about 16 MB of memory at a time), computes the
first level with :func:`~neurodatashare.nwb.minmax.block_minmax` and folds each level into
the next as it goes: memory does not grow with the recording. Bombs (a dataset declared
huge but tiny on disk) are skipped before any data are read, with the reason recorded:
more than :data:`MAX_VALUES` values, fewer than half of the chunks written, or a
compression ratio over :data:`MAX_COMPRESSION_RATIO` (real recordings compress 1.5-3x;
zeros compress 500-1000x).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.explore._h5 import _norm_path
from neurodatashare.nwb.explore.series import _read_rows, _series, _source_id
from neurodatashare.nwb.explore.tree import trace_series_paths
from neurodatashare.nwb.minmax import (
    FACTOR,
    FIRST_LEVEL,
    MIN_SAMPLES,
    block_minmax,
    block_size,
    needs_overview,
)

#: Bump when the file layout or the values change; older files are ignored.
OVERVIEW_VERSION = 1
#: Levels are added until one has fewer blocks than this.
TOP_BLOCKS = 2000
#: Values (samples x channels) above which a series is not summarised (~200 GB int16).
MAX_VALUES = 100_000_000_000
#: Raw/stored size ratio above which a series is treated as a bomb and skipped.
MAX_COMPRESSION_RATIO = 100.0
#: Values per read slab while building (about 16 MB of int16).
SLAB_VALUES = 8_000_000

_SERIES_ROOT = "series"


def plan_levels(n_samples: int) -> list[int]:
    """The levels built for a series of ``n_samples`` samples."""
    levels = []
    k = FIRST_LEVEL
    while True:
        levels.append(k)
        if math.ceil(n_samples / block_size(k)) < TOP_BLOCKS:
            return levels
        k += 1


@dataclass(frozen=True)
class OverviewLevel:
    level: int
    block: int  # samples per block
    n_blocks: int

    def as_dict(self) -> dict[str, int]:
        return {"level": self.level, "block": self.block, "n_blocks": self.n_blocks}


def _group_name(series_path: str) -> str:
    return _SERIES_ROOT + "/" + series_path.strip("/")


# --------------------------------------------------------------------------- reader


class OverviewReader:
    """Reads an overview file written by :func:`build_overviews` (a path or file object).

    A file of another :data:`OVERVIEW_VERSION` reads as empty (every series "none").
    """

    def __init__(self, source: str | os.PathLike[str] | io.IOBase) -> None:
        self._h5 = h5py.File(source, "r")
        self.version = int(self._h5.attrs.get("version", -1))
        self.source_id = str(self._h5.attrs.get("source_object_id", ""))

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> OverviewReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ok(self) -> bool:
        return self.version == OVERVIEW_VERSION

    def series(self) -> list[str]:
        """Paths of every series the file has an entry for (built or skipped)."""
        out: list[str] = []
        root = self._h5.get(_SERIES_ROOT)
        if not self.ok or not isinstance(root, h5py.Group):
            return out

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and "status" in obj.attrs:
                out.append("/" + name)

        root.visititems(visit)
        return out

    def _group(self, series_path: str) -> h5py.Group | None:
        if not self.ok:
            return None
        g = self._h5.get(_group_name(series_path))
        return g if isinstance(g, h5py.Group) and "status" in g.attrs else None

    def info(self, series_path: str) -> dict[str, Any] | None:
        """The series' attributes (status, reason, n_samples, n_channels, ...) or None."""
        g = self._group(series_path)
        if g is None:
            return None
        out: dict[str, Any] = {}
        for key, value in g.attrs.items():
            if isinstance(value, bytes):
                value = value.decode()
            elif isinstance(value, np.generic):
                value = value.item()
            out[key] = value
        return out

    def levels(self, series_path: str) -> list[OverviewLevel]:
        """The levels of a series, finest first (empty if none were built)."""
        g = self._group(series_path)
        if g is None or g.attrs.get("status") != "built":
            return []
        out = []
        for name, sub in g.items():
            if isinstance(sub, h5py.Group) and name.startswith("level"):
                out.append(
                    OverviewLevel(
                        level=int(sub.attrs["level"]),
                        block=int(sub.attrs["block"]),
                        n_blocks=int(sub.attrs["n_blocks"]),
                    )
                )
        return sorted(out, key=lambda lv: lv.block)

    def _level(self, series_path: str, level: int) -> h5py.Group:
        g = self._group(series_path)
        sub = g.get(f"level{int(level)}") if g is not None else None
        if not isinstance(sub, h5py.Group):
            raise BadRequest(f"The overview has no level {level} for {series_path}.")
        return sub

    def read(
        self,
        series_path: str,
        level: int,
        first_block: int,
        last_block: int,
        channels: Sequence[int] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of blocks ``first_block <= j < last_block`` (last_block is exclusive),
        shape (blocks, channels), in the stored dtype (before conversion)."""
        sub = self._level(series_path, level)
        n = int(sub.attrs["n_blocks"])
        a, b = max(0, int(first_block)), min(n, int(last_block))
        b = max(a, b)
        out = []
        for name in ("min", "max"):
            ds = sub[name]
            if channels is None:
                out.append(np.asarray(ds[a:b]))
                continue
            c = np.asarray(channels, dtype=np.int64)
            if len(c) and np.array_equal(c, np.arange(c[0], c[0] + len(c))):
                out.append(np.asarray(ds[a:b, int(c[0]) : int(c[0]) + len(c)]))
            else:
                unique, inverse = np.unique(c, return_inverse=True)
                out.append(np.asarray(ds[a:b, unique.tolist()])[:, inverse])
        return out[0], out[1]

    def times(
        self, series_path: str, level: int, first_block: int, last_block: int
    ) -> np.ndarray | None:
        """Time of the first sample of each block (series with timestamps only)."""
        sub = self._level(series_path, level)
        ds = sub.get("times")
        if not isinstance(ds, h5py.Dataset):
            return None
        return np.asarray(ds[max(0, int(first_block)) : max(0, int(last_block))])


# -------------------------------------------------------------------------- builder


def _store_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if dtype.kind == "b":
        return np.dtype("uint8")
    if dtype.kind in "iu":
        return dtype
    return np.dtype("float32")


def _bomb_reason(ds: h5py.Dataset, n_values: int, max_values: int) -> str | None:
    """Why a series should not be read whole, or None."""
    if n_values > max_values:
        return f"too large to summarise: {n_values:,} values, more than the limit of {max_values:,}"
    raw_bytes = n_values * ds.dtype.itemsize
    try:
        stored = int(ds.id.get_storage_size())
    except (OSError, RuntimeError, ValueError):
        stored = raw_bytes
    if ds.chunks:
        expected = math.prod(math.ceil(s / c) for s, c in zip(ds.shape, ds.chunks, strict=True))
        try:
            written = int(ds.id.get_num_chunks())
        except (OSError, RuntimeError, ValueError):
            written = expected
        if expected and written < 0.5 * expected:
            return (
                f"mostly unwritten: only {written:,} of its {expected:,} chunks hold data, "
                "so most of it is fill values"
            )
    elif stored == 0 and raw_bytes:
        return "its data were never written"
    if stored and raw_bytes / stored > MAX_COMPRESSION_RATIO:
        return (
            f"its data compress {raw_bytes / stored:,.0f}x (nearly constant), far more "
            "than a recording; not summarised"
        )
    return None


class _Pyramid:
    """Streams level-FIRST blocks in and folds them into every coarser level."""

    def __init__(
        self,
        group: h5py.Group,
        levels: list[int],
        n_samples: int,
        n_channels: int,
        dtype: np.dtype[Any],
        with_times: bool,
    ) -> None:
        self.levels = levels
        self.ds: dict[int, dict[str, h5py.Dataset]] = {}
        self.written: dict[int, int] = {k: 0 for k in levels}
        self.pending: dict[int, list[np.ndarray] | None] = {k: None for k in levels}
        self.float = dtype.kind == "f"
        for k in levels:
            nb = math.ceil(n_samples / block_size(k))
            sub = group.create_group(f"level{k}")
            sub.attrs.update(level=k, block=block_size(k), n_blocks=nb)
            rows = max(1, min(nb, (256 * 1024) // (min(n_channels, 64) * dtype.itemsize)))
            chunks = (rows, min(n_channels, 64))
            self.ds[k] = {
                name: sub.create_dataset(
                    name,
                    shape=(nb, n_channels),
                    dtype=dtype,
                    chunks=chunks,
                    compression="gzip",
                    compression_opts=1,
                    shuffle=True,
                )
                for name in ("min", "max")
            }
            if with_times:
                self.ds[k]["times"] = sub.create_dataset(
                    "times", shape=(nb,), dtype="float64", chunks=(min(nb, 32768),)
                )

    def _write(self, k: int, parts: list[np.ndarray]) -> None:
        n = len(parts[0])
        if not n:
            return
        at = self.written[k]
        self.ds[k]["min"][at : at + n] = parts[0]
        self.ds[k]["max"][at : at + n] = parts[1]
        if len(parts) > 2:
            self.ds[k]["times"][at : at + n] = parts[2]
        self.written[k] = at + n

    def _fold(self, parts: list[np.ndarray], final: bool) -> tuple[list[np.ndarray], list]:
        """Group FACTOR blocks into one; return (coarser blocks, leftover)."""
        n = len(parts[0])
        full = n // FACTOR if not final else math.ceil(n / FACTOR)
        take = min(n, full * FACTOR)
        if not take:
            return [p[:0] for p in parts], parts
        lo = block_minmax(parts[0][:take], FACTOR)[0]
        hi = block_minmax(parts[1][:take], FACTOR)[1]
        out = [lo, hi]
        if len(parts) > 2:
            out.append(parts[2][:take:FACTOR])
        return out, [p[take:] for p in parts]

    def push(self, parts: list[np.ndarray], *, final: bool = False) -> None:
        """Add blocks of the finest level (and, if final, flush every level)."""
        incoming = parts
        for i, k in enumerate(self.levels):
            self._write(k, incoming)
            if i + 1 == len(self.levels):
                break
            prev = self.pending[k]
            merged = (
                incoming
                if prev is None
                else [np.concatenate([p, q]) for p, q in zip(prev, incoming, strict=True)]
            )
            incoming, rest = self._fold(merged, final)
            self.pending[k] = rest if len(rest[0]) else None

    def check(self) -> None:
        for k in self.levels:
            expected = self.ds[k]["min"].shape[0]
            if self.written[k] != expected:
                raise RuntimeError(f"level {k}: wrote {self.written[k]} of {expected} blocks")


def _slab_rows(ds: h5py.Dataset, n_channels: int) -> int:
    """Rows per read: whole chunk rows (each chunk decompressed once), a multiple of the
    first level's block, about SLAB_VALUES values."""
    b1 = block_size(FIRST_LEVEL)
    target = max(b1, SLAB_VALUES // max(1, n_channels))
    chunk_rows = int(ds.chunks[0]) if ds.chunks else 0
    if chunk_rows:
        unit = chunk_rows * b1 // math.gcd(chunk_rows, b1)
        if unit <= 4 * target:
            return max(unit, target // unit * unit)
    return max(b1, target // b1 * b1)


def _build_series(
    h5: h5py.File,
    series_path: str,
    out: h5py.File,
    *,
    max_values: int,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, Any]:
    s = _series(h5, series_path, need="traces")
    n, c = s.n_samples, s.n_channels
    entry: dict[str, Any] = {"n_samples": n, "n_channels": c, "levels": []}
    if not needs_overview(n, c):
        entry.update(status="not needed", reason="short enough to read whole")
        return entry
    group = out.require_group(_group_name(s.path))
    group.attrs.update(
        n_samples=n,
        n_channels=c,
        dtype=str(s.data.dtype),
        factor=FACTOR,
        has_timestamps=s.timestamps is not None,
        rate=s.rate if s.rate is not None else float("nan"),
        starting_time=s.starting_time,
    )
    reason = _bomb_reason(s.data, n * c, max_values)
    if reason is not None:
        group.attrs.update(status="skipped", reason=reason)
        entry.update(status="skipped", reason=reason)
        return entry
    levels = plan_levels(n)
    store = _store_dtype(s.data.dtype)
    pyramid = _Pyramid(group, levels, n, c, store, s.timestamps is not None)
    b1 = block_size(FIRST_LEVEL)
    rows = _slab_rows(s.data, c)
    allc = np.arange(c)
    started = time.perf_counter()
    for a in range(0, n, rows):
        b = min(n, a + rows)
        values = _read_rows(s, a, b, allc)
        if values.dtype.kind == "b":
            values = values.astype(np.uint8)
        mn, mx = block_minmax(values, b1)
        parts = [mn.astype(store, copy=False), mx.astype(store, copy=False)]
        if s.timestamps is not None:
            parts.append(np.asarray(s.timestamps[a:b:b1], dtype=np.float64))
        pyramid.push(parts, final=b == n)
        if progress is not None:
            progress(s.path, b, n)
    pyramid.check()
    group.attrs.update(status="built", reason="")
    entry.update(
        status="built",
        levels=[
            OverviewLevel(k, block_size(k), math.ceil(n / block_size(k))).as_dict() for k in levels
        ],
        seconds=round(time.perf_counter() - started, 3),
        values_read=n * c,
    )
    return entry


def build_overviews(
    h5: h5py.File,
    out_path: str | os.PathLike[str],
    *,
    progress: Callable[[str, int, int], None] | None = None,
    max_values: int = MAX_VALUES,
    series: Sequence[str] | None = None,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Write the min/max pyramids of every "traces" series of ``h5`` to ``out_path``.

    ``series`` limits the work to some series paths. ``progress(series_path, samples_done,
    n_samples)`` is called after every slab. A series over ``max_values`` values, with
    mostly unwritten chunks or compressing over :data:`MAX_COMPRESSION_RATIO` x is skipped
    (recorded in the file, so windows can say why); once ``max_seconds`` have passed, the
    remaining series are skipped too. The file is written next to ``out_path`` and moved
    into place when complete.

    Returns ``{"version", "factor", "first_level", "path", "seconds", "series": {path:
    {"status": "built" | "skipped" | "not needed" | "failed", "reason", "levels",
    "n_samples", "n_channels", ...}}}``.
    """
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".partial")
    started = time.perf_counter()
    paths = list(series) if series is not None else trace_series_paths(h5)
    summary: dict[str, Any] = {
        "version": OVERVIEW_VERSION,
        "factor": FACTOR,
        "first_level": FIRST_LEVEL,
        "path": str(out_path),
        "series": {},
    }
    with h5py.File(tmp, "w") as out:
        out.attrs.update(
            version=OVERVIEW_VERSION,
            factor=FACTOR,
            first_level=FIRST_LEVEL,
            source_object_id=_source_id(h5),
        )
        out.create_group(_SERIES_ROOT)
        for path in paths:
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                summary["series"][path] = {
                    "status": "skipped",
                    "reason": f"the {max_seconds:g} s time limit was reached",
                }
                continue
            try:
                summary["series"][path] = _build_series(
                    h5, path, out, max_values=max_values, progress=progress
                )
            except (BadRequest, OSError, RuntimeError, ValueError) as exc:
                reason = getattr(exc, "message", None) or str(exc)
                name = _group_name(_norm_path(path))
                if name in out:
                    del out[name]
                g = out.require_group(name)
                g.attrs.update(status="failed", reason=reason)
                summary["series"][path] = {"status": "failed", "reason": reason}
    os.replace(tmp, out_path)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


__all__ = [
    "FACTOR",
    "FIRST_LEVEL",
    "MIN_SAMPLES",
    "OVERVIEW_VERSION",
    "OverviewLevel",
    "OverviewReader",
    "block_size",
    "build_overviews",
    "needs_overview",
    "plan_levels",
]
