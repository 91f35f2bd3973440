"""Conversions on the server: the service behind /api/convert/ (NWB GUIDE's steps).

A signed-in user, on an archive whose administrator set NDS_CONVERT_ROOTS, picks source
folders under the roots (archive/convert_paths.py), expands a folder of sessions, gets
the metadata form (schema + what the files say), runs a preview (a stub conversion) and
then the conversion. Both are `convert.run` jobs on the archive's queue; a `conversions`
row keeps the owner, the request, the progress and the result. The file is written under
NDS_HOME/conversions/<owner>/<id>/ and can be added to one of the user's datasets.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from neurodatashare.archive.context import Archive
from neurodatashare.archive.convert_paths import convert_roots, server_path
from neurodatashare.archive.paths import validate_path
from neurodatashare.db.models import Conversion, User, utcnow
from neurodatashare.errors import BadRequest, NDSError, NotFound

log = logging.getLogger("neurodatashare.convert")
CONVERT_JOB = "convert.run"
KINDS = ("preview", "conversion")
MAX_STREAMS = 16


def _streams(archive: Archive, streams: Any) -> list[Any]:
    """Request streams -> checked Streams; every path under the roots."""
    from neurodatashare.nwb.convert.interfaces import check_source
    from neurodatashare.nwb.convert.sessions import source_paths

    if not isinstance(streams, list) or not streams:
        raise BadRequest("streams: give a list of {'format': NAME, 'source': {OPTION: VALUE}}.")
    if len(streams) > MAX_STREAMS:
        raise BadRequest(f"streams: at most {MAX_STREAMS} streams in one file.")
    out = []
    for i, s in enumerate(streams):
        if not isinstance(s, dict) or not isinstance(s.get("format"), str):
            raise BadRequest(f"streams[{i}] needs a 'format' (a name from /api/convert/formats/).")
        for p in source_paths(s):
            server_path(archive, p, what=f"streams[{i}] source path")
        out.append(check_source(format=s["format"], options=s.get("source") or {}))
    names = [s.format for s in out]
    if len(set(names)) != len(names):
        raise BadRequest("streams: each format may appear once in one file.")
    return out


def expand(archive: Archive, *, root: Any, streams: Any) -> dict[str, Any]:
    """The sessions under `root` that match every stream's path pattern."""
    from neurodatashare.nwb.convert.sessions import expand_sessions, source_paths

    base = server_path(archive, root, what="root")
    if not base.is_dir():
        raise BadRequest(f"root {root!r} is a file, not a folder.")
    if not isinstance(streams, list):
        raise BadRequest("streams: give a list of {'format': NAME, 'source': {OPTION: VALUE}}.")
    found = expand_sessions(root=base, streams=streams)
    sessions, refused = [], []
    for session in found:  # a match reached through a link inside the root is left out
        try:
            for stream in session["streams"]:
                for p in source_paths(stream):
                    server_path(archive, p, what=f"{stream['format']} source path")
        except NDSError as exc:
            ids = {k: session[k] for k in ("subject_id", "session_id")}
            refused.append({**ids, "reason": exc.message})
        else:
            sessions.append(session)
    return {"root": str(base), "count": len(sessions), "results": sessions, "refused": refused}


def metadata_form(archive: Archive, *, streams: Any) -> dict[str, Any]:
    """The converter's metadata schema and the metadata the files give (to prefill)."""
    from neurodatashare.nwb.convert.interfaces import (
        build_converter,
        metadata_schema,
        source_metadata,
    )

    convert_roots(archive)
    checked = _streams(archive, streams)
    converter = build_converter(streams=checked)
    return {
        "streams": [s.json() for s in checked],
        "schema": metadata_schema(converter=converter),
        "metadata": source_metadata(converter=converter),
    }


def _output_name(name: Any) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or "/" in name or not name.endswith(".nwb") or name[0] == ".":
        raise BadRequest("output_name: a file name ending in .nwb, without folders.")
    return validate_path(name)


