"""Every sample in the format corpus (testing/formats_corpus.py) opens with its own
NeuroConv interface, converts with ``run_conversion``, holds the data type the format
carries, and passes the archive's validation (the one ``nds validate`` and ``nds convert``
run) with no ERROR or CRITICAL finding.

All samples convert in one process on purpose: NeuroConv's interfaces import NWB
extensions (ndx-sound, ndx-pose) as they go, and every file written afterwards caches
them, which is what a user's ``nds convert`` session does too.
"""

from __future__ import annotations

from pathlib import Path

import neuroconv  # noqa: F401  (a test dependency, through [convert]: missing, this fails)
import numpy as np
import pytest

from neurodatashare.testing.formats_corpus import (
    SUBJECT,
    WRITERS,
    convert_with_neuroconv,
    write_sample,
)
from neurodatashare.validation import validate_nwb_file
from neurodatashare.validation.types import Severity

# What each format must put in the file: a neurodata type, and how many of it at least
EXPECTED: dict[str, tuple[str, int]] = {  # type name (a|b: either)
    "neuroscope": ("ElectricalSeries", 1),
    "neuroscope-sorting": ("Units", 1),
    "whitematter": ("ElectricalSeries", 1),
    "mda": ("Units", 1),
    "blackrock": ("ElectricalSeries", 1),
    "neuralynx": ("ElectricalSeries", 1),
    "openephys-legacy": ("ElectricalSeries", 1),
    "intan": ("ElectricalSeries", 1),
    "mcs-raw": ("ElectricalSeries", 1),
    "kilosort": ("Units", 1),
    "deeplabcut": ("PoseEstimationSeries", 4),
    "fictrac": ("SpatialSeries", 3),
    "caiman": ("PlaneSegmentation", 1),
    "hdf5-imaging": ("TwoPhotonSeries", 1),
    "scanimage": ("TwoPhotonSeries", 1),
    "image": ("GrayscaleImage|RGBImage", 2),
    "audio": ("AcousticWaveformSeries", 1),
    "video": ("ImageSeries", 1),
    "trials-csv": ("TimeIntervals", 1),
}


def test_every_format_has_an_expectation() -> None:
    assert set(EXPECTED) == set(WRITERS)
    assert len(WRITERS) >= 10


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("formats")


@pytest.mark.parametrize("name", list(WRITERS))
def test_neuroconv_converts_and_archive_accepts(name: str, root: Path) -> None:
    from pynwb import NWBHDF5IO

    sample = write_sample(name, root)
    assert sample.name == name
    out = convert_with_neuroconv(sample, root / f"{name}.nwb", stub=False)

    findings = validate_nwb_file(out, context_checks=True)
    blocking = [
        f"{f.severity.name} [{f.check}] {f.object_path}: {f.message}"
        for f in findings
        if f.severity >= Severity.ERROR
    ]
    assert not blocking, blocking

    neurodata_type, at_least = EXPECTED[name]
    with NWBHDF5IO(str(out), "r", load_namespaces=True) as io:
        nwbfile = io.read()
        names = neurodata_type.split("|")
        found = [o for o in nwbfile.all_children() if type(o).__name__ in names]
        assert len(found) >= at_least, (neurodata_type, [type(o).__name__ for o in found])
        assert nwbfile.subject.subject_id == SUBJECT["subject_id"]
        # the data came from the sample, not an empty container
        for obj in found:
            if getattr(obj, "external_file", None) is not None:  # video: linked, not copied
                assert Path(obj.external_file[0]).name == "behavior_cam.avi"
                continue
            data = getattr(obj, "data", None)
            if data is not None and hasattr(data, "shape"):
                assert data.shape[0] > 0
        if sample.volts is not None:  # a format written from its spec: every sample exact
            (series,) = found
            volts = series.data[:] * series.conversion + (series.offset or 0.0)
            assert volts.shape == sample.volts.shape
            np.testing.assert_allclose(volts, sample.volts, rtol=1e-6, atol=1e-9)
        if name == "scanimage":  # our BigTIFF pages, as tifffile reads them
            import tifffile

            (series,) = found
            frames = tifffile.imread(sample.source_options["file_path"])
            # NWB's ImageSeries axes are (frame, x, y): NeuroConv writes rows as y
            stored = np.asarray(series.data[:]).squeeze()
            np.testing.assert_array_equal(stored, frames.transpose(0, 2, 1))
        if neurodata_type == "Units":
            assert len(nwbfile.units) > 0 and len(nwbfile.units["spike_times"][0]) > 0


def test_stub_conversion_writes_fewer_samples(root: Path) -> None:
    """``stub_test`` (NeuroConv's preview) is passed through for interfaces that take it."""
    from pynwb import NWBHDF5IO

    sample = write_sample("blackrock", root / "stub")
    full = convert_with_neuroconv(sample, root / "stub-full.nwb", stub=False)
    stub = convert_with_neuroconv(sample, root / "stub-stub.nwb", stub=True)
    lengths = []
    for path in (full, stub):
        with NWBHDF5IO(str(path), "r") as io:
            series = io.read().acquisition
            lengths.append(next(iter(series.values())).data.shape[0])
    assert lengths[1] < lengths[0]


def test_imaging_writes_report_their_progress(root: Path) -> None:
    """Imaging writers take the progress hook too (not only recordings): the wizard's bar
    moves while the movie is written, from NeuroConv's own chunk iterator."""
    from neurodatashare.nwb.convert.interfaces import Stream
    from neurodatashare.nwb.convert.streams import convert_streams

    sample = write_sample("hdf5-imaging", root / "progress")
    seen: list[tuple[str, float]] = []
    convert_streams(
        streams=[Stream(format=sample.interface, options=sample.source_options)],
        out=root / "progress.nwb",
        metadata={
            "Subject": SUBJECT,
            "NWBFile": {
                "session_description": "imaging progress",
                "session_start_time": "2024-01-01T00:00:00+00:00",
            },
        },
        overwrite=True,
        progress=lambda stage, fraction: seen.append((stage, fraction)),
    )
    written = [f for stage, f in seen if stage == "writing the NWB file"]
    assert written[0] == 0.5 and max(written) == pytest.approx(0.9), seen
