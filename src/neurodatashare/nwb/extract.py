"""NWB file -> dandischema asset metadata, plus the archive's own summary of the contents.

The output has the shape DANDI's `nwb2asset` gives (Participant, Session, approach,
measurementTechnique, variableMeasured), so DANDI clients and exports understand it, and
it is deterministic: it depends only on the file's bytes (the archive caches it by
sha256), so there are no wall-clock timestamps or random ids in it.

Only metadata and small arrays are read (table ids, index arrays, a location column, the
first and last timestamps), never a whole recording.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from neurodatashare.nwb.read import OpenNWB, open_nwb

# Bump when the output of extract_asset_metadata changes for the same file.
EXTRACTOR_VERSION = "1"

NWB_ENCODING_FORMAT = "application/x-nwb"
NCBITAXON = "http://purl.obolibrary.org/obo/NCBITaxon_"
PATO = "http://purl.obolibrary.org/obo/PATO_"

# --------------------------------------------------------------------------- species


@dataclass(frozen=True)
class Species:
    taxon_id: str
    scientific: str  # "Mus musculus"
    common: str  # GenBank common name, as DANDI displays it: "House mouse"
    synonyms: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return NCBITAXON + self.taxon_id

    @property
    def name(self) -> str:
        # DANDI's display form, so summaries and searches line up with DANDI's.
        return f"{self.scientific} - {self.common}"


# The species DANDI's client recognises by name; anything else needs an NCBITaxon URL.
SPECIES: tuple[Species, ...] = (
    Species("10090", "Mus musculus", "House mouse", ("mouse",)),
    Species("9606", "Homo sapiens", "Human", ("human",)),
    Species("10116", "Rattus norvegicus", "Norway rat", ("rat", "brown rat")),
    Species("10117", "Rattus rattus", "Black rat"),
    Species("9544", "Macaca mulatta", "Rhesus monkey", ("rhesus", "rhesus macaque")),
    Species("9483", "Callithrix jacchus", "Common marmoset", ("marmoset",)),
    Species("7227", "Drosophila melanogaster", "Fruit fly", ("fruit fly",)),
    Species("7955", "Danio rerio", "Zebra fish", ("zebrafish",)),
    Species("6239", "Caenorhabditis elegans", "Roundworm", ("c. elegans",)),
    Species("9545", "Macaca nemestrina", "Pig-tailed macaque", ("pigtail macaque",)),
    Species("9548", "Macaca radiata", "Bonnet macaque", ("bonnet monkey",)),
    Species("10047", "Meriones unguiculatus", "Mongolian gerbil", ("gerbil",)),
    Species("30207", "Polistes fuscatus", "Common paper wasp"),
)

BINOMIAL_RE = re.compile(r"[A-Z][a-z]+ [a-z]+")
NCBITAXON_URL_RE = re.compile(r"https?://purl\.obolibrary\.org/obo/NCBITaxon_(\d+)/?", re.I)


@dataclass(frozen=True)
class SpeciesMatch:
    identifier: str | None  # NCBITaxon URL when known
    name: str | None
    exact: bool  # written the way DANDI requires: Latin binomial or NCBITaxon URL
    suggestion: str | None = None  # what to write instead, when not exact


def match_species(value: str | None) -> SpeciesMatch | None:
    """Interpret a Subject.species value; None when it cannot be interpreted at all."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if m := NCBITAXON_URL_RE.fullmatch(text):
        uri = NCBITAXON + m.group(1)
        known = next((s for s in SPECIES if s.uri == uri), None)
        # Unknown taxa keep their URL; looking the name up would need the network.
        return SpeciesMatch(uri, known.name if known else None, exact=True)
    lower = text.lower()
    for s in SPECIES:
        if text == s.scientific:
            return SpeciesMatch(s.uri, s.name, exact=True)
    for s in SPECIES:
        if lower in (s.scientific.lower(), s.name.lower(), s.common.lower(), *s.synonyms):
            return SpeciesMatch(s.uri, s.name, exact=False, suggestion=s.scientific)
    if BINOMIAL_RE.fullmatch(text):
        return SpeciesMatch(None, text, exact=True)
    return None


# ------------------------------------------------------------------------------- sex

