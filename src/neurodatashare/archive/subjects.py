"""Cross-scale links: which assets of a version belong to which subject and which cell.

Links are computed from the version's assets each time they are asked for (a version has
at most a few thousand assets, and each asset's metadata is one row): no table to keep in
step. The rules, in the order they apply (docs/formats.md, "Subjects and cells"):

- subject: the file's own metadata (NWB `Subject.subject_id` and an h5ad of one donor give
  a `wasAttributedTo` Participant; a multi-donor h5ad lists `nds:summary.subject_ids`; an
  SWC header `# subject_id ...`); failing those, the path (a `sub-<id>/` folder or a
  `sub-<id>_` file-name prefix, as `dandi organize` names files);
- cell: NWB `IntracellularElectrode.cell_id` (`nds:summary.cell_ids`), the h5ad obs names
  the summary records, an SWC header `# cell_id ...` or else the file-name stem (without
  its `sub-<id>_` prefix), NeuroML cell ids;
- the mapping table `links.tsv` (or `links.csv`) at the dataset root, with columns `path`,
  `subject_id`, `cell_id`: a row's non-blank subject replaces what the file says, and its
  non-blank cells replace the file's cells.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive.access import load_dataset
from neurodatashare.archive.context import Archive
from neurodatashare.archive.merged_meta import merged_metadata
from neurodatashare.archive.versions import load_version
from neurodatashare.db.models import Asset, User, Version, VersionAsset
from neurodatashare.errors import NDSError, NotFound

MAPPING_TABLES = ("links.tsv", "links.csv")
MAX_TABLE_BYTES = 4 * 2**20  # a mapping table is a few thousand rows at most
SUBJECT_IN_PATH = re.compile(r"(?:^|/)sub-([A-Za-z0-9][A-Za-z0-9.+-]*?)(?:/|_)")

#: NWB types that say which modality a file records (the first that matches wins).
MODALITY_TYPES = (
    ("icephys", ("IntracellularElectrode", "CurrentClampSeries", "VoltageClampSeries")),
    ("ophys", ("TwoPhotonSeries", "PlaneSegmentation", "RoiResponseSeries", "ImagingPlane")),
    ("ecephys", ("ElectricalSeries", "Units", "ElectrodeGroup")),
    ("behavior", ("Position", "SpatialSeries", "BehavioralTimeSeries")),
)
FORMAT_MODALITY = {"anndata": "transcriptomics", "swc": "morphology", "neuroml": "model"}


@dataclass
class Linked:
    """One asset with the subjects and cells it was tied to, and by which rule."""

    asset_id: str
    path: str
    format: str
    modality: str
    size: int
    subjects: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    cells_complete: bool = True  # False: an h5ad whose summary holds only a sample
    sweeps: dict[str, list[str]] = field(default_factory=dict)  # NWB: cell -> series paths
    rule: str = ""
    blob_id: str = ""
    blob_key: str = ""

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "asset_id": self.asset_id,
            "path": self.path,
            "nds:format": self.format,
            "modality": self.modality,
            "size": self.size,
            "subject_ids": self.subjects,
            "cell_ids": self.cells,
            "linked_by": self.rule,
        }
        if not self.cells_complete:
            data["cell_ids_complete"] = False
        return data


def modality(fmt: str, meta: dict[str, Any]) -> str:
    if fmt in FORMAT_MODALITY:
        return FORMAT_MODALITY[fmt]
    types = (meta.get("nds:summary") or {}).get("neurodata_types") or {}
    for name, markers in MODALITY_TYPES:
        if any(m in types for m in markers):
            return name
    return "other"


def _strings(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [str(v) for v in values if isinstance(v, str | int) and str(v).strip()]


def _file_subjects(fmt: str, meta: dict[str, Any]) -> list[str]:
    summary = meta.get("nds:summary") or {}
    found = [
        str(p["identifier"])
        for p in meta.get("wasAttributedTo") or []
        if isinstance(p, dict) and p.get("identifier")
    ]
    if fmt == "anndata":
        found += _strings(summary.get("subject_ids"))
    if fmt == "swc":
        header = summary.get("header") or {}
        found += _strings([header.get("subject_id")] if header.get("subject_id") else [])
    return sorted(set(found))


def _strip_subject(stem: str) -> str:
    return re.sub(r"^sub-[^_]+_", "", stem)


def _file_cells(fmt: str, path: str, meta: dict[str, Any]) -> tuple[list[str], bool]:
    """The cells a file names and whether the list is complete."""
    summary = meta.get("nds:summary") or {}
    if fmt == "nwb":
        return _strings(summary.get("cell_ids")), True
    if fmt == "anndata":
        names = _strings(summary.get("obs_names_sample"))
        return names, isinstance(summary.get("cells"), int) and summary["cells"] <= len(names)
    if fmt == "swc":
        header = summary.get("header") or {}
        if header.get("cell_id"):
            return [str(header["cell_id"])], True
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return [_strip_subject(stem)], True
    if fmt == "neuroml":
        return _strings([c.get("id") for c in summary.get("cells") or [] if c.get("id")]), True
    return [], True


def _read_table(archive: Archive, asset: Asset) -> dict[str, list[dict[str, str]]]:
    """The mapping table's rows by path (blank cells dropped); {} if it cannot be read."""
    if asset.blob is None or asset.blob.size > MAX_TABLE_BYTES:
        return {}
    with archive.store.open(asset.blob.key) as f:
        text = f.read().decode("utf-8-sig", errors="replace")
    dialect = "excel-tab" if asset.path.lower().endswith(".tsv") else "excel"
    rows: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(text), dialect=dialect):
        clean = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k}
        path = clean.get("path", "").lstrip("./")
        if path:
            rows.setdefault(path, []).append(clean)
    return rows


