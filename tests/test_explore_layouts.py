"""Explorer windows on files of any layout are bounded in bytes and chunks read, not only
in values: pynwb's contiguous default reads whole rows, tiny chunks cost per chunk."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from neurodatashare import errors
from neurodatashare.nwb import explore
from neurodatashare.nwb.explore.series import _series, raw_cost
from neurodatashare.nwb.limits import MAX_RAW_CHUNKS
from neurodatashare.testing.layouts import RATE, SERIES, TINY_ROWS, write_layout

PATH = "/" + SERIES.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("layouts")
    return {
        "contiguous": write_layout(d / "c.nwb", "contiguous", rows=30_000, channels=128),
        "archive": write_layout(d / "a.nwb", "archive", rows=30_000, channels=128),
        "tiny": write_layout(d / "t.nwb", "tiny", rows=30_000 * TINY_ROWS, channels=8),
    }


def test_raw_cost_counts_what_hdf5_reads(files: dict[str, Path]) -> None:
    with h5py.File(files["contiguous"], "r") as f:
        s = _series(f, PATH, need="traces")
        assert raw_cost(s, 100, 1100, np.array([5])) == (1000 * 128 * 2, 1)
    with h5py.File(files["tiny"], "r") as f:
        s = _series(f, PATH, need="traces")
        assert raw_cost(s, 0, 400, np.array([0])) == (100 * TINY_ROWS * 8 * 2, 100)


def test_a_one_channel_window_of_a_contiguous_file_is_held_to_the_archive_layout(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurodatashare.nwb.explore import window as module

    # a byte budget of 4 MB (512 MB in the archive) so that small files reach it: a 1 s
    # window of one channel reads its two 64-channel chunks (4 MB) in the archive's
    # layout, and 30,000 whole rows of 128 channels (7.7 MB) in the contiguous file
    monkeypatch.setattr(module, "MAX_RAW_BYTES", 4 * 2**20)
    window = {"start": 0.0, "end": 1.0, "width": 100, "channels": [5]}
    with h5py.File(files["archive"], "r") as f:
        assert explore.read_window(f, PATH, **window).kind == "minmax"
    with h5py.File(files["contiguous"], "r") as f:
        with pytest.raises(errors.Conflict, match="Zoom in"):
            explore.read_window(f, PATH, **window)
        w = explore.read_window(f, PATH, **{**window, "end": 0.5})
        want = f[SERIES][:15000, 5]
        assert w.kind == "minmax" and w.data.shape[1] == 1
        assert float(np.max(w.data)) == pytest.approx(float(want.max()), rel=1e-6)


def test_a_window_over_too_many_tiny_chunks_asks_to_zoom_in(files: dict[str, Path]) -> None:
    rows = (MAX_RAW_CHUNKS + 10) * TINY_ROWS
    with h5py.File(files["tiny"], "r") as f:
        with pytest.raises(errors.Conflict, match="Zoom in"):
            explore.read_window(f, PATH, start=0, end=rows / RATE, width=100, channels=[0])
        ok = (MAX_RAW_CHUNKS - 10) * TINY_ROWS
        w = explore.read_window(f, PATH, start=0, end=ok / RATE, width=100, channels=[0])
        assert w.kind == "minmax"
