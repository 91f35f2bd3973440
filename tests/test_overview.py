"""Min/max overview pyramids (nwb/overview.py): levels equal brute force, reading with
channel selection, block times, stale/unknown files, bombs skipped with a reason, and
building in bounded memory."""

from __future__ import annotations

import math
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neurodatashare.errors import Conflict
from neurodatashare.nwb import explore, overview
from neurodatashare.nwb.overview import (
    FACTOR,
    FIRST_LEVEL,
    OVERVIEW_VERSION,
    OverviewReader,
    build_overviews,
    plan_levels,
)

ES = "/acquisition/ElectricalSeries"


def _series_file(
    path: Path,
    data: np.ndarray,
    *,
    rate: float | None = 1000.0,
    timestamps: np.ndarray | None = None,
    chunks: tuple[int, ...] | None = None,
    name: str = "TimeSeries",
) -> Path:
    """A minimal NWB-like file with one TimeSeries (what explore and overview look at)."""
    with h5py.File(path, "w") as f:
        f.attrs.update(neurodata_type="NWBFile", object_id="file-" + path.stem)
        g = f.create_group("acquisition/series")
        g.attrs["neurodata_type"] = name
        kw: dict[str, Any] = {"chunks": chunks, "compression": "gzip"} if chunks else {}
        d = g.create_dataset("data", data=data, **kw)
        d.attrs.update(unit="mV", conversion=2.0, offset=0.0)
        if timestamps is not None:
            g.create_dataset("timestamps", data=timestamps)
        else:
            st = g.create_dataset("starting_time", data=0.0)
            st.attrs["rate"] = rate
    return path