def start(
    archive: Archive,
    *,
    user: User,
    kind: Any,
    streams: Any,
    metadata: Any = None,
    hardware: Any = None,
    output_name: Any = None,
) -> dict[str, Any]:
    """Check the request and queue it: a `preview` (stub) or a full `conversion`."""
    from neurodatashare.jobs import enqueue
    from neurodatashare.nwb.convert.hardware import parse_hardware

    convert_roots(archive)
    if kind not in KINDS:
        raise BadRequest(f"kind: one of {', '.join(KINDS)} (got {kind!r}).")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("metadata: an object in NeuroConv's shape (NWBFile, Subject, ...).")
    checked = _streams(archive, streams)
    devices = parse_hardware(hardware)
    request = {
        "streams": [s.json() for s in checked],
        "metadata": metadata or {},
        "hardware": devices.model_dump(mode="json", exclude_defaults=True) if devices else None,
        "output_name": _output_name(output_name),
    }
    discard_old(archive)  # a busy server keeps its disk in check between restarts
    with archive.db.write() as s:
        row = Conversion(
            id=secrets.token_hex(8),
            owner_id=user.id,
            kind=kind,
            state="queued",
            stage="queued",
            progress=0.0,
            request=request,
            created=utcnow(),
        )
        s.add(row)
        s.flush()
        enqueue(s, kind=CONVERT_JOB, key=row.id, payload={"conversion_id": row.id})
        return _json(row)


def _json(row: Conversion) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "stage": row.stage,
        "progress": round(row.progress, 3),
        "request": row.request,
        "result": row.result,
        "error": row.error,
        "created": row.created.isoformat(),
        "finished": row.finished.isoformat() if row.finished else None,
        # the file before it is uploaded (archive/conversion_files.py)
        "links": {"explore": f"/convert/jobs/{row.id}", "file": f"/api/convert/jobs/{row.id}/file"}
        if row.state == "done"
        else None,
    }


def _own(s: Any, *, user: User, conversion_id: str) -> Conversion:
    row = s.get(Conversion, conversion_id)
    if row is None or row.owner_id != user.id:  # another user's job does not exist for you
        raise NotFound(f"No conversion job {conversion_id!r}.")
    return row


def get(archive: Archive, *, user: User, conversion_id: str) -> dict[str, Any]:
    convert_roots(archive)
    with archive.db.read() as s:
        return _json(_own(s, user=user, conversion_id=conversion_id))


def list_jobs(archive: Archive, *, user: User, limit: int = 50) -> dict[str, Any]:
    convert_roots(archive)
    with archive.db.read() as s:
        rows = s.scalars(
            select(Conversion)
            .where(Conversion.owner_id == user.id)
            .order_by(Conversion.created.desc())
            .limit(limit)
        ).all()
        return {"count": len(rows), "results": [_json(r) for r in rows]}


def output_dir(archive: Archive, row: Conversion) -> Path:
    return archive.settings.home / "conversions" / str(row.owner_id) / row.id


def discard_old(archive: Archive) -> int:
    """Remove finished jobs older than NDS_CONVERT_KEEP_DAYS with their files (the disk of
    a lab server is not an archive of stubs); the number removed."""
    cutoff = utcnow() - timedelta(days=archive.settings.convert_keep_days)
    with archive.db.write() as s:
        old = s.scalars(
            select(Conversion).where(
                Conversion.state.in_(("done", "failed")), Conversion.finished < cutoff
            )
        ).all()
        folders = [output_dir(archive, row) for row in old]
        for row in old:
            s.delete(row)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders)


def _update(archive: Archive, conversion_id: str, **values: Any) -> None:
    with archive.db.write() as s:
        row = s.get(Conversion, conversion_id)
        if row is not None:
            for k, v in values.items():
                setattr(row, k, v)


