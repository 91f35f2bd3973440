"""The metadata YAML a scientist writes for ``nds convert``: a pydantic model that checks it
the way they would expect and turns everyday wording into what NWB and DANDI require.

* species: ``mouse``, ``house mouse``, ``Mus musculus`` and ``NCBITaxon:10090`` all become
  ``Mus musculus`` (the archive's species table, metadata/vocabulary.py; any other Latin
  name or NCBITaxon id is accepted as written);
* age: ``90 days``, ``12 weeks``, ``3 months``, ``1 year 2 months``, ``gestational week 15``
  or ISO 8601 ``P90D`` become ISO 8601 durations (``P90D/P120D`` ranges too);
* sex: ``male``/``female``/``unknown``/``other`` and ``M``/``F``/``U``/``O`` (``XO``/``XX``,
  male/hermaphrodite, for C. elegans);
* the session start time must carry a timezone (or ``session.timezone`` names one);
* experimenters become ``Last, First``; weights become ``<number> <unit>``.

Every problem becomes a :class:`MetadataError` whose message names the YAML key (such as
``subject.species``) and shows a valid example, never a traceback.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from neurodatashare.errors import BadRequest
from neurodatashare.metadata import vocabulary

# --- a complete example (shown by `nds convert --help`, docs/convert.md and errors) ------

EXAMPLE_YAML = """\
subject:
  subject_id: mouse01          # no slashes
  species: mouse               # or "Mus musculus", "rat", "human", "NCBITaxon:10090"
  sex: female                  # male / female / unknown / other (or M / F / U / O)
  age: 90 days                 # or "P90D", "12 weeks", "3 months"; or give date_of_birth
  genotype: Camk2a-tTA/wt;tetO-GCaMP6s/wt
  strain: C57BL/6J
  weight: 25 g
session:
  session_id: day1
  session_start_time: 2024-03-04T10:15:00+01:00   # must include a timezone
  # timezone: Europe/Berlin    # instead, if the start time comes from the data files
  description: Orientation discrimination with a 64-channel probe in VISp
  experimenter: ["Doe, Jane"]  # "Last, First" in quotes; a list for several people
  lab: Systems Neuroscience Lab
  institution: University of Somewhere
  keywords: [visual cortex, decision making]
devices:
  - name: Probe
    description: Two-shank 64-channel silicon probe
    manufacturer: Cambridge NeuroTech
  - name: Microscope
    description: Resonant-scanning two-photon microscope
    manufacturer: Thorlabs
ecephys:
  device: Probe                # one of the devices above
  location: VISp               # brain region of the electrodes
ophys:
  device: Microscope
  location: VISp
  indicator: GCaMP6s
  excitation_lambda: 920       # nm
  imaging_rate: 30.0           # Hz (needed for TIFF stacks, which do not record it)
