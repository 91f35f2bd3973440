"""Convert one or more NeuroConv streams into one NWB file, with checked metadata.

Metadata is NeuroConv's dict (``NWBFile``, ``Subject``, ``Ecephys`` ...): what the files
say (get_metadata()), then the user's form (the API's `metadata`) over it, then the
user's YAML (the CLI's ``--metadata``). The ``NWBFile`` and ``Subject`` parts go through
the same checks and vocabulary as ``nds convert``'s YAML (species, sex, age, people,
timezones), so a problem names the key (``Subject.species``). The file is built as the
built-in formats build theirs (our subject, session and layout), the converter adds its
data, and it is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.hardware import Hardware, label_brain_areas, with_hardware
from neurodatashare.nwb.convert.interfaces import (
    Stream,
    WriteProgress,
    build_converter,
    conversion_options,
    deep_merge,
    json_safe,
    metadata_schema,
    source_metadata,
)
from neurodatashare.nwb.convert.metadata import ConversionMetadata, MetadataError, parse_metadata
from neurodatashare.nwb.convert.pipeline import ConversionResult
from neurodatashare.nwb.convert.preview import PREVIEW_SECONDS

Progress = Callable[[str, float], None]

# our YAML's keys <- NeuroConv's metadata keys
SUBJECT_KEYS = (
    "subject_id",
    "species",
    "sex",
    "age",
    "date_of_birth",
    "genotype",
    "strain",
    "weight",
    "description",
)
SESSION_KEYS = {
    "session_id": "session_id",
    "session_start_time": "session_start_time",
    "description": "session_description",
    "identifier": "identifier",
    "experimenter": "experimenter",
    "lab": "lab",
    "institution": "institution",
    "experiment_description": "experiment_description",
    "keywords": "keywords",
    "related_publications": "related_publications",
    "protocol": "protocol",
    "notes": "notes",
    "surgery": "surgery",
    "virus": "virus",
    "pharmacology": "pharmacology",
}


def yaml_to_neuroconv(meta: ConversionMetadata) -> dict[str, Any]:
    """The subject and session of our checked YAML as NeuroConv's NWBFile / Subject."""
    subject = {k: getattr(meta.subject, k) for k in SUBJECT_KEYS}
    session = {nc: getattr(meta.session, ours) for ours, nc in SESSION_KEYS.items()}
    out = {
        "Subject": {k: v for k, v in subject.items() if v not in (None, [])},
        "NWBFile": {k: v for k, v in session.items() if v not in (None, [])},
    }
    if meta.session.timezone:
        out["NWBFile"]["timezone"] = meta.session.timezone
    return json_safe(out)


def _naive_time(value: Any) -> datetime | None:
    """A start time without a timezone (as most acquisition systems record it)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        return value
    return None


def check_metadata(metadata: dict[str, Any]) -> tuple[ConversionMetadata, datetime]:
    """Our checks on NeuroConv's NWBFile and Subject: the parsed metadata and the start
    time, or a MetadataError naming the NeuroConv key (`Subject.species: ...`)."""
    nwbfile = dict(metadata.get("NWBFile") or {})
    subject = dict(metadata.get("Subject") or {})
    from_data = _naive_time(nwbfile.get("session_start_time"))
    if from_data is not None:
        nwbfile.pop("session_start_time")  # made aware with the timezone below
    ours_session = {o: nwbfile[nc] for o, nc in SESSION_KEYS.items() if nwbfile.get(nc)}
    if nwbfile.get("timezone"):
        ours_session["timezone"] = nwbfile["timezone"]
    ours_subject = {k: subject[k] for k in SUBJECT_KEYS if subject.get(k) not in (None, "")}
    names = {f"session.{o}": f"NWBFile.{nc}" for o, nc in SESSION_KEYS.items()}
    names |= {f"subject.{k}": f"Subject.{k}" for k in SUBJECT_KEYS}
    names |= {"session.timezone": "NWBFile.timezone", "subject": "Subject"}
    try:
        meta = parse_metadata({"subject": ours_subject, "session": ours_session})
        start = meta.start_time(from_data)
    except MetadataError as exc:
        problems = [(names.get(k, k), p) for k, p in exc.problems]
        raise MetadataError(problems[0][0], problems[0][1], problems=problems) from None
    return meta, start


def validate_against_schema(metadata: dict[str, Any], schema: dict[str, Any]) -> None:
    """A 400 naming the key of every place the metadata does not fit the converter's schema."""
    import jsonschema

    problems = []
    for err in jsonschema.Draft7Validator(schema).iter_errors(json_safe(metadata)):
        key = ".".join(str(p) for p in err.path) or "(all)"
        problems.append(f"metadata {key}: {err.message}")
    if problems:
        raise BadRequest("Problem in the metadata:\n" + "\n".join(problems[:20]))


