"""One pipeline per blob: a `blob.pipeline` job reads the blob's bytes once and runs every
step its assets' formats need, each skipped when its result by today's producer exists.

The steps, in order: DANDI's sha256 (if the upload did not give it), the format's
`process` (metadata and validation), then the format's artifacts (`Format.artifacts`;
for NWB the streaming index, then the overview pyramids). Each result is a `Derived` row
per blob and kind, with the producer version that made it (archive/derived.py), so the
same bytes in two assets are processed once and a new producer version re-runs only its
own step. A step that fails does not stop the others: an artifact records its error (as
build_artifact always did); a digest or process failure fails the job after the other
steps ran, so it is retried (done steps are skipped) and then shown as failed. Only a
blob the store cannot open stops everything.

Jobs of the kinds one job per step used to have (`nwb.process`, `blob.process`,
`nwb.index`, `nwb.overview`, `blob.sha256`), queued by an older version, run this too.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive.context import Archive
from neurodatashare.archive.derived import (
    _severity_number,
    build_artifact,
    checked_format,
    derived_producer,
    producers,
    storage_key,
    store_derived,
    up_to_date,
)
from neurodatashare.archive.version_status import refresh_drafts_holding
from neurodatashare.db.models import Asset, Blob, Job, utcnow
from neurodatashare.formats import Artifact, Format
from neurodatashare.jobs import enqueue
from neurodatashare.storage import unavailable

log = logging.getLogger("neurodatashare.processing")
PIPELINE = "blob.pipeline"
# When other blobs wait for their checks, a blob's artifacts (index, overviews: slow on big
# or hostile files) are built by a later job, so every file's report comes first. That job
# opens the blob a second time; on an idle queue the pipeline does it all from one open.
ARTIFACTS, ARTIFACTS_PRIORITY = "blob.artifacts", 120
# the kinds of the jobs an older version queued, one per step; each runs the pipeline
PROCESS_NWB, PROCESS = "nwb.process", "blob.process"
LEGACY_KINDS = (PROCESS_NWB, PROCESS, "nwb.index", "nwb.overview", "blob.sha256")
UPLOAD_PRIORITY = 50  # a new upload's digest comes before other files' checks
# A large new upload's pipeline waits this long for its asset (clients make it right
# after validating): the asset's own request then finds it queued and makes it due at
# once, so one job reads the bytes once for the digest and the checks. Without an asset,
# the digest alone is computed after the wait. A small upload's digest is computed at
# once, as clients read it back right after making the asset; reading it twice is cheap.
UPLOAD_GRACE_SECONDS = 5.0
UPLOAD_GRACE_MIN_SIZE = 64 * 2**20


def queue_pipeline(s: Session, *, blob_id: str, priority: int = 100, delay: float = 0) -> None:
    """Queue the blob's pipeline in the caller's transaction (once per blob, see enqueue)."""
    payload = {"blob_id": blob_id}
    enqueue(s, kind=PIPELINE, key=blob_id, payload=payload, priority=priority, delay=delay)


def _artifacts_due(s: Session, *, blob_id: str, fmt: Format) -> bool:
    return any(
        derived_producer(s, blob_id=blob_id, kind=a.kind) != a.producer() for a in fmt.artifacts
    )


def schedule(s: Session, *, blob_id: str, path: str) -> None:
    """A new asset: queue its blob's pipeline (due now) unless its digest and every
    result the asset's format needs exist."""
    fmt = checked_format(path)
    blob = s.get(Blob, blob_id)
    due = blob is not None and not blob.sha256
    if fmt is not None and not due:
        due = not up_to_date(s, blob_id=blob_id, fmt=fmt) or _artifacts_due(
            s, blob_id=blob_id, fmt=fmt
        )
    if due:
        queue_pipeline(s, blob_id=blob_id)


def _formats(s: Session, *, blob_id: str, path: str | None) -> list[tuple[Format, str]]:
    """(format, an asset path) for each checked format among the blob's assets. Results
    are per blob, but the format comes from the asset's path (see checked_asset)."""
    paths = list(s.scalars(select(Asset.path).where(Asset.blob_id == blob_id).order_by(Asset.id)))
    found: dict[str, tuple[Format, str]] = {}
    for p in ([path] if path else []) + paths:
        fmt = checked_format(p)
        if fmt is not None and fmt.name not in found:
            found[fmt.name] = (fmt, p)
    return list(found.values())


def _others_waiting(archive: Archive, *, blob_id: str) -> bool:
    with archive.db.read() as s:
        waiting = select(Job.id).where(
            Job.kind == PIPELINE,
            Job.state == "queued",
            Job.key != blob_id,
            Job.run_after <= utcnow(),
        )
        return s.scalar(waiting.limit(1)) is not None


