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

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, Blob, Derived, Version, VersionAsset
from neurodatashare.formats import Format, format_for, formats
from neurodatashare.jobs import enqueue

log = logging.getLogger("neurodatashare.processing")
PROCESS_NWB = "nwb.process"
PROCESS = "blob.process"  # the same job for formats other than NWB
SUMMARIZE = "version.summarize"
BUILD_INDEX = "nwb.index"
SHA256 = "blob.sha256"
BUILD_OVERVIEW = "nwb.overview"
ERROR_LEVEL = 40  # validation.types.Severity.ERROR, without importing pynwb here


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


@contextmanager
def local_copy(archive: Archive, blob: Blob) -> Iterator[Path]:
    """A filesystem path to the blob's bytes (a temporary copy where the store is remote).

    Uploaded files are read only through here, so this is where HDF5 is told never to
    open another file by itself when a file links to one (see nwb/links.py).
    """
    from neurodatashare.nwb.links import isolate

    isolate()
    path = archive.store.local_path(blob.key)
    if path is not None:
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp:  # pragma: no cover - remote stores
        target = Path(tmp) / "blob.nwb"
        with archive.store.open(blob.key) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 * 2**20)
        yield target


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
    with archive.db.write() as s:
        store_derived(
            s,
            blob_id=blob_id,
            kind=kind,
            producer=producer,
            storage_key=None if error else key,
            error=error,
            payload=json.loads(json.dumps(summary, default=str)) if summary else None,
        )


def storage_key(blob_id: str, kind: str) -> str:
    """Where a blob's stored artifact of `kind` lives in the blob store."""
    name = {"lindi": "index.lindi.json", "overview": "overview.h5"}[kind]
    return f"derived/{blob_id[:3]}/{blob_id}/{name}"


def store_derived(s: Session, *, blob_id: str, kind: str, producer: str, **values: Any) -> None:
    """Create or replace the blob's `kind` artifact row."""
    row = s.scalar(select(Derived).where(Derived.blob_id == blob_id, Derived.kind == kind))
    if row is None:
        row = Derived(blob_id=blob_id, kind=kind, producer=producer)
        s.add(row)
    row.producer = producer
    for name, value in values.items():
        setattr(row, name, value)


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


def _severity_number(name: str) -> int:
    from neurodatashare.validation.types import Severity

    return int(Severity.parse(name))


# -- per-version views ---------------------------------------------------------------------


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
    return int(count or 0)


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
    )


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
    return errors


def assets_summary(s: Session, version: Version) -> dict[str, Any]:
    """The version's `assetsSummary`, aggregated over its assets' extracted metadata."""
    from neurodatashare.nwb.extract import summarize_assets

    extracted = (Derived.blob_id == Asset.blob_id) & (Derived.kind == "metadata") & checked_asset()
    rows = s.execute(
        select(Asset.meta, Blob.size, Derived.payload)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .join(Blob, Blob.id == Asset.blob_id)
        .outerjoin(Derived, extracted)
        .where(VersionAsset.version_id == version.id)
    ).all()
    metas = [{**(meta or {}), **(derived or {})} for meta, _size, derived in rows]
    return summarize_assets(metas, sizes=[size for _meta, size, _derived in rows])


def refresh_draft(s: Session, draft: Version) -> None:
    """Recompute the draft's status now and queue its summary (cheap to ask twice)."""
    from neurodatashare.archive.versions import refresh_status

    refresh_status(s, draft)
    enqueue(s, kind=SUMMARIZE, key=str(draft.id), payload={"version_id": draft.id})


def summarize_version(archive: Archive, payload: dict[str, Any]) -> None:
    """The `version.summarize` job."""
    with archive.db.write() as s:
        version = s.get(Version, payload["version_id"])
        if version is None:
            return
        meta = dict(version.meta)
        meta["assetsSummary"] = assets_summary(s, version)
        version.meta = meta


def extracted_metadata(s: Session, *, blob_id: str, path: str) -> dict[str, Any]:
    """The metadata extracted from an asset's blob, or {} (none yet, or nothing to check)."""
    if checked_format(path) is None:
        return {}
    payload = s.scalar(
        select(Derived.payload).where(Derived.blob_id == blob_id, Derived.kind == "metadata")
    )
    return dict(payload) if isinstance(payload, dict) else {}


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
