"""What the search index holds for a file and for a dataset, from their metadata.

Pure functions over metadata dicts (an asset's: what its format plugin extracted merged
with what the client sent; a version's: the Dandiset document), so the index, the scale
generator's expectations and the tests all read one definition.

A facet term is (facet, key, label): `key` is the lower-case form filters compare with,
`label` the form people read. Species are keyed by their Latin name and carry their
everyday names in the text, so "mice" finds Mus musculus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from neurodatashare.metadata.vocabulary import match_species

#: Facets every dataset and file can be filtered by (the API's parameter names).
ASSET_FACETS = (
    "species",
    "approach",
    "technique",
    "neurodata_type",
    "region",
    "format",
    "modality",
    "cell_type",
)
DATASET_FACETS = ("licence",)
#: Facets each listed file must meet itself (format is a column, checked in SQL).
FILE_FACETS = frozenset(ASSET_FACETS) - {"format"}
#: Counts a file can be filtered by with `<name>_min` / `<name>_max`.
COUNTS = ("units", "electrodes", "rois", "cells", "genes")

#: NWB types that say which modality a file records; a file can record several.
MODALITY_TYPES = (
    ("icephys", ("IntracellularElectrode", "CurrentClampSeries", "VoltageClampSeries")),
    ("ophys", ("TwoPhotonSeries", "PlaneSegmentation", "RoiResponseSeries", "ImagingPlane")),
    ("ecephys", ("ElectricalSeries", "Units", "ElectrodeGroup")),
    ("behavior", ("Position", "SpatialSeries", "BehavioralTimeSeries", "BehavioralEvents")),
)
FORMAT_MODALITY = {
    "anndata": "transcriptomics",
    "swc": "morphology",
    "neuroml": "model",
    "ome-zarr": "microscopy",
}
#: Probe and method names found in device descriptions, named as a technique.
DEVICE_TECHNIQUES = (
    ("neuropixels", "Neuropixels"),
    ("tetrode", "tetrode"),
    ("utah", "Utah array"),
    ("silicon probe", "silicon probe"),
    ("two-photon", "two-photon microscopy"),
    ("2-photon", "two-photon microscopy"),
    ("miniscope", "miniscope"),
)
#: Container types every NWB file has; as a filter they say nothing.
DULL_TYPES = frozenset({"NWBFile", "Subject", "Device", "ProcessingModule", "DeviceModel"})
MAX_TEXT = 20_000  # characters of one file's text; enough for every label it has
MAX_TERMS = 200  # values of one facet in one file (an h5ad can list many regions)

Term = tuple[str, str, str]  # facet, key, label


@dataclass
class AssetDocument:
    format: str
    modalities: list[str]
    counts: dict[str, int | None]
    terms: list[Term]
    text: str
    cells: list[str] = field(default_factory=list)  # cell ids the file names

    def facet_json(self) -> dict[str, list[str]]:
        """The file's terms as {facet: [label, ...]} (stored with its index row)."""
        out: dict[str, list[str]] = {}
        for facet, _key, label in self.terms:
            out.setdefault(facet, []).append(label)
        return out


@dataclass
class DatasetDocument:
    name: str
    description: str
    body: str  # every other searchable word: keywords, people, funding, licence, papers
    licences: list[str]
    terms: list[Term]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float) and str(v).strip()]
    return []


def _names(items: Any, key: str = "name") -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(i[key]) for i in items if isinstance(i, dict) and i.get(key)]


