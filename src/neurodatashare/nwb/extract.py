"""NWB file -> dandischema asset metadata, plus the archive's own summary of the contents.

The output has the shape DANDI's `nwb2asset` gives (Participant, Session, approach,
measurementTechnique, variableMeasured), so DANDI clients and exports understand it, and
it is deterministic: it depends only on the file's bytes (the archive caches it by
sha256), so there are no wall-clock timestamps or random ids in it.

Only metadata and small arrays are read (table ids, index arrays, a location column, the
first and last timestamps), never a whole recording. It never gives up on a whole file:
an object it cannot summarise is skipped with a note in `nds:summary.notes`, and a file
pynwb cannot read at all still gets its subject, session and HDF5 types described.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from neurodatashare.metadata.assets_summary import summarize_assets as summarize_assets
from neurodatashare.metadata.vocabulary import match_sex, match_species, parse_age
from neurodatashare.nwb.facts import FileFacts, clean_text, parse_datetime, read_facts
from neurodatashare.nwb.read import OpenNWB, open_nwb

# Bump when the output of extract_asset_metadata changes for the same file.
EXTRACTOR_VERSION = "4"  # 3: intracellular cell ids (cell_ids, cell_sweeps); 4: devices

NWB_ENCODING_FORMAT = "application/x-nwb"
# Index or column arrays longer than this are not read whole while summarising.
MAX_SMALL_ARRAY = 10_000_000
MAX_NOTES = 50
MAX_CELLS = 1000  # cells listed in the summary (nds:summary.cell_ids)
MAX_CELL_SWEEPS = 20  # series paths listed per cell


def duration_between(start: datetime, end: datetime) -> str:
    """ISO 8601 duration from `start` to `end`, in days and seconds like DANDI writes it."""
    delta: timedelta = end - start
    out = "P"
    if delta.days:
        out += f"{delta.days}D"
    if delta.seconds or delta.microseconds:
        secs: float = delta.seconds + delta.microseconds / 1e6
        out += f"T{int(secs) if secs == int(secs) else secs}S"
    return out if out != "P" else "P0D"


# ------------------------------------------------------------------- neurodata types

# neurodata type -> (measurement technique, approach), the vocabulary DANDI derives
# from the types present in a file; kept identical so summaries match DANDI's.
_EPHYS, _OPHYS, _BEHAV = (
    "electrophysiological approach",
    "microscopy approach; cell population imaging",
    "behavioral approach",
)
NEURODATA_TERMS: dict[str, tuple[str | None, str | None]] = {
    "ElectricalSeries": (
        "multi electrode extracellular electrophysiology recording technique",
        _EPHYS,
    ),
    "SpikeEventSeries": ("spike sorting technique", _EPHYS),
    "FeatureExtraction": ("spike sorting technique", _EPHYS),
    "LFP": ("signal filtering technique", _EPHYS),
    "EventWaveform": ("spike sorting technique", _EPHYS),
    "EventDetection": ("spike sorting technique", _EPHYS),
    "ElectrodeGroup": ("surgical technique", _EPHYS),
    "PatchClampSeries": ("patch clamp technique", _EPHYS),
    "CurrentClampSeries": ("current clamp technique", _EPHYS),
    "CurrentClampStimulusSeries": ("current clamp technique", _EPHYS),
    "VoltageClampSeries": ("voltage clamp technique", _EPHYS),
    "VoltageClampStimulusSeries": ("voltage clamp technique", _EPHYS),
    "TwoPhotonSeries": ("two-photon microscopy technique", _OPHYS),
    "OnePhotonSeries": ("one-photon microscopy technique", _OPHYS),
    "OpticalChannel": ("surgical technique", _OPHYS),
    "ImagingPlane": (None, _OPHYS),
    "PlaneSegmentation": (None, _OPHYS),
    "Position": ("behavioral technique", _BEHAV),
    "SpatialSeries": ("behavioral technique", _BEHAV),
    "BehavioralEpochs": ("behavioral technique", _BEHAV),
    "BehavioralEvents": ("behavioral technique", _BEHAV),
    "BehavioralTimeSeries": ("behavioral technique", _BEHAV),
    "PupilTracking": ("behavioral technique", _BEHAV),
    "EyeTracking": ("behavioral technique", _BEHAV),
    "CompassDirection": ("behavioral technique", _BEHAV),
    "ProcessingModule": ("analytical technique", None),
    "RGBImage": ("photographic technique", None),
    "DecompositionSeries": ("fourier analysis technique", None),
    "Units": ("spike sorting technique", _EPHYS),
    "Spectrum": ("fourier analysis technique", None),
    "OptogeneticSeries": (None, "optogenetic approach"),
}

_UNHELPFUL_LOCATIONS = {"", "unknown", "none", "n/a", "na", "null"}


def _series_extent(ts: Any) -> tuple[float, float] | None:
    """(first, last) time of a TimeSeries, reading at most two timestamps."""
    try:
        if ts.timestamps is not None:
            n = len(ts.timestamps)
            if n == 0:
                return None
            return float(ts.timestamps[0]), float(ts.timestamps[n - 1])
        if ts.rate and ts.data is not None:
            start = float(ts.starting_time or 0.0)
            n = len(ts.data)
            return start, start + n / float(ts.rate)
    except Exception:
        return None
    return None


def _series_rate(ts: Any) -> float | None:
    """Sampling rate in Hz: the stored rate, or from the first 1000 timestamps."""
    try:
        if ts.rate:
            return float(ts.rate)
        if ts.timestamps is not None and len(ts.timestamps) > 1:
            import numpy as np

            head = np.asarray(ts.timestamps[:1000], dtype=float)
            step = float(np.median(np.diff(head)))
            return round(1.0 / step, 6) if step > 0 else None
    except Exception:
        return None
    return None


def _unit_spikes(units: Any) -> tuple[int, tuple[float, float] | None]:
    """Total spike count and (first, last) spike time, reading only the index array
    and two spike times per unit."""
    import numpy as np

    if "spike_times" not in units.colnames:
        return 0, None
    try:
        column = units["spike_times"]
        if len(column.data) > MAX_SMALL_ARRAY:
            return 0, None
        ends = np.asarray(column.data[:], dtype=np.int64)  # cumulative counts per unit
        if ends.size == 0 or ends[-1] == 0:
            return 0, None
        starts = np.r_[0, ends[:-1]]
        nonempty = ends > starts
        picks = np.unique(np.r_[starts[nonempty], ends[nonempty] - 1])
        values = np.asarray(column.target.data[picks.tolist()], dtype=float)
        return int(ends[-1]), (float(values.min()), float(values.max()))
    except Exception:
        return 0, None


def _table_extent(table: Any) -> tuple[float, float] | None:
    """Extent of a time-interval table (trials, epochs) from its first and last rows."""
    try:
        if "start_time" in table.colnames and "stop_time" in table.colnames and len(table):
            n = len(table)
            start = float(table["start_time"].data[0])
            stop = float(table["stop_time"].data[n - 1])
            return start, stop
    except Exception:
        return None
    return None


def type_name(obj: Any) -> str:
    """The type a container was stored as: pynwb's neurodata_type, or hdmf's data_type
    for hdmf-common types (DynamicTable, HERD...), which have no neurodata_type in hdmf 4+."""
    for attr in ("neurodata_type", "data_type"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(obj).__name__


def _locations(f: Any, notes: list[str]) -> set[str]:
    locations: set[str] = set()
    electrodes = f.electrodes
    if electrodes is not None and "location" in electrodes.colnames:
        column = electrodes["location"].data
        if len(column) <= MAX_SMALL_ARRAY:
            locations.update(clean_text(v) or "" for v in column[:])
        else:
            notes.append(
                f"/general/extracellular_ephys/electrodes: {len(column):,} rows; "
                "their locations were not read."
            )
    else:
        locations.update(clean_text(g.location) or "" for g in f.electrode_groups.values())
    locations.update(clean_text(p.location) or "" for p in f.imaging_planes.values())
    locations.update(clean_text(e.location) or "" for e in f.icephys_electrodes.values())
    return locations


def _empty_summary(nwb: OpenNWB, facts: FileFacts) -> dict[str, Any]:
    types = Counter(t for _, t in nwb.survey.typed.values())
    types.pop("NWBFile", None)
    return {
        "electrode_count": 0,
        "brain_locations": [],
        "unit_count": 0,
        "spike_count": 0,
        "roi_count": 0,
        "imaging_planes": [],
        "duration_s": None,
        "sampling_rates": {},
        "neurodata_types": dict(sorted(types.items())),
        "institution": facts.institution,
        "lab": facts.lab,
    }


def summarize_nwbfile(nwb: OpenNWB, facts: FileFacts | None = None) -> dict[str, Any]:
    """The archive's own summary of what a file holds (the "nds:summary" key)."""
    facts = facts or read_facts(nwb.h5)
    notes: list[str] = []
    survey = nwb.survey
    if nwb.nwbfile is None:
        summary = _empty_summary(nwb, facts)
        reason = nwb.read_error.message if nwb.read_error else "pynwb could not read it"
        notes.append(
            f"Only the subject, session and stored types are described: {reason} "
            "(neurodata_types are counted from the HDF5 attributes)."
        )
    else:
        summary = _summarize_objects(nwb, notes)
        summary["institution"] = facts.institution
        summary["lab"] = facts.lab
    if nwb.io is not None:
        from neurodatashare.nwb.structure import unknown_types

        for path, namespace, ndtype in unknown_types(survey, nwb.io.manager.type_map):
            notes.append(
                f"{path}: skipped, type '{ndtype}' (namespace '{namespace or '?'}') is not "
                "in the file's schema, so pynwb does not read it."
            )
    for link in survey.external_links:
        notes.append(
            f"{link.path}: external link to {link.target} in the file '{link.file}'; not "
            "described here."
        )
    for bomb in survey.bombs:
        notes.append(
            f"{bomb.path}: {bomb.nominal_bytes:,} bytes when decompressed from "
            f"{bomb.stored_bytes:,} on disk; only parts of it are ever read."
        )
    if survey.incomplete:
        notes.append("The file has too many objects to survey them all; the rest is skipped.")
    summary["external_links"] = [
        {"path": x.path, "file": x.file, "object": x.target} for x in survey.external_links
    ]
    if len(notes) > MAX_NOTES:
        notes = [*notes[:MAX_NOTES], f"... and {len(notes) - MAX_NOTES} more notes."]
    summary["notes"] = notes
    return summary