_SEX = {
    "m": (PATO + "0000384", "Male"),
    "male": (PATO + "0000384", "Male"),
    "f": (PATO + "0000383", "Female"),
    "female": (PATO + "0000383", "Female"),
    "u": (None, "Unknown"),
    "unknown": (None, "Unknown"),
    "o": (None, "Other"),
    "other": (None, "Other"),
    # C. elegans convention (NWB best practice): XO male, XX hermaphrodite.
    "xo": (PATO + "0000384", "Male"),
    "xx": (PATO + "0001340", "Hermaphrodite"),
}
SEX_CODES = ("M", "F", "U", "O")


def match_sex(value: str | None) -> tuple[str | None, str | None] | None:
    """(PATO URL or None, display name) for a Subject.sex value, or None if unknown."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.lower().startswith("http"):
        return (text, None)
    return _SEX.get(text.lower())


# ------------------------------------------------------------------------------- age

_ISO_DURATION_RE = re.compile(
    r"P(?!$)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?"
    r"(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?"
    r"(?:(\d+(?:[.,]\d+)?)S)?)?",
    re.I,
)
# Approximate unit lengths, only used to check that a range increases.
_UNIT_SECONDS = (365.25 * 86400, 30.44 * 86400, 7 * 86400, 86400, 3600, 60, 1)
_FREE_UNITS = (
    ("Y", r"y(?:ears?|rs?)?"),
    ("M", r"mo(?:nths?)?|mos"),
    ("W", r"w(?:eeks?|ks?)?"),
    ("D", r"d(?:ays?)?"),
    ("H", r"h(?:ours?|rs?)?"),
    ("MIN", r"min(?:utes?|s)?"),
    ("S", r"s(?:ec(?:onds?|s)?)?"),
)
_UNIT_ALTERNATIVES = "|".join(f"(?P<{u}>{p})" for u, p in _FREE_UNITS)
# "90 days" and, as in "gestational week 15", "week 15".
_FREE_TOKEN_RE = re.compile(
    rf"(?P<qty>\d+(?:\.\d+)?)\s*(?:{_UNIT_ALTERNATIVES})\b"
    rf"|\b(?:{_UNIT_ALTERNATIVES.replace('?P<', '?P<x')})s?\s*(?P<xqty>\d+(?:\.\d+)?)",
    re.I,
)


def _iso_seconds(duration: str) -> float | None:
    """Approximate length of one ISO 8601 duration, or None if it is not one."""
    m = _ISO_DURATION_RE.fullmatch(duration)
    if not m:
        return None
    parts = [p.replace(",", ".") if p else None for p in m.groups()]
    filled = [p for p in parts if p is not None]
    if not filled or any("." in p for p in filled[:-1]):
        return None  # decimals are only allowed in the smallest unit
    return sum(float(p) * s for p, s in zip(parts, _UNIT_SECONDS, strict=True) if p is not None)


def _free_text_duration(text: str) -> str | None:
    """'90 days' -> 'P90D', '2 years 3 months' -> 'P2Y3M'; None if anything is left over."""
    found: dict[str, str] = {}
    rest = text
    for m in _FREE_TOKEN_RE.finditer(text):
        swapped = m.group("xqty") is not None
        unit = next(u for u, _ in _FREE_UNITS if m.group(f"x{u}" if swapped else u))
        if unit in found:
            return None
        qty = m.group("xqty" if swapped else "qty")
        found[unit] = qty[:-2] if qty.endswith(".0") else qty
        rest = rest.replace(m.group(0), " ", 1)
    if not found or re.sub(r"[\s,;:.]|and|old", "", rest, flags=re.I):
        return None
    date = "".join(f"{found[u]}{u}" for u in ("Y", "M", "W", "D") if u in found)
    time = "".join(f"{found[u]}{u[0]}" for u in ("H", "MIN", "S") if u in found)
    return "P" + date + (f"T{time}" if time else "")


@dataclass(frozen=True)
class Age:
    value: str  # ISO 8601 duration or range, e.g. "P90D", "P2M/P3M", "P90D/"
    reference: str  # "Birth" or "Gestational"
    exact: bool  # already written as ISO 8601 (what DANDI requires)


def parse_age(value: str | None) -> Age:
    """Read a Subject.age value. Raises ValueError with a plain-words reason."""
    if not value or not value.strip():
        raise ValueError("the age is empty")
    text = value.strip()
    reference = "Birth"
    if re.match(r"gest", text, re.I):
        reference = "Gestational"
        text = re.sub(r"^gest[a-z]*\s*", "", text, flags=re.I)
    if "/" in text:
        parts = [p.strip().upper() for p in text.split("/")]
        if len(parts) != 2 or not any(parts):
            raise ValueError("an age range must look like 'P2M/P3M' or 'P90D/'")
        seconds = []
        for part in parts:
            if part:
                s = _iso_seconds(part)
                if s is None:
                    raise ValueError(f"'{part}' in the range is not an ISO 8601 duration")
                seconds.append(s)
        if len(seconds) == 2 and seconds[0] >= seconds[1]:
            raise ValueError("the upper bound of the age range must be larger than the lower")
        normal = "/".join(parts).replace(",", ".")
        return Age(normal, reference, exact=normal == text)
    if _iso_seconds(text.upper()) is not None:
        normal = text.upper().replace(",", ".")
        return Age(normal, reference, exact=normal == text)
    free = _free_text_duration(text)
    if free is None:
        raise ValueError(f"'{value.strip()}' is not an ISO 8601 duration such as 'P90D'")
    return Age(free, reference, exact=False)


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


# ------------------------------------------------------------------------ extraction


def clean_text(value: Any) -> str | None:
    """A stripped string from an HDF5 value (bytes or str), or None when empty."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def raw_datetime(nwb: OpenNWB, h5_path: str) -> tuple[str | None, datetime | None]:
    """A date-time exactly as stored, and parsed without guessing a timezone.

    pynwb attaches the *reading* machine's timezone to a naive time, which would make the
    result depend on where it runs; the stored string does not.
    """
    try:
        raw = nwb.h5[h5_path][()]
    except Exception:
        return None, None
    text = clean_text(raw)
    if text is None:
        return None, None
    try:
        return text, datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text, None


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


