"""Synthetic NWB files for tests and benchmarks: realistic shapes, fixed seeds.

Built on pynwb's mock helpers. The good files pass validation with no ERROR or
CRITICAL finding; the broken-file writers give each one way a file can be unusable.

    nwbfile = make_nwbfile()
    add_ecephys(nwbfile, n_channels=64, duration_s=60.0, rate=30_000.0)
    add_units(nwbfile, n_units=20, duration_s=60.0)
    write_nwbfile(nwbfile, tmp_path / "sub-m1_ecephys.nwb")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pynwb import NWBFile

# A fixed, timezone-aware start (UTC+1) so files are reproducible and pass the rules.
SESSION_START = datetime(2024, 3, 1, 10, 0, 0, tzinfo=timezone(timedelta(hours=1)))

_UNSET: Any = object()


def make_subject(
    *,
    subject_id: str = "mouse001",
    species: str | None = "Mus musculus",
    sex: str | None = "F",
    age: str | None = "P90D",
    date_of_birth: datetime | None = None,
    genotype: str | None = "wild type",
    strain: str | None = "C57BL/6J",
) -> Any:
    """A pynwb Subject with what the archive needs; pass None to leave a field out."""
    from pynwb.file import Subject

    return Subject(
        subject_id=subject_id,
        species=species,
        sex=sex,
        age=age,
        date_of_birth=date_of_birth,
        genotype=genotype,
        strain=strain,
        description="synthetic test animal",
    )


def make_nwbfile(
    *,
    identifier: str = "nds-test-0001",
    session_id: str | None = "session1",
    session_start_time: datetime = SESSION_START,
    subject: Any = _UNSET,
    **kwargs: Any,
) -> NWBFile:
    """An NWBFile with good session metadata and, unless subject=None, a proper Subject."""
    from pynwb.testing.mock.file import mock_NWBFile

    defaults: dict[str, Any] = {
        "session_description": "synthetic recording for tests",
        "experiment_description": "synthetic data written by neurodatashare.testing",
        "experimenter": ["Doe, Jane"],
        "institution": "Example University",
        "lab": "Example Lab",
        "keywords": ["synthetic", "test"],
    }
    defaults.update(kwargs)
    nwbfile = mock_NWBFile(
        identifier=identifier,
        session_id=session_id,
        session_start_time=session_start_time,
        **defaults,
    )
    nwbfile.subject = make_subject() if subject is _UNSET else subject
    return nwbfile


def _compressed(data: Any, compression: str | None) -> Any:
    if compression is None:
        return data
    from pynwb import H5DataIO

    return H5DataIO(data, compression=compression)


def add_ecephys(
    nwbfile: NWBFile,
    *,
    n_channels: int = 8,
    duration_s: float = 1.0,
    rate: float = 30_000.0,
    locations: Sequence[str] = ("CA1", "VISp"),
    seed: int = 0,
    compression: str | None = "gzip",
) -> Any:
    """A probe whose channels are split evenly over `locations`, and an int16 recording."""
    import numpy as np
    from pynwb.testing.mock.device import mock_Device
    from pynwb.testing.mock.ecephys import mock_ElectricalSeries, mock_ElectrodeGroup

    device = mock_Device(name="probe", description="synthetic silicon probe", nwbfile=nwbfile)
    groups = [
        mock_ElectrodeGroup(
            name=f"shank{i}",
            location=loc,
            device=device,
            description=f"shank in {loc}",
            nwbfile=nwbfile,
        )
        for i, loc in enumerate(locations)
    ]
    for ch in range(n_channels):
        group = groups[ch * len(groups) // n_channels]
        nwbfile.add_electrode(group=group, location=group.location)
    region = nwbfile.create_electrode_table_region(list(range(n_channels)), "all channels")

    # Filled in blocks so a long recording never needs a float64 copy in memory.
    n_samples = round(duration_s * rate)
    data = np.empty((n_samples, n_channels), dtype=np.int16)
    rng = np.random.default_rng(seed)
    block = 1 << 16
    phase = np.linspace(0, 2 * np.pi, n_channels, endpoint=False)
    for start in range(0, n_samples, block):
        stop = min(start + block, n_samples)
        t = np.arange(start, stop, dtype=np.float64)[:, None] / rate
        wave = 200 * np.sin(2 * np.pi * 8.0 * t + phase)  # an 8 Hz theta-like rhythm
        noise = rng.normal(0.0, 30.0, size=(stop - start, n_channels))
        data[start:stop] = (wave + noise).astype(np.int16)
    return mock_ElectricalSeries(
        name="ElectricalSeries",
        description="synthetic wide-band recording",
        data=_compressed(data, compression),
        rate=rate,
        starting_time=0.0,
        electrodes=region,
        filtering="none",
        conversion=0.195e-6,  # int16 counts -> volts, as Intan amplifiers
        nwbfile=nwbfile,
    )


def add_units(
    nwbfile: NWBFile,
    *,
    n_units: int = 10,
    duration_s: float = 1.0,
    mean_rate_hz: float = 5.0,
    seed: int = 0,
) -> Any:
    """A sorted-units table with Poisson spike trains (at least one spike per unit)."""
    import numpy as np
    from pynwb.misc import Units

    rng = np.random.default_rng(seed)
    nwbfile.units = Units(
        name="units", description="synthetic sorted units", resolution=1 / 30_000.0
    )
    for _ in range(n_units):
        count = max(1, int(rng.poisson(mean_rate_hz * duration_s)))
        times = np.sort(rng.uniform(0.0, duration_s, size=count))
        nwbfile.add_unit(spike_times=times)
    return nwbfile.units


def add_ophys(
    nwbfile: NWBFile,
    *,
    n_frames: int = 100,
    frame_shape: tuple[int, int] = (32, 32),
    n_rois: int = 5,
    rate: float = 30.0,
    location: str = "VISp",
    seed: int = 0,
    compression: str | None = "gzip",
) -> Any:
    """A two-photon movie, a segmentation with `n_rois` ROIs, and their fluorescence."""
    import numpy as np
    from pynwb.ophys import Fluorescence, ImageSegmentation, PlaneSegmentation
    from pynwb.testing.mock.device import mock_Device
    from pynwb.testing.mock.ophys import (
        mock_ImagingPlane,
        mock_OpticalChannel,
        mock_TwoPhotonSeries,
    )

    rng = np.random.default_rng(seed)
    device = mock_Device(name="microscope", description="synthetic 2P microscope", nwbfile=nwbfile)
    channel = mock_OpticalChannel(name="green", description="GCaMP emission", emission_lambda=510.0)
    plane = mock_ImagingPlane(
        name="ImagingPlane",
        optical_channel=channel,
        description="layer 2/3",
        device=device,
        excitation_lambda=920.0,
        indicator="GCaMP6f",
        location=location,
        imaging_rate=rate,
        nwbfile=nwbfile,
    )
    movie = rng.poisson(100, size=(n_frames, *frame_shape)).astype(np.uint16)
    mock_TwoPhotonSeries(
        name="TwoPhotonSeries",
        imaging_plane=plane,
        data=_compressed(movie, compression),
        rate=rate,
        starting_time=0.0,
        unit="n.a.",
        description="synthetic calcium imaging movie",
        nwbfile=nwbfile,
    )
    segmentation = PlaneSegmentation(
        name="PlaneSegmentation", description="synthetic ROIs", imaging_plane=plane
    )
    height, width = frame_shape
    for i in range(n_rois):
        mask = np.zeros(frame_shape, dtype=np.float32)
        y, x = (i * 7) % (height - 4), (i * 11) % (width - 4)
        mask[y : y + 4, x : x + 4] = 1.0
        segmentation.add_roi(image_mask=mask)
    module = nwbfile.processing.get("ophys") or nwbfile.create_processing_module(
        "ophys", "optical physiology"
    )
    module.add(ImageSegmentation(name="ImageSegmentation", plane_segmentations=[segmentation]))
    fluorescence = Fluorescence(name="Fluorescence")
    module.add(fluorescence)  # parent first, so the ROI region shares an ancestor
    fluorescence.create_roi_response_series(
        name="RoiResponseSeries",
        description="raw fluorescence of each ROI",
        data=rng.normal(1.0, 0.1, size=(n_frames, n_rois)).astype(np.float32),
        rois=segmentation.create_roi_table_region(
            description="all ROIs", region=list(range(n_rois))
        ),
        rate=rate,
        starting_time=0.0,
        unit="n.a.",
    )
    return segmentation


def add_behavior(nwbfile: NWBFile, *, duration_s: float = 1.0, rate: float = 50.0) -> Any:
    """An animal's 2-D position on a track, sampled at `rate`."""
    import numpy as np
    from pynwb.behavior import Position
    from pynwb.testing.mock.behavior import mock_SpatialSeries

    n = max(2, round(duration_s * rate))
    t = np.arange(n) / rate
    xy = np.column_stack([0.5 + 0.4 * np.sin(t / 5.0), 0.5 + 0.4 * np.cos(t / 5.0)])
    series = mock_SpatialSeries(
        name="position",
        data=xy,
        rate=rate,
        starting_time=0.0,
        reference_frame="(0,0) is the arena's corner",
        unit="meters",
        description="head position from video tracking",
    )
    module = nwbfile.processing.get("behavior") or nwbfile.create_processing_module(
        "behavior", "behavior"
    )
    module.add(Position(name="Position", spatial_series=series))
    return series


