"""``convert``: one source (plus optional trials/events tables) and a metadata YAML in, one
NWB file out (``nds convert`` then checks it with the archive's own validation).

The file is built in memory from our metadata (subject, session, devices), the source
adds its data (a NeuroConv interface or our own importer), the tables are added, every
dataset gets its chunking and compression (:mod:`.layout` for extracellular series), and
the file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.formats import FORMATS
from neurodatashare.nwb.convert.layout import (
    compression_for_neuroconv,
    ephys_chunks,
    imaging_chunks,
)
from neurodatashare.nwb.convert.metadata import ConversionMetadata, MetadataError, load_metadata

if TYPE_CHECKING:
    from pynwb import NWBFile


@dataclass
class ConversionResult:
    """What `convert` wrote. Check the file with `validation.validate_nwb_file`, the
    validation the archive runs (``nds convert`` does)."""

    path: Path
    format: str
    seconds: float
    notes: list[str] = field(default_factory=list)  # things the user may want to fix


def make_nwbfile(meta: ConversionMetadata, start_time: datetime, *, description: str) -> NWBFile:
    """The empty NWB file: session, subject and the devices the YAML lists."""
    from pynwb import NWBFile
    from pynwb.device import Device, DeviceModel
    from pynwb.file import Subject

    s, subj = meta.session, meta.subject
    subject = Subject(
        subject_id=subj.subject_id,
        species=subj.species,
        sex=subj.sex,
        age=subj.age,
        date_of_birth=subj.date_of_birth,
        genotype=subj.genotype,
        strain=subj.strain,
        weight=subj.weight,
        description=subj.description,
        **({"age__reference": subj.age_reference} if subj.age_reference else {}),
    )
    optional = {
        "session_id": s.session_id,
        "lab": s.lab,
        "institution": s.institution,
        "experiment_description": s.experiment_description,
        "protocol": s.protocol,
        "notes": s.notes,
        "surgery": s.surgery,
        "virus": s.virus,
        "pharmacology": s.pharmacology,
    }
    nwbfile = NWBFile(
        session_description=s.description or description,
        identifier=s.identifier or str(uuid.uuid4()),
        session_start_time=start_time,
        experimenter=s.experimenter or None,
        keywords=s.keywords or None,
        related_publications=s.related_publications or None,
        subject=subject,
        **{k: v for k, v in optional.items() if v is not None},
    )
    for d in meta.devices:
        model = None
        if d.manufacturer or d.model:
            model = DeviceModel(
                name=d.model or f"{d.name} model",
                manufacturer=d.manufacturer or "unknown",
                model_number=d.model,
                description=d.description,
            )
            nwbfile.add_device_model(model)
        nwbfile.add_device(
            Device(
                name=d.name,
                description=d.description,
                serial_number=d.serial_number,
                model=model,
            )
        )
    return nwbfile


def _backend_configuration(nwbfile: NWBFile) -> Any:
    """NeuroConv's default HDF5 configuration with our layout for ephys and imaging data."""
    from neuroconv.tools.nwb_helpers import get_default_backend_configuration
    from pynwb.ecephys import ElectricalSeries
    from pynwb.image import ImageSeries

    config = get_default_backend_configuration(nwbfile, backend="hdf5")
    objects = {o.object_id: o for o in nwbfile.all_children()}
    compressors, options = compression_for_neuroconv()
    for ds in config.dataset_configurations.values():
        obj = objects.get(ds.object_id)
        if ds.dataset_name != "data" or obj is None:
            continue
        chunks: tuple[int, ...] | None = None
        if isinstance(obj, ElectricalSeries) and len(ds.full_shape) == 2:
            chunks = ephys_chunks(ds.full_shape[0], ds.full_shape[1], ds.dtype.itemsize)
        elif isinstance(obj, ImageSeries) and len(ds.full_shape) >= 3:
            chunks = imaging_chunks(ds.full_shape[0], tuple(ds.full_shape[1:]), ds.dtype.itemsize)
        if chunks is None:
            continue
        ds.buffer_shape = ds.full_shape
        ds.chunk_shape = chunks
        ds.compressors = compressors
        ds.compressor_options = options
    return config


