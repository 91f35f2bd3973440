"""Uploads: initialize -> parts -> complete -> validate, as the DANDI API does them.

Nothing becomes visible until `validate` has checked the size and the dandi-etag that the
store computed from the bytes it received; then the blob (named after the upload, as in
DANDI) is committed with one rename, or nothing at all on S3, and one short transaction.
An upload that is never completed leaves no blob behind: its bytes live under the store's
upload area (on S3: at a key no blob row names) and are discarded when it expires.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from neurodatashare.archive import blobs
from neurodatashare.archive.access import check_uuid, load_dataset, require_user
from neurodatashare.archive.context import Archive
from neurodatashare.archive.requests import CompletedPart
from neurodatashare.db.models import Blob, Upload, User, utcnow
from neurodatashare.errors import BadRequest, Conflict, NotFound
from neurodatashare.storage.base import PartPlan
from neurodatashare.storage.digests import ETAG_RE, etag_from_part_md5s, part_plan

MAX_SIZE = 5 * 2**40  # the S3 object limit, which the dandi-etag part plan assumes


def initialize_upload(
    archive: Archive, *, user: User | None, content_size: int, etag: str, dataset_id: str | None
) -> dict[str, Any]:
    """Start an upload of `content_size` bytes whose dandi-etag is `etag`."""
    uploader = require_user(user, action="upload files")
    if content_size < 0:
        raise BadRequest("contentSize must be the file size in bytes (a whole number >= 0).")
    if content_size > MAX_SIZE:
        raise BadRequest("Files may be at most 5 TiB.")
    if not ETAG_RE.match(etag):
        raise BadRequest(f"{etag!r} is not a dandi-etag (32 hex digits, '-', part count).")
    plan = part_plan(content_size)
    if int(etag.rsplit("-", 1)[1]) != len(plan):
        raise BadRequest(
            f"The etag says {etag.rsplit('-', 1)[1]} parts, but a file of {content_size} bytes "
            f"has {len(plan)}; recompute the digest."
        )
    if dataset_id is None:
        raise BadRequest("Say which dataset the upload is for ('dandiset': '000001').")
    unfinished: list[str] = []
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=uploader, edit=True)
        # Only a blob the uploader may read is "already stored"; for any other the upload
        # goes through as usual, and validate stores the bytes once (archive/blobs.py).
        existing = blobs.readable_blob(s, archive, user=uploader, column=Blob.etag, value=etag)
        if existing is None:
            unfinished = list(
                s.scalars(
                    select(Upload.id)
                    .where(
                        Upload.user_id == uploader.id,
                        Upload.dataset_id == dataset.id,
                        Upload.etag == etag,
                        Upload.size == content_size,
                    )
                    .order_by(Upload.created.desc())
                )
            )
    if existing is not None:
        raise Conflict("This file is already stored.", headers={"Location": existing.id})
    # The same caller starting the same file again (a retry after a lost answer, a rerun
    # after a crash) gets the upload it began, with fresh part URLs: initialize is
    # idempotent, and the parts already received need not be sent again (`upload_parts`).
    for upload_id in unfinished:
        resumed = archive.store.resume_upload(upload_id=upload_id, size=content_size)
        if resumed is not None:
            return {**_initialized(upload_id, resumed), "resumed": True}
    upload_id = str(uuid.uuid4())
    parts = archive.store.begin_upload(upload_id=upload_id, size=content_size)
    try:
        with archive.db.write() as s:
            s.add(
                Upload(
                    id=upload_id,
                    etag=etag,
                    size=content_size,
                    part_count=len(parts),
                    dataset_id=dataset.id,
                    user_id=uploader.id,
                )
            )
    except Exception:
        archive.store.abort(upload_id=upload_id)
        raise
    return _initialized(upload_id, parts)


def _initialized(upload_id: str, parts: list[PartPlan]) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "parts": [
            {"part_number": p.part_number, "size": p.size, "upload_url": p.upload_url}
            for p in parts
        ],
    }


def upload_parts(archive: Archive, *, upload_id: str, user: User | None) -> dict[str, Any]:
    """Extension: the parts the store holds in full for the caller's upload, with their
    MD5 etags, so a resumed upload sends only the others (DANDI has no such route)."""
    upload = _load_upload(archive, upload_id=upload_id, user=user)
    plan = part_plan(upload.size)
    recorded = archive.store.recorded_parts(upload_id=upload_id)
    return {
        "upload_id": upload_id,
        "part_count": len(plan),
        "parts": [
            {"part_number": n, "size": plan[n - 1].size, "etag": recorded[n]}
            for n in sorted(recorded)
            if 1 <= n <= len(plan)
        ],
    }


def _load_upload(archive: Archive, *, upload_id: str, user: User | None) -> Upload:
    uploader = require_user(user, action="upload files")
    check_uuid(upload_id, what="Upload")
    with archive.db.read() as s:
        upload = s.get(Upload, upload_id)
    if upload is None or (upload.user_id != uploader.id and not uploader.is_admin):
        raise NotFound(f"Upload {upload_id} was not found (it may have been completed already).")
    return upload


def complete_upload(
    archive: Archive, *, upload_id: str, user: User | None, parts: list[CompletedPart]
) -> dict[str, Any]:
    upload = _load_upload(archive, upload_id=upload_id, user=user)
    plan = part_plan(upload.size)
    numbers = [p.part_number for p in parts]
    bad = [n for n in numbers if not 1 <= n <= len(plan)]
    if bad:
        raise BadRequest(f"Part numbers {bad} are out of range 1..{len(plan)}.")
    if len(set(numbers)) != len(numbers):
        raise BadRequest("A part is listed more than once.")
    missing = sorted(set(range(1, len(plan) + 1)) - set(numbers))
    if missing:
        raise BadRequest(f"Parts {missing} are missing from the completion request.")
    recorded = archive.store.recorded_parts(upload_id=upload_id)
    for p in parts:
        n = p.part_number
        if p.size != plan[n - 1].size:
            raise BadRequest(f"Part {n} should be {plan[n - 1].size} bytes, not {p.size}.")
        if n not in recorded:
            raise BadRequest(f"Part {n} was never received; send it again.")
        if p.etag.strip('"') != recorded[n]:
            raise BadRequest(f"Part {n}'s etag does not match the bytes the server received.")
    xml_parts = "".join(
        f'<Part><PartNumber>{n}</PartNumber><ETag>"{recorded[n]}"</ETag></Part>'
        for n in range(1, len(plan) + 1)
    )
    return {
        "complete_url": archive.store.complete_url(upload_id=upload_id),
        "body": f"<CompleteMultipartUpload>{xml_parts}</CompleteMultipartUpload>",
    }


def storage_complete_xml(archive: Archive, *, upload_id: str) -> str:
    """What S3's CompleteMultipartUpload answers: the multipart ETag, as XML."""
    recorded = archive.store.recorded_parts(upload_id=upload_id)
    etag = etag_from_part_md5s(recorded[n] for n in sorted(recorded))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<CompleteMultipartUploadResult>"
        f'<Key>{upload_id}</Key><ETag>"{etag}"</ETag>'
        "</CompleteMultipartUploadResult>"
    )