"""

#: The smallest valid file, and per-key examples used in error messages.
FIELD_EXAMPLES: dict[str, str] = {
    "subject": "subject:\n  subject_id: mouse01\n  species: mouse\n  sex: female\n  age: 90 days",
    "subject.subject_id": "subject:\n  subject_id: mouse01",
    "subject.species": "subject:\n  species: Mus musculus   # or mouse, rat, NCBITaxon:10090",
    "subject.sex": "subject:\n  sex: female              # male, female, unknown, other (M/F/U/O)",
    "subject.age": "subject:\n  age: 90 days             # or P90D, 12 weeks, 3 months, P90D/P120D",
    "subject.date_of_birth": "subject:\n  date_of_birth: 2023-12-05T00:00:00+00:00",
    "subject.weight": "subject:\n  weight: 25 g",
    "session": (
        "session:\n  session_start_time: 2024-03-04T10:15:00+01:00\n"
        "  description: Visual task with a silicon probe in VISp"
    ),
    "session.session_id": "session:\n  session_id: day1",
    "session.session_start_time": "session:\n  session_start_time: 2024-03-04T10:15:00+01:00",
    "session.timezone": "session:\n  timezone: Europe/Berlin   # an IANA name, or +01:00",
    "session.description": "session:\n  description: Visual task with a silicon probe in VISp",
    "session.experimenter": 'session:\n  experimenter: ["Doe, Jane", "Roe, Richard"]',
    "session.keywords": "session:\n  keywords: [visual cortex, decision making]",
    "devices": "devices:\n  - name: Probe\n    description: 64-channel silicon probe",
    "ecephys": "ecephys:\n  device: Probe\n  location: CA1",
    "ecephys.device": "devices:\n  - name: Probe\necephys:\n  device: Probe",
    "ophys": "ophys:\n  indicator: GCaMP6s\n  location: VISp\n  excitation_lambda: 920",
    "ophys.device": "devices:\n  - name: Microscope\nophys:\n  device: Microscope",
    "ophys.imaging_rate": "ophys:\n  imaging_rate: 30.0         # frames per second",
    "timeseries": "timeseries:\n  name: running_speed\n  unit: m/s\n  rate: 50.0",
    "timeseries.rate": "timeseries:\n  rate: 50.0                # samples per second",
}


class MetadataError(BadRequest):
    """Bad conversion metadata; ``key`` is the YAML path of the first problem."""

    def __init__(self, key: str, problem: str, *, problems: list[tuple[str, str]] | None = None):
        self.key = key
        self.problems = problems or [(key, problem)]
        lines = []
        for k, p in self.problems:
            lines.append(f"{k}: {p}")
            example = _example_for(k)
            if example:
                lines.append("  A valid example:")
                lines.extend("    " + line for line in example.splitlines())
        super().__init__("Problem in the metadata:\n" + "\n".join(lines))


def _example_for(key: str) -> str | None:
    parts = key.split(".")
    while parts:
        k = ".".join(p for p in parts if not p.isdigit())
        if k in FIELD_EXAMPLES:
            return FIELD_EXAMPLES[k]
        parts.pop()
    return None


# --- species, sex, age: the archive's one vocabulary (metadata/vocabulary.py) ----------


def normalize_species(value: str) -> str:
    """A species as NWB/DANDI want it: the Latin name, or an NCBITaxon URL if unknown.

    >>> normalize_species("house mouse"), normalize_species("NCBITaxon:10116")
    ('Mus musculus', 'Rattus norvegicus')
    """
    return vocabulary.species_to_write(str(value))


def normalize_sex(value: str, *, species: str | None = None) -> str:
    """``male`` -> ``M`` and so on (``XO``/``XX`` for C. elegans)."""
    return vocabulary.sex_to_write(str(value), species=species)


def normalize_age(value: Any) -> str:
    """An age as an ISO 8601 duration (or ``lower/upper`` range).

    >>> [normalize_age(v) for v in ("P90D", "90 days", "12 weeks", "3 months", "1 year 2 months")]
    ['P90D', 'P90D', 'P12W', 'P3M', 'P1Y2M']
    """
    return _parse_age(value).value


def _parse_age(value: Any) -> vocabulary.Age:
    if isinstance(value, bool | int | float):
        raise ValueError(
            f"{value!r} has no unit: write e.g. '{value} days' or '{value} weeks' (or 'P{value}D')."
        )
    try:
        return vocabulary.parse_age(str(value))
    except ValueError as exc:
        raise ValueError(
            f"'{value}' is not an age I can read ({exc}): write e.g. '90 days', '12 weeks', "
            "'3 months', '1 year 2 months', 'gestational week 15' or ISO 8601 'P90D'."
        ) from None


# --- people, weight, time ------------------------------------------------------------------


def normalize_person(name: str) -> str:
    """``Jane Doe`` -> ``Doe, Jane``; names that already have a comma are kept."""
    text = " ".join(str(name).split())
    if not text:
        raise ValueError("an experimenter name is empty")
    if "," in text:
        return text
    words = text.split(" ")
    if len(words) == 2:
        return f"{words[1]}, {words[0]}"
    return text


_WEIGHT = re.compile(r"^(\d+(?:\.\d+)?)\s*(kg|g|mg|ug|μg|ng|pg)$", re.IGNORECASE)


def normalize_weight(value: Any) -> str:
    """``25 g`` / ``25g`` / ``0.025`` (kg) -> ``25 g`` / ``0.025 kg``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value} kg"
    m = _WEIGHT.match(str(value).strip())
    if not m:
        raise ValueError(f"'{value}' is not a weight: write a number and a unit, e.g. '25 g'.")
    return f"{m.group(1)} {m.group(2).lower()}"


