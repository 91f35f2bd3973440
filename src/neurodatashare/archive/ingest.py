"""Adding local files to a dataset from the server side (the demo, admin imports).

Uploads over HTTP go through uploads.py; this is the same outcome for files already on
the server's disk: digests computed in one pass, the bytes stored once by content, an
asset created on the draft (which queues extraction, validation and indexing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodatashare.archive import assets, blobs
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.storage.digests import file_digests


def store_file(archive: Archive, *, source: Path, user: User) -> str:
    """Store a local file as a blob (or find the same bytes already stored); its id.

    `user` gets a claim on the blob, as after an upload, so may make an asset of it.
    """
    sha256, etag = file_digests(str(source))
    with archive.db.write() as s:
        blob, _created = blobs.create_blob(
            s,
            user=user,
            etag=etag,
            size=source.stat().st_size,
            sha256=sha256,
            store_bytes=lambda key: archive.store.put_file(key, source),
        )
        return blob.id


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