def _count(value: Any) -> int | None:
    """A count worth filtering on: a positive integer, else None (the file has none)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if number > 0 else None


def _species_terms(names: list[str]) -> tuple[list[Term], list[str]]:
    terms: list[Term] = []
    words: list[str] = []
    for name in names:
        match = match_species(name.split(" - ")[0]) or match_species(name)
        if match is not None and match.species is not None:
            sp = match.species
            terms.append(("species", sp.scientific.lower(), sp.name))
            words += [sp.scientific, sp.common, *sp.synonyms]
        else:
            label = name.strip()
            terms.append(("species", label.lower(), label))
            words.append(label)
    return terms, words


def _participants(meta: dict[str, Any]) -> list[dict[str, Any]]:
    people = meta.get("wasAttributedTo")
    if not isinstance(people, list):
        return []
    return [p for p in people if isinstance(p, dict) and p.get("schemaKey") == "Participant"]


def modalities(fmt: str, meta: dict[str, Any]) -> list[str]:
    if fmt in FORMAT_MODALITY:
        return [FORMAT_MODALITY[fmt]]
    summary = meta.get("nds:summary") or {}
    types = summary.get("neurodata_types") if isinstance(summary, dict) else None
    present = set(types or {}) | set(_names(meta.get("variableMeasured"), "value"))
    return [name for name, markers in MODALITY_TYPES if any(m in present for m in markers)]


def _cell_types(fmt: str, summary: dict[str, Any]) -> list[str]:
    if fmt == "anndata":
        role = (summary.get("roles") or {}).get("cell_type")
        column = (summary.get("obs_columns") or {}).get(role) if role else None
        if isinstance(column, dict) and isinstance(column.get("categories"), dict):
            return [str(c) for c in column["categories"]]
    if fmt == "swc":
        header = summary.get("header") or {}
        return _strings(header.get("cell_type") or header.get("class"))
    return []


def _cells(fmt: str, summary: dict[str, Any]) -> list[str]:
    """Cell ids the file names (subjects.py has the full linking rules)."""
    if fmt == "nwb":
        return _strings(summary.get("cell_ids"))
    if fmt == "anndata":
        return _strings(summary.get("obs_names_sample"))
    if fmt == "swc":
        return _strings((summary.get("header") or {}).get("cell_id"))
    if fmt == "neuroml":
        return _names(summary.get("cells"), "id")
    return []


def species_words(label: str) -> str:
    """The everyday names of a species label ("mouse mice ..."), or ""."""
    match = match_species(label.split(" - ")[0]) or match_species(label)
    if match is None or match.species is None:
        return ""
    return " ".join([match.species.common, *match.species.synonyms])


def key_token(facet: str, key: str) -> str:
    return f"{facet}={key.replace('|', ' ')}"


def file_keys(terms: list[Term]) -> str:
    """A file's facet keys as one string, "|facet=key|...|", for `LIKE '%|facet=key|%'`."""
    kept = [key_token(facet, key) for facet, key, _label in terms if facet in FILE_FACETS]
    return f"|{'|'.join(kept)}|" if kept else ""


def term_key(facet: str, label: str) -> str:
    """The form a facet filter compares with: lower case; a species by its Latin name."""
    if facet == "species":
        match = match_species(label.split(" - ")[0]) or match_species(label)
        if match is not None and match.species is not None:
            return match.species.scientific.lower()
    return label.strip().lower()


def _unique(terms: list[Term]) -> list[Term]:
    seen: set[tuple[str, str]] = set()
    out: list[Term] = []
    per_facet: dict[str, int] = {}
    for facet, key, label in terms:
        key = key.strip()
        if not key or (facet, key) in seen or per_facet.get(facet, 0) >= MAX_TERMS:
            continue
        seen.add((facet, key))
        per_facet[facet] = per_facet.get(facet, 0) + 1
        out.append((facet, key[:255], label.strip()[:255]))
    return out


