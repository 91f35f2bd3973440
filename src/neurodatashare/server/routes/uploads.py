"""/api/uploads/: initialize, complete, validate; and the local store's part endpoints.

The part and storage-complete routes stand in for S3's presigned URLs when blobs live in a
local folder: the `dandi` client sends them no Authorization header, so they are
authorised by the HMAC signature in their URL instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from neurodatashare.archive import blobs, uploads
from neurodatashare.archive.requests import BlobDigest, CompleteUpload, InitializeUpload
from neurodatashare.server.bodies import JsonBodyRoute
from neurodatashare.server.deps import ArchiveDep, UserDep
from neurodatashare.server.params import Epoch, PartNumber, Size

router = APIRouter(prefix="/api", tags=["uploads"], route_class=JsonBodyRoute)


@router.post("/uploads/initialize/")
def initialize(
    archive: ArchiveDep, user: UserDep, body: Annotated[InitializeUpload, Body()]
) -> dict[str, Any]:
    return uploads.initialize_upload(
        archive,
        user=user,
        content_size=body.content_size,
        etag=body.digest.value,
        dataset_id=body.dandiset,
    )


@router.post("/uploads/{upload_id}/complete/")
def complete(
    upload_id: str, archive: ArchiveDep, user: UserDep, body: Annotated[CompleteUpload, Body()]
) -> dict[str, Any]:
    return uploads.complete_upload(archive, upload_id=upload_id, user=user, parts=body.parts)


@router.get("/uploads/{upload_id}/parts/")
def parts(upload_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    """Extension: the parts the archive holds for the caller's own upload (for resuming)."""
    return uploads.upload_parts(archive, upload_id=upload_id, user=user)


@router.post("/uploads/{upload_id}/validate/")
def validate(upload_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return uploads.validate_upload(archive, upload_id=upload_id, user=user)


@router.post("/blobs/digest/")
def blob_digest(
    archive: ArchiveDep, user: UserDep, body: Annotated[BlobDigest, Body()]
) -> dict[str, Any]:
    """A stored blob by digest; only blobs the caller may read are found."""
    return blobs.blob_by_digest(archive, user=user, algorithm=body.algorithm, value=body.value)


HASH_BATCH = 4 * 2**20


@router.put("/uploads/{upload_id}/parts/{part_number}/", include_in_schema=False)
async def put_part(
    upload_id: str,
    part_number: PartNumber,
    request: Request,
    archive: ArchiveDep,
    total: Size,
    expires: Epoch,
    signature: str,
) -> Response:
    writer = archive.store.part_writer(
        upload_id=upload_id,
        part_number=part_number,
        total=total,
        expires=expires,
        signature=signature,
    )
    # Each chunk is written at once, in the event loop (a page-cache write of a chunk
    # still in the CPU cache is cheap), and MD5-hashed in a worker thread a batch at a
    # time while the next batch arrives: hashlib releases the GIL, so parts arriving
    # together hash on every core. (Copying chunks into 4 MiB batches first, and writing
    # those from threads, cost ~2 s of CPU per GiB more: cold memory, fresh buffers.)
    pending: asyncio.Future[None] | None = None
    try:
        async for chunk in request.stream():
            writer.write(chunk)
            if writer.queued_bytes >= HASH_BATCH:
                if pending is not None:
                    await pending
                batch = writer.take_queued()
                pending = asyncio.ensure_future(run_in_threadpool(writer.hash_chunks, batch))
        if pending is not None:
            await pending
        pending = None
    except ClientDisconnect:
        # The client went away mid-part: the part is simply not recorded, and sending it
        # again later works. Nothing to answer.
        return Response(status_code=400)
    finally:
        if pending is not None:
            # a thread cannot be stopped: let it finish hashing before the writer closes
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
        writer.close()
    digest = await run_in_threadpool(writer.finish)
    return Response(status_code=200, headers={"ETag": f'"{digest}"'})


@router.post("/uploads/{upload_id}/storage-complete/", include_in_schema=False)
def storage_complete(upload_id: str, archive: ArchiveDep, signature: str) -> Response:
    archive.store.check_complete_signature(upload_id=upload_id, signature=signature)
    xml = uploads.storage_complete_xml(archive, upload_id=upload_id)
    return Response(xml, media_type="application/xml")
