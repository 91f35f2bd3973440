"""Background work of Zarr assets: the checksum (`zarr.ingest`, after finalize) and then
the Zarr format's processing (`zarr.pipeline`), stored per Zarr checksum
(archive/zarr_results.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
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
PYRAMID, PYRAMID_KIND = "zarr.pyramid", "pyramid"  # OME-Zarr volumes with one large level
PYRAMID_PRIORITY = 120  # after every file's checks


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
        # "Ingesting" too: a run killed after marking it is run again (else it stays so)
        if z is None or z.status not in ("Uploaded", "Ingesting"):
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
            if fmt.name == "ome-zarr" and done.metadata is not None:
                enqueue(
                    s, kind=PYRAMID, key=z.id, payload={"zarr_id": z.id}, priority=PYRAMID_PRIORITY
                )


def _pyramid_prefix(checksum: str) -> str:
    return f"derived/zarrs/{checksum[:3]}/{checksum}/pyramid"


def run_pyramid(archive: Archive, payload: dict[str, Any]) -> None:
    """The `zarr.pyramid` job: an OME-Zarr volume whose only level is large gets a
    pyramid (archive/volume_pyramid.py), stored per Zarr checksum beside its results."""
    import tempfile
    from pathlib import Path

    from neurodatashare.archive import volume_pyramid

    with archive.db.read() as s:
        z = s.get(Zarr, payload["zarr_id"])
        if z is None or z.status != "Complete" or z.checksum is None:
            return
        checksum = z.checksum
        done = s.scalar(
            select(Derived.producer).where(
                Derived.zarr_checksum == checksum, Derived.kind == PYRAMID_KIND
            )
        )
    if done == volume_pyramid.PRODUCER:
        return
    store = open_zarr_store(archive, z.id)
    error, files, summary = None, [], None
    try:
        if volume_pyramid.needs_pyramid(store):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "pyramid"
                summary = volume_pyramid.build_pyramid(store, out)
                prefix = _pyramid_prefix(checksum)
                for p in sorted(out.rglob("*")):
                    if p.is_file():
                        rel = p.relative_to(out).as_posix()
                        archive.store.put_file(f"{prefix}/{rel}", p)
                        files.append(rel)
    except Exception as exc:  # a volume the builder cannot read: the viewer goes without
        log.warning("no pyramid for Zarr %s", z.id, exc_info=True)
        error = f"no pyramid: {type(exc).__name__}: {exc}"
    with archive.db.write() as s:
        _store(
            s,
            checksum=checksum,
            kind=PYRAMID_KIND,
            producer=volume_pyramid.PRODUCER,
            payload={"files": files, "summary": json.loads(json.dumps(summary, default=str))}
            if files
            else None,
            storage_key=_pyramid_prefix(checksum) if files else None,
            error=error,
        )


class PyramidStore(Mapping[str, bytes]):
    """A derived pyramid's files as a read-only mapping (as ZarrStore is for a Zarr)."""

    def __init__(self, archive: Archive, prefix: str, files: list[str], checksum: str) -> None:
        self._archive, self._prefix, self._files = archive, prefix, frozenset(files)
        self.cache_key = f"pyramid:{checksum}"

    def __getitem__(self, key: str) -> bytes:
        if key not in self._files:
            raise KeyError(key)
        return self._archive.store.read(f"{self._prefix}/{key}")

    def __contains__(self, key: object) -> bool:
        return key in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._files))

    def __len__(self) -> int:
        return len(self._files)


def open_pyramid(archive: Archive, zarr_id: str) -> Mapping[str, bytes] | None:
    """The Zarr's derived pyramid, or None (none needed, not built yet, or failed)."""
    with archive.db.read() as s:
        z = s.get(Zarr, zarr_id)
        if z is None or z.checksum is None:
            return None
        row = s.scalar(
            select(Derived).where(Derived.zarr_checksum == z.checksum, Derived.kind == PYRAMID_KIND)
        )
        if row is None or row.storage_key is None or not isinstance(row.payload, dict):
            return None
        return PyramidStore(archive, row.storage_key, list(row.payload["files"]), z.checksum)


def handlers(archive: Archive) -> dict[str, Any]:
    return {
        INGEST: lambda payload: ingest(archive, payload),
        PIPELINE: lambda payload: run_pipeline(archive, payload),
        PYRAMID: lambda payload: run_pyramid(archive, payload),
    }