def parse_timezone(value: str) -> Any:
    """An IANA zone (``Europe/Berlin``), ``UTC``, or an offset like ``+01:00``."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = str(value).strip()
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", text)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return timezone(sign * delta)
    if text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"'{value}' is not a timezone: use an IANA name such as 'Europe/Berlin' or "
            "'America/New_York', or an offset such as '+01:00'."
        ) from exc


def _aware(value: Any, key: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"'{value}' is not a date and time: write it as 2024-03-04T10:15:00+01:00."
            ) from exc
    if not isinstance(value, datetime):
        raise ValueError(
            f"{value!r} is not a date and time: write it as 2024-03-04T10:15:00+01:00."
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"'{value.isoformat()}' has no timezone: add the UTC offset, e.g. "
            f"'{value.isoformat()}+01:00'"
            + (", or name the zone in session.timezone" if key == "session_start_time" else "")
            + "."
        )
    return value


def _no_slash(value: str, what: str) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError(f"{what} is empty")
    if "/" in text or "\\" in text:
        raise ValueError(f"'{value}' contains a slash; DANDI uses the {what} in file names.")
    return text


# --- the models ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubjectMetadata(_Strict):
    subject_id: str
    species: str
    sex: str
    age: str | None = None
    date_of_birth: datetime | None = None
    age_reference: Literal["birth", "gestational"] | None = None
    genotype: str | None = None
    strain: str | None = None
    weight: str | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _gestational(cls, data: Any) -> Any:
        """'gestational week 15' is stored as age P15W with age__reference 'gestational'."""
        if not isinstance(data, dict) or not isinstance(data.get("age"), str):
            return data
        try:
            age = vocabulary.parse_age(data["age"])
        except ValueError:
            return data  # the age validator explains
        if age.reference != "Gestational":
            return data
        if data.get("age_reference") == "birth":
            raise ValueError("the age says 'gestational' but age_reference is 'birth'")
        return {**data, "age": age.value, "age_reference": "gestational"}

    @field_validator("subject_id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise ValueError(f"{v!r} is not an identifier: write e.g. 'mouse01'.")
        return _no_slash(str(v), "subject_id")

    @field_validator("species", mode="before")
    @classmethod
    def _species(cls, v: Any) -> str:
        return normalize_species(v)

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, v: Any, info: ValidationInfo) -> str:
        return normalize_sex(v, species=info.data.get("species"))

    @field_validator("age", mode="before")
    @classmethod
    def _age(cls, v: Any) -> str | None:
        return None if v is None else normalize_age(v)

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, v: Any) -> str | None:
        return None if v is None else normalize_weight(v)

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _dob(cls, v: Any) -> datetime | None:
        if v is None:
            return None
        if isinstance(v, date) and not isinstance(v, datetime):
            return datetime(v.year, v.month, v.day, tzinfo=UTC)  # a plain YAML date
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
            d = date.fromisoformat(v.strip())
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        return _aware(v, "date_of_birth")

    @model_validator(mode="after")
    def _age_or_birth(self) -> SubjectMetadata:
        if self.age is None and self.date_of_birth is None:
            raise ValueError("give the subject's age (e.g. 'age: 90 days') or its date_of_birth")
        return self


class SessionMetadata(_Strict):
    session_id: str | None = None
    session_start_time: datetime | None = None
    timezone: str | None = None
    description: str | None = None
    identifier: str | None = None
    experimenter: list[str] = Field(default_factory=list)
    lab: str | None = None
    institution: str | None = None
    experiment_description: str | None = None
    keywords: list[str] = Field(default_factory=list)
    related_publications: list[str] = Field(default_factory=list)
    protocol: str | None = None
    notes: str | None = None
    surgery: str | None = None
    virus: str | None = None
    pharmacology: str | None = None

    @field_validator("session_id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str | None:
        return None if v is None else _no_slash(v, "session_id")

    @field_validator("session_start_time", mode="before")
    @classmethod
    def _start(cls, v: Any) -> datetime | None:
        return None if v is None else _aware(v, "session_start_time")

    @field_validator("timezone", mode="before")
    @classmethod
    def _tz(cls, v: Any) -> str | None:
        if v is None:
            return None
        parse_timezone(v)
        return str(v).strip()

    @field_validator("experimenter", "keywords", "related_publications", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> list[str]:
        if v is None:
            return []
        if isinstance(v, str):
            return [v]
        return [str(x) for x in v]

    @field_validator("experimenter")
    @classmethod
    def _people(cls, v: list[str]) -> list[str]:
        return [normalize_person(x) for x in v]

    def tzinfo(self) -> Any:
        return parse_timezone(self.timezone) if self.timezone else None


class DeviceMetadata(_Strict):
    name: str
    description: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str:
        return _no_slash(v, "device name")


class EcephysMetadata(_Strict):
    device: str | None = None
    location: str | None = None
    description: str | None = None  # of the electrode group(s)


class OphysMetadata(_Strict):
    device: str | None = None
    location: str | None = None
    indicator: str | None = None
    excitation_lambda: float | None = None
    emission_lambda: float | None = None
    imaging_rate: float | None = Field(default=None, gt=0)
    description: str | None = None


class TimeSeriesMetadata(_Strict):
    name: str = "TimeSeries"
    description: str | None = None
    unit: str = "n.a."
    rate: float | None = Field(default=None, gt=0)
    starting_time: float = 0.0
    module: str | None = None  # e.g. "behavior": store in processing/behavior, else acquisition
    columns: dict[str, str] = Field(default_factory=dict)  # column -> description (CSV)


class TableMetadata(_Strict):
    description: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)  # column -> description


def check_devices(meta: Any) -> None:
    """Device names are unique, and `ecephys.device` / `ophys.device` name one of them."""
    names = [d.name for d in meta.devices]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"devices: the name '{dupes[0]}' is used twice")
    for section, ref in (("ecephys", meta.ecephys.device), ("ophys", meta.ophys.device)):
        if ref is not None and ref not in names:
            listed = ", ".join(names) or "none"
            raise _KeyedError(
                f"{section}.device",
                f"'{ref}' is not one of the devices listed under 'devices' ({listed}).",
            )


class ConversionMetadata(_Strict):
    """Everything ``nds convert`` reads from the metadata YAML."""

    subject: SubjectMetadata
    session: SessionMetadata = Field(default_factory=SessionMetadata)
    devices: list[DeviceMetadata] = Field(default_factory=list)
    ecephys: EcephysMetadata = Field(default_factory=EcephysMetadata)
    ophys: OphysMetadata = Field(default_factory=OphysMetadata)
    timeseries: TimeSeriesMetadata = Field(default_factory=TimeSeriesMetadata)
    trials: TableMetadata = Field(default_factory=TableMetadata)
    events: TableMetadata = Field(default_factory=TableMetadata)

    @model_validator(mode="after")
    def _devices(self) -> ConversionMetadata:
        check_devices(self)
        return self

    def device(self, name: str | None) -> DeviceMetadata | None:
        for d in self.devices:
            if d.name == name:
                return d
        return None

    def start_time(self, from_data: datetime | None) -> datetime:
        """The session start time: the YAML's, else the data's made timezone-aware."""
        if self.session.session_start_time is not None:
            return self.session.session_start_time
        if from_data is None:
            raise MetadataError(
                "session.session_start_time",
                "the data files do not record when the session started; please give it.",
            )
        if from_data.tzinfo is not None and from_data.utcoffset() is not None:
            return from_data
        tz = self.session.tzinfo()
        if tz is None:
            raise MetadataError(
                "session.timezone",
                f"the data files say the session started at {from_data.isoformat()} but not in "
                "which timezone; name it (or give session.session_start_time with an offset).",
            )
        return from_data.replace(tzinfo=tz)


class _KeyedError(ValueError):
    """A validation problem that belongs to a key other than where it was found."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


