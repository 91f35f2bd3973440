"""Derived results per blob: which format checks an asset, what tool versions made a
blob's results, and where its stored artifacts live (`Derived` rows, blob store keys)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from neurodatashare.db.models import Asset, Blob, Derived
from neurodatashare.formats import Format, format_for, formats
from neurodatashare.formats.nwb import INDEX_KIND, OVERVIEW_KIND

if TYPE_CHECKING:
    from neurodatashare.archive.context import Archive

log = logging.getLogger("neurodatashare.processing")


def producers(fmt: Format | None = None) -> dict[str, str]:
    """The tool versions each derived kind was made with; a change means recompute."""
    fmt = fmt or format_for("x.nwb")
    return {
        "metadata": getattr(fmt, "metadata_version", fmt.version),
        "validation": fmt.version,
    }


def checked_format(path: str) -> Format | None:
    """The asset's format if it has checks (plain files have none)."""
    fmt = format_for(path)
    return fmt if fmt.name != "plain" and fmt.suffixes else None


def is_nwb(path: str) -> bool:
    """Whether the asset's format is NWB (the streaming index and overview are NWB's)."""
    return format_for(path).name == "nwb"


def _path_of(fmt: Format) -> Any:
    return or_(*(func.lower(Asset.path).like(f"%{suffix}") for suffix in fmt.suffixes))


def checked_asset(*, validated_now: bool = False) -> Any:
    """SQL for `checked_format(Asset.path) is not None`. Results are stored per blob, but
    which checks apply depends on the asset: the same bytes under `notes.txt` are not
    judged as NWB. With `validated_now`, also: the joined Derived row is by today's tools."""
    terms = [
        and_(_path_of(f), Derived.producer == f.version) if validated_now else _path_of(f)
        for f in formats()
        if f.suffixes
    ]
    return or_(*terms) if terms else false()


def up_to_date(s: Session, *, blob_id: str, fmt: Format | None = None) -> bool:
    wanted = producers(fmt)
    have = dict(
        s.execute(
            select(Derived.kind, Derived.producer).where(
                Derived.blob_id == blob_id, Derived.kind.in_(list(wanted))
            )
        ).all()
    )
    return have == wanted


def derived_producer(s: Session, *, blob_id: str, kind: str) -> str | None:
    """Which tool version made the blob's `kind` artifact, or None if there is none."""
    return s.scalar(
        select(Derived.producer).where(Derived.blob_id == blob_id, Derived.kind == kind)
    )


def build_artifact(
    archive: Archive,
    *,
    blob_id: str,
    kind: str,
    producer: str,
    build: Callable[[Blob], Any],
) -> None:
    """Run `build(blob)` once per blob and tool version, recording its result or failure.

    `build` stores the artifact under `storage_key(blob_id, kind)` and returns a small
    JSON-able summary (or None). A file it cannot handle (not HDF5, damaged) is recorded
    as an error, so readers fall back instead of the job retrying forever.
    """
    with archive.db.read() as s:
        blob = s.get(Blob, blob_id)
        done = derived_producer(s, blob_id=blob_id, kind=kind)
    if blob is None or done == producer:
        return
    key, error, summary = storage_key(blob_id, kind), None, None
    try:
        summary = build(blob)
    except Exception as exc:
        log.warning("%s of blob %s failed", kind, blob_id, exc_info=True)
        error = f"no {kind}: {exc}"
    payload = json.loads(json.dumps(summary, default=str)) if summary else None
    archive.db.transact(  # an upsert: safe to run again after a deadlock
        lambda s: store_derived(
            s,
            blob_id=blob_id,
            kind=kind,
            producer=producer,
            storage_key=None if error else key,
            error=error,
            payload=payload,
        )
    )


def storage_key(blob_id: str, kind: str) -> str:
    """Where a blob's stored artifact of `kind` lives in the blob store."""
    names = {"lindi": "index.lindi.json", "lindi-chunks": "index.chunks.bin"}
    name = {**names, "overview": "overview.h5"}.get(kind, kind)
    return f"derived/{blob_id[:3]}/{blob_id}/{name}"


def index_key(blob_id: str) -> str:
    return storage_key(blob_id, INDEX_KIND)


def overview_key(blob_id: str) -> str:
    return storage_key(blob_id, OVERVIEW_KIND)


def store_derived(s: Session, *, blob_id: str, kind: str, producer: str, **values: Any) -> None:
    """Create or replace the blob's `kind` artifact row."""
    row = s.scalar(select(Derived).where(Derived.blob_id == blob_id, Derived.kind == kind))
    if row is None:
        row = Derived(blob_id=blob_id, kind=kind, producer=producer)
        s.add(row)
    row.producer = producer
    for name, value in values.items():
        setattr(row, name, value)


def extracted_metadata(s: Session, *, blob_id: str, path: str) -> dict[str, Any]:
    """The metadata extracted from an asset's blob, or {} (none yet, or nothing to check)."""
    if checked_format(path) is None:
        return {}
    payload = s.scalar(
        select(Derived.payload).where(Derived.blob_id == blob_id, Derived.kind == "metadata")
    )
    return dict(payload) if isinstance(payload, dict) else {}


def _severity_number(name: str) -> int:
    from neurodatashare.validation.types import Severity

    return int(Severity.parse(name))
