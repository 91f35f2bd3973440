"""A corpus of NWB files written the way *other* writers write them, for end-to-end tests.

The demo files are ours; scientists upload files made by pynwb scripts, MATLAB, old
pipelines and extensions. Each function below writes one such file with the pynwb API
(and its mock helpers, as a pynwb user's script would) or, where pynwb cannot make the
case, with h5py the way another tool does, and says so:

* :func:`write_mock_ecephys` - pynwb's mock helpers, pynwb's default contiguous layout;
* :func:`write_icephys` - the icephys tables (intracellular recordings, simultaneous,
  sequential, repetitions, experimental conditions): ``DynamicTableRegion`` columns and
  ``TimeSeriesReferenceVectorData`` (compound rows holding an object reference);
* :func:`write_references` - trials and epochs with a ``timeseries`` column, a table with
  ``DynamicTableRegion`` columns (into electrodes and units, one ragged);
* :func:`write_herd_scratch` - HERD (hdmf's external resources) stored in the file, and
  scratch data (an array, a table and a series);
* :func:`write_linked_pair` - two sibling files where one's acquisition is an HDF5
  external link into the other (pynwb writes the link when a container of another file
  is added), plus :func:`write_dangling_link`, whose link names a file that is not there;
* :func:`write_family` - an HDF5 file split with the ``family`` driver (several member
  files that only open together);
* :func:`write_extension` - an ``ndx-pose`` extension object with its cached spec;
* :func:`write_old_schema` - a file of NWB schema 2.2.5 as old writers left them: no
  cached specifications, written with h5py following that schema version (hand-written:
  current pynwb can only write the current schema).

:func:`write_corpus` writes all of them into a folder and returns their paths. Every run
gives the same files except for what HDF5 and pynwb make unique by design (object ids,
``file_create_date`` is fixed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

START = datetime(2023, 5, 4, 9, 30, 0, tzinfo=timezone(timedelta(hours=-4)))
CREATED = datetime(2023, 5, 4, 18, 0, 0, tzinfo=timezone(timedelta(hours=-4)))


def _nwbfile(identifier: str, description: str, **kwargs: Any) -> Any:
    from pynwb.file import Subject
    from pynwb.testing.mock.file import mock_NWBFile

    nwbfile = mock_NWBFile(
        identifier=identifier,
        session_description=description,
        session_start_time=START,
        file_create_date=[CREATED],
        session_id=identifier,
        experimenter=["Roe, Richard"],
        lab="Other Lab",
        institution="Other Institute",
        **kwargs,
    )
    nwbfile.subject = Subject(
        subject_id=f"{identifier}-animal",
        species="Mus musculus",
        sex="M",
        age="P60D",
        description="subject of a corpus file",
    )
    return nwbfile


def _write(nwbfile: Any, path: Path) -> Path:
    from pynwb import NWBHDF5IO

    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def write_mock_ecephys(path: Path) -> Path:
    """Electrodes, a recording and units from `pynwb.testing.mock`, layout as pynwb leaves it
    (contiguous datasets, no chunks, no compression)."""
    from pynwb.testing.mock.ecephys import mock_ElectricalSeries, mock_Units

    nwbfile = _nwbfile("corpus-mock-ecephys", "mock extracellular recording")
    rng = np.random.default_rng(1)
    series = mock_ElectricalSeries(
        name="ElectricalSeries",
        data=rng.normal(0, 1e-4, size=(3000, 5)).astype(np.float32),
        rate=1000.0,
        nwbfile=nwbfile,
    )
    assert series.electrodes.table is not None
    mock_Units(num_units=4, max_spikes_per_unit=20, seed=2, nwbfile=nwbfile)
    return _write(nwbfile, path)


def write_icephys(path: Path) -> Path:
    """Patch-clamp sweeps in the full hierarchy of icephys tables."""
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    nwbfile = _nwbfile("corpus-icephys", "whole-cell current clamp")
    device = nwbfile.create_device(name="amplifier", description="patch-clamp amplifier")
    electrode = nwbfile.create_icephys_electrode(
        name="elec0", description="patch pipette", device=device
    )
    rng = np.random.default_rng(3)
    rows = []
    for sweep in range(4):
        stimulus = CurrentClampStimulusSeries(
            name=f"stimulus{sweep}",
            data=np.full(500, 1e-10 * (sweep + 1)),
            starting_time=sweep * 1.0,
            rate=1000.0,
            electrode=electrode,
            gain=1.0,
            sweep_number=np.uint64(sweep),
        )
        response = CurrentClampSeries(
            name=f"response{sweep}",
            data=rng.normal(-0.065, 0.002, size=500),
            conversion=1.0,
            starting_time=sweep * 1.0,
            rate=1000.0,
            electrode=electrode,
            gain=1.0,
            sweep_number=np.uint64(sweep),
        )
        nwbfile.add_stimulus(stimulus)
        nwbfile.add_acquisition(response)
        rows.append(
            nwbfile.add_intracellular_recording(
                electrode=electrode,
                stimulus=stimulus,
                response=response,
                # a response window that starts into the sweep: the index range matters
                response_start_index=100,
                response_index_count=300,
                id=10 + sweep,
            )
        )
    simultaneous = [nwbfile.add_icephys_simultaneous_recording(recordings=[r]) for r in rows]
    sequential = [
        nwbfile.add_icephys_sequential_recording(
            simultaneous_recordings=simultaneous[i : i + 2], stimulus_type="square"
        )
        for i in (0, 2)
    ]
    repetition = nwbfile.add_icephys_repetition(sequential_recordings=sequential)
    nwbfile.add_icephys_experimental_condition(repetitions=[repetition])
    return _write(nwbfile, path)


def write_references(path: Path) -> Path:
    """Trials and epochs pointing into series, and a table of regions into other tables."""
    from hdmf.common import DynamicTable
    from pynwb import TimeSeries
    from pynwb.testing.mock.ecephys import mock_ElectricalSeries, mock_Units

    nwbfile = _nwbfile("corpus-references", "tables whose cells point at other objects")
    speed = TimeSeries(
        name="speed", data=np.linspace(0, 1, 200), unit="m/s", rate=20.0, starting_time=0.0
    )
    lick = TimeSeries(
        name="lick", data=np.arange(50, dtype=float), unit="n.a.", timestamps=np.arange(50) * 0.2
    )
    nwbfile.add_acquisition(speed)
    nwbfile.add_acquisition(lick)
    mock_ElectricalSeries(name="lfp", data=np.zeros((100, 5), np.float32), nwbfile=nwbfile)
    units = mock_Units(num_units=3, max_spikes_per_unit=10, seed=4, nwbfile=nwbfile)
    nwbfile.add_trial_column("outcome", "what the animal did")
    for i in range(5):
        nwbfile.add_trial(
            start_time=2.0 * i,
            stop_time=2.0 * i + 1.5,
            outcome="hit" if i % 2 else "miss",
            timeseries=[speed, lick] if i % 2 else [speed],
        )
    nwbfile.add_epoch(start_time=0.0, stop_time=5.0, tags=["run"], timeseries=[speed])
    nwbfile.add_epoch(start_time=5.0, stop_time=10.0, tags=["rest", "dark"], timeseries=[lick])
    table = DynamicTable(name="channel_groups", description="units and their best channels")
    table.add_column(name="label", description="group label")
    table.add_column(name="unit", description="the unit of the row", table=units)
    table.add_column(
        name="channels",
        description="best channels of the unit",
        table=nwbfile.electrodes,
        index=True,
    )
    for i, channels in enumerate([[0, 1], [2], [1, 3, 4]]):
        table.add_row(label=f"g{i}", unit=i, channels=channels)
    module = nwbfile.create_processing_module("analysis", "derived tables")
    module.add(table)
    return _write(nwbfile, path)


def write_herd_scratch(path: Path) -> Path:
    """External resources (hdmf's HERD) stored inside the file, and scratch data."""
    from hdmf.common import DynamicTable
    from pynwb import TimeSeries
    from pynwb.resources import HERD

    nwbfile = _nwbfile("corpus-herd", "a file with external resources and scratch data")
    table = DynamicTable(name="scratch_table", description="a scratch table")
    table.add_column(name="score", description="a score")
    table.add_column(name="species", description="species of the sample")
    for score in (0.5, 0.25, 1.0):
        table.add_row(score=score, species="Mus musculus")
    nwbfile.add_scratch(table)
    herd = HERD()
    herd.add_ref(
        container=table["species"],
        key="Mus musculus",
        entity_id="NCBI_TAXON:10090",
        entity_uri="https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id=10090",
    )
    nwbfile.external_resources = herd  # stored in the file (NWB 2.9's /general)
    nwbfile.add_scratch(
        np.arange(12, dtype=np.float64).reshape(3, 4),
        name="notes_matrix",
        description="an intermediate result kept as scratch",
    )
    nwbfile.add_scratch(
        TimeSeries(name="scratch_series", data=np.arange(10.0), unit="a.u.", rate=10.0)
    )
    return _write(nwbfile, path)


LINK_SOURCE = "linked_source.nwb"


def write_linked_pair(folder: Path) -> list[Path]:
    """`linked_source.nwb` holds a recording; `linked_main.nwb`'s acquisition links to it
    with an HDF5 external link (relative path), as pynwb writes when a series read from
    one file is added to another."""
    from pynwb import NWBHDF5IO, TimeSeries

    folder.mkdir(parents=True, exist_ok=True)
    source = _nwbfile("corpus-link-source", "the recording that another file links to")
    source.add_acquisition(
        TimeSeries(
            name="raw", data=np.sin(np.arange(2000) / 50.0), unit="V", rate=500.0, description="x"
        )
    )
    source_path = _write(source, folder / LINK_SOURCE)
    main_path = folder / "linked_main.nwb"
    with NWBHDF5IO(str(source_path), "r") as src_io:
        raw = src_io.read().acquisition["raw"]
        main = _nwbfile("corpus-link-main", "a file whose acquisition lives in a sibling file")
        main.add_acquisition(raw)
        main.add_acquisition(TimeSeries(name="local", data=np.arange(100.0), unit="V", rate=100.0))
        with NWBHDF5IO(str(main_path), "w", manager=src_io.manager) as io:
            io.write(main, link_data=True)
    return [main_path, source_path]


def write_dangling_link(path: Path) -> Path:
    """A file whose acquisition has an external link to a file that is not beside it (the
    link is added with h5py, as a tool that moves files around leaves it)."""
    import h5py
    from pynwb import TimeSeries

    nwbfile = _nwbfile("corpus-dangling-link", "a file with a link to a file left behind")
    nwbfile.add_acquisition(TimeSeries(name="kept", data=np.arange(50.0), unit="V", rate=10.0))
    _write(nwbfile, path)
    with h5py.File(path, "a") as f:
        f["acquisition/lost"] = h5py.ExternalLink("left_behind.nwb", "/acquisition/lost")
    return path


FAMILY_MEMBER_SIZE = 256 * 1024


def write_family(folder: Path, *, stem: str = "family") -> list[Path]:
    """An NWB file written through h5py's `family` driver: the bytes are split over
    member files `family_0.nwb`, `family_1.nwb`, ... which only open together."""
    import h5py
    from pynwb import NWBHDF5IO, TimeSeries

    folder.mkdir(parents=True, exist_ok=True)
    nwbfile = _nwbfile("corpus-family", "a file split by the HDF5 family driver")
    nwbfile.add_acquisition(
        TimeSeries(name="trace", data=np.arange(20_000, dtype=np.float64), unit="V", rate=1e3)
    )
    pattern = str(folder / f"{stem}_%d.nwb")
    f = h5py.File(pattern, "w", driver="family", memb_size=FAMILY_MEMBER_SIZE)
    with NWBHDF5IO(file=f, mode="w") as io:
        io.write(nwbfile)
    f.close()
    return sorted(folder.glob(f"{stem}_*.nwb"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))


def write_extension(path: Path) -> Path:
    """Pose estimation with the `ndx-pose` extension; pynwb caches its spec in the file.

    Written in a child process: importing an extension registers it in pynwb's global
    type map, and every file pynwb writes afterwards in that process would cache its
    spec too (which would change, for instance, the demo files' bytes).
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_write_extension_here, Path(path)).result()


def _write_extension_here(path: Path) -> Path:
    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons

    nwbfile = _nwbfile("corpus-ndx-pose", "pose estimation stored with an extension")
    skeleton = Skeleton(name="mouse", nodes=["nose", "tail"], edges=np.array([[0, 1]], "uint8"))
    camera = nwbfile.create_device(name="camera", description="top camera")
    t = np.arange(100) / 30.0
    series = [
        PoseEstimationSeries(
            name=node,
            description=f"{node} position",
            data=np.stack([np.cos(t + i), np.sin(t + i)], axis=1),
            unit="pixels",
            reference_frame="top left corner of the video",
            timestamps=t,
            confidence=np.full(100, 0.9),
        )
        for i, node in enumerate(["nose", "tail"])
    ]
    pose = PoseEstimation(
        name="PoseEstimation",
        pose_estimation_series=series,
        description="synthetic pose",
        skeleton=skeleton,
        devices=[camera],
    )
    behavior = nwbfile.create_processing_module("behavior", "pose")
    behavior.add(Skeletons(skeletons=[skeleton]))
    behavior.add(pose)
    return _write(nwbfile, path)


OLD_VERSION = "2.2.5"


def write_old_schema(path: Path) -> Path:
    """An NWB 2.2.5 file as pynwb 1.x left them: no /specifications group, and only what
    that schema version defines. Hand-written with h5py (group and attribute names follow
    the 2.2.5 schema), since current pynwb writes only the current schema version."""
    import uuid

    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    ids = iter(uuid.UUID(int=int(x)) for x in rng.integers(1, 2**62, size=8))
    text = h5py.string_dtype()

    def typed(obj: Any, ndtype: str, namespace: str = "core") -> None:
        obj.attrs["namespace"] = namespace
        obj.attrs["neurodata_type"] = ndtype
        obj.attrs["object_id"] = str(next(ids))

    with h5py.File(path, "w") as f:
        typed(f, "NWBFile")
        f.attrs["nwb_version"] = OLD_VERSION
        f.create_dataset("identifier", data="corpus-old-schema", dtype=text)
        f.create_dataset("session_description", data="a file of an older schema", dtype=text)
        f.create_dataset("session_start_time", data=START.isoformat(), dtype=text)
        f.create_dataset("timestamps_reference_time", data=START.isoformat(), dtype=text)
        f.create_dataset("file_create_date", data=[CREATED.isoformat()], dtype=text)
        for name in (
            "acquisition",
            "analysis",
            "processing",
            "stimulus/presentation",
            "stimulus/templates",
            "general",
        ):
            f.create_group(name)
        f.create_dataset("general/lab", data="Old Lab", dtype=text)
        subject = f.create_group("general/subject")
        typed(subject, "Subject")
        subject.create_dataset("subject_id", data="old-animal", dtype=text)
        subject.create_dataset("species", data="Mus musculus", dtype=text)
        subject.create_dataset("sex", data="F", dtype=text)
        subject.create_dataset("age", data="P30D", dtype=text)
        series = f.create_group("acquisition/voltage")
        typed(series, "TimeSeries")
        series.attrs["description"] = "a trace written by an old writer"
        series.attrs["comments"] = "no comments"
        data = series.create_dataset("data", data=rng.normal(size=1000))
        data.attrs.update({"unit": "volts", "conversion": 1.0, "resolution": -1.0})
        st = series.create_dataset("starting_time", data=0.0)
        st.attrs.update({"rate": 250.0, "unit": "seconds"})
    return path


def write_corpus(folder: Path) -> list[Path]:
    """Write every corpus file into `folder` (created); return their paths."""
    folder = Path(folder)
    single: list[Callable[[Path], Path]] = [
        write_mock_ecephys,
        write_icephys,
        write_references,
        write_herd_scratch,
        write_dangling_link,
        write_extension,
        write_old_schema,
    ]
    paths = [fn(folder / f"{fn.__name__.removeprefix('write_')}.nwb") for fn in single]
    paths += write_linked_pair(folder)
    paths += write_family(folder)
    return paths
