"""Background work of Zarr assets: the checksum (`zarr.ingest`, after finalize) and then
the Zarr format's processing (`zarr.pipeline`), stored per Zarr checksum
(archive/zarr_results.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive import zarr_results
from neurodatashare.archive.context import Archive
from neurodatashare.archive.derived import _severity_number
from neurodatashare.archive.zarrs import INGEST, checksum_of, open_zarr_store, refresh_drafts
from neurodatashare.db.models import (
    Asset,
    Derived,
    Zarr,
    ZarrEntry,
    utcnow,
)
from neurodatashare.formats import Processed, StoreFormat, store_format_for
from neurodatashare.jobs import enqueue

log = logging.getLogger("neurodatashare.processing")
PIPELINE = "zarr.pipeline"


def _paths(s: Session, z: Zarr) -> list[str]:
    """The asset paths the Zarr is under (formats are chosen by path), then its name."""
    paths = list(s.scalars(select(Asset.path).where(Asset.zarr_id == z.id).order_by(Asset.id)))
    return [*paths, z.name]


def format_of(s: Session, z: Zarr) -> tuple[StoreFormat, str] | None:
    for path in _paths(s, z):
        fmt = store_format_for(path)
        if fmt is not None:
            return fmt, path
    return None


def schedule(s: Session, z: Zarr) -> None:
    """Queue the format's processing of a Complete Zarr unless its results exist."""
    found = format_of(s, z)
    if z.status != "Complete" or found is None:
        return
    if not zarr_results.up_to_date(s, checksum=z.checksum, fmt=found[0]):
        enqueue(s, kind=PIPELINE, key=z.id, payload={"zarr_id": z.id})


def ingest(archive: Archive, payload: dict[str, Any]) -> None:
    """The `zarr.ingest` job: checksum, count and size from the entry rows; Complete."""
    zarr_id = payload["zarr_id"]
    with archive.db.write() as s:
        z = s.get(Zarr, zarr_id)
        if z is None or z.status != "Uploaded":
            return
        z.status = "Ingesting"
    with archive.db.read() as s:
        rows = [
            (p, int(size), md5)
            for p, size, md5 in s.execute(
                select(ZarrEntry.path, ZarrEntry.size, ZarrEntry.md5).where(
                    ZarrEntry.zarr_id == zarr_id
                )
            )
        ]
    digest = checksum_of(rows)
    with archive.db.write() as s:
        z = s.get(Zarr, zarr_id)
        if z is None or z.status != "Ingesting":
            return  # changed meanwhile: Pending again, to be finalized again
        z.checksum, z.file_count, z.size = str(digest), digest.count, digest.size
        z.status, z.modified = "Complete", utcnow()
        for asset in s.scalars(select(Asset).where(Asset.zarr_id == z.id)):
            asset.modified = z.modified
        refresh_drafts(s, z)
        schedule(s, z)


def _store(s: Session, *, checksum: str, kind: str, producer: str, **values: Any) -> None:
    row = s.scalar(select(Derived).where(Derived.zarr_checksum == checksum, Derived.kind == kind))
    if row is None:
        row = Derived(zarr_checksum=checksum, kind=kind, producer=producer)
        s.add(row)
    row.producer = producer
    for name, value in values.items():
        setattr(row, name, value)


def run_pipeline(archive: Archive, payload: dict[str, Any]) -> None:
    """The `zarr.pipeline` job: the Zarr format's `process_store`, once per checksum."""
    from neurodatashare.formats.common import finding
    from neurodatashare.validation.types import Severity

    with archive.db.read() as s:
        z = s.get(Zarr, payload["zarr_id"])
        found = format_of(s, z) if z is not None else None
        if z is None or found is None or z.status != "Complete" or z.checksum is None:
            return
        fmt, path = found
        if zarr_results.up_to_date(s, checksum=z.checksum, fmt=fmt):
            return
        checksum = z.checksum
    try:
        done = fmt.process_store(open_zarr_store(archive, z.id), path=path)
    except Exception as exc:  # a format that cannot read the Zarr reports it, never loops
        log.warning("%s could not process Zarr %s", fmt.name, z.id, exc_info=True)
        message = f"This Zarr could not be read as {fmt.name}: {type(exc).__name__}: {exc}"
        done = Processed(
            metadata=None,
            results=[finding(Severity.ERROR, "unreadable", message)],
            error=message,
        )
    worst = max((_severity_number(r["severity"]) for r in done.results), default=None)
    metadata = json.loads(json.dumps(done.metadata, default=str)) if done.metadata else None
    with archive.db.write() as s:
        _store(
            s,
            checksum=checksum,
            kind="metadata",
            producer=fmt.version,
            payload=metadata,
            error=done.error,
        )
        _store(
            s,
            checksum=checksum,
            kind="validation",
            producer=fmt.version,
            payload=done.results,
            max_severity=worst,
        )
        z = s.get(Zarr, payload["zarr_id"])
        if z is not None:
            refresh_drafts(s, z)


def handlers(archive: Archive) -> dict[str, Any]:
    return {
        INGEST: lambda payload: ingest(archive, payload),
        PIPELINE: lambda payload: run_pipeline(archive, payload),
    }
