"""/api/dandisets/: create, list, get, delete datasets; owners and access level."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from neurodatashare.archive import datasets
from neurodatashare.errors import BadRequest
from neurodatashare.server.deps import ArchiveDep, JsonBody, PagingDep, UserDep, field

router = APIRouter(prefix="/api/dandisets", tags=["dandisets"])


@router.get("/")
def list_dandisets(
    archive: ArchiveDep,
    user: UserDep,
    paging: PagingDep,
    search: str | None = None,
    user_filter: Annotated[str | None, Query(alias="user")] = None,
    embargoed: bool | None = None,
    ordering: str = "id",
) -> dict[str, Any]:
    total, rows = datasets.list_datasets(
        archive,
        user=user,
        mine=user_filter == "me",
        search=search,
        embargoed=embargoed,
        ordering=ordering,
        offset=paging.offset,
        limit=paging.page_size,
    )
    return paging.respond(total, rows)


@router.post("/")
def create_dandiset(
    archive: ArchiveDep,
    user: UserDep,
    body: JsonBody,
    embargo: bool = False,
    embargo_end_date: str | None = None,
    access: Annotated[
        str | None, Query(description="Extension: open, embargoed or private.")
    ] = None,
) -> dict[str, Any]:
    level = access or ("embargoed" if embargo else "open")
    metadata = field(body, "metadata", required=False)
    name = field(body, "name", required=False)
    if name is None and isinstance(metadata, dict):
        name = metadata.get("name")
    return datasets.create_dataset(
        archive,
        user=user,
        name=name,
        metadata=metadata,
        access=level,
        embargo_end=embargo_end_date,
    )


@router.get("/{dataset_id}/")
def get_dandiset(dataset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return datasets.get_dataset(archive, dataset_id=dataset_id, user=user)


@router.delete("/{dataset_id}/", status_code=204)
def delete_dandiset(dataset_id: str, archive: ArchiveDep, user: UserDep) -> Response:
    datasets.delete_dataset(archive, dataset_id=dataset_id, user=user)
    return Response(status_code=204)


@router.get("/{dataset_id}/users/")
def get_owners(dataset_id: str, archive: ArchiveDep, user: UserDep) -> list[dict[str, str]]:
    return datasets.list_owners(archive, dataset_id=dataset_id, user=user)


@router.put("/{dataset_id}/users/")
def put_owners(
    dataset_id: str, archive: ArchiveDep, user: UserDep, body: JsonBody
) -> list[dict[str, str]]:
    if not isinstance(body, list) or not all(
        isinstance(x, dict) and isinstance(x.get("username"), str) for x in body
    ):
        raise BadRequest('Send a list of owners: [{"username": "alice"}, ...].')
    return datasets.set_owners(
        archive, dataset_id=dataset_id, user=user, usernames=[x["username"] for x in body]
    )


@router.put("/{dataset_id}/access/")
def put_access(
    dataset_id: str, archive: ArchiveDep, user: UserDep, body: JsonBody
) -> dict[str, Any]:
    """Extension: set the access level (`open`, `embargoed` with `embargo_end`, `private`)."""
    return datasets.set_access(
        archive,
        dataset_id=dataset_id,
        user=user,
        access=field(body, "access"),
        embargo_end=field(body, "embargo_end", required=False),
    )