def _summarize_objects(nwb: OpenNWB, notes: list[str]) -> dict[str, Any]:
    from hdmf.common import DynamicTable
    from hdmf.container import Container
    from pynwb.base import TimeSeries
    from pynwb.misc import Units
    from pynwb.ophys import PlaneSegmentation

    f = nwb.nwbfile
    assert f is not None
    types: Counter[str] = Counter()
    rates: dict[str, float] = {}
    rate_paths: dict[str, str] = {}
    extents: list[tuple[float, float]] = []
    roi_count = unit_count = spike_count = 0

    # Sort by location in the file so every pass sees objects in the same order.
    objects = sorted(
        (o for o in f.objects.values() if isinstance(o, Container)),
        key=lambda o: nwb.object_path(o) or o.name,
    )
    for obj in objects:
        if obj is f:
            continue
        name = type_name(obj)
        types[name] += 1
        path = nwb.object_path(obj) or obj.name
        try:
            if isinstance(obj, TimeSeries):
                if (extent := _series_extent(obj)) is not None:
                    extents.append(extent)
                if (rate := _series_rate(obj)) is not None:
                    if obj.name in rates:  # same name in two places: key both by path
                        rates[rate_paths[obj.name]] = rates.pop(obj.name)
                        rates[path] = rate
                    else:
                        rates[obj.name] = rate
                        rate_paths[obj.name] = path
            elif isinstance(obj, Units):
                unit_count += len(obj.id)
                spikes, extent = _unit_spikes(obj)
                spike_count += spikes
                if extent is not None:
                    extents.append(extent)
            elif isinstance(obj, PlaneSegmentation):
                roi_count += len(obj.id)
            elif isinstance(obj, DynamicTable) and (extent := _table_extent(obj)) is not None:
                extents.append(extent)
        except Exception as exc:
            notes.append(f"{path} ({name}): skipped, it could not be read ({type(exc).__name__}).")

    try:
        electrodes = f.electrodes
        electrode_count = len(electrodes.id) if electrodes is not None else 0
        locations = _locations(f, notes)
    except Exception as exc:
        electrode_count, locations = 0, set()
        notes.append(f"/general/extracellular_ephys: skipped ({type(exc).__name__}).")

    try:
        cells = _icephys_cells(nwb)
    except Exception as exc:
        cells = {}
        notes.append(f"/general/intracellular_ephys: cells skipped ({type(exc).__name__}).")

    duration = None
    if extents:
        span = max(e for _, e in extents) - min(s for s, _ in extents)
        if math.isfinite(span) and 0 <= span < 5 * 365 * 86400:  # longer: broken times
            duration = round(span, 6)

    return {
        "electrode_count": electrode_count,
        "brain_locations": sorted(x for x in locations if x.lower() not in _UNHELPFUL_LOCATIONS),
        "unit_count": unit_count,
        "spike_count": spike_count,
        "roi_count": roi_count,
        "imaging_planes": sorted(f.imaging_planes),
        "duration_s": duration,
        "sampling_rates": dict(sorted(rates.items())),
        "neurodata_types": dict(sorted(types.items())),
        **({"cell_ids": sorted(cells), "cell_sweeps": cells} if cells else {}),
        "devices": _devices(f),
    }