def run_pipeline(archive: Archive, payload: dict[str, Any], *, defer: bool = True) -> None:
    """The `blob.pipeline` job (and the older per-step kinds); `blob.artifacts` with
    `defer=False`."""
    blob_id = payload["blob_id"]
    with archive.db.read() as s:
        blob = s.get(Blob, blob_id)
        if blob is None:
            return
        todo = [
            (fmt, path)
            for fmt, path in _formats(s, blob_id=blob_id, path=payload.get("path"))
            if not up_to_date(s, blob_id=blob_id, fmt=fmt)
            or _artifacts_due(s, blob_id=blob_id, fmt=fmt)
        ]
    if blob.sha256 and not todo:
        return
    from neurodatashare.nwb.links import isolate

    isolate()  # HDF5 never opens another file by itself (see nwb/links.py)
    failures: list[str] = []
    with archive.store.open(blob.key) as reader:
        if not blob.sha256:
            _step(failures, "sha256", _digest, archive, blob, reader)
        for fmt, path in todo:
            _step(failures, "process", _process, archive, blob, reader, fmt, path)
            if fmt.artifacts and defer and _others_waiting(archive, blob_id=blob_id):
                with archive.db.write() as s:
                    later = {"blob_id": blob_id, "path": path}
                    enqueue(
                        s, kind=ARTIFACTS, key=blob_id, payload=later, priority=ARTIFACTS_PRIORITY
                    )
                continue
            for artifact in fmt.artifacts:
                _step(failures, artifact.kind, _build, archive, blob, reader, artifact)
    if failures:
        raise RuntimeError(f"blob {blob_id}: " + "; ".join(failures))


def _step(failures: list[str], name: str, run: Callable[..., None], *args: Any) -> None:
    try:
        run(*args)
    except Exception as exc:
        if unavailable(exc):
            raise  # the storage is down, not the step broken: the job is tried again later
        log.warning("%s step failed", name, exc_info=True)
        failures.append(f"{name} failed: {type(exc).__name__}: {exc}")


def _digest(archive: Archive, blob: Blob, reader: BinaryIO) -> None:
    """DANDI's second digest, computed off the upload path."""
    sha = hashlib.sha256()
    reader.seek(0)
    while block := reader.read(8 * 2**20):
        sha.update(block)
    with archive.db.write() as s:
        row = s.get(Blob, blob.id)
        if row is not None:
            row.sha256 = sha.hexdigest()


def _process(archive: Archive, blob: Blob, reader: BinaryIO, fmt: Format, path: str) -> None:
    """Metadata and validation results; then every draft holding the blob is refreshed."""
    with archive.db.read() as s:
        if up_to_date(s, blob_id=blob.id, fmt=fmt):
            return
    reader.seek(0)
    done = fmt.process(reader, path=path)
    if done is None:
        return
    made_by = producers(fmt)
    worst = max((_severity_number(r["severity"]) for r in done.results), default=None)

    # Two files of one draft finishing together both refresh it and queue its summary:
    # on PostgreSQL that can deadlock, and then the results are stored again (idempotent).
    def store(s: Session) -> None:
        store_derived(
            s,
            blob_id=blob.id,
            kind="metadata",
            producer=made_by["metadata"],
            payload=done.metadata,
            error=done.error,
        )
        store_derived(
            s,
            blob_id=blob.id,
            kind="validation",
            producer=made_by["validation"],
            payload=done.results,
            max_severity=worst,
        )
        refresh_drafts_holding(s, Asset.blob_id == blob.id)

    archive.db.transact(store)


def _build(archive: Archive, blob: Blob, reader: BinaryIO, artifact: Artifact) -> None:
    """One artifact from the open reader, stored under the blob's key for its kind."""

    def build(_blob: Blob) -> Any:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / artifact.kind
            reader.seek(0)
            summary = artifact.build(reader, out)
            # sidecars first: an index must never name sections its sidecar lacks
            for name in artifact.sidecars:
                if (out.parent / name).is_file():
                    archive.store.put_file(storage_key(blob.id, name), out.parent / name)
            archive.store.put_file(storage_key(blob.id, artifact.kind), out)
        return summary

    build_artifact(
        archive, blob_id=blob.id, kind=artifact.kind, producer=artifact.producer(), build=build
    )


def handlers(archive: Archive) -> dict[str, Any]:
    """The pipeline's job kinds -> handler (the current one and the older per-step ones)."""
    return {
        **{
            kind: (lambda payload: run_pipeline(archive, payload))
            for kind in (PIPELINE, *LEGACY_KINDS)
        },
        ARTIFACTS: lambda payload: run_pipeline(archive, payload, defer=False),
    }
