"""Versions: the mutable draft and immutable published versions of a dataset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurodatashare.archive.access import effective_access, load_dataset
from neurodatashare.archive.context import Archive
from neurodatashare.archive.version_status import (
    asset_errors,
    refresh_draft,
)
from neurodatashare.archive.version_status import (
    metadata_problems as metadata_problems,
)
from neurodatashare.archive.version_status import (
    refresh_status as refresh_status,
)
from neurodatashare.db.models import (
    Asset,
    Blob,
    Dataset,
    User,
    Version,
    VersionAsset,
    Zarr,
    utcnow,
)
from neurodatashare.errors import BadRequest, MethodNotAllowed, NotFound

# Keys the server computes; whatever a client sends for them is replaced.
COMPUTED_KEYS = (
    "identifier",
    "id",
    "version",
    "url",
    "repository",
    "dateCreated",
    "dateModified",
    "datePublished",
    "citation",
    "assetsSummary",
    "access",
    "manifestLocation",
    "publishedBy",
    "doi",
)


def load_version(s: Session, *, dataset: Dataset, version: str) -> Version:
    row = s.scalar(
        select(Version).where(Version.dataset_id == dataset.id, Version.version == version)
    )
    if row is None:
        raise NotFound(f"Dataset {dataset.id:06d} has no version {version!r}.")
    return row


def draft_of(s: Session, dataset: Dataset) -> Version:
    return load_version(s, dataset=dataset, version="draft")


def latest_published(s: Session, dataset: Dataset) -> Version | None:
    return s.scalar(
        select(Version)
        .where(Version.dataset_id == dataset.id, Version.version != "draft")
        .order_by(Version.created.desc(), Version.id.desc())
        .limit(1)
    )


def version_stats(s: Session, version: Version) -> tuple[int, int]:
    """(number of assets, total bytes) of a version."""
    count, size = s.execute(
        select(
            func.count(VersionAsset.asset_id),
            func.coalesce(func.sum(func.coalesce(Blob.size, Zarr.size)), 0),
        )
        .select_from(VersionAsset)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .outerjoin(Blob, Blob.id == Asset.blob_id)
        .outerjoin(Zarr, Zarr.id == Asset.zarr_id)
        .where(VersionAsset.version_id == version.id)
    ).one()
    return int(count), int(size)


def touch_draft(s: Session, dataset: Dataset) -> Version:
    """After any change to the draft: new status, new modified time, summary queued."""
    draft = draft_of(s, dataset)
    s.flush()
    refresh_draft(s, draft)
    draft.modified = utcnow()
    dataset.modified = draft.modified
    return draft


def contact_person(meta: dict[str, Any]) -> str:
    for c in meta.get("contributor") or []:
        if isinstance(c, dict) and "dcite:ContactPerson" in (c.get("roleName") or []):
            return str(c.get("name", ""))
    return ""


def citation(archive: Archive, dataset: Dataset, version: Version) -> str:
    """DANDI's citation: the contributors included in citations, the year, the name, the
    version, the archive and the version's URL (its DOI URL once it has one)."""
    authors = [
        str(c.get("name"))
        for c in version.meta.get("contributor") or []
        if isinstance(c, dict) and c.get("name") and c.get("includeInCitation", True)
    ]
    year = version.created.year
    who = "; ".join(authors) or "Anonymous"
    url = version_url(archive, dataset, version)  # no DOIs are minted here
    name = version.name.rstrip(".")
    archive_name = f"{archive.settings.instance_name} archive"
    return f"{who} ({year}) {name} (Version {version.version}) [Data set]. {archive_name}. {url}"


def version_url(archive: Archive, dataset: Dataset, version: Version) -> str:
    return f"{archive.settings.resolved_public_url}/dandiset/{dataset.id:06d}/{version.version}"


def version_summary_json(
    s: Session, version: Version, stats: tuple[int, int] | None = None
) -> dict[str, Any]:
    count, size = stats if stats is not None else version_stats(s, version)
    return {
        "version": version.version,
        "name": version.name,
        "asset_count": count,
        "size": size,
        "status": version.status,
        "created": version.created.isoformat(),
        "modified": version.modified.isoformat(),
    }


def version_metadata_json(
    archive: Archive, s: Session, *, dataset: Dataset, version: Version
) -> dict[str, Any]:
    """The raw metadata plus the fields the server computes (`dandi download` writes this);
    it validates against dandischema's Dandiset model once the owners' fields are there."""
    from dandischema.consts import DANDI_SCHEMA_VERSION

    from neurodatashare.archive import documents

    prefix = archive.settings.instance_name
    count, size = version_stats(s, version)
    meta = dict(version.meta)
    schema_version = meta.get("schemaVersion") or DANDI_SCHEMA_VERSION
    meta.update(
        {
            "@context": documents.context_url(schema_version),
            "schemaKey": "Dandiset",
            "schemaVersion": schema_version,
            "name": version.name,
            "identifier": f"{prefix}:{dataset.id:06d}",
            "id": f"{prefix}:{dataset.id:06d}/{version.version}",
            "version": version.version,
            "url": version_url(archive, dataset, version),
            "repository": archive.settings.resolved_public_url,
            "dateCreated": dataset.created.isoformat(),
            "citation": citation(archive, dataset, version),
            "access": documents.access_requirements(dataset),
            "manifestLocation": documents.manifest_location(
                archive, dataset=dataset, version=version
            ),
            **documents.version_publication(archive, dataset=dataset, version=version),
        }
    )
    summary = dict(meta.get("assetsSummary") or {})
    summary.update({"schemaKey": "AssetsSummary", "numberOfBytes": size, "numberOfFiles": count})
    meta["assetsSummary"] = summary
    return meta