def version_links(s: Session, archive: Archive, *, version: Version) -> list[Linked]:
    """Every asset of the version with its subjects and cells, in path order."""
    assets = list(
        s.scalars(
            select(Asset)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(VersionAsset.version_id == version.id)
            .order_by(VersionAsset.path)
        )
    )
    table: dict[str, list[dict[str, str]]] = {}
    for asset in assets:
        if asset.path.lower() in MAPPING_TABLES:
            table = _read_table(archive, asset)
            break
    linked = []
    for asset, (fmt, meta) in zip(assets, merged_metadata(s, assets), strict=True):
        item = Linked(
            asset_id=asset.id,
            path=asset.path,
            format=fmt,
            modality=modality(fmt, meta),
            size=asset.size,
            blob_id=asset.blob.id if asset.blob else "",
            blob_key=asset.blob.key if asset.blob else "",
        )
        item.subjects, item.rule = _file_subjects(fmt, meta), "file"
        if not item.subjects and (m := SUBJECT_IN_PATH.search(asset.path)):
            item.subjects, item.rule = [m.group(1)], "path"
        item.cells, item.cells_complete = _file_cells(fmt, asset.path, meta)
        if fmt == "nwb":
            sweeps = (meta.get("nds:summary") or {}).get("cell_sweeps") or {}
            item.sweeps = {str(k): _strings(v) for k, v in sweeps.items()}
        if rows := table.get(asset.path):
            if subjects := sorted({r["subject_id"] for r in rows if r.get("subject_id")}):
                item.subjects = subjects
            if cells := sorted({r["cell_id"] for r in rows if r.get("cell_id")}):
                item.cells, item.cells_complete = cells, True
            item.rule = "table"
        if item.subjects or item.cells:
            linked.append(item)
    return linked