def summarize_nwbfile(nwb: OpenNWB) -> dict[str, Any]:
    """The archive's own summary of what a file holds (the "nds:summary" key)."""
    from hdmf.common import DynamicTable
    from hdmf.container import Container
    from pynwb.base import TimeSeries
    from pynwb.misc import Units
    from pynwb.ophys import PlaneSegmentation

    f = nwb.nwbfile
    types: Counter[str] = Counter()
    rates: dict[str, float] = {}
    rate_paths: dict[str, str] = {}
    extents: list[tuple[float, float]] = []
    roi_count = unit_count = spike_count = 0
    locations: set[str] = set()

    # Sort by location in the file so every pass sees objects in the same order.
    objects = sorted(
        (o for o in f.objects.values() if isinstance(o, Container)),
        key=lambda o: nwb.object_path(o) or o.name,
    )
    for obj in objects:
        if obj is f:
            continue
        types[obj.neurodata_type] += 1
        if isinstance(obj, TimeSeries):
            if (extent := _series_extent(obj)) is not None:
                extents.append(extent)
            if (rate := _series_rate(obj)) is not None:
                path = nwb.object_path(obj) or obj.name
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

    electrodes = f.electrodes
    electrode_count = len(electrodes.id) if electrodes is not None else 0
    if electrodes is not None and "location" in electrodes.colnames:
        locations.update(clean_text(v) or "" for v in electrodes["location"].data[:])
    else:
        locations.update(clean_text(g.location) or "" for g in f.electrode_groups.values())
    locations.update(clean_text(p.location) or "" for p in f.imaging_planes.values())
    locations.update(clean_text(e.location) or "" for e in f.icephys_electrodes.values())

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
        "institution": clean_text(f.institution),
        "lab": clean_text(f.lab),
    }


def _participant(nwb: OpenNWB, start: datetime | None) -> dict[str, Any] | None:
    from dandischema import models

    subject = nwb.nwbfile.subject
    subject_id = clean_text(getattr(subject, "subject_id", None))
    if subject is None or subject_id is None:
        return None  # Participant needs an identifier; validation reports the gap
    fields: dict[str, Any] = {"identifier": subject_id}
    species = match_species(clean_text(subject.species))
    if species is not None:
        fields["species"] = models.SpeciesType(identifier=species.identifier, name=species.name)
    sex = match_sex(clean_text(subject.sex))
    if sex is not None:
        fields["sex"] = models.SexType(identifier=sex[0], name=sex[1])
    age = _age_property(nwb, subject, start)
    if age is not None:
        fields["age"] = age
    if genotype := clean_text(subject.genotype):
        fields["genotype"] = genotype
    strain = clean_text(subject.strain)
    if strain and strain.lower().startswith("cellline:"):
        fields["cellLine"] = strain.split(":", 1)[1].strip()  # DANDI's cell-line convention
    elif strain:
        fields["strain"] = models.StrainType(name=strain)
    try:
        participant = models.Participant(**fields)
    except Exception:
        participant = models.Participant(identifier=subject_id)
    return participant.model_dump(mode="json", exclude_none=True)


