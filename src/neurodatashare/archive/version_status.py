"""A version's status and summary, from its assets' stored results (archive/derived.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurodatashare.archive import zarr_results
from neurodatashare.archive.derived import _severity_number, checked_asset
from neurodatashare.db.models import Asset, Blob, Derived, Version, VersionAsset, Zarr
from neurodatashare.jobs import enqueue

SUMMARIZE = "version.summarize"
# After the blob pipelines (priority 100): files queued together finish first, and their
# drafts' summary, queued once per version (enqueue is a no-op while it is queued), runs
# once after them instead of once per file.
SUMMARIZE_PRIORITY = 150
ERROR_LEVEL = 40  # validation.types.Severity.ERROR, without importing pynwb here


def metadata_problems(meta: dict[str, Any], name: str) -> list[dict[str, str]]:
    """What a version lacks before it may be published, as DANDI's validation errors."""
    problems = []
    if not (name or meta.get("name")):
        problems.append({"field": "name", "message": "The dataset needs a name."})
    if not meta.get("description"):
        problems.append({"field": "description", "message": "Add a description of the dataset."})
    if not meta.get("license"):
        problems.append(
            {
                "field": "license",
                "message": 'Choose a license, for example ["spdx:CC-BY-4.0"].',
            }
        )
    contributors = meta.get("contributor") or []
    has_contact = any(
        isinstance(c, dict) and "dcite:ContactPerson" in (c.get("roleName") or [])
        for c in contributors
    )
    if not has_contact:
        problems.append(
            {
                "field": "contributor",
                "message": "Name a contact person: a contributor whose roleName includes "
                '"dcite:ContactPerson".',
            }
        )
    elif not any(
        isinstance(c, dict)
        and "dcite:ContactPerson" in (c.get("roleName") or [])
        and c.get("email")
        for c in contributors
    ):
        problems.append(
            {
                "field": "contributor",
                "message": 'Give the contact person an "email" (dandischema requires one).',
            }
        )
    from neurodatashare.metadata.schema import owner_field_problems

    named = {p["field"] for p in problems}
    for problem in owner_field_problems(meta, name or str(meta.get("name") or "")):
        if problem["field"].split(".", 1)[0] not in named:
            problems.append(problem)
    return problems


def pending_count(s: Session, version: Version) -> int:
    """NWB assets of the version whose validation is not computed (by today's tools) yet."""
    done = (
        (Derived.blob_id == Asset.blob_id)
        & (Derived.kind == "validation")
        & checked_asset(validated_now=True)
    )
    count = s.scalar(
        select(func.count())
        .select_from(VersionAsset)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .outerjoin(Derived, done)
        .where(
            VersionAsset.version_id == version.id,
            checked_asset(),
            Derived.id.is_(None),
        )
    )
    return int(count or 0) + zarr_results.pending_count(s, version)


def has_asset_errors(s: Session, version: Version) -> bool:
    return (
        s.scalar(
            select(VersionAsset.asset_id)
            .join(Asset, Asset.id == VersionAsset.asset_id)
            .join(Derived, (Derived.blob_id == Asset.blob_id) & (Derived.kind == "validation"))
            .where(
                VersionAsset.version_id == version.id,
                checked_asset(validated_now=True),
                Derived.max_severity >= ERROR_LEVEL,
            )
            .limit(1)
        )
        is not None
    ) or bool(zarr_results.asset_errors(s, version))


def asset_errors(s: Session, version: Version) -> list[dict[str, Any]]:
    """DANDI's `asset_validation_errors`: one entry per blocking finding, with its file."""
    query = (
        select(Asset.path, Derived.payload)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .join(Derived, Derived.blob_id == Asset.blob_id)
        .where(
            VersionAsset.version_id == version.id,
            checked_asset(validated_now=True),
            Derived.kind == "validation",
            Derived.max_severity >= ERROR_LEVEL,
        )
        .order_by(Asset.path)
    )
    errors = []
    for path, results in s.execute(query):
        for r in results or []:
            if _severity_number(r["severity"]) >= ERROR_LEVEL:
                errors.append(
                    {
                        "field": r.get("object_path") or "",
                        "message": r["message"],
                        "path": path,
                        "severity": r["severity"],
                        "how_to_fix": r.get("how_to_fix"),
                    }
                )
    return errors + zarr_results.asset_errors(s, version)


def assets_summary(s: Session, version: Version) -> dict[str, Any]:
    """The version's `assetsSummary`, aggregated over its assets' extracted metadata."""
    from neurodatashare.metadata.assets_summary import summarize_assets

    extracted = (Derived.blob_id == Asset.blob_id) & (Derived.kind == "metadata") & checked_asset()
    from neurodatashare.formats import ZARR_MEDIA_TYPE, media_type

    rows = s.execute(
        select(
            Asset.path,
            Asset.meta,
            func.coalesce(Blob.size, Zarr.size, 0),
            Derived.payload,
            Asset.zarr_id,
        )
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .outerjoin(Blob, Blob.id == Asset.blob_id)
        .outerjoin(Zarr, Zarr.id == Asset.zarr_id)
        .outerjoin(Derived, extracted)
        .where(VersionAsset.version_id == version.id)
    ).all()
    # the media type by path unless the file or its uploader said (as asset documents do)
    metas = [
        {
            "encodingFormat": ZARR_MEDIA_TYPE if zarr_id else media_type(path),
            **(meta or {}),
            **(derived or {}),
        }
        for path, meta, _size, derived, zarr_id in rows
    ]
    return summarize_assets(metas, sizes=[row[2] for row in rows])


def refresh_status(s: Session, version: Version) -> None:
    """Set the draft's status: Pending while files are being checked, Valid when it could
    be published, Invalid when metadata is missing or a file has blocking findings."""
    if pending_count(s, version):
        version.status = "Pending"
    elif metadata_problems(version.meta, version.name) or has_asset_errors(s, version):
        version.status = "Invalid"
    else:
        version.status = "Valid"


def refresh_drafts_holding(s: Session, content: Any) -> None:
    """Refresh every draft with an asset matching `content` (e.g. `Asset.blob_id == id`)."""
    drafts = s.scalars(
        select(Version)
        .join(VersionAsset, VersionAsset.version_id == Version.id)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .where(content, Version.version == "draft")
        .distinct()
        .order_by(Version.id)  # locked in one order by every writer (see refresh_draft)
    ).all()
    for draft in drafts:
        refresh_draft(s, draft)


def refresh_draft(s: Session, draft: Version) -> None:
    """Recompute the draft's status now (one count query) and queue its summary, once per
    batch of changes (see SUMMARIZE_PRIORITY)."""
    # The draft's row before its summary job's: an INSERT of a job that another open
    # transaction is also inserting waits for it, so a writer that queued the summary
    # first and then updated the draft deadlocked with one doing the two the other way
    # round (an upload's asset creation against a worker finishing a file, on PostgreSQL).
    s.execute(select(Version.id).where(Version.id == draft.id).with_for_update())
    refresh_status(s, draft)
    enqueue(
        s,
        kind=SUMMARIZE,
        key=str(draft.id),
        payload={"version_id": draft.id},
        priority=SUMMARIZE_PRIORITY,
    )
