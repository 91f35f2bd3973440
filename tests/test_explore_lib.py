"""The explorer's reading library (nwb/explore/) on the demo, small synthetic files and
"bomb" files: views, windows (raw and min/max) against brute force, tables, spikes, PSTH,
imaging, and bounded work on datasets declared huge but tiny on disk."""

from __future__ import annotations

import json
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neurodatashare.errors import BadRequest, Conflict, NDSError, NotFound
from neurodatashare.nwb import explore
from neurodatashare.nwb.explore import table as explore_table
from neurodatashare.nwb.explore.types import _core_types
from neurodatashare.nwb.overview import OverviewReader, build_overviews

ES = "/acquisition/ElectricalSeries"
UNITS = "/units"
TPS = "/acquisition/TwoPhotonSeries"
PS = "/processing/ophys/ImageSegmentation/PlaneSegmentation"


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def demo(demo_file: Path) -> Iterator[h5py.File]:
    with h5py.File(demo_file, "r") as f:
        yield f


@pytest.fixture(scope="module")
def demo_overview(demo: h5py.File, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    out = tmp_path_factory.mktemp("ov") / "demo.overview.h5"
    build_overviews(demo, out)
    with OverviewReader(out) as reader:
        yield reader


N_TRIALS = 60


def _write_custom(path: Path) -> Path:
    """Irregular timestamps, channel_conversion/offset, trials with NaNs and categories,
    units, and a pixel-mask segmentation."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import TimeSeries
    from pynwb.ecephys import ElectricalSeries
    from pynwb.ophys import ImageSegmentation

    from neurodatashare.testing.nwbfiles import add_ophys, add_units, make_nwbfile, write_nwbfile

    rng = np.random.default_rng(7)
    nwb = make_nwbfile(identifier="explore-custom")
    n = 200_000
    ts = 10.0 + np.cumsum(rng.uniform(0.5e-3, 1.5e-3, n))
    data = (rng.normal(size=(n, 3)) * 300).astype(np.int16)
    nwb.add_acquisition(
        TimeSeries(
            name="irregular",
            data=H5DataIO(data, chunks=(8192, 3), compression="gzip"),
            timestamps=H5DataIO(ts, chunks=(8192,), compression="gzip"),
            unit="mV",
            conversion=0.5,
            offset=1.0,
        )
    )
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("g0", description="g", location="CA3", device=device)
    for _ in range(4):
        nwb.add_electrode(group=group, location="CA3")
    region = nwb.create_electrode_table_region([0, 1, 2, 3], "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="scaled",
            data=(rng.normal(size=(30_000, 4)) * 100).astype(np.int16),
            electrodes=region,
            rate=1000.0,
            starting_time=5.0,
            conversion=1e-3,
            offset=0.25,
            channel_conversion=[1.0, 2.0, -1.0, 0.5],
        )
    )
    add_units(nwb, n_units=6, duration_s=100.0, mean_rate_hz=20.0)
    nwb.add_trial_column("orientation", "grating orientation")
    nwb.add_trial_column("outcome", "hit or miss")
    nwb.add_trial_column("cue_time", "cue time, NaN when no cue")
    for i in range(N_TRIALS):
        t = 2.0 + i * 1.5
        nwb.add_trial(
            start_time=t,
            stop_time=t + 1.0,
            orientation=float([0, 45, 90][i % 3]),
            outcome=["hit", "miss"][i % 2],
            cue_time=float("nan") if i % 7 == 0 else t + 0.1,
        )
    add_ophys(nwb, n_frames=40, frame_shape=(16, 24), n_rois=3)
    module = nwb.processing["ophys"]
    seg: ImageSegmentation = module["ImageSegmentation"]
    plane = next(iter(seg.plane_segmentations.values())).imaging_plane
    pix = seg.create_plane_segmentation(
        name="PixelSegmentation", description="pixel masks", imaging_plane=plane
    )
    pix.add_roi(pixel_mask=[(1, 2, 1.0), (2, 2, 0.9), (3, 2, 0.2)])
    pix.add_roi(pixel_mask=[(10, 5, 2.0), (11, 5, 2.0)])
    return write_nwbfile(nwb, path)


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[h5py.File]:
    path = _write_custom(tmp_path_factory.mktemp("custom") / "custom.nwb")
    with h5py.File(path, "r") as f:
        yield f


def _write_bombs(path: Path) -> Path:
    """A TimeSeries of 10**8 x 64 int16 zeros (every chunk written, ~12 MB on disk), one
    of 10**9 x 64 with a single chunk written, a (10**7, 512, 512) movie with none, and
    a units table whose spike_times declare 10**10 spikes."""
    with h5py.File(path, "w") as f:
        f.attrs["neurodata_type"] = "NWBFile"
        for name, n, full in (("Zeros", 10**8, True), ("Sparse", 10**9, False)):
            g = f.create_group(f"acquisition/{name}")
            g.attrs["neurodata_type"] = "ElectricalSeries"
            d = g.create_dataset(
                "data",
                shape=(n, 64),
                dtype="int16",
                chunks=(16384, 64),
                compression="gzip",
                compression_opts=1,
                shuffle=True,
            )
            d.attrs.update(unit="volts", conversion=1e-6)
            st = g.create_dataset("starting_time", data=0.0)
            st.attrs["rate"] = 30000.0
            if full:
                chunk = zlib.compress(np.zeros((16384, 64), np.int16).tobytes(), 9)
                for i in range(-(-n // 16384)):
                    d.id.write_direct_chunk((i * 16384, 0), chunk)
            else:
                d[5_000_000:5_000_010] = 7
        g = f.create_group("acquisition/Movie")
        g.attrs["neurodata_type"] = "TwoPhotonSeries"
        g.create_dataset(
            "data",
            shape=(10**7, 512, 512),
            dtype="uint16",
            chunks=(4, 512, 512),
            compression="gzip",
        )
        st = g.create_dataset("starting_time", data=0.0)
        st.attrs["rate"] = 30.0
        g = f.create_group("units")
        g.attrs.update(neurodata_type="Units", colnames=["spike_times"], description="bomb")
        g.create_dataset("id", data=np.arange(100))
        g.create_dataset(
            "spike_times", shape=(10**10,), dtype="float64", chunks=(1 << 20,), compression="gzip"
        )
        g.create_dataset("spike_times_index", data=np.linspace(0, 10**10, 101)[1:].astype(np.int64))
    return path


@pytest.fixture(scope="module")
def bomb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_bombs(tmp_path_factory.mktemp("bomb") / "bomb.nwb")


def _scaled(raw: np.ndarray, conversion: float, offset: float = 0.0) -> np.ndarray:
    out = raw.astype(np.float32) * np.float32(conversion)
    return out + np.float32(offset) if offset else out


def _brute_minmax(values: np.ndarray, first: int, block: int, n_rows: int) -> np.ndarray:
    out = np.empty((n_rows, values.shape[1], 2), dtype=values.dtype)
    for j in range(n_rows):
        seg = values[first + j * block : first + (j + 1) * block]
        out[j, :, 0] = seg.min(axis=0)
        out[j, :, 1] = seg.max(axis=0)
    return out


# ---------------------------------------------------------------------------- tree


def test_tree_lists_the_demo_with_views(demo: h5py.File) -> None:
    tree = explore.describe_tree(demo)
    json.dumps(tree, allow_nan=False)
    views = {e["path"]: e["views"] for e in tree}
    assert tree[0]["path"] == "/" and tree[0]["neurodata_type"] == "NWBFile"
    assert views[ES] == ["traces"]
    assert views["/processing/ecephys/LFP/LFP"] == ["traces"]
    assert views["/processing/ophys/Fluorescence/RoiResponseSeries"] == ["traces"]
    assert views["/processing/ophys/DfOverF/RoiResponseSeries"] == ["traces"]
    assert views["/processing/behavior/Position/position"] == ["behavior", "traces"]
    assert views["/processing/behavior/running_speed"] == ["traces"]
    assert views["/processing/behavior/licks"] == ["events", "traces"]
    assert views[TPS] == ["imaging"]
    assert views[PS] == ["segmentation", "table"]
    assert views[UNITS] == ["units", "table"]
    assert views["/intervals/trials"] == ["table"]
    assert views["/general/extracellular_ephys/electrodes"] == ["table"]
    assert views[ES + "/data"] == []
    by_path = {e["path"]: e for e in tree}
    es = by_path[ES]
    assert es["kind"] == "group" and es["neurodata_type"] == "ElectricalSeries"
    assert es["shape"] == [180_000, 64] and es["dtype"] == "int16" and es["unit"] == "volts"
    data = by_path[ES + "/data"]
    assert data["kind"] == "dataset" and data["chunks"] == [16384, 64]
    assert data["compression"] == "gzip" and data["shuffle"] is True
    assert data["attrs"]["unit"] == "volts"
    assert by_path[TPS]["links"]["imaging_plane"] == "/general/optophysiology/ImagingPlane"
    assert by_path["/session_description"]["value"].startswith("Synthetic demo session")
    # references in attributes become paths; specification JSON is never read as values
    assert by_path[UNITS + "/electrodes"]["attrs"]["table"] == (
        "/general/extracellular_ephys/electrodes"
    )
    assert all(e["value"] is None for e in tree if e["path"].startswith("/specifications/"))


def test_tree_cuts_long_attributes(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "long.h5", "w", libver="latest") as f:
        f.attrs["long_text"] = "x" * 5000
        f.attrs["long_array"] = np.arange(1000)
        f.attrs["huge_array"] = np.zeros(1 << 19)  # 4 MB: not even read
        tree = explore.describe_tree(f)
    attrs = tree[0]["attrs"]
    assert attrs["huge_array"] == "<4,194,304 bytes, not shown>"
    assert len(attrs["long_text"]) <= 200
    assert len(attrs["long_array"]) == 33 and attrs["long_array"][-1] == "… (968 more)"


def test_tree_knows_extension_types_from_the_file(tmp_path: Path) -> None:
    spec = {
        "groups": [
            {"neurodata_type_def": "MyProbeSeries", "neurodata_type_inc": "ElectricalSeries"},
            {"neurodata_type_def": "MyTracking", "neurodata_type_inc": "SpatialSeries"},
        ]
    }
    with h5py.File(tmp_path / "ext.h5", "w") as f:
        f.create_dataset("specifications/ndx-mine/0.1.0/ndx-mine.extensions", data=json.dumps(spec))
        for name, ncol in (("MyProbeSeries", 5), ("MyTracking", 2)):
            g = f.create_group(f"acquisition/{name}")
            g.attrs["neurodata_type"] = name
            g.create_dataset("data", data=np.zeros((10, ncol)))
            g.create_dataset("timestamps", data=np.arange(10.0))
        views = {e["path"]: e["views"] for e in explore.describe_tree(f)}
    assert views["/acquisition/MyProbeSeries"] == ["traces"]
    assert views["/acquisition/MyTracking"] == ["behavior", "traces"]


def test_small_synthetic_files(tmp_path: Path) -> None:
    from neurodatashare.testing.nwbfiles import make_ephys_file, make_ophys_file

    ephys = make_ephys_file(tmp_path / "e.nwb", n_channels=8, duration_s=1.0)
    ophys = make_ophys_file(tmp_path / "o.nwb", n_frames=50, frame_shape=(20, 30))
    with h5py.File(ephys, "r") as f:
        views = {e["path"]: e["views"] for e in explore.describe_tree(f)}
        assert views[ES] == ["traces"] and views[UNITS] == ["units", "table"]
        info = explore.series_info(f, ES)
        assert info["channel_groups"] == ["shank0"] * 4 + ["shank1"] * 4
        assert info["channel_labels"][4] == "e4 VISp"
        w = explore.read_window(f, ES, start=0.5, end=0.52, width=1000, channels=[7])
        np.testing.assert_array_equal(w.data, _scaled(f[ES + "/data"][15000:15600, 7:8], 0.195e-6))
    with h5py.File(ophys, "r") as f:
        views = {e["path"]: e["views"] for e in explore.describe_tree(f)}
        assert views[TPS] == ["imaging"] and views[PS] == ["segmentation", "table"]
        assert views["/processing/ophys/Fluorescence/RoiResponseSeries"] == ["traces"]
        assert views["/processing/behavior/Position/position"] == ["behavior", "traces"]
        im = explore.read_frame(f, TPS, index=3)
        assert im.data.shape == (30, 20)  # stored (frame, 20, 30) = (frame, x, y)
        rois = explore.read_rois(f, PS)
        assert rois["shape"] == [30, 20] and len(rois["rois"]) == 5
        assert all(r["n_pixels"] == 16 for r in rois["rois"])


# -------------------------------------------------------------------------- series


def test_series_info_for_ephys_ophys_and_behavior(demo: h5py.File) -> None:
    info = explore.series_info(demo, ES)
    json.dumps(info, allow_nan=False)
    assert info["n_samples"] == 180_000 and info["n_channels"] == 64
    assert info["rate"] == 30_000.0 and info["starting_time"] == 0.0
    assert info["has_timestamps"] is False and info["duration"] == pytest.approx(6.0)
    assert info["unit"] == "volts" and info["conversion"] == pytest.approx(0.195e-6)
    locations = demo["/general/extracellular_ephys/electrodes/location"][()]
    assert info["channel_labels"][0] == f"e0 {locations[0].decode()}"
    assert set(info["channel_groups"]) == {"shank0", "shank1"}
    assert info["channel_rows"] == list(range(64))
    assert info["overview_levels"] == [] and info["overview_status"] == "none"
    rois = explore.series_info(demo, "/processing/ophys/Fluorescence/RoiResponseSeries")
    assert rois["channel_labels"][:2] == ["ROI 0", "ROI 1"] and rois["n_channels"] == 40
    pos = explore.series_info(demo, "/processing/behavior/Position/position")
    assert pos["channel_labels"] == ["x", "y"]
    lfp = explore.series_info(demo, "/processing/ecephys/LFP/LFP")
    assert lfp["overview_status"] == "not needed"


def test_series_info_with_overview(demo: h5py.File, demo_overview: Any) -> None:
    info = explore.series_info(demo, ES, overview=demo_overview)
    assert info["overview_status"] == "ready"
    assert [lv["block"] for lv in info["overview_levels"]] == [64, 256]


def test_series_info_irregular(custom: h5py.File) -> None:
    info = explore.series_info(custom, "/acquisition/irregular")
    ts = custom["/acquisition/irregular/timestamps"]
    assert info["has_timestamps"] is True and info["rate"] is None
    assert info["t_start"] == ts[0] and info["t_end"] == ts[-1]
    assert info["channel_labels"] == ["0", "1", "2"]


# -------------------------------------------------------------------------- windows


def test_raw_window_equals_slice_times_conversion(demo: h5py.File) -> None:
    ds = demo[ES + "/data"]
    conv = ds.attrs["conversion"]
    w = explore.read_window(demo, ES, start=1.0, end=1.05, width=1500)
    meta = w.meta()
    assert meta["kind"] == "raw" and meta["shape"] == [1500, 64] and meta["times"] is False
    assert meta["t0"] == pytest.approx(1.0) and meta["dt"] == pytest.approx(1 / 30_000)
    assert meta["first_sample"] == 30_000
    np.testing.assert_array_equal(w.data, _scaled(ds[30_000:31_500], conv))
    body = w.to_bytes()
    assert len(body) == 1500 * 64 * 4
    np.testing.assert_array_equal(np.frombuffer(body, "<f4").reshape(1500, 64), w.data)
    # channel selection, in the order asked
    w = explore.read_window(demo, ES, start=2.0, end=2.01, width=800, channels=[40, 2, 5])
    assert w.channels == [40, 2, 5]
    np.testing.assert_array_equal(w.data, _scaled(ds[60_000:60_300][:, [40, 2, 5]], conv))
    w = explore.read_window(demo, ES, start=2.0, end=2.01, width=800, channels="8-11")
    np.testing.assert_array_equal(w.data, _scaled(ds[60_000:60_300, 8:12], conv))


def test_minmax_from_raw_equals_brute_force(demo: h5py.File) -> None:
    ds = demo[ES + "/data"]
    full = _scaled(ds[()], ds.attrs["conversion"])
    for start, end, width in ((0.0, 6.0, 1500), (0.3, 2.71, 997), (5.5, 6.0, 300)):
        w = explore.read_window(demo, ES, start=start, end=end, width=width, channels="0-15")
        meta = w.meta()
        assert meta["kind"] == "minmax" and meta["level"] == 0 and meta["source"] == "file"
        n, block, first = meta["shape"][0], meta["block"], meta["first_sample"]
        assert first % block == 0 and first <= start * 30_000
        assert width <= n <= 2 * width + 2  # 1-2 blocks per pixel
        assert meta["t0"] == pytest.approx(first / 30_000)
        assert meta["dt"] == pytest.approx(block / 30_000)
        np.testing.assert_array_equal(w.data, _brute_minmax(full[:, :16], first, block, n))
        assert w.to_bytes() == w.data.astype("<f4").tobytes()


def test_minmax_from_overview_equals_brute_force(demo: h5py.File, demo_overview: Any) -> None:
    ds = demo[ES + "/data"]
    full = _scaled(ds[()], ds.attrs["conversion"])
    for start, end, width, level in ((0.0, 6.0, 1500, 3), (0.0, 6.0, 300, 4), (1.2, 5.9, 100, 4)):
        w = explore.read_window(
            demo, ES, start=start, end=end, width=width, channels=[3, 1, 60], overview=demo_overview
        )
        meta = w.meta()
        assert meta["kind"] == "minmax" and meta["source"] == "overview"
        assert meta["level"] == level
        n, block, first = meta["shape"][0], meta["block"], meta["first_sample"]
        assert block % 4**level == 0
        blocks_per_pixel = (min(end * 30_000, 180_000) - start * 30_000) / block / width
        assert 0.9 <= blocks_per_pixel <= 2.1
        np.testing.assert_array_equal(w.data, _brute_minmax(full[:, [3, 1, 60]], first, block, n))


def test_overview_and_raw_paths_agree(demo: h5py.File, demo_overview: Any) -> None:
    kw: dict[str, Any] = {"start": 0.0, "end": 6.0, "width": 1500, "channels": "0-7"}
    a = explore.read_window(demo, ES, overview=demo_overview, **kw)
    b = explore.read_window(demo, ES, **kw)
    assert a.meta()["source"] == "overview" and b.meta()["source"] == "file"
    # different block sizes, same envelope
    assert a.data[..., 0].min() == b.data[..., 0].min()
    assert a.data[..., 1].max() == b.data[..., 1].max()


def test_irregular_timestamps(custom: h5py.File, tmp_path: Path) -> None:
    path = "/acquisition/irregular"
    ts = custom[path + "/timestamps"][()]
    data = custom[path + "/data"][()]
    full = _scaled(data, 0.5, 1.0)
    w = explore.read_window(custom, path, start=50.0, end=50.5, width=1000)
    meta = w.meta()
    i0, i1 = np.searchsorted(ts, 50.0), np.searchsorted(ts, 50.5)
    assert meta["kind"] == "raw" and meta["times"] is True
    assert meta["t0"] is None and meta["dt"] is None and meta["first_sample"] == i0
    np.testing.assert_array_equal(w.times, ts[i0:i1])
    np.testing.assert_array_equal(w.data, full[i0:i1])
    body = w.to_bytes()
    n = i1 - i0
    np.testing.assert_array_equal(np.frombuffer(body[: 8 * n], "<f8"), ts[i0:i1])
    np.testing.assert_array_equal(np.frombuffer(body[8 * n :], "<f4").reshape(n, 3), full[i0:i1])
    # min/max from raw, then from an overview with stored block times
    w = explore.read_window(custom, path, start=0.0, end=1e4, width=700)
    first, block, rows = w.first_sample, w.block, w.data.shape[0]
    assert w.kind == "minmax" and w.times is not None
    np.testing.assert_array_equal(w.times, ts[first::block][:rows])
    np.testing.assert_array_equal(w.data, _brute_minmax(full, first, block, rows))
    build_overviews(custom, tmp_path / "ov.h5", series=[path])
    with OverviewReader(tmp_path / "ov.h5") as ov:
        w = explore.read_window(custom, path, start=20.0, end=150.0, width=500, overview=ov)
        first, block, rows = w.first_sample, w.block, w.data.shape[0]
        assert w.meta()["source"] == "overview" and w.times is not None
        np.testing.assert_array_equal(w.times, ts[first::block][:rows])
        np.testing.assert_array_equal(w.data, _brute_minmax(full, first, block, rows))


def test_channel_conversion_and_offset(custom: h5py.File) -> None:
    path = "/acquisition/scaled"
    raw = custom[path + "/data"][()]
    factor = np.float32(1e-3) * np.array([1.0, 2.0, -1.0, 0.5], dtype=np.float32)
    expected = raw.astype(np.float32) * factor + np.float32(0.25)
    w = explore.read_window(custom, path, start=5.0, end=5.5, width=500)
    assert w.meta()["t0"] == pytest.approx(5.0)
    np.testing.assert_allclose(w.data, expected[:500], rtol=1e-6)
    w = explore.read_window(custom, path, start=5.0, end=35.0, width=100)
    lo, hi = w.data[..., 0], w.data[..., 1]
    assert np.all(lo <= hi)  # the negative channel had its min and max swapped back
    block = w.block
    np.testing.assert_allclose(hi[0], expected[:block].max(axis=0), rtol=1e-6)
    np.testing.assert_allclose(lo[0], expected[:block].min(axis=0), rtol=1e-6)


def test_window_clips_to_the_series_and_handles_empty_gaps(custom: h5py.File) -> None:
    w = explore.read_window(custom, "/acquisition/scaled", start=-100.0, end=5.01, width=100)
    assert w.data.shape == (10, 4) and w.first_sample == 0
    w = explore.read_window(custom, "/acquisition/scaled", start=34.99, end=999.0, width=100)
    assert w.data.shape == (10, 4) and w.first_sample == 29_990


@pytest.mark.parametrize(
    ("path", "kwargs", "error", "words"),
    [
        ("/acquisition/nope", {}, NotFound, "no object at /acquisition/nope"),
        ("", {}, BadRequest, "path of an object"),
        (ES + "/data", {}, BadRequest, "its series is /acquisition/ElectricalSeries"),
        (UNITS, {}, BadRequest, "not a time series"),
        (TPS, {}, BadRequest, "frame or projection"),
        (ES, {"start": 2.0, "end": 1.0}, BadRequest, "end after it starts"),
        (ES, {"start": 7.0, "end": 9.0}, BadRequest, "covers 0-6 s"),
        (ES, {"start": -5.0, "end": -1.0}, BadRequest, "covers 0-6 s"),
        (ES, {"start": float("nan")}, BadRequest, "finite"),
        (ES, {"width": 0}, BadRequest, "width"),
        (ES, {"width": 10**6}, BadRequest, "width"),
        (ES, {"channels": [0, 64]}, BadRequest, "no channel 64"),
        (ES, {"channels": "3-x"}, BadRequest, "not a channel number"),
        (ES, {"max_raw_values": 1000}, Conflict, "not built yet"),
    ],
)
def test_window_errors_are_4xx_with_messages(
    demo: h5py.File, path: str, kwargs: dict[str, Any], error: type[NDSError], words: str
) -> None:
    args: dict[str, Any] = {"start": 0.0, "end": 6.0, "width": 1000}
    args.update(kwargs)
    with pytest.raises(error) as info:
        explore.read_window(demo, path, **args)
    assert 400 <= info.value.status_code < 500
    assert words in info.value.message


def test_too_big_window_without_overview_is_refused_before_reading(
    demo: h5py.File, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = demo[ES + "/data"]
    reads: list[Any] = []
    original = h5py.Dataset.__getitem__

    def spy(self: h5py.Dataset, key: Any) -> Any:
        if self.name == ds.name:
            reads.append(key)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    with pytest.raises(Conflict, match="Zoom in"):
        explore.read_window(demo, ES, start=0, end=6, width=1500, max_raw_values=1_000_000)
    assert reads == []


# --------------------------------------------------------------------------- tables


def test_units_table_page_with_ragged_references_and_arrays(demo: h5py.File) -> None:
    t = explore.read_table(demo, UNITS, offset=2, limit=5)
    json.dumps(t, allow_nan=False)
    assert t["total"] == 30 and t["filtered_total"] == 30 and t["row_indices"] == [2, 3, 4, 5, 6]
    cols = {c["name"]: c for c in t["columns"]}
    assert list(cols)[:3] == ["id", "quality", "peak_channel"]
    assert cols["spike_times"]["ragged"] is True and cols["quality"]["kind"] == "text"
    assert cols["electrodes"]["kind"] == "region"
    assert cols["electrodes"]["target"] == "/general/extracellular_ephys/electrodes"
    assert cols["waveform_mean"]["shape"] == [64, 8] and cols["waveform_mean"]["summary"] is None
    index = demo[UNITS + "/spike_times_index"][()]
    times = demo[UNITS + "/spike_times"][()]
    lengths = np.diff(np.concatenate([[0], index]))
    assert cols["spike_times"]["summary"]["max"] == lengths.max()
    assert cols["spike_times"]["summary"]["total"] == len(times)
    peak = demo[UNITS + "/peak_channel"][()]
    assert cols["peak_channel"]["summary"]["mean"] == pytest.approx(peak.mean())
    quality = [q.decode() for q in demo[UNITS + "/quality"][()]]
    top = cols["quality"]["summary"]["top"]
    assert top[0] == ["good", quality.count("good")]
    row = t["rows"][0]
    assert row["id"] == 2 and row["quality"] == quality[2]
    cell = row["spike_times"]
    assert cell["length"] == lengths[2]
    np.testing.assert_array_equal(cell["values"], times[index[1] : min(index[2], index[1] + 20)])
    assert len(row["electrodes"]["values"]) == 8
    assert row["electrode_group"].startswith("/general/extracellular_ephys/shank")
    assert row["waveform_mean"] == {"shape": [64, 8], "dtype": "float32"}
    assert row["obs_intervals"] == {"length": 1, "values": [[0.0, 6.0]]}


def test_table_sort_and_filters(demo: h5py.File) -> None:
    peak = demo[UNITS + "/peak_channel"][()]
    quality = np.array([q.decode() for q in demo[UNITS + "/quality"][()]])
    t = explore.read_table(demo, UNITS, sort="peak_channel", desc=True, limit=1000)
    assert [r["peak_channel"] for r in t["rows"]] == sorted(peak, reverse=True)
    t = explore.read_table(
        demo, UNITS, filters=["quality:eq:good", "peak_channel:ge:20"], sort="peak_channel"
    )
    want = np.flatnonzero((quality == "good") & (peak >= 20))
    assert t["filtered_total"] == len(want) and t["total"] == 30
    assert sorted(t["row_indices"]) == want.tolist()
    assert [r["peak_channel"] for r in t["rows"]] == sorted(peak[want])
    # ragged: comparisons on the length, contains on the elements
    index = demo[UNITS + "/spike_times_index"][()]
    lengths = np.diff(np.concatenate([[0], index]))
    t = explore.read_table(demo, UNITS, filters=[("spike_times", "gt", "25")], limit=1000)
    assert t["row_indices"] == np.flatnonzero(lengths > 25).tolist()
    t = explore.read_table(demo, UNITS, filters=["electrodes:contains:45"], limit=1000)
    assert all(45 in r["electrodes"]["values"] for r in t["rows"]) and t["rows"]
    t = explore.read_table(demo, UNITS, sort="spike_times", limit=1000)
    assert [r["spike_times"]["length"] for r in t["rows"]] == sorted(lengths)
    t = explore.read_table(demo, UNITS, filters=["electrode_group:contains:shank1"], limit=1000)
    assert all(r["electrode_group"].endswith("shank1") for r in t["rows"])


def test_table_with_missing_values_and_bools(custom: h5py.File) -> None:
    t = explore.read_table(custom, "/intervals/trials", sort="cue_time", limit=1000)
    cues = [r["cue_time"] for r in t["rows"]]
    n_nan = len(range(0, N_TRIALS, 7))
    assert cues[-n_nan:] == [None] * n_nan and cues[:-n_nan] == sorted(cues[:-n_nan])
    cols = {c["name"]: c for c in t["columns"]}
    assert cols["cue_time"]["summary"]["missing"] == n_nan
    assert cols["outcome"]["summary"]["distinct"] == 2
    t = explore.read_table(custom, "/intervals/trials", filters=["outcome:contains:HI"])
    assert t["filtered_total"] == N_TRIALS // 2
    t = explore.read_table(custom, "/intervals/trials", filters=["orientation:eq:45"])
    assert t["filtered_total"] == N_TRIALS // 3


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"limit": 5000}, "'limit'"),
        ({"offset": -1}, "negative"),
        ({"sort": "nope"}, "has no column 'nope'"),
        ({"sort": "waveform_mean"}, "holds arrays"),
        ({"filters": ["quality"]}, "COLUMN:OP:VALUE"),
        ({"filters": ["quality:like:x"]}, "not a filter operation"),
        ({"filters": ["peak_channel:gt:abc"]}, "not one"),
        ({"filters": ["peak_channel:contains:3"]}, "holds numbers"),
    ],
)
def test_table_errors(demo: h5py.File, kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(BadRequest) as info:
        explore.read_table(demo, UNITS, **kwargs)
    assert words in info.value.message


def test_big_tables_refuse_sorting_but_page(
    demo: h5py.File, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explore_table, "MAX_SORT_ROWS", 10)
    with pytest.raises(BadRequest, match="30 rows; sorting works on tables of up to 10"):
        explore.read_table(demo, UNITS, sort="peak_channel")
    with pytest.raises(BadRequest, match="filtering"):
        explore.read_table(demo, UNITS, filters=["quality:eq:good"])
    t = explore.read_table(demo, UNITS, offset=25, limit=10)
    assert t["row_indices"] == [25, 26, 27, 28, 29]
    assert all(c["summary"] is None for c in t["columns"])


def test_not_a_table(demo: h5py.File) -> None:
    with pytest.raises(BadRequest, match="not a table"):
        explore.read_table(demo, ES)


# ----------------------------------------------------------------- spikes and PSTH


def _trains(h5: h5py.File) -> list[np.ndarray]:
    index = h5[UNITS + "/spike_times_index"][()]
    times = h5[UNITS + "/spike_times"][()]
    return np.split(times, index[:-1])


def test_spikes_in_window_equal_the_file(demo: h5py.File) -> None:
    trains = _trains(demo)
    out = explore.read_spikes(demo, UNITS, start=1.5, end=4.0)
    json.dumps(out, allow_nan=False)
    assert len(out["units"]) == 30 and out["truncated"] is False
    for u in out["units"]:
        tr = trains[u["index"]]
        want = tr[(tr >= 1.5) & (tr < 4.0)]
        assert u["times"] == want.tolist() and u["count"] == len(want)
    assert out["total"] == sum(u["count"] for u in out["units"])
    few = explore.read_spikes(demo, UNITS, start=0, end=6, units="3-4")
    assert [u["index"] for u in few["units"]] == [3, 4]
    capped = explore.read_spikes(demo, UNITS, start=0, end=6, max_spikes=10)
    assert capped["truncated"] is True and "Zoom in" in capped["message"]
    assert all(u["times"] is None for u in capped["units"])
    with pytest.raises(BadRequest, match="no unit 30"):
        explore.read_spikes(demo, UNITS, start=0, end=1, units=[30])
    with pytest.raises(BadRequest, match="no spike_times"):
        explore.read_spikes(demo, "/intervals/trials", start=0, end=1)


def test_psth_counts_equal_brute_force(custom: h5py.File) -> None:
    out = explore.psth(
        custom,
        units_path=UNITS,
        intervals_path="/intervals/trials",
        align="cue_time",
        group_by="orientation",
        pre=0.25,
        post=0.5,
        bin=0.05,
    )
    json.dumps(out, allow_nan=False)
    cue = custom["/intervals/trials/cue_time"][()]
    orient = custom["/intervals/trials/orientation"][()]
    keep = np.isfinite(cue)
    assert out["n_skipped"] == int((~keep).sum()) and out["n_trials"] == int(keep.sum())
    assert [g["value"] for g in out["groups"]] == ["0", "45", "90"]
    edges = np.asarray(out["edges"])
    assert len(edges) == 16 and edges[0] == pytest.approx(-0.25)
    trains = _trains(custom)
    for u in out["units"]:
        tr = trains[u["index"]]
        for g in u["groups"]:
            rows = np.flatnonzero(keep & (orient == float(g["value"])))
            assert g["n_trials"] == len(rows)
            want = np.zeros(15, dtype=int)
            for r in rows:
                for b in range(15):
                    lo, hi = cue[r] + edges[b], cue[r] + edges[b + 1]
                    want[b] += int(((tr >= lo) & (tr < hi)).sum())
            assert g["counts"] == want.tolist()
    text = explore.psth(
        custom,
        units_path=UNITS,
        intervals_path="/intervals/trials",
        align="start_time",
        group_by="outcome",
        pre=0.1,
        post=0.1,
        bin=0.1,
        units=[0],
    )
    assert [g["value"] for g in text["groups"]] == ["hit", "miss"]
    assert text["n_trials"] == N_TRIALS


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"align": "outcome"}, "not a column of times"),
        ({"align": "nope"}, "has no column 'nope'"),
        ({"bin": 0.0001}, "too many"),
        ({"bin": -1}, "positive"),
        ({"pre": -1}, "positive"),
        ({"units": [99]}, "no unit 99"),
    ],
)
def test_psth_errors(custom: h5py.File, kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {
        "units_path": UNITS,
        "intervals_path": "/intervals/trials",
        "align": "start_time",
        "pre": 0.5,
        "post": 1.0,
        "bin": 0.05,
    }
    args.update(kwargs)
    with pytest.raises(BadRequest) as info:
        explore.psth(custom, **args)
    assert words in info.value.message


def test_waveforms(demo: h5py.File) -> None:
    out = explore.read_waveforms(demo, UNITS, units=[0, 7])
    json.dumps(out, allow_nan=False)
    assert out["rate"] == 30_000.0 and out["unit"] == "volts" and out["n_samples"] == 64
    mean = demo[UNITS + "/waveform_mean"]
    for u in out["units"]:
        np.testing.assert_allclose(u["mean"], mean[u["index"]], rtol=1e-6)
        assert np.asarray(u["sd"]).shape == (64, 8) and len(u["electrodes"]) == 8
    with pytest.raises(BadRequest, match="no waveform_mean"):
        explore.read_waveforms(demo, "/intervals/trials")


# -------------------------------------------------------------------------- imaging


def test_frames_and_projections(demo: h5py.File) -> None:
    data = demo[TPS + "/data"][()]
    im = explore.read_frame(demo, TPS, index=17)
    meta = im.meta()
    assert meta["kind"] == "image" and meta["shape"] == [128, 128] and meta["dtype"] == "float32"
    assert "transposed" in meta["orientation"] and meta["time"] == pytest.approx(17 / 30)
    np.testing.assert_array_equal(im.data, data[17].T.astype(np.float32))
    assert im.to_bytes() == data[17].T.astype("<f4").tobytes()
    mean = explore.projection(demo, TPS, kind="mean")
    np.testing.assert_allclose(mean.data, data.mean(axis=0).T, rtol=1e-5)
    assert mean.meta()["frames_used"] == 180
    mx = explore.projection(demo, TPS, kind="max", max_frames=10)
    picks = np.unique(np.linspace(0, 179, 10).round().astype(int))
    np.testing.assert_array_equal(mx.data, data[picks].max(axis=0).T)
    with pytest.raises(BadRequest, match="no frame 180"):
        explore.read_frame(demo, TPS, index=180)
    with pytest.raises(BadRequest, match="not a projection"):
        explore.projection(demo, TPS, kind="median")
    with pytest.raises(BadRequest, match="not an image series"):
        explore.read_frame(demo, ES, index=0)


def test_frame_orientation_matches_roi_masks(demo: h5py.File) -> None:
    """A ROI's pixels (x = column, y = row) sit on the bright cell in the frame view."""
    masks = demo[PS + "/image_mask"][()]
    rois = explore.read_rois(demo, PS)
    json.dumps(rois, allow_nan=False)
    assert rois["shape"] == [128, 128] and rois["mask_type"] == "image_mask"
    assert rois["imaging_series"] == TPS and len(rois["rois"]) == 40
    for roi in rois["rois"][:5]:
        mask = masks[roi["index"]]
        x, y = np.nonzero(mask > 0.5 * mask.max())
        assert roi["x"] == x.tolist() and roi["y"] == y.tolist()
        w = mask[x, y]
        assert roi["centroid"] == pytest.approx(
            [np.average(x, weights=w), np.average(y, weights=w)]
        )
    mean = explore.projection(demo, TPS, kind="mean").data
    inside = [mean[r["y"], r["x"]].mean() for r in rois["rois"]]
    assert np.mean(inside) > mean.mean()  # the cells are brighter than the field


def test_pixel_mask_rois(custom: h5py.File) -> None:
    path = "/processing/ophys/ImageSegmentation/PixelSegmentation"
    rois = explore.read_rois(custom, path)
    assert rois["mask_type"] == "pixel_mask"
    first, second = rois["rois"]
    assert first["x"] == [1, 2] and first["y"] == [2, 2]  # weight 0.2 < half the peak
    assert second["x"] == [10, 11] and second["centroid"] == [10.5, 5.0]
    square = explore.read_rois(custom, "/processing/ophys/ImageSegmentation/PlaneSegmentation")
    assert square["shape"] == [24, 16] and all(r["n_pixels"] == 16 for r in square["rois"])


# ----------------------------------------------------------------------------- bombs


def test_bombs_cost_bounded_time_and_memory(bomb_path: Path, tmp_path: Path) -> None:
    _core_types()  # pynwb's type catalog, loaded once per process
    checks: list[tuple[str, Any]] = [
        ("tree", lambda f: explore.describe_tree(f)),
        ("info", lambda f: explore.series_info(f, "/acquisition/Sparse")),
        ("info zeros", lambda f: explore.series_info(f, "/acquisition/Zeros")),
        (
            "1 s window",
            lambda f: explore.read_window(
                f, "/acquisition/Sparse", start=166.0, end=167.0, width=1500
            ),
        ),
        (
            "raw window",
            lambda f: explore.read_window(
                f, "/acquisition/Zeros", start=3000.0, end=3000.01, width=1500
            ),
        ),
        ("frame", lambda f: explore.read_frame(f, "/acquisition/Movie", index=10**7 - 1)),
        ("projection", lambda f: explore.projection(f, "/acquisition/Movie", kind="max")),
        ("table", lambda f: explore.read_table(f, UNITS)),
        ("spikes", lambda f: explore.read_spikes(f, UNITS, start=0, end=1, units="0-9")),
        ("overview", lambda f: build_overviews(f, tmp_path / "bomb.overview.h5")),
    ]
    with h5py.File(bomb_path, "r") as f:
        for name, check in checks:
            tracemalloc.start()
            t = time.perf_counter()
            result = check(f)
            seconds = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert seconds < 3.0, f"{name} took {seconds:.1f} s"
            assert peak < 64 * 2**20, f"{name} peaked at {peak / 2**20:.0f} MB"
            if name == "spikes":
                assert result["truncated"] is True
        for series in ("/acquisition/Zeros", "/acquisition/Sparse"):
            with pytest.raises(Conflict, match="Zoom in"):
                explore.read_window(f, series, start=0, end=1e5, width=1500)


def test_series_info_gives_each_channels_region(tmp_path: Path) -> None:
    from neurodatashare.testing.nwbfiles import make_ephys_file

    path = make_ephys_file(tmp_path / "e.nwb", n_channels=8, locations=("CA1", "DG"), n_units=0)
    with h5py.File(path, "r") as h5:
        info = explore.series_info(h5, "/acquisition/ElectricalSeries")
    assert set(info["channel_regions"]) == {"CA1", "DG"}
    assert len(info["channel_regions"]) == 8
