"""What changed between two versions of a dataset: files added, removed and changed, and
the metadata fields that differ (`GET .../versions/{a}/diff/{b}/`, the version page).

A file is the same when its path holds the same content: the blob (content-addressed) or,
for a Zarr, its DANDI Zarr checksum (a published Zarr is a frozen copy with the same
checksum). A file whose content is the same but whose asset metadata was rewritten is
"changed" with `what: metadata`. The lists are computed in SQL and capped at LIMIT rows
each (with their full counts), so a diff of a million files stays a small answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from neurodatashare.archive.access import load_dataset
from neurodatashare.archive.context import Archive
from neurodatashare.archive.versions import load_version
from neurodatashare.db.models import Asset, Blob, User, Version, VersionAsset, Zarr
from neurodatashare.errors import BadRequest
from neurodatashare.metadata.schema import VERSION_COMPUTED

LIMIT = 1000  # rows per list; the counts are always complete
MAX_LIMIT = 10_000


def _content(asset: Any, zarr: Any) -> Any:
    """What names a file's content: its blob, else its Zarr's checksum."""
    return func.coalesce(asset.blob_id, zarr.checksum)


def _only_in(s: Session, *, here: Version, there: Version, limit: int) -> tuple[int, list[Any]]:
    """Paths of `here` that `there` lacks, with their sizes."""
    mine, other = aliased(VersionAsset), aliased(VersionAsset)
    lacking = (
        ~select(other.path).where(other.version_id == there.id, other.path == mine.path).exists()
    )
    where = and_(mine.version_id == here.id, lacking)
    count = s.scalar(select(func.count()).select_from(mine).where(where)) or 0
    rows = s.execute(
        select(mine.path, Blob.size, Zarr.size)
        .join(Asset, Asset.id == mine.asset_id)
        .outerjoin(Blob, Blob.id == Asset.blob_id)
        .outerjoin(Zarr, Zarr.id == Asset.zarr_id)
        .where(where)
        .order_by(mine.path)
        .limit(limit)
    ).all()
    return count, [{"path": p, "size": int(b if b is not None else z or 0)} for p, b, z in rows]


def _changed(s: Session, *, old: Version, new: Version, limit: int) -> tuple[int, list[Any]]:
    va, vb = aliased(VersionAsset), aliased(VersionAsset)
    aa, ab = aliased(Asset), aliased(Asset)
    ba, bb = aliased(Blob), aliased(Blob)
    za, zb = aliased(Zarr), aliased(Zarr)
    query = (
        select(
            vb.path,
            (_content(aa, za) == _content(ab, zb)).label("same"),
            func.coalesce(ba.size, za.size),
            func.coalesce(bb.size, zb.size),
        )
        .select_from(va)
        .join(vb, and_(vb.path == va.path, vb.version_id == new.id))
        .join(aa, aa.id == va.asset_id)
        .join(ab, ab.id == vb.asset_id)
        .outerjoin(ba, ba.id == aa.blob_id)
        .outerjoin(bb, bb.id == ab.blob_id)
        .outerjoin(za, za.id == aa.zarr_id)
        .outerjoin(zb, zb.id == ab.zarr_id)
        .where(va.version_id == old.id, va.asset_id != vb.asset_id)
    )
    # another asset row at the same path: new content, or the same content re-described
    count = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.execute(query.order_by(vb.path).limit(limit)).all()
    return count, [
        {
            "path": path,
            "what": "metadata" if same else "content",
            "size_before": int(before or 0),
            "size_after": int(after or 0),
        }
        for path, same, before, after in rows
    ]


def _metadata_changes(old: Version, new: Version) -> list[dict[str, Any]]:
    """The owner-written fields (and the name) whose values differ, with both values."""
    before = {k: v for k, v in old.meta.items() if k not in VERSION_COMPUTED}
    after = {k: v for k, v in new.meta.items() if k not in VERSION_COMPUTED}
    before["name"], after["name"] = old.name, new.name
    changes = []
    for field in sorted(set(before) | set(after)):
        if before.get(field) != after.get(field):
            kind = (
                "added" if field not in before else "removed" if field not in after else "changed"
            )
            changes.append(
                {
                    "field": field,
                    "change": kind,
                    "before": before.get(field),
                    "after": after.get(field),
                }
            )
    return changes


def diff_versions(
    archive: Archive,
    *,
    dataset_id: str,
    old: str,
    new: str,
    user: User | None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """What changed from version `old` to version `new` (either may be the draft)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT:,}.")
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        a = load_version(s, dataset=dataset, version=old)
        b = load_version(s, dataset=dataset, version=new)
        added_count, added = _only_in(s, here=b, there=a, limit=limit)
        removed_count, removed = _only_in(s, here=a, there=b, limit=limit)
        changed_count, changed = _changed(s, old=a, new=b, limit=limit)
        return {
            "dandiset": f"{dataset.id:06d}",
            "from": a.version,
            "to": b.version,
            "assets": {
                "added": {"count": added_count, "items": added},
                "removed": {"count": removed_count, "items": removed},
                "changed": {"count": changed_count, "items": changed},
            },
            "metadata": _metadata_changes(a, b),
            "limit": limit,
        }


def previous_version(s: Session, *, version: Version) -> Version | None:
    """The published version before `version` (for the draft: the latest published)."""
    query = select(Version).where(
        Version.dataset_id == version.dataset_id, Version.version != "draft"
    )
    if version.version != "draft":
        query = query.where(Version.created < version.created)
    return s.scalar(query.order_by(Version.created.desc(), Version.id.desc()).limit(1))


def changes_since_previous(
    archive: Archive, *, dataset_id: str, version: str, user: User | None, limit: int = 20
) -> dict[str, Any] | None:
    """The diff from the published version before `version` (for the draft: from the
    latest published one) to `version`; None for a first version."""
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        before = previous_version(s, version=load_version(s, dataset=dataset, version=version))
        if before is None:
            return None
        old = before.version
    return diff_versions(
        archive, dataset_id=dataset_id, old=old, new=version, user=user, limit=limit
    )