def validate_upload(archive: Archive, *, upload_id: str, user: User | None) -> dict[str, Any]:
    uploader = require_user(user, action="upload files")
    upload = _load_upload(archive, upload_id=upload_id, user=uploader)
    facts = archive.store.assemble(
        upload_id=upload_id, part_count=upload.part_count, size=upload.size
    )
    if facts.size != upload.size or facts.etag != upload.etag:
        archive.store.abort(upload_id=upload_id)
        with archive.db.write() as s:
            s.execute(delete(Upload).where(Upload.id == upload_id))
        what = "size" if facts.size != upload.size else "etag"
        raise BadRequest(
            f"The received file's {what} does not match what the upload announced "
            f"({facts.size} bytes, {facts.etag}; expected {upload.size} bytes, {upload.etag}). "
            "The upload was discarded; start it again."
        )
    with archive.db.write() as s:
        blob, created = blobs.create_blob(
            s,
            user=uploader,
            etag=facts.etag,
            size=facts.size,
            sha256=facts.sha256,
            store_bytes=lambda key: archive.store.commit(upload_id=upload_id, key=key),
            blob_id=upload_id,
        )
        s.execute(delete(Upload).where(Upload.id == upload_id))
    if not created:
        archive.store.abort(upload_id=upload_id)  # the same bytes are stored once
    # The digests this upload computed, not the stored blob's: an answer that carried the
    # sha256 of an earlier upload would tell that someone else already has these bytes.
    return {"blob_id": blob.id, "etag": facts.etag, "sha256": facts.sha256, "size": facts.size}


def discard_stale_uploads(archive: Archive) -> int:
    """Drop uploads that expired, and upload bytes that no upload row owns (after a crash)."""
    cutoff = utcnow() - timedelta(hours=archive.settings.upload_expiry_hours)
    with archive.db.write() as s:
        expired = s.scalars(select(Upload.id).where(Upload.created < cutoff)).all()
        s.execute(delete(Upload).where(Upload.id.in_(expired)))
        live = set(s.scalars(select(Upload.id)).all())
    dropped = 0
    # Expired ones too: on S3 a completed but never validated upload is an object, not a
    # multipart upload in progress, so the store alone does not list it.
    for upload_id in dict.fromkeys([*archive.store.stale_uploads(), *expired]):
        if upload_id not in live:
            archive.store.abort(upload_id=upload_id)
            dropped += 1
    return dropped