def merged_metadata(
    *,
    converter: Any,
    metadata: dict[str, Any] | None = None,
    yaml_metadata: ConversionMetadata | None = None,
    hardware: Hardware | None = None,
) -> dict[str, Any]:
    """The files' metadata, then the form's, then the YAML's subject, session, devices,
    electrodes and imaging plane (nwb/convert/hardware.py)."""
    merged = source_metadata(converter=converter)
    if metadata:
        if not isinstance(metadata, dict):
            raise BadRequest("metadata must be an object (NeuroConv's metadata: NWBFile, ...).")
        merged = deep_merge(merged, metadata)
    if yaml_metadata is not None:
        merged = deep_merge(merged, yaml_to_neuroconv(yaml_metadata))
    devices = hardware or yaml_metadata
    if devices is not None:
        merged = with_hardware(merged, meta=devices, converter=converter)
    return merged


def convert_streams(
    *,
    streams: Sequence[Stream],
    out: Path,
    metadata: dict[str, Any] | None = None,
    yaml_metadata: ConversionMetadata | None = None,
    hardware: Hardware | None = None,
    stub: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ConversionResult:
    """Write `streams` (checked with interfaces.check_source) into the NWB file `out`.

    `stub` writes only the first samples of each stream (NeuroConv's stub_test), a quick
    preview. Raises BadRequest (or MetadataError) for what the user can fix.
    """
    from neurodatashare.nwb.convert.pipeline import _write, make_nwbfile

    def step(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() != ".nwb":
        raise BadRequest(f"--out {out}: the output file name must end in .nwb.")
    if out.exists() and not overwrite:
        raise BadRequest(f"--out {out} already exists; pass --overwrite to replace it.")
    step("reading the source files", 0.05)
    converter = build_converter(streams=streams)
    if hardware or yaml_metadata:
        label_brain_areas(converter, meta=hardware or yaml_metadata)
    step("checking the metadata", 0.15)
    merged = merged_metadata(
        converter=converter, metadata=metadata, yaml_metadata=yaml_metadata, hardware=hardware
    )
    meta, start = check_metadata(merged)
    merged = deep_merge(merged, yaml_to_neuroconv(meta))  # the checked, normalized values
    merged.setdefault("NWBFile", {})["session_start_time"] = start.isoformat()
    merged["NWBFile"].pop("timezone", None)
    schema = metadata_schema(converter=converter)
    validate_against_schema(merged, schema)
    merged["NWBFile"]["session_start_time"] = start
    title = " + ".join(s.format for s in streams)
    nwbfile = make_nwbfile(meta, start, description=f"{title}, converted to NWB.")
    step("adding the data", 0.3)
    writing = WriteProgress(lambda f: step("writing the NWB file", 0.5 + 0.4 * f))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converter.add_to_nwbfile(
                nwbfile,
                metadata=merged,
                conversion_options=conversion_options(
                    converter=converter, stub=stub, progress=writing
                ),
            )
            step("writing the NWB file", 0.5)
            _write(nwbfile, out)
    except BadRequest:
        raise
    except Exception as exc:  # a reader or writer rejecting the data: say so
        raise BadRequest(f"Could not convert {title}: {type(exc).__name__}: {exc}") from exc
    step("written", 0.9)
    notes = []
    if stub:
        notes.append(
            f"A preview: only the first {PREVIEW_SECONDS:g} s of each recording, sorting and "
            "movie (the first samples of other streams) were written."
        )
    return ConversionResult(path=out, format=title, seconds=time.perf_counter() - t0, notes=notes)