MAX_DEVICES = 50


def _devices(f: Any) -> list[dict[str, str]]:
    """The file's devices as search and people read them (probe names live here:
    "Neuropixels 1.0" is a device description, not a measurement technique)."""
    out = []
    for device in list(f.devices.values())[:MAX_DEVICES]:
        item = {"name": clean_text(device.name) or ""}
        for field in ("description", "manufacturer"):
            if value := clean_text(getattr(device, field, None)):
                item[field] = value[:500]
        model = getattr(device, "model", None)  # NWB 2.9 DeviceModel
        if model is not None and (name := clean_text(getattr(model, "name", None))):
            item["model"] = name[:200]
        out.append(item)
    return out


def _icephys_cells(nwb: OpenNWB) -> dict[str, list[str]]:
    """Each recorded cell (IntracellularElectrode.cell_id) with the paths of its first
    recorded responses, so the archive can link the file to the cell's other data."""
    from pynwb.icephys import (
        CurrentClampStimulusSeries,
        PatchClampSeries,
        VoltageClampStimulusSeries,
    )

    f = nwb.nwbfile
    assert f is not None
    cells: dict[str, list[str]] = {}
    for electrode in f.icephys_electrodes.values():
        cell = clean_text(getattr(electrode, "cell_id", None))
        if cell:
            cells.setdefault(cell[:200], [])
    series = sorted(
        (
            o
            for o in f.objects.values()
            if isinstance(o, PatchClampSeries)
            and not isinstance(o, CurrentClampStimulusSeries | VoltageClampStimulusSeries)
        ),
        key=lambda o: nwb.object_path(o) or o.name,
    )
    for s in series:
        cell = clean_text(getattr(s.electrode, "cell_id", None))
        paths = cells.get(cell[:200]) if cell else None
        if paths is not None and len(paths) < MAX_CELL_SWEEPS:
            paths.append(nwb.object_path(s) or s.name)
    return dict(sorted(cells.items())[:MAX_CELLS])