# DANDI calls the dataset status "embargo_status"; private data answers as embargoed.
EMBARGO_STATUS = {"open": "OPEN", "embargoed": "EMBARGOED", "private": "EMBARGOED"}


def datasets_json(archive: Archive, s: Session, *, datasets: list[Dataset]) -> list[dict[str, Any]]:
    """`dataset_json` of a page of datasets in four queries, not four per dataset (the
    list route served 3-8 requests/s on a page of 50: bench/api_rps.py)."""
    ids = [d.id for d in datasets]
    drafts: dict[int, Version] = {}
    latest: dict[int, Version] = {}
    for v in s.scalars(
        select(Version)
        .where(Version.dataset_id.in_(ids))
        .order_by(Version.created.desc(), Version.id.desc())
    ):
        if v.version == "draft":
            drafts[v.dataset_id] = v
        else:
            latest.setdefault(v.dataset_id, v)
    wanted = [v.id for v in (*drafts.values(), *latest.values())]
    stats: dict[int, tuple[int, int]] = {i: (0, 0) for i in wanted}
    for version_id, count, size in s.execute(
        select(
            VersionAsset.version_id,
            func.count(VersionAsset.asset_id),
            func.coalesce(func.sum(func.coalesce(Blob.size, Zarr.size)), 0),
        )
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .outerjoin(Blob, Blob.id == Asset.blob_id)
        .outerjoin(Zarr, Zarr.id == Asset.zarr_id)
        .where(VersionAsset.version_id.in_(wanted))
        .group_by(VersionAsset.version_id)
    ):
        stats[version_id] = (int(count), int(size))
    out = []
    for dataset in datasets:
        draft = drafts[dataset.id]
        published = latest.get(dataset.id)
        data = dataset_json(archive, s, dataset=dataset, with_versions=False, draft=draft)
        data["draft_version"] = version_summary_json(s, draft, stats[draft.id])
        data["most_recent_published_version"] = (
            version_summary_json(s, published, stats[published.id]) if published else None
        )
        out.append(data)
    return out


def dataset_json(
    archive: Archive,
    s: Session,
    *,
    dataset: Dataset,
    with_versions: bool = True,
    draft: Version | None = None,
) -> dict[str, Any]:
    draft = draft or draft_of(s, dataset)
    access = effective_access(dataset)
    data: dict[str, Any] = {
        "identifier": f"{dataset.id:06d}",
        "created": dataset.created.isoformat(),
        "modified": dataset.modified.isoformat(),
        "contact_person": contact_person(draft.meta),
        "embargo_status": EMBARGO_STATUS[access],
        "access": access,
        "embargo_end": dataset.embargo_end.isoformat() if dataset.embargo_end else None,
        "star_count": 0,
        "is_starred": False,
    }
    if with_versions:
        published = latest_published(s, dataset)
        data["draft_version"] = version_summary_json(s, draft)
        data["most_recent_published_version"] = (
            version_summary_json(s, published) if published else None
        )
    return data


def version_info_json(
    archive: Archive, s: Session, *, dataset: Dataset, version: Version
) -> dict[str, Any]:
    data = version_summary_json(s, version)
    data["dandiset"] = dataset_json(archive, s, dataset=dataset, with_versions=False)
    data["metadata"] = version_metadata_json(archive, s, dataset=dataset, version=version)
    data["contact_person"] = contact_person(version.meta)
    if version.version == "draft" and version.status != "Published":
        data["version_validation_errors"] = metadata_problems(version.meta, version.name)
        data["asset_validation_errors"] = asset_errors(s, version)
    else:
        data["version_validation_errors"] = []
        data["asset_validation_errors"] = []
    data["published"] = version.version != "draft"
    return data


def list_versions(
    archive: Archive, *, dataset_id: str, user: User | None, order: str = "created"
) -> list[dict[str, Any]]:
    column = {"created": Version.created, "modified": Version.modified}.get(order.lstrip("-"))
    if column is None:
        raise BadRequest("order must be created or modified, optionally with a leading -.")
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        clause = column.desc() if order.startswith("-") else column.asc()
        rows = s.scalars(
            select(Version).where(Version.dataset_id == dataset.id).order_by(clause, Version.id)
        ).all()
        return [version_summary_json(s, v) for v in rows]


def get_version(
    archive: Archive, *, dataset_id: str, version: str, user: User | None, info: bool = False
) -> dict[str, Any]:
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        row = load_version(s, dataset=dataset, version=version)
        if info:
            return version_info_json(archive, s, dataset=dataset, version=row)
        return version_metadata_json(archive, s, dataset=dataset, version=row)


def clean_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in COMPUTED_KEYS and k != "@context"}


def update_draft_metadata(
    archive: Archive,
    *,
    dataset_id: str,
    version: str,
    user: User | None,
    metadata: dict[str, Any],
    name: str | None = None,
) -> dict[str, Any]:
    if version != "draft":
        raise MethodNotAllowed("Published versions cannot change; edit the draft instead.")
    cleaned = clean_metadata(metadata)
    new_name = name if name is not None else cleaned.get("name")
    if new_name is not None and (not isinstance(new_name, str) or not new_name.strip()):
        raise BadRequest("name must be a non-empty string.")
    with archive.db.write() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        draft = draft_of(s, dataset)
        s.refresh(draft, with_for_update=True)  # the summary job writes this row too
        if new_name:
            draft.name = new_name.strip()
        cleaned["name"] = draft.name
        # keep what the server derived from the files (issue 3 fills it in)
        if "assetsSummary" in draft.meta:
            cleaned["assetsSummary"] = draft.meta["assetsSummary"]
        draft.meta = cleaned
        touch_draft(s, dataset)
        s.flush()
        return version_info_json(archive, s, dataset=dataset, version=draft)
