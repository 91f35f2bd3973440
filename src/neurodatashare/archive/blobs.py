"""Which stored blobs a caller may use: the one rule behind every deduplication answer.

Blobs are content-addressed and shared between datasets, so "is this digest stored?" is a
question about other people's files. A blob is *readable* by a caller when it is in an
asset of a version the caller may see, or when the caller uploaded its bytes and has not
yet made an asset of them (a claim, which expires like an upload). Digest lookups, the
upload's "already stored" answer and asset creation from a `blob_id` all ask
`readable_blob`; for any other blob they answer exactly as if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from neurodatashare.archive.access import visible_clause
from neurodatashare.archive.context import Archive
from neurodatashare.archive.pipeline import (
    UPLOAD_GRACE_MIN_SIZE,
    UPLOAD_GRACE_SECONDS,
    UPLOAD_PRIORITY,
    queue_pipeline,
)
from neurodatashare.db.models import (
    Asset,
    Blob,
    BlobClaim,
    Dataset,
    User,
    Version,
    VersionAsset,
    utcnow,
)
from neurodatashare.errors import BadRequest, NotFound
from neurodatashare.storage.base import blob_key

DIGEST_COLUMNS = {"dandi:dandi-etag": Blob.etag, "dandi:sha2-256": Blob.sha256}


def readable_blob(
    s: Session, archive: Archive, *, user: User | None, column: Any, value: object
) -> Blob | None:
    """The blob whose `column` (Blob.id, Blob.etag or Blob.sha256) equals `value`, if the
    caller may read it; None when it does not exist or the caller may not read it."""
    if not isinstance(value, str) or not value:
        return None
    blob = s.scalar(select(Blob).where(column == value))
    if blob is None:
        return None
    in_visible_version = exists(
        select(Version.id)
        .join(VersionAsset, VersionAsset.version_id == Version.id)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .join(Dataset, Dataset.id == Version.dataset_id)
        .where(Asset.blob_id == blob.id, visible_clause(user))
    )
    if s.scalar(select(in_visible_version)):
        return blob
    if user is not None:
        cutoff = utcnow() - timedelta(hours=archive.settings.upload_expiry_hours)
        claimed = s.scalar(
            select(BlobClaim.blob_id).where(
                BlobClaim.blob_id == blob.id,
                BlobClaim.user_id == user.id,
                BlobClaim.created >= cutoff,
            )
        )
        if claimed is not None:
            return blob
    return None


def claim(s: Session, *, blob_id: str, user: User) -> None:
    """Record that `user` has just uploaded the blob's bytes (so may make an asset of it)."""
    row = s.get(BlobClaim, (blob_id, user.id))
    if row is None:
        s.add(BlobClaim(blob_id=blob_id, user_id=user.id))
    else:
        row.created = utcnow()


def create_blob(
    s: Session,
    *,
    user: User,
    etag: str,
    size: int,
    sha256: str | None,
    store_bytes: Callable[[str], None],
    blob_id: str | None = None,
) -> tuple[Blob, bool]:
    """The blob with these bytes, stored now unless the same bytes already are; the user
    gets a claim on it. Returns (blob, whether it is new).

    `store_bytes(key)` puts the bytes at the new blob's key, before its row is added: a
    crash before the commit leaves an unreferenced file (invisible), never a blob row
    without bytes. A new blob without its sha256 gets its pipeline queued (the digest is
    its first step), due at once if small, else after a short wait for its asset (see
    UPLOAD_GRACE_SECONDS); otherwise the pipeline is queued when an asset needs it.
    A new blob is named `blob_id` when given (an upload's id, as in DANDI: an S3 store
    receives the parts at that blob's key already), else a new uuid.
    """
    blob = s.scalar(select(Blob).where(Blob.etag == etag))
    created = blob is None
    if blob is None:
        blob_id = blob_id or str(uuid.uuid4())
        key = blob_key(blob_id)
        store_bytes(key)
        blob = Blob(id=blob_id, etag=etag, sha256=sha256, size=size, key=key)
        s.add(blob)
        s.flush()
        if sha256 is None:
            wait = UPLOAD_GRACE_SECONDS if size >= UPLOAD_GRACE_MIN_SIZE else 0
            queue_pipeline(s, blob_id=blob_id, priority=UPLOAD_PRIORITY, delay=wait)
    claim(s, blob_id=blob.id, user=user)
    return blob, created


def use_claim(s: Session, *, blob_id: str, user: User) -> None:
    """The blob is now in one of the user's assets; from here on that asset decides."""
    s.execute(delete(BlobClaim).where(BlobClaim.blob_id == blob_id, BlobClaim.user_id == user.id))


def blob_json(blob: Blob) -> dict[str, Any]:
    return {"blob_id": blob.id, "etag": blob.etag, "sha256": blob.sha256, "size": blob.size}


def blob_by_digest(
    archive: Archive, *, user: User | None, algorithm: str, value: str
) -> dict[str, Any]:
    """`POST /api/blobs/digest/`: a readable blob by its dandi-etag or sha256."""
    column = DIGEST_COLUMNS.get(algorithm)
    if column is None:
        raise BadRequest("algorithm must be dandi:dandi-etag or dandi:sha2-256.")
    with archive.db.read() as s:
        blob = readable_blob(s, archive, user=user, column=column, value=value)
    if blob is None:
        raise NotFound("No blob has that digest.")
    return blob_json(blob)


def blob_bytes(
    archive: Archive, *, blob_id: str, user: User | None
) -> tuple[Blob, Any, str | None]:
    """`GET /blobs/{blob_id}`, the direct URL in an asset's `contentUrl`: (blob, local path
    or None, URL to redirect to or None) for a blob the caller may read; any other blob
    answers exactly as one that does not exist."""
    from neurodatashare.archive.access import absent, check_uuid

    check_uuid(blob_id, what="Blob")
    with archive.db.read() as s:
        blob = readable_blob(s, archive, user=user, column=Blob.id, value=blob_id)
    if blob is None:
        raise absent(f"Blob {blob_id}", user)
    local = archive.store.local_path(blob.key)
    return blob, local, archive.store.download_url(blob.key, filename=blob.id)