def _participant(facts: FileFacts, start: datetime | None) -> dict[str, Any] | None:
    from dandischema import models

    subject = facts.subject
    if subject is None or subject.subject_id is None:
        return None  # Participant needs an identifier; validation reports the gap
    fields: dict[str, Any] = {"identifier": subject.subject_id}
    species = match_species(subject.species)
    if species is not None:
        fields["species"] = models.SpeciesType(identifier=species.identifier, name=species.name)
    sex = match_sex(subject.sex)
    if sex is not None:
        fields["sex"] = models.SexType(identifier=sex[0], name=sex[1])
    age = _age_property(facts, start)
    if age is not None:
        fields["age"] = age
    if subject.genotype:
        fields["genotype"] = subject.genotype
    strain = subject.strain
    if strain and strain.lower().startswith("cellline:"):
        fields["cellLine"] = strain.split(":", 1)[1].strip()  # DANDI's cell-line convention
    elif strain:
        fields["strain"] = models.StrainType(name=strain)
    try:
        participant = models.Participant(**fields)
    except Exception:
        participant = models.Participant(identifier=subject.subject_id)
    return participant.model_dump(mode="json", exclude_none=True)


def _age_property(facts: FileFacts, start: datetime | None) -> Any:
    from dandischema import models

    subject = facts.subject
    assert subject is not None
    value: str | None = None
    reference = "Birth"
    dob = parse_datetime(subject.date_of_birth)
    if dob is not None and start is not None:
        try:
            value = duration_between(dob, start)
        except (TypeError, ValueError):  # one naive, one aware: no honest answer
            value = None
    if value is None:
        try:
            age = parse_age(subject.age)
        except ValueError:
            return None
        value, reference = age.value, age.reference
        if (subject.age_reference or "").lower() == "gestational":
            reference = "Gestational"
    return models.PropertyValue(
        value=value,
        unitText="ISO-8601 duration",
        valueReference=models.PropertyValue(
            value=getattr(models.AgeReferenceType, f"{reference}Reference")
        ),
    )