def _brute_level(values: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    n = values.shape[0]
    nb = math.ceil(n / block)
    lo = np.stack([np.nanmin(values[j * block : (j + 1) * block], axis=0) for j in range(nb)])
    hi = np.stack([np.nanmax(values[j * block : (j + 1) * block], axis=0) for j in range(nb)])
    return lo, hi


def test_plan_levels() -> None:
    assert FACTOR**FIRST_LEVEL == 64
    assert plan_levels(100_000) == [3]  # 1,563 blocks < 2,000
    assert plan_levels(180_000) == [3, 4]  # 2,813 -> 704
    levels = plan_levels(108_000_000)  # one hour at 30 kHz
    nb = [math.ceil(108_000_000 / FACTOR**k) for k in levels]
    assert nb[-1] < 2000 <= nb[-2] and levels[0] == FIRST_LEVEL
    assert not overview.needs_overview(6000, 64)  # a short LFP is read whole
    assert overview.needs_overview(100_000, 1)
    assert overview.needs_overview(20_000, 384)


def test_demo_levels_equal_brute_force(demo_file: Path, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    with h5py.File(demo_file, "r") as f:
        summary = build_overviews(f, tmp_path / "ov.h5", progress=lambda *a: seen.append(a))
        raw = f[ES + "/data"][()]
    assert not (tmp_path / "ov.h5.partial").exists()
    series = summary["series"]
    assert series[ES]["status"] == "built"
    assert [lv["block"] for lv in series[ES]["levels"]] == [64, 256]
    assert series["/processing/ecephys/LFP/LFP"]["status"] == "not needed"
    assert series["/processing/behavior/running_speed"]["status"] == "not needed"
    assert seen[-1] == (ES, 180_000, 180_000)
    with OverviewReader(tmp_path / "ov.h5") as ov:
        assert ov.version == OVERVIEW_VERSION and ov.series() == [ES]
        info = ov.info(ES)
        assert info is not None and info["status"] == "built" and info["n_samples"] == 180_000
        for lv in ov.levels(ES):
            lo, hi = _brute_level(raw, lv.block)
            mn, mx = ov.read(ES, lv.level, 0, lv.n_blocks)
            assert mn.dtype == np.int16  # integers are stored exactly, in their own dtype
            np.testing.assert_array_equal(mn, lo)
            np.testing.assert_array_equal(mx, hi)
            part = ov.read(ES, lv.level, 5, 9, channels=[7, 3, 3, 40])
            np.testing.assert_array_equal(part[0], lo[5:9][:, [7, 3, 3, 40]])
            np.testing.assert_array_equal(part[1], hi[5:9][:, [7, 3, 3, 40]])
        assert ov.times(ES, 3, 0, 10) is None


def test_float_data_with_nans_and_timestamps(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 150_001  # the last block is short
    data = rng.normal(size=(n, 2)).astype(np.float64)
    data[1000:1100, 0] = np.nan  # a whole level-3 block of NaN on channel 0 (1024-1087)
    ts = np.cumsum(rng.uniform(0.5, 1.5, n)) / 1000
    path = _series_file(tmp_path / "f.h5", data, timestamps=ts, chunks=(10_000, 2))
    with h5py.File(path, "r") as f:
        summary = build_overviews(f, tmp_path / "ov.h5")
    assert summary["series"]["/acquisition/series"]["status"] == "built"
    with OverviewReader(tmp_path / "ov.h5") as ov:
        for lv in ov.levels("/acquisition/series"):
            mn, mx = ov.read("/acquisition/series", lv.level, 0, lv.n_blocks)
            assert mn.dtype == np.float32
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN block
                lo, hi = _brute_level(data, lv.block)
            np.testing.assert_array_equal(mn, lo.astype(np.float32))
            np.testing.assert_array_equal(mx, hi.astype(np.float32))
            if lv.block == 64:
                assert np.isnan(mn[16, 0]) and not np.isnan(mn[15, 0])
            times = ov.times("/acquisition/series", lv.level, 0, lv.n_blocks)
            np.testing.assert_array_equal(times, ts[:: lv.block])


def test_stale_or_foreign_overviews_are_ignored(tmp_path: Path) -> None:
    data = np.arange(300_000, dtype=np.int16).reshape(-1, 1)
    a = _series_file(tmp_path / "a.h5", data)
    b = _series_file(tmp_path / "b.h5", data[:200_000])
    with h5py.File(a, "r") as f:
        build_overviews(f, tmp_path / "a.ov.h5")
    with h5py.File(b, "r") as f, OverviewReader(tmp_path / "a.ov.h5") as ov:
        info = explore.series_info(f, "/acquisition/series", overview=ov)
        assert info["overview_status"] == "stale" and info["overview_levels"] == []
        with pytest.raises(Conflict, match="out of date"):
            explore.read_window(
                f,
                "/acquisition/series",
                start=0,
                end=200,
                width=100,
                overview=ov,
                max_raw_values=10,
            )
    with h5py.File(tmp_path / "a.ov.h5", "a") as ovf:
        ovf.attrs["version"] = OVERVIEW_VERSION + 1
    with h5py.File(a, "r") as f, OverviewReader(tmp_path / "a.ov.h5") as ov:
        assert not ov.ok and ov.levels("/acquisition/series") == []
        assert explore.series_info(f, "/acquisition/series", overview=ov)["overview_status"] == (
            "none"
        )


def test_conversion_is_applied_at_read_time(tmp_path: Path) -> None:
    data = (np.random.default_rng(1).normal(size=(400_000, 3)) * 1000).astype(np.int16)
    path = _series_file(tmp_path / "c.h5", data, chunks=(4096, 3))
    with h5py.File(path, "r") as f:
        build_overviews(f, tmp_path / "ov.h5")
        with OverviewReader(tmp_path / "ov.h5") as ov:
            w = explore.read_window(
                f, "/acquisition/series", start=0, end=400, width=1000, overview=ov
            )
    assert w.meta()["source"] == "overview"
    lo, hi = _brute_level(data, w.block)
    np.testing.assert_array_equal(w.data[..., 0], lo.astype(np.float32) * 2)
    np.testing.assert_array_equal(w.data[..., 1], hi.astype(np.float32) * 2)


def test_many_channels_use_the_finest_level_when_raw_is_too_big(tmp_path: Path) -> None:
    """384 channels at 20 or 12 samples per pixel: raw would be 11.5 or 6.9 M values, more
    than the raw budget, and no level has blocks of <= 20 samples; the 64-sample level
    still draws it (blocks 1-5 pixels wide) instead of refusing."""
    data = np.random.default_rng(2).integers(-100, 100, size=(60_000, 384), dtype=np.int16)
    path = _series_file(tmp_path / "wide.h5", data, rate=30_000.0, chunks=(5461, 64))
    with h5py.File(path, "r") as f:
        summary = build_overviews(f, tmp_path / "ov.h5")
        assert summary["series"]["/acquisition/series"]["status"] == "built"
        with OverviewReader(tmp_path / "ov.h5") as ov:
            for end, rows in ((1.0, 469), (0.6, 282)):
                w = explore.read_window(
                    f, "/acquisition/series", start=0, end=end, width=1500, overview=ov
                )
                assert w.meta()["level"] == 3 and w.block == 64 and w.data.shape == (rows, 384, 2)
                lo, hi = _brute_level(data[: rows * 64], 64)
                np.testing.assert_array_equal(w.data[..., 0], lo.astype(np.float32) * 2)
                np.testing.assert_array_equal(w.data[..., 1], hi.astype(np.float32) * 2)
            with pytest.raises(Conflict, match="not built yet"):
                explore.read_window(f, "/acquisition/series", start=0, end=0.6, width=1500)


def _bomb(path: Path, *, n: int, written: str) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["neurodata_type"] = "NWBFile"
        g = f.create_group("acquisition/series")
        g.attrs["neurodata_type"] = "TimeSeries"
        d = g.create_dataset(
            "data", shape=(n, 64), dtype="int16", chunks=(16384, 64), compression="gzip"
        )
        st = g.create_dataset("starting_time", data=0.0)
        st.attrs["rate"] = 30_000.0
        if written == "all":
            chunk = zlib.compress(np.zeros((16384, 64), np.int16).tobytes(), 9)
            for i in range(-(-n // 16384)):
                d.id.write_direct_chunk((i * 16384, 0), chunk)
        elif written == "one":
            d[100:110] = 1
    return path


@pytest.mark.parametrize(
    ("n", "written", "max_values", "reason"),
    [
        (10**9, "one", overview.MAX_VALUES, "only 1 of its 61,036 chunks"),
        (10**8, "all", overview.MAX_VALUES, "nearly constant"),
        (10**7, "one", 10**6, "more than the limit of 1,000,000"),
    ],
)
def test_bombs_are_skipped_quickly_with_a_reason(
    tmp_path: Path, n: int, written: str, max_values: int, reason: str
) -> None:
    path = _bomb(tmp_path / "bomb.h5", n=n, written=written)
    tracemalloc.start()
    t = time.perf_counter()
    with h5py.File(path, "r") as f:
        summary = build_overviews(f, tmp_path / "ov.h5", max_values=max_values)
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        entry = summary["series"]["/acquisition/series"]
        assert entry["status"] == "skipped" and reason in entry["reason"]
        assert seconds < 2 and peak < 32 * 2**20
        with OverviewReader(tmp_path / "ov.h5") as ov:
            info = explore.series_info(f, "/acquisition/series", overview=ov)
            assert reason in info["overview_status"]
            with pytest.raises(Conflict, match="has no overview") as err:
                explore.read_window(
                    f, "/acquisition/series", start=0, end=300, width=1000, overview=ov
                )
            assert reason in err.value.message


def test_time_limit_skips_the_rest(demo_file: Path, tmp_path: Path) -> None:
    with h5py.File(demo_file, "r") as f:
        summary = build_overviews(f, tmp_path / "ov.h5", max_seconds=0)
    assert all(
        e["status"] == "skipped" and "time limit" in e["reason"] for e in summary["series"].values()
    )


def test_building_uses_bounded_memory(tmp_path: Path) -> None:
    """A 160 MB (int16) series is summarised in ~16 MB slabs, not loaded whole."""
    n, c = 2_500_000, 32
    with h5py.File(tmp_path / "long.h5", "w") as f:
        f.attrs["neurodata_type"] = "NWBFile"
        g = f.create_group("acquisition/series")
        g.attrs["neurodata_type"] = "TimeSeries"
        d = g.create_dataset("data", shape=(n, c), dtype="int16", chunks=(16384, c))
        block = np.random.default_rng(0).integers(-500, 500, size=(250_000, c), dtype=np.int16)
        for a in range(0, n, len(block)):
            d[a : a + len(block)] = block
        st = g.create_dataset("starting_time", data=0.0)
        st.attrs["rate"] = 30_000.0
    with h5py.File(tmp_path / "long.h5", "r") as f:
        tracemalloc.start()
        summary = build_overviews(f, tmp_path / "ov.h5")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert summary["series"]["/acquisition/series"]["status"] == "built"
    assert peak < 48 * 2**20, f"peak {peak / 2**20:.0f} MB"
    with OverviewReader(tmp_path / "ov.h5") as ov:
        levels = ov.levels("/acquisition/series")
        top = levels[-1]
        lo, hi = _brute_level(np.tile(block, (10, 1)), top.block)
        mn, mx = ov.read("/acquisition/series", top.level, 0, top.n_blocks)
        np.testing.assert_array_equal(mn, lo)
        np.testing.assert_array_equal(mx, hi)