def write_nwbfile(nwbfile: NWBFile, path: Path) -> Path:
    """Write `nwbfile` to `path` (HDF5) and return the path."""
    from pynwb import NWBHDF5IO

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def make_ephys_file(
    path: Path,
    *,
    n_channels: int = 8,
    duration_s: float = 1.0,
    rate: float = 30_000.0,
    n_units: int = 10,
    locations: Sequence[str] = ("CA1", "VISp"),
    identifier: str = "nds-test-ecephys",
    compression: str | None = "gzip",
) -> Path:
    """An extracellular recording with sorted units, written to `path`."""
    nwbfile = make_nwbfile(identifier=identifier)
    add_ecephys(
        nwbfile,
        n_channels=n_channels,
        duration_s=duration_s,
        rate=rate,
        locations=locations,
        compression=compression,
    )
    if n_units:
        add_units(nwbfile, n_units=n_units, duration_s=duration_s)
    return write_nwbfile(nwbfile, path)


def make_ophys_file(
    path: Path,
    *,
    n_frames: int = 100,
    frame_shape: tuple[int, int] = (32, 32),
    n_rois: int = 5,
    rate: float = 30.0,
    identifier: str = "nds-test-ophys",
    with_behavior: bool = True,
) -> Path:
    """A two-photon session (movie, ROIs, traces) and, optionally, position tracking."""
    nwbfile = make_nwbfile(identifier=identifier, session_id="session2")
    add_ophys(nwbfile, n_frames=n_frames, frame_shape=frame_shape, n_rois=n_rois, rate=rate)
    if with_behavior:
        add_behavior(nwbfile, duration_s=n_frames / rate)
    return write_nwbfile(nwbfile, path)


# ------------------------------------------------------------------------ broken files


def write_truncated_copy(source: Path, target: Path, *, fraction: float = 0.5) -> Path:
    """The first `fraction` of `source`'s bytes, like an interrupted copy or upload."""
    data = Path(source).read_bytes()
    Path(target).write_bytes(data[: int(len(data) * fraction)])
    return Path(target)


def write_text_as_nwb(path: Path) -> Path:
    """A text file with an .nwb name."""
    Path(path).write_text("subject,session\nmouse001,1\n")
    return Path(path)


def write_plain_hdf5(path: Path) -> Path:
    """A valid HDF5 file that is not NWB."""
    import h5py
    import numpy as np

    with h5py.File(path, "w") as f:
        f["data"] = np.arange(100, dtype=np.float32)
        f.attrs["description"] = "plain HDF5, no NWB structure"
    return Path(path)


def write_empty(path: Path) -> Path:
    """A 0-byte file."""
    Path(path).write_bytes(b"")
    return Path(path)
