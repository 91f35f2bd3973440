"""What the archive learns from each file: metadata and validation, once per blob.

Which checks apply is decided by the asset's format (formats/: NWB, any registered
plugin, plain files with nothing to check). An asset whose format processes files
queues a process job (`nwb.process` for NWB, `blob.process` for other formats) in the
same transaction.
The job opens the file once, extracts dandischema-shaped metadata and runs every
validator, and stores both as `Derived` rows keyed by the blob (blobs are content-
addressed, so a second asset with the same bytes reuses them at no cost). Then every
draft holding the blob gets its status and `assetsSummary` refreshed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive.context import Archive
from neurodatashare.archive.derived import (
    _severity_number,
    checked_format,
    derived_producer,
    producers,
    store_derived,
    up_to_date,
)
from neurodatashare.archive.derived import (
    build_artifact as build_artifact,
)
from neurodatashare.archive.derived import (
    is_nwb as is_nwb,
)
from neurodatashare.archive.derived import (
    local_copy as local_copy,
)
from neurodatashare.archive.derived import (
    storage_key as storage_key,
)
from neurodatashare.archive.version_status import (
    SUMMARIZE,
    assets_summary,
    refresh_draft,
)
from neurodatashare.archive.version_status import (
    asset_errors as asset_errors,
)
from neurodatashare.archive.version_status import (
    pending_count as pending_count,
)
from neurodatashare.db.models import Asset, Blob, Derived, Version, VersionAsset
from neurodatashare.jobs import enqueue

log = logging.getLogger("neurodatashare.processing")
PROCESS_NWB = "nwb.process"
PROCESS = "blob.process"  # the same job for formats other than NWB
BUILD_INDEX = "nwb.index"
SHA256 = "blob.sha256"
BUILD_OVERVIEW = "nwb.overview"


def schedule(s: Session, *, blob_id: str, path: str) -> None:
    """Queue processing for a blob of a checked format, unless its results are cached."""
    fmt = checked_format(path)
    if fmt is None:
        return
    if not up_to_date(s, blob_id=blob_id, fmt=fmt):
        kind = PROCESS_NWB if fmt.name == "nwb" else PROCESS
        enqueue(s, kind=kind, key=blob_id, payload={"blob_id": blob_id, "path": path})
    if fmt.name != "nwb":
        return
    from neurodatashare.archive.streaming import INDEX_KIND, index_producer

    if derived_producer(s, blob_id=blob_id, kind=INDEX_KIND) != index_producer():
        # the index serves readers; validation serves publishing, so it goes first
        enqueue(s, kind=BUILD_INDEX, key=blob_id, payload={"blob_id": blob_id}, priority=110)
    from neurodatashare.archive.explore import OVERVIEW_KIND, overview_producer

    if derived_producer(s, blob_id=blob_id, kind=OVERVIEW_KIND) != overview_producer():
        enqueue(s, kind=BUILD_OVERVIEW, key=blob_id, payload={"blob_id": blob_id}, priority=120)


def process_blob(archive: Archive, payload: dict[str, Any]) -> None:
    """The `nwb.process` job."""
    blob_id = payload["blob_id"]
    fmt = checked_format(payload.get("path", "x.nwb"))  # jobs queued before 0.x: NWB
    if fmt is None:
        return
    with archive.db.read() as s:
        blob = s.get(Blob, blob_id)
        if blob is None or up_to_date(s, blob_id=blob_id, fmt=fmt):
            return
    from neurodatashare.nwb.links import isolate

    isolate()  # HDF5 never opens another file by itself (see nwb/links.py)
    with archive.store.open(blob.key) as reader:
        done = fmt.process(reader, path=payload.get("path", blob.key))
    if done is None:
        return
    metadata, results, error = done.metadata, done.results, done.error
    made_by = producers(fmt)
    worst = max((_severity_number(r["severity"]) for r in results), default=None)
    with archive.db.write() as s:
        store_derived(
            s,
            blob_id=blob_id,
            kind="metadata",
            producer=made_by["metadata"],
            payload=metadata,
            error=error,
        )
        store_derived(
            s,
            blob_id=blob_id,
            kind="validation",
            producer=made_by["validation"],
            payload=results,
            max_severity=worst,
        )
        drafts = s.scalars(
            select(Version)
            .join(VersionAsset, VersionAsset.version_id == Version.id)
            .join(Asset, Asset.id == VersionAsset.asset_id)
            .where(Asset.blob_id == blob_id, Version.version == "draft")
            .distinct()
        ).all()
        for draft in drafts:
            refresh_draft(s, draft)


# -- per-version views ---------------------------------------------------------------------


def summarize_version(archive: Archive, payload: dict[str, Any]) -> None:
    """The `version.summarize` job."""
    with archive.db.write() as s:
        version = s.get(Version, payload["version_id"])
        if version is None:
            return
        meta = dict(version.meta)
        meta["assetsSummary"] = assets_summary(s, version)
        version.meta = meta


def asset_report(s: Session, *, blob_id: str, path: str) -> dict[str, Any]:
    """Validation and extraction results of one asset, as the API shows them."""
    rows = {
        d.kind: d
        for d in s.scalars(
            select(Derived).where(
                Derived.blob_id == blob_id, Derived.kind.in_(["metadata", "validation"])
            )
        )
    }
    fmt = checked_format(path)
    if fmt is None:
        return {"status": "not-applicable", "results": [], "metadata": None}
    validation = rows.get("validation")
    if validation is None or validation.producer != producers(fmt)["validation"]:
        from neurodatashare.jobs import job_states

        kind = PROCESS_NWB if fmt.name == "nwb" else PROCESS
        state = job_states(s, key=blob_id).get(kind, "queued")
        return {
            "status": "failed" if state == "failed" else "pending",
            "results": [],
            "metadata": None,
        }
    results = [{**r, "file": path} for r in validation.payload or []]
    meta = rows.get("metadata")
    return {
        "status": "done",
        "results": results,
        "metadata": meta.payload if meta else None,
        "metadata_error": meta.error if meta else None,
    }


def compute_sha256(archive: Archive, payload: dict[str, Any]) -> None:
    """The `blob.sha256` job: DANDI's second digest, computed off the upload path."""
    import hashlib

    with archive.db.read() as s:
        blob = s.get(Blob, payload["blob_id"])
    if blob is None or blob.sha256:
        return
    sha = hashlib.sha256()
    with archive.store.open(blob.key) as f:
        while block := f.read(8 * 2**20):
            sha.update(block)
    with archive.db.write() as s:
        row = s.get(Blob, blob.id)
        if row is not None:
            row.sha256 = sha.hexdigest()


def handlers(archive: Archive) -> dict[str, Any]:
    """Job kind -> handler, for the worker."""
    from neurodatashare.archive.explore import build_overview
    from neurodatashare.archive.streaming import build_index

    return {
        PROCESS_NWB: lambda payload: process_blob(archive, payload),
        PROCESS: lambda payload: process_blob(archive, payload),
        SUMMARIZE: lambda payload: summarize_version(archive, payload),
        BUILD_INDEX: lambda payload: build_index(archive, payload),
        SHA256: lambda payload: compute_sha256(archive, payload),
        BUILD_OVERVIEW: lambda payload: build_overview(archive, payload),
    }
