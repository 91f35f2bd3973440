"""A preview (`nds convert --format NAME --stub`, the wizard's preview jobs) holds the first
2 s of each recording, sorting and movie, enough to look at in the explorer, where
NeuroConv's own stub_test keeps 100 samples (3 ms at 30 kHz)."""

from __future__ import annotations

from pathlib import Path

import neuroconv  # noqa: F401  (a test dependency, through [convert])
import numpy as np
from pynwb import NWBHDF5IO

from neurodatashare.nwb.convert.interfaces import Stream
from neurodatashare.nwb.convert.preview import PREVIEW_SECONDS
from neurodatashare.nwb.convert.streams import convert_streams
from neurodatashare.testing import sources
from neurodatashare.testing.formats_corpus import SUBJECT
from neurodatashare.testing.formats_other import write_hdf5_imaging

META = {
    "Subject": SUBJECT,
    "NWBFile": {"session_description": "preview", "session_start_time": "2024-01-01T00:00:00Z"},
}


def test_a_preview_is_the_first_seconds_of_a_recording_and_its_sorting(tmp_path: Path) -> None:
    rec = sources.write_spikeglx(tmp_path / "sglx", duration_s=5.0, n_channels=8)
    phy = sources.write_phy(tmp_path / "phy", duration_s=5.0, n_units=4)
    streams = [
        Stream(
            format="SpikeGLXRecording",
            options={"folder_path": str(rec.path), "stream_id": "imec0.ap"},
        ),
        Stream(format="PhySorting", options={"folder_path": str(phy.path)}),
    ]
    result = convert_streams(
        streams=streams, out=tmp_path / "p.nwb", metadata=META, stub=True, overwrite=True
    )
    assert "first 2 s" in result.notes[0]
    with NWBHDF5IO(str(result.path), "r") as io:
        nwb = io.read()
        (series,) = [s for s in nwb.acquisition.values() if hasattr(s, "electrodes")]
        rate = series.rate
        assert series.data.shape[0] == int(rate * PREVIEW_SECONDS)
        np.testing.assert_array_equal(series.data[:], rec.counts[: series.data.shape[0]])
        spikes = np.concatenate([nwb.units["spike_times"][i] for i in range(len(nwb.units))])
        assert len(spikes) > 0 and spikes.max() - spikes.min() < PREVIEW_SECONDS


def test_a_short_recording_is_previewed_whole_and_a_movie_by_its_frames(tmp_path: Path) -> None:
    rec = sources.write_spikeglx(tmp_path / "sglx", duration_s=0.5, n_channels=8)
    movie = write_hdf5_imaging(tmp_path / "movie", n_frames=200)  # 30 Hz: 6.7 s
    streams = [
        Stream(
            format="SpikeGLXRecording",
            options={"folder_path": str(rec.path), "stream_id": "imec0.ap"},
        ),
        Stream(format="Hdf5Imaging", options=movie.source_options),
    ]
    result = convert_streams(
        streams=streams, out=tmp_path / "p.nwb", metadata=META, stub=True, overwrite=True
    )
    with NWBHDF5IO(str(result.path), "r") as io:
        nwb = io.read()
        (series,) = [s for s in nwb.acquisition.values() if hasattr(s, "electrodes")]
        assert series.data.shape[0] == rec.counts.shape[0]
        (photons,) = [s for s in nwb.acquisition.values() if hasattr(s, "imaging_plane")]
        assert photons.data.shape[0] == int(30.0 * PREVIEW_SECONDS)