def _write(nwbfile: NWBFile, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial.nwb")
    try:
        try:
            from neuroconv.tools.nwb_helpers import configure_and_write_nwbfile
        except ModuleNotFoundError:  # our own importers also work without NeuroConv
            from pynwb import NWBHDF5IO

            with NWBHDF5IO(str(tmp), "w") as io:
                io.write(nwbfile)
        else:
            configure_and_write_nwbfile(
                nwbfile, nwbfile_path=tmp, backend_configuration=_backend_configuration(nwbfile)
            )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def convert(
    *,
    format: str,
    source: Path,
    metadata: ConversionMetadata | Path | str,
    out: Path,
    trials: Path | None = None,
    events: Sequence[Path] = (),
    stream: str | None = None,
    rate: float | None = None,
    stub: bool = False,
    overwrite: bool = False,
) -> ConversionResult:
    """Convert ``source`` (in ``format``) to the NWB file ``out``.

    ``trials``/``events`` add CSV tables beside the main source; ``stream`` picks one
    stream of a multi-stream source (an Open Ephys stream name, a SpikeGLX stream id such
    as ``imec0.ap``, a Suite2p plane); ``rate`` gives the sampling rate of sources that do
    not record it (TIFF stacks, bare arrays); ``stub`` writes only the first samples, as a
    quick preview. Raises :class:`~neurodatashare.errors.BadRequest` (or its subclass
    :class:`MetadataError`) for anything the user can fix.
    """
    from neurodatashare.nwb.convert import tables
    from neurodatashare.nwb.convert.acquisition import describe_error, open_source
    from neurodatashare.nwb.convert.timeseries import add_timeseries

    t0 = time.perf_counter()
    if format not in FORMATS:
        raise BadRequest(f"Unknown format '{format}'. Choose one of: {', '.join(FORMATS)}.")
    meta = metadata if isinstance(metadata, ConversionMetadata) else load_metadata(metadata)
    source, out = Path(source), Path(out)
    if not source.exists():
        raise BadRequest(f"--source {source}: no such file or folder.")
    for extra in [trials, *events]:
        if extra is not None and not Path(extra).is_file():
            raise BadRequest(f"{extra}: no such file.")
    if out.suffix.lower() != ".nwb":
        raise BadRequest(f"--out {out}: the output file name must end in .nwb.")
    if out.exists() and not overwrite:
        raise BadRequest(f"--out {out} already exists; pass --overwrite to replace it.")
    spec = FORMATS[format]
    notes: list[str] = []

    nc_source = None
    start_from_data: datetime | None = None
    if spec.engine == "neuroconv":
        nc_source = open_source(format, source, meta, stream=stream, rate=rate, stub=stub)
        start_from_data = nc_source.start_time
        notes.extend(nc_source.notes)
    start_time = meta.start_time(start_from_data)
    nwbfile = make_nwbfile(meta, start_time, description=f"{spec.title}, converted to NWB.")

    try:
        if nc_source is not None:
            nc_source.add_to(nwbfile)
        elif format == "timeseries":
            _, ts_notes = add_timeseries(nwbfile, source, meta.timeseries, rate=rate)
            notes.extend(ts_notes)
        elif format == "trials":
            tables.add_trials(nwbfile, source, meta.trials)
        if trials is not None:
            if format == "trials":
                raise BadRequest("--trials: the trials are already the main --source.")
            tables.add_trials(nwbfile, Path(trials), meta.trials)
        for path in events:
            tables.add_events(nwbfile, Path(path), meta.events)
    except (BadRequest, MetadataError):
        raise
    except Exception as exc:  # a reader or writer rejecting the data: say so, no traceback
        raise BadRequest(f"Could not convert {source} ({format}): {describe_error(exc)}") from exc

    _write(nwbfile, out)
    return ConversionResult(path=out, format=format, seconds=time.perf_counter() - t0, notes=notes)
