"""Assets in a version, assets by id, and downloads that honour Range."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import FileResponse, RedirectResponse

from neurodatashare.archive import assets, blobs, model_links, streaming
from neurodatashare.archive.requests import AssetBody
from neurodatashare.errors import NotFound
from neurodatashare.server.bodies import JsonBodyRoute
from neurodatashare.server.deps import ArchiveDep, PagingDep, UserDep
from neurodatashare.server.params import ByteLengths, ByteOffsets

router = APIRouter(tags=["assets"], route_class=JsonBodyRoute)


class BigChunkFileResponse(FileResponse):
    """Starlette sends 64 KiB per write; 1 MiB writes more than double download speed
    on loopback (bench/transfer.py: 350 to 920 MiB/s with curl)."""

    chunk_size = 1024 * 1024


V = "/api/dandisets/{dataset_id}/versions/{version}/assets"


@router.get(f"{V}/")
def list_assets(
    dataset_id: str,
    version: str,
    archive: ArchiveDep,
    user: UserDep,
    paging: PagingDep,
    path: str | None = None,
    glob: str | None = None,
    order: str = "path",
    metadata: bool = False,
) -> dict[str, Any]:
    total, rows = assets.list_assets(
        archive,
        dataset_id=dataset_id,
        version=version,
        user=user,
        path=path,
        glob=glob,
        order=order,
        offset=paging.offset,
        limit=paging.page_size,
        with_metadata=metadata,
    )
    return paging.respond(total, rows)


@router.get(f"{V}/paths/")
def list_paths(
    dataset_id: str,
    version: str,
    archive: ArchiveDep,
    user: UserDep,
    paging: PagingDep,
    path_prefix: str = "",
) -> dict[str, Any]:
    rows = assets.list_paths(
        archive, dataset_id=dataset_id, version=version, user=user, path_prefix=path_prefix
    )
    return paging.respond(len(rows), rows[paging.offset : paging.offset + paging.page_size])


@router.post(f"{V}/")
def create_asset(
    dataset_id: str,
    version: str,
    archive: ArchiveDep,
    user: UserDep,
    body: Annotated[AssetBody, Body()],
) -> dict[str, Any]:
    return assets.create_asset(
        archive,
        dataset_id=dataset_id,
        version=version,
        user=user,
        metadata=body.metadata,
        blob_id=body.blob_id,
        zarr_id=body.zarr_id,
    )


@router.get(f"{V}/{{asset_id}}/")
def get_asset_metadata(
    dataset_id: str, version: str, asset_id: str, archive: ArchiveDep, user: UserDep
) -> dict[str, Any]:
    return assets.get_asset(
        archive, dataset_id=dataset_id, version=version, asset_id=asset_id, user=user
    )


@router.get(f"{V}/{{asset_id}}/info/")
def get_asset_info(
    dataset_id: str, version: str, asset_id: str, archive: ArchiveDep, user: UserDep
) -> dict[str, Any]:
    return assets.get_asset(
        archive, dataset_id=dataset_id, version=version, asset_id=asset_id, user=user, info=True
    )


@router.put(f"{V}/{{asset_id}}/")
def replace_asset(
    dataset_id: str,
    version: str,
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    body: Annotated[AssetBody, Body()],
) -> dict[str, Any]:
    return assets.replace_asset(
        archive,
        dataset_id=dataset_id,
        version=version,
        asset_id=asset_id,
        user=user,
        metadata=body.metadata,
        blob_id=body.blob_id,
        zarr_id=body.zarr_id,
    )


@router.delete(f"{V}/{{asset_id}}/", status_code=204)
def delete_asset(
    dataset_id: str, version: str, asset_id: str, archive: ArchiveDep, user: UserDep
) -> Response:
    assets.delete_asset(
        archive, dataset_id=dataset_id, version=version, asset_id=asset_id, user=user
    )
    return Response(status_code=204)


@router.get("/api/assets/{asset_id}/")
def get_asset_by_id(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return assets.get_asset_by_id(archive, asset_id=asset_id, user=user, info=False)


@router.get("/api/assets/{asset_id}/info/")
def get_asset_info_by_id(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return assets.get_asset_by_id(archive, asset_id=asset_id, user=user, info=True)


@router.get("/api/assets/{asset_id}/related/")
def related(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    dataset: Annotated[str | None, Query(max_length=6)] = None,
    version: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Extension: the data a model was built from, and the models built from this asset
    (archive/model_links.py). `dataset` and `version` name the version a model's relative
    paths are read in (default: its draft, else its newest published version)."""
    return model_links.related(
        archive, asset_id=asset_id, user=user, dataset=dataset, version=version
    )