def _grouped(items: list[Linked]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Assets by `nds:format`, then by modality."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for item in items:
        groups.setdefault(item.format, {}).setdefault(item.modality, []).append(item.json())
    return groups


def _cell_subjects(links: list[Linked]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in links:
        for cell in item.cells:
            # a file of several subjects (an h5ad of many donors) says not whose a cell is
            out.setdefault(cell, set()).update(item.subjects if len(item.subjects) == 1 else ())
    return out


def _subject_json(subject: str, links: list[Linked]) -> dict[str, Any]:
    mine = [i for i in links if subject in i.subjects]
    cells = sorted(c for c, whose in _cell_subjects(mine).items() if whose == {subject})
    return {
        "subject_id": subject,
        "asset_count": len(mine),
        "cell_ids": cells,
        "modalities": sorted({i.modality for i in mine}),
        "formats": _grouped(mine),
    }


def _links_for(
    archive: Archive, *, dataset_id: str, version: str, user: User | None
) -> tuple[str, str, list[Linked]]:
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        ver = load_version(s, dataset=dataset, version=version)
        return f"{dataset.id:06d}", ver.version, version_links(s, archive, version=ver)


def list_subjects(
    archive: Archive, *, dataset_id: str, version: str, user: User | None
) -> list[dict[str, Any]]:
    """Every subject of the version, in id order, each with its assets."""
    _ds, _ver, links = _links_for(archive, dataset_id=dataset_id, version=version, user=user)
    subjects = sorted({s for item in links for s in item.subjects})
    return [_subject_json(subject, links) for subject in subjects]


def get_subject(
    archive: Archive, *, dataset_id: str, version: str, subject_id: str, user: User | None
) -> dict[str, Any]:
    ds, ver, links = _links_for(archive, dataset_id=dataset_id, version=version, user=user)
    if not any(subject_id in item.subjects for item in links):
        raise NotFound(
            f"Dataset {ds} version {ver} has no subject {subject_id[:80]!r}: no file names it "
            "(NWB subject_id, an h5ad donor column, a sub-<id> path or links.tsv)."
        )
    return _subject_json(subject_id, links)


def _in_file(archive: Archive, item: Linked, cell_id: str) -> bool:
    """An h5ad whose summary holds a sample of its cells: look in its obs names."""
    if item.cells_complete or item.format != "anndata" or not item.blob_key:
        return False
    from neurodatashare.archive.cell_profile import holds_cell

    try:
        found = holds_cell(archive, blob_id=item.blob_id, key=item.blob_key, cell_id=cell_id)
    except (NDSError, OSError, KeyError, ValueError):
        return False  # an unreadable file names no cell; its page says why
    if found:
        item.cells = [*item.cells, cell_id]
    return found


def get_cell(
    archive: Archive, *, dataset_id: str, version: str, cell_id: str, user: User | None
) -> dict[str, Any]:
    """One cell's assets by format and modality, its subject, and its NWB sweeps."""
    ds, ver, links = _links_for(archive, dataset_id=dataset_id, version=version, user=user)
    mine = [item for item in links if cell_id in item.cells or _in_file(archive, item, cell_id)]
    if not mine:
        raise NotFound(
            f"Dataset {ds} version {ver} has no cell {cell_id[:80]!r}: no file names it "
            "(NWB cell_id, h5ad obs names, an SWC or NeuroML cell id or links.tsv)."
        )
    subjects = sorted(_cell_subjects(mine).get(cell_id, set()))
    return {
        "cell_id": cell_id,
        "subject_id": subjects[0] if len(subjects) == 1 else None,
        "subject_ids": subjects,
        "modalities": sorted({i.modality for i in mine}),
        "formats": _grouped(mine),
        "sweeps": [
            {"asset_id": i.asset_id, "path": i.path, "series": i.sweeps.get(cell_id, [])}
            for i in mine
            if i.format == "nwb"
        ],
    }


def subject_count(archive: Archive, *, dataset_id: str, version: str, user: User | None) -> int:
    """How many subjects the version has (0 when the caller may not see it)."""
    try:
        return len(list_subjects(archive, dataset_id=dataset_id, version=version, user=user))
    except NDSError:
        return 0
