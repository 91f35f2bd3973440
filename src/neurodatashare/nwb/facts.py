"""Who, when and where of an NWB file, read straight from its HDF5 datasets.

The publishing rules and the subject/session part of metadata extraction read these
rather than pynwb's NWBFile, for two reasons: a file pynwb cannot read (a soft-link cycle,
an unknown extension, a missing identifier) still gets its subject and session described
and its metadata rules checked; and values come exactly as stored (pynwb attaches the
*reading* machine's timezone to a naive time, which would make results depend on where
they run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h5py


def clean_text(value: Any) -> str | None:
    """A stripped string from an HDF5 value (bytes or str), or None when empty."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def _value(h5: h5py.File, path: str) -> Any:
    try:
        obj = h5.get(path)
        if obj is None or not hasattr(obj, "shape"):
            return None
        if obj.shape == ():
            return obj[()]
        if obj.ndim == 1 and obj.shape[0] <= 10_000:
            return list(obj[()])
    except Exception:
        return None
    return None


def read_text(h5: h5py.File, path: str) -> str | None:
    value = _value(h5, path)
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return clean_text(value)


def read_texts(h5: h5py.File, path: str) -> list[str]:
    value = _value(h5, path)
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    return [t for v in value if (t := clean_text(v))]


def parse_datetime(text: str | None) -> datetime | None:
    """An ISO 8601 date-time as stored, without guessing a timezone."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class SubjectFacts:
    subject_id: str | None
    species: str | None
    sex: str | None
    age: str | None
    age_reference: str | None  # the age dataset's "reference" attribute ("gestational")
    date_of_birth: str | None
    genotype: str | None
    strain: str | None


@dataclass(frozen=True)
class FileFacts:
    identifier: str | None
    has_identifier: bool  # the dataset exists (it may still be empty)
    session_description: str | None
    session_start_time: str | None
    session_id: str | None
    institution: str | None
    lab: str | None
    keywords: list[str]
    related_publications: list[str]
    subject: SubjectFacts | None

    @property
    def start(self) -> datetime | None:
        return parse_datetime(self.session_start_time)


def read_facts(h5: h5py.File) -> FileFacts:
    subject = None
    if isinstance(h5.get("general/subject"), _group_type()):
        s = "general/subject/"
        reference = None
        try:
            age = h5.get(s + "age")
            reference = clean_text(age.attrs.get("reference")) if age is not None else None
        except Exception:
            reference = None
        subject = SubjectFacts(
            subject_id=read_text(h5, s + "subject_id"),
            species=read_text(h5, s + "species"),
            sex=read_text(h5, s + "sex"),
            age=read_text(h5, s + "age"),
            age_reference=reference,
            date_of_birth=read_text(h5, s + "date_of_birth"),
            genotype=read_text(h5, s + "genotype"),
            strain=read_text(h5, s + "strain"),
        )
    return FileFacts(
        identifier=read_text(h5, "identifier"),
        has_identifier="identifier" in h5,
        session_description=read_text(h5, "session_description"),
        session_start_time=read_text(h5, "session_start_time"),
        session_id=read_text(h5, "general/session_id"),
        institution=read_text(h5, "general/institution"),
        lab=read_text(h5, "general/lab"),
        keywords=read_texts(h5, "general/keywords"),
        related_publications=read_texts(h5, "general/related_publications"),
        subject=subject,
    )


def _group_type() -> tuple[type, ...]:
    import h5py
    import zarr

    return (h5py.Group, zarr.Group)  # zarr: NWB-Zarr files (nwb/zarr_read.py)
