"""/api/dandisets/{id}/versions/: list, metadata, info, update and publish."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from neurodatashare.archive import publish as publishing
from neurodatashare.archive import version_diff, versions
from neurodatashare.archive.requests import DraftUpdate
from neurodatashare.server.bodies import JsonBodyRoute
from neurodatashare.server.deps import ArchiveDep, PagingDep, UserDep

router = APIRouter(
    prefix="/api/dandisets/{dataset_id}/versions", tags=["versions"], route_class=JsonBodyRoute
)


@router.get("/")
def list_versions(
    dataset_id: str, archive: ArchiveDep, user: UserDep, paging: PagingDep, order: str = "created"
) -> dict[str, Any]:
    rows = versions.list_versions(archive, dataset_id=dataset_id, user=user, order=order)
    return paging.respond(len(rows), rows[paging.offset : paging.offset + paging.page_size])


@router.get("/{version}/")
def get_version(dataset_id: str, version: str, archive: ArchiveDep, user: UserDep) -> Any:
    return versions.get_version(archive, dataset_id=dataset_id, version=version, user=user)


@router.get("/{version}/info/")
def get_version_info(dataset_id: str, version: str, archive: ArchiveDep, user: UserDep) -> Any:
    return versions.get_version(
        archive, dataset_id=dataset_id, version=version, user=user, info=True
    )


@router.put("/{version}/")
def put_version(
    dataset_id: str,
    version: str,
    archive: ArchiveDep,
    user: UserDep,
    body: Annotated[DraftUpdate, Body()],
) -> Any:
    return versions.update_draft_metadata(
        archive,
        dataset_id=dataset_id,
        version=version,
        user=user,
        metadata=body.metadata,
        name=body.name,
    )


@router.post("/draft/publish/", status_code=202)
def publish(dataset_id: str, archive: ArchiveDep, user: UserDep) -> JSONResponse:
    result = publishing.publish(archive, dataset_id=dataset_id, user=user)
    return JSONResponse(result, status_code=202)


@router.get("/{version}/diff/{other}/")
def diff_versions(
    dataset_id: str,
    version: str,
    other: str,
    archive: ArchiveDep,
    user: UserDep,
    limit: Annotated[
        int, Query(ge=1, le=version_diff.MAX_LIMIT, description="Items per list.")
    ] = version_diff.LIMIT,
) -> dict[str, Any]:
    """What changed from `version` to `other`: files added, removed and changed, and
    metadata fields (archive/version_diff.py)."""
    return version_diff.diff_versions(
        archive, dataset_id=dataset_id, old=version, new=other, user=user, limit=limit
    )