def run(archive: Archive, payload: dict[str, Any]) -> None:
    """The `convert.run` job: convert, validate, keep the result in the row. A failure the
    user can fix (or any other) ends the job with its message: retrying would not help."""
    from neurodatashare.nwb.convert.interfaces import Stream

    conversion_id = str(payload.get("conversion_id"))
    with archive.db.read() as s:
        row = s.get(Conversion, conversion_id)
        if row is None or row.state in ("done", "failed"):
            return
        request, kind = dict(row.request), row.kind
        folder = output_dir(archive, row)
    _update(archive, conversion_id, state="running", stage="starting", progress=0.01)
    last = [0.0]

    def progress(stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] > 0.2 or fraction >= 0.9:  # a row write per step, not per chunk
            last[0] = now
            _update(archive, conversion_id, stage=stage, progress=fraction)

    try:
        streams = [Stream(format=x["format"], options=x["source"]) for x in request["streams"]]
        for st in streams:  # the roots may have changed since the request
            for p in _paths(st):
                server_path(archive, p, what=f"{st.format} source path")
        result = _convert(
            archive,
            folder=folder,
            streams=streams,
            request=request,
            kind=kind,
            progress=progress,
        )
    except BadRequest as exc:
        _update(
            archive,
            conversion_id,
            state="failed",
            stage="failed",
            error=exc.message,
            finished=utcnow(),
        )
        shutil.rmtree(folder, ignore_errors=True)
        return
    except Exception as exc:
        log.warning("conversion %s failed", conversion_id, exc_info=True)
        _update(
            archive,
            conversion_id,
            state="failed",
            stage="failed",
            error=f"{type(exc).__name__}: {exc}",
            finished=utcnow(),
        )
        shutil.rmtree(folder, ignore_errors=True)
        return
    _update(
        archive,
        conversion_id,
        state="done",
        stage="done",
        progress=1.0,
        result=result,
        finished=utcnow(),
    )


def _paths(stream: Any) -> list[str]:
    from neurodatashare.nwb.convert.sessions import source_paths

    return source_paths(stream.json())


def _convert(
    archive: Archive,
    *,
    folder: Path,
    streams: list[Any],
    request: dict[str, Any],
    kind: str,
    progress: Any,
) -> dict[str, Any]:
    from neurodatashare.nwb.convert.hardware import parse_hardware
    from neurodatashare.nwb.convert.streams import convert_streams
    from neurodatashare.validation import blocks_publishing, validate_nwb_file

    meta = request.get("metadata") or {}
    name = request.get("output_name")
    if name is None:  # DANDI's names: sub-<subject>_ses-<session>.nwb
        subject = _label((meta.get("Subject") or {}).get("subject_id")) or "subject"
        session = _label((meta.get("NWBFile") or {}).get("session_id"))
        name = f"sub-{subject}" + (f"_ses-{session}" if session else "") + ".nwb"
    out = folder / name
    result = convert_streams(
        streams=streams,
        out=out,
        metadata=meta,
        hardware=parse_hardware(request.get("hardware")),
        stub=kind == "preview",
        overwrite=True,
        progress=progress,
    )
    progress("validating as the archive will", 0.92)
    findings = validate_nwb_file(result.path)
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity.name] = counts.get(f.severity.name, 0) + 1
    return {
        "file": name,
        "size": result.path.stat().st_size,
        "seconds": round(result.seconds, 3),
        "notes": result.notes,
        "validation": {
            "counts": counts,
            "publishable": not blocks_publishing(findings),
            "findings": [
                {
                    "severity": f.severity.name,
                    "check": f.check,
                    "message": f.message,
                    "object_path": f.object_path,
                }
                for f in sorted(findings, key=lambda f: -f.severity)[:100]
            ],
        },
        "uploads": [],
    }


def _label(value: Any) -> str:
    """An id as DANDI writes it in file names: letters, digits and '-' only."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", str(value or "")).strip("-")


def handlers(archive: Archive) -> dict[str, Any]:
    return {CONVERT_JOB: lambda payload: run(archive, payload)}
