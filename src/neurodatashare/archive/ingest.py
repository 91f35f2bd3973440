"""Adding local files to a dataset from the server side (the demo, admin imports).

Uploads over HTTP go through uploads.py; this is the same outcome for files already on
the server's disk: digests computed in one pass, the bytes stored once by content, an
asset created on the draft (which queues extraction, validation and indexing).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from neurodatashare.archive import assets, blobs
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Blob, User
from neurodatashare.storage.base import blob_key
from neurodatashare.storage.digests import file_digests


def store_file(archive: Archive, *, source: Path, user: User) -> str:
    """Store a local file as a blob (or find the same bytes already stored); its id.

    `user` gets a claim on the blob, as after an upload, so may make an asset of it.
    """
    sha256, etag = file_digests(str(source))
    with archive.db.read() as s:
        existing = s.scalar(select(Blob.id).where(Blob.etag == etag))
    blob_id = existing or str(uuid.uuid4())
    if existing is None:
        key = blob_key(blob_id)
        archive.store.put_file(key, source)
    with archive.db.write() as s:
        if existing is None:
            s.add(Blob(id=blob_id, etag=etag, sha256=sha256, size=source.stat().st_size, key=key))
            s.flush()
        blobs.claim(s, blob_id=blob_id, user=user)
    return blob_id


def ingest_file(
    archive: Archive,
    *,
    user: User,
    dataset_id: str,
    path: str,
    source: Path,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    blob_id = store_file(archive, source=source, user=user)
    return assets.create_asset(
        archive,
        dataset_id=dataset_id,
        version="draft",
        user=user,
        metadata={**(metadata or {}), "path": path},
        blob_id=blob_id,
    )