def asset_document(meta: dict[str, Any], *, path: str, fmt: str) -> AssetDocument:
    """The index entry of one file from its merged metadata."""
    summary = meta.get("nds:summary")
    summary = summary if isinstance(summary, dict) else {}
    header: dict[str, Any] = summary["header"] if isinstance(summary.get("header"), dict) else {}
    people = _participants(meta)
    species_names = [
        str(p["species"]["name"])
        for p in people
        if isinstance(p.get("species"), dict) and p["species"].get("name")
    ]
    species_names += _strings(summary.get("species")) + _strings(header.get("creature"))
    terms, words = _species_terms(species_names)

    def add(facet: str, labels: list[str]) -> None:
        terms.extend((facet, label.lower(), label) for label in labels)

    add("approach", _names(meta.get("approach")))
    devices = [d for d in summary.get("devices") or [] if isinstance(d, dict)]
    device_text = " ".join(
        str(d.get(k) or "")
        for d in devices
        for k in ("name", "description", "manufacturer", "model")
    )
    techniques = _names(meta.get("measurementTechnique"))
    techniques += [label for word, label in DEVICE_TECHNIQUES if word in device_text.lower()]
    add("technique", techniques)
    types = [t for t in _names(meta.get("variableMeasured"), "value") if t not in DULL_TYPES]
    types += [t for t in summary.get("neurodata_types") or {} if t not in DULL_TYPES]
    add("neurodata_type", [str(t) for t in types])
    regions = _strings(summary.get("brain_locations")) + _strings(summary.get("regions"))
    regions += _names(meta.get("about")) + _strings(header.get("region"))
    add("region", regions)
    add("format", [fmt])
    found = modalities(fmt, meta)
    add("modality", found)
    add("cell_type", _cell_types(fmt, summary))

    sessions = [g for g in meta.get("wasGeneratedBy") or [] if isinstance(g, dict)]
    text_parts = [
        path.replace("/", " ").replace("_", " "),
        *[label for _f, _k, label in terms],
        *words,
        *[str(p.get(k) or "") for p in people for k in ("genotype", "identifier")],
        *[str((p.get("strain") or {}).get("name") or "") for p in people],
        *[str(g.get(k) or "") for g in sessions for k in ("name", "description")],
        *_strings(meta.get("keywords")),
        str(meta.get("description") or ""),
        str(summary.get("lab") or ""),
        str(summary.get("institution") or ""),
        device_text,
        *[str(v) for v in header.values() if isinstance(v, str)],
        *_names(summary.get("ion_channels"), "id"),
        *_names(summary.get("cells"), "id"),
    ]
    counts = {
        "units": _count(summary.get("unit_count")),
        "electrodes": _count(summary.get("electrode_count")),
        "rois": _count(summary.get("roi_count")),
        "cells": _count(summary.get("cells"))
        if fmt == "anndata"
        else _count((summary.get("counts") or {}).get("cells")),
        "genes": _count(summary.get("genes")),
    }
    return AssetDocument(
        format=fmt,
        modalities=found,
        counts=counts,
        terms=_unique(terms),
        text=" ".join(p for p in text_parts if p).strip()[:MAX_TEXT],
        cells=_cells(fmt, summary),
    )


def _contributors(meta: dict[str, Any]) -> tuple[list[str], list[str]]:
    """People and organisations, and the funding lines (funder and award)."""
    people: list[str] = []
    funding: list[str] = []
    for c in meta.get("contributor") or []:
        if not isinstance(c, dict):
            continue
        roles = _strings(c.get("roleName"))
        name = str(c.get("name") or "")
        if "dcite:Funder" in roles:
            funding += [name, str(c.get("awardNumber") or "")]
        else:
            people += [name, *_names(c.get("affiliation"))]
    return people, funding


def dataset_document(meta: dict[str, Any], *, name: str) -> DatasetDocument:
    """The index entry of a dataset's own metadata (its files add their own terms)."""
    people, funding = _contributors(meta)
    licences = _strings(meta.get("license"))
    related = [
        str(r.get(k) or "")
        for r in meta.get("relatedResource") or []
        if isinstance(r, dict)
        for k in ("name", "identifier", "url")
    ]
    body = [
        *_strings(meta.get("keywords")),
        *people,
        *funding,
        *[licence.removeprefix("spdx:") for licence in licences],
        *related,
        *_names(meta.get("about")),
        *_strings(meta.get("acknowledgement")),
        *_strings(meta.get("protocol")),
    ]
    return DatasetDocument(
        name=name,
        description=str(meta.get("description") or ""),
        body=" ".join(b for b in body if b),
        licences=licences,
        terms=_unique([("licence", lic.lower(), lic) for lic in licences]),
    )


WORD_RE = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """The words of a query or a text, lower case, in order (the same rule everywhere)."""
    return [w.lower() for w in WORD_RE.findall(text)]
