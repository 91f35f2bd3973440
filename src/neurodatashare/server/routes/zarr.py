"""/api/zarr/: DANDI's Zarr API (archive/zarrs.py), and the local store's signed
endpoints that stand in for S3's presigned PUT and GET URLs of Zarr files.

The upload and entry routes are authorised by the HMAC signature in their URL, not by a
key: the `dandi` client sends Zarr files through a session without Authorization.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from neurodatashare.archive import zarrs
from neurodatashare.archive.requests import NewZarr, ZarrFileDeletes, ZarrFileUploads
from neurodatashare.errors import BadRequest, PayloadTooLarge
from neurodatashare.server.bodies import JsonBodyRoute
from neurodatashare.server.deps import ArchiveDep, PagingDep, UserDep
from neurodatashare.server.params import Epoch
from neurodatashare.server.routes.assets import BigChunkFileResponse

router = APIRouter(prefix="/api", tags=["zarr"], route_class=JsonBodyRoute)
MAX_ENTRY_BYTES = 5 * 2**30  # S3's single-PUT limit, which the dandi client also checks


@router.post("/zarr/")
def create_zarr(archive: ArchiveDep, user: UserDep, body: Annotated[NewZarr, Body()]) -> Any:
    return zarrs.create_zarr(archive, user=user, name=body.name, dataset_id=body.dandiset)


@router.get("/zarr/")
def list_zarrs(
    archive: ArchiveDep,
    user: UserDep,
    paging: PagingDep,
    dandiset: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    total, rows = zarrs.list_zarrs(
        archive,
        user=user,
        dataset_id=dandiset,
        name=name,
        offset=paging.offset,
        limit=paging.page_size,
    )
    return paging.respond(total, rows)


@router.get("/zarr/{zarr_id}/")
def get_zarr(zarr_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return zarrs.get_zarr(archive, zarr_id=zarr_id, user=user)


def list_files(
    zarr_id: str,
    request: Request,
    archive: ArchiveDep,
    user: UserDep,
    prefix: str = "",
    after: str = "",
    limit: Annotated[int, Query(ge=1, le=zarrs.MAX_LISTING)] = zarrs.MAX_LISTING,
    download: bool = False,
) -> Any:
    """The Zarr's files by path (`prefix`, then pages linked by `next` with `after`), or
    with `download=true` a redirect to the bytes of the file named by `prefix`."""
    if download:
        url = zarrs.entry_download_url(archive, zarr_id=zarr_id, user=user, path=prefix)
        return RedirectResponse(url, status_code=302)
    results, more = zarrs.list_files(
        archive, zarr_id=zarr_id, user=user, prefix=prefix, after=after, limit=limit
    )
    following = str(request.url.include_query_params(after=results[-1]["Key"])) if more else None
    return {"next": following, "previous": None, "results": results}


# dandi lists `files` without the slash and downloads through `files/`: both are served.
for _path in ("/zarr/{zarr_id}/files", "/zarr/{zarr_id}/files/"):
    router.add_api_route(_path, list_files, methods=["GET"], include_in_schema=_path.endswith("/"))


@router.post("/zarr/{zarr_id}/files/")
def request_uploads(
    zarr_id: str, archive: ArchiveDep, user: UserDep, body: Annotated[ZarrFileUploads, Body()]
) -> list[str]:
    files = [f.model_dump() for f in body.root]
    return zarrs.request_uploads(archive, zarr_id=zarr_id, user=user, files=files)


@router.delete("/zarr/{zarr_id}/files/", status_code=204)
def delete_files(
    zarr_id: str, archive: ArchiveDep, user: UserDep, body: Annotated[ZarrFileDeletes, Body()]
) -> Response:
    files = [f.model_dump() for f in body.root]
    zarrs.delete_files(archive, zarr_id=zarr_id, user=user, files=files)
    return Response(status_code=204)


@router.post("/zarr/{zarr_id}/finalize/", status_code=204)
def finalize(zarr_id: str, archive: ArchiveDep, user: UserDep) -> Response:
    zarrs.finalize(archive, zarr_id=zarr_id, user=user)
    return Response(status_code=204)


@router.put("/zarr/{zarr_id}/upload/", include_in_schema=False)
async def put_file(
    zarr_id: str,
    request: Request,
    archive: ArchiveDep,
    path: str,
    md5: str,
    expires: Epoch,
    signature: str,
) -> Response:
    """A signed upload URL of POST /zarr/{id}/files/: the body becomes the file `path`."""
    zarrs.check_upload_url(
        archive,
        zarr_id=zarr_id,
        path=path,
        md5=md5,
        expires=expires,
        signature=signature,
        content_md5=request.headers.get("content-md5"),
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_ENTRY_BYTES:
        raise PayloadTooLarge("A Zarr file may be at most 5 GiB.")
    scratch = archive.store.local_path("uploads")
    fd, name = tempfile.mkstemp(dir=scratch, prefix=".zarr-", suffix=".part")
    tmp = Path(name)
    digest, size = hashlib.md5(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_ENTRY_BYTES:
                        raise PayloadTooLarge("A Zarr file may be at most 5 GiB.")
                    out.write(chunk)
                    digest.update(chunk)
            except ClientDisconnect:
                return Response(status_code=400)
        if digest.hexdigest() != md5:
            # S3's BadDigest, in words
            raise BadRequest(
                "The Content-MD5 you specified did not match what was received; the file "
                "changed or was damaged on the way. Send it again."
            )
        await run_in_threadpool(
            zarrs.store_entry,
            archive,
            zarr_id=zarr_id,
            path=path,
            md5=md5,
            size=size,
            source=tmp,
        )
    finally:
        tmp.unlink(missing_ok=True)
    return Response(status_code=200, headers={"ETag": f'"{md5}"'})


@router.api_route("/zarr/{zarr_id}/entry/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def get_entry(
    zarr_id: str, name: str, archive: ArchiveDep, key: str, expires: Epoch, signature: str
) -> Response:
    """A signed download URL of `files?download=true`: one file's bytes, with Range.
    It needs no key (and ignores one), as a presigned S3 URL."""
    local = zarrs.signed_entry(
        archive, zarr_id=zarr_id, key=key, expires=expires, signature=signature, name=name
    )
    if isinstance(local, str):
        return RedirectResponse(local, status_code=302)
    return BigChunkFileResponse(
        local,
        filename=name,
        media_type="application/octet-stream",
        headers={"Cache-Control": "private, max-age=0"},
    )