def download(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    expires: Annotated[int | None, Query(ge=0, le=2**62, description="From a signed link.")] = None,
    signature: str | None = None,
) -> Response:
    """The asset's bytes: a redirect where the store signs URLs, else streamed with Range.

    `expires` and `signature` come from a signed link (lindi.json, download-url/) and let
    readers that cannot send an Authorization header read private data.
    """
    found = assets.download_for(
        archive, asset_id=asset_id, user=user, expires=expires, signature=signature
    )
    if found.url:
        return RedirectResponse(found.url, status_code=302)
    if found.local_path is None or not found.local_path.is_file():
        raise NotFound("The bytes of this asset are missing from storage; tell the archive admin.")
    return BigChunkFileResponse(
        found.local_path,
        filename=found.filename,
        media_type=assets.guess_encoding(found.filename),
        headers={"Cache-Control": "private, max-age=0"},
    )


router.add_api_route("/api/assets/{asset_id}/download/", download, methods=["GET"])
router.add_api_route(
    "/api/assets/{asset_id}/download/", download, methods=["HEAD"], include_in_schema=False
)


def blob_download(blob_id: str, archive: ArchiveDep, user: UserDep) -> Response:
    """A blob's bytes by blob id, outside /api/ (an asset's second `contentUrl`, standing
    in for DANDI's S3 object URL): Range honoured; hidden blobs answer as missing."""
    blob, local, url = blobs.blob_bytes(archive, blob_id=blob_id, user=user)
    if url:
        return RedirectResponse(url, status_code=302)
    if local is None or not local.is_file():
        raise NotFound("The bytes of this blob are missing from storage; tell the archive admin.")
    return BigChunkFileResponse(
        local,
        media_type="application/octet-stream",
        headers={"Cache-Control": "private, max-age=0", "ETag": f'"{blob.etag}"'},
    )


router.add_api_route("/blobs/{blob_id}", blob_download, methods=["GET"])
router.add_api_route("/blobs/{blob_id}", blob_download, methods=["HEAD"], include_in_schema=False)


@router.api_route(f"{V}/{{asset_id}}/download/", methods=["GET", "HEAD"], include_in_schema=False)
def download_in_version(
    dataset_id: str, version: str, asset_id: str, archive: ArchiveDep, user: UserDep
) -> Response:
    assets.get_asset(archive, dataset_id=dataset_id, version=version, asset_id=asset_id, user=user)
    return download(asset_id, archive, user)


@router.get("/api/assets/{asset_id}/lindi.json")
def lindi_index(asset_id: str, archive: ArchiveDep, user: UserDep) -> Response:
    """Extension: the file's LINDI index; chunk references resolve to its download URL."""
    body = streaming.asset_index(archive, asset_id=asset_id, user=user)
    return Response(
        body, media_type="application/json", headers={"Cache-Control": "private, max-age=300"}
    )


@router.get("/api/assets/{asset_id}/chunk-tables")
def chunk_tables(
    asset_id: str, archive: ArchiveDep, user: UserDep, offset: ByteOffsets, length: ByteLengths
) -> Response:
    """Extension: byte ranges of the file's chunk tables (datasets with many chunks),
    one after another in the order asked."""
    body = streaming.chunk_table(
        archive, asset_id=asset_id, user=user, offsets=offset, lengths=length
    )
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.get("/api/assets/{asset_id}/download-url/")
def download_url(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    """Extension: a download URL that needs no key (signed, short-lived unless open)."""
    return streaming.asset_download_url(archive, asset_id=asset_id, user=user)