def _age_property(nwb: OpenNWB, subject: Any, start: datetime | None) -> Any:
    from dandischema import models

    value: str | None = None
    reference = "Birth"
    _, dob = raw_datetime(nwb, "general/subject/date_of_birth")
    if dob is not None and start is not None:
        try:
            value = duration_between(dob, start)
        except (TypeError, ValueError):  # one naive, one aware: no honest answer
            value = None
    if value is None:
        try:
            age = parse_age(clean_text(subject.age))
        except ValueError:
            return None
        value, reference = age.value, age.reference
    return models.PropertyValue(
        value=value,
        unitText="ISO-8601 duration",
        valueReference=models.PropertyValue(
            value=getattr(models.AgeReferenceType, f"{reference}Reference")
        ),
    )


def _session(nwb: OpenNWB, start: datetime | None, duration: float | None) -> dict[str, Any]:
    from dandischema import models

    f = nwb.nwbfile
    session_id = clean_text(f.session_id)
    agents = [
        models.Organization(name=name)
        for name in dict.fromkeys(filter(None, (clean_text(f.institution), clean_text(f.lab))))
    ]
    end = start + timedelta(seconds=duration) if start is not None and duration else None
    session = models.Session(
        identifier=session_id,
        name=(session_id or "Acquisition session")[:150],
        description=clean_text(f.session_description),
        startDate=start,
        endDate=end,
        wasAssociatedWith=agents or None,
    )
    return session.model_dump(mode="json", exclude_none=True)


def _list_of_text(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        value = [value]
    return [t for v in value if (t := clean_text(v))]


def asset_metadata_from_open(nwb: OpenNWB) -> dict[str, Any]:
    """extract_asset_metadata on a file that is already open (e.g. while validating it)."""
    from dandischema import models
    from dandischema.consts import DANDI_SCHEMA_VERSION

    f = nwb.nwbfile
    summary = summarize_nwbfile(nwb)
    _, start = raw_datetime(nwb, "session_start_time")

    present = [t for t in summary["neurodata_types"] if t in NEURODATA_TERMS]
    techniques = sorted({t for t, _ in (NEURODATA_TERMS[n] for n in present) if t})
    approaches = sorted({a for _, a in (NEURODATA_TERMS[n] for n in present) if a})

    meta: dict[str, Any] = {
        "schemaKey": "BareAsset",
        "schemaVersion": DANDI_SCHEMA_VERSION,
        "encodingFormat": NWB_ENCODING_FORMAT,
        "contentSize": nwb.path.stat().st_size,
    }
    if participant := _participant(nwb, start):
        meta["wasAttributedTo"] = [participant]
    meta["wasGeneratedBy"] = [_session(nwb, start, summary["duration_s"])]
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
    if keywords := _list_of_text(f.keywords):
        meta["keywords"] = keywords
    dois = [p for p in _list_of_text(f.related_publications) if p.startswith("https://doi.org/")]
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
    neurodatashare.nwb.read.NWBReadError if the file cannot be opened as NWB.
    """
    with open_nwb(path) as nwb:
        return asset_metadata_from_open(nwb)


def summarize_assets(assets: list[dict[str, Any]], *, sizes: list[int]) -> dict[str, Any]:
    """The version-level `assetsSummary` (dandischema AssetsSummary) of a list of assets.

    `sizes[i]` is the size in bytes of `assets[i]`'s blob. Assets without a `path` count
    subjects from their Participant only (DANDI also reads `sub-<id>` from paths).
    """
    from dandischema.consts import DANDI_SCHEMA_VERSION
    from dandischema.metadata import aggregate_assets_summary

    if len(assets) != len(sizes):
        raise ValueError(f"got {len(assets)} assets but {len(sizes)} sizes")
    prepared = []
    for asset, size in zip(assets, sizes, strict=True):
        prepared.append(
            {
                **asset,
                "schemaVersion": asset.get("schemaVersion") or DANDI_SCHEMA_VERSION,
                "encodingFormat": asset.get("encodingFormat") or NWB_ENCODING_FORMAT,
                "path": asset.get("path") or "",
                "contentSize": int(size),
            }
        )
    return aggregate_assets_summary(prepared)