# --- loading -------------------------------------------------------------------------


def _loc_to_key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _fields_of(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc`` (for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        ann = fields[part].annotation
        args = getattr(ann, "__args__", ())
        current = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def parse_metadata(data: Any, *, source: str = "metadata") -> ConversionMetadata:
    """Validate a metadata mapping, raising :class:`MetadataError` with every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MetadataError(
            "subject",
            f"{source} should be a YAML mapping with a 'subject' section, "
            f"not {type(data).__name__}.",
        )
    return validated(ConversionMetadata, data)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any) -> M:
    """`model` from `data`, or a MetadataError with every problem keyed by its YAML path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = _loc_to_key(loc)
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, _KeyedError):
                problems.append((ctx_error.key, ctx_error.message))
                continue
            kind = err["type"]
            if kind == "missing":
                what = loc[-1] if loc else "subject"
                problems.append((key or str(what), "is required but missing."))
            elif kind == "extra_forbidden":
                valid = _fields_of(model, loc[:-1])
                close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                allowed = f" Allowed here: {', '.join(valid)}." if valid else ""
                problems.append((key, f"unknown key.{hint}{allowed}"))
            elif isinstance(ctx_error, ValueError):
                problems.append((key, str(ctx_error)))
            else:
                msg = err["msg"]
                problems.append((key, f"{msg} (got {err.get('input')!r})."))
        first = problems[0]
        raise MetadataError(first[0], first[1], problems=problems) from None


def load_metadata(path: Path | str) -> ConversionMetadata:
    """Read and validate a metadata YAML file."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"Cannot read the metadata file {p}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadRequest(
            f"{p} is not valid YAML{where}: {problem}. A complete example:\n\n{EXAMPLE_YAML}"
        ) from exc
    return parse_metadata(data, source=str(p))