def _session(facts: FileFacts, start: datetime | None, duration: float | None) -> dict[str, Any]:
    from dandischema import models

    session_id = facts.session_id
    agents = [
        models.Organization(name=name)
        for name in dict.fromkeys(filter(None, (facts.institution, facts.lab)))
    ]
    end = start + timedelta(seconds=duration) if start is not None and duration else None
    session = models.Session(
        identifier=session_id,
        name=(session_id or "Acquisition session")[:150],
        description=facts.session_description,
        startDate=start,
        endDate=end,
        wasAssociatedWith=agents or None,
    )
    return session.model_dump(mode="json", exclude_none=True)


def asset_metadata_from_open(nwb: OpenNWB) -> dict[str, Any]:
    """extract_asset_metadata on a file that is already open (e.g. while validating it)."""
    from dandischema import models
    from dandischema.consts import DANDI_SCHEMA_VERSION

    facts = read_facts(nwb.h5)
    summary = summarize_nwbfile(nwb, facts)
    start = facts.start

    present = [t for t in summary["neurodata_types"] if t in NEURODATA_TERMS]
    techniques = sorted({t for t, _ in (NEURODATA_TERMS[n] for n in present) if t})
    approaches = sorted({a for _, a in (NEURODATA_TERMS[n] for n in present) if a})

    meta: dict[str, Any] = {
        "schemaKey": "BareAsset",
        "schemaVersion": DANDI_SCHEMA_VERSION,
        "encodingFormat": NWB_ENCODING_FORMAT,
    }
    if nwb.path.is_file():  # an NWB-Zarr's size is its Zarr's, set by the archive
        meta["contentSize"] = nwb.path.stat().st_size
    if participant := _participant(facts, start):
        meta["wasAttributedTo"] = [participant]
    try:
        meta["wasGeneratedBy"] = [_session(facts, start, summary["duration_s"])]
    except Exception:  # e.g. an end before the start: keep the rest
        meta["wasGeneratedBy"] = [_session(facts, None, None)]
    meta["approach"] = [
        models.ApproachType(name=a).model_dump(mode="json", exclude_none=True) for a in approaches
    ]
    meta["measurementTechnique"] = [
        models.MeasurementTechniqueType(name=t).model_dump(mode="json", exclude_none=True)
        for t in techniques
    ]
    meta["variableMeasured"] = [
        models.PropertyValue(value=n).model_dump(mode="json", exclude_none=True)
        for n in sorted(present)
    ]
    if facts.keywords:
        meta["keywords"] = facts.keywords
    dois = [p for p in facts.related_publications if p.startswith("https://doi.org/")]
    if dois:
        meta["relatedResource"] = [
            {"schemaKey": "Resource", "identifier": d, "relation": "dcite:IsDescribedBy"}
            for d in dois
        ]
    meta["nds:summary"] = summary
    return meta


def extract_asset_metadata(path: Path) -> dict[str, Any]:
    """Read an NWB file once and return its asset metadata as a JSON-able dict.

    The dict has dandischema BareAsset fields except those the archive adds (`path`,
    `digest`, `access`), plus our "nds:summary" key. Raises
    neurodatashare.nwb.read.NWBReadError if the file is not an NWB (HDF5) file at all; a
    file pynwb cannot read still gets its subject and session.
    """
    with open_nwb(path) as nwb:
        return asset_metadata_from_open(nwb)
