"""/api/dandisets/: create, list, get, delete datasets; owners and access level."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response

from neurodatashare.archive import datasets
from neurodatashare.archive.requests import AccessChange, NewDataset, Owners
from neurodatashare.server.bodies import JsonBodyRoute
from neurodatashare.server.deps import ArchiveDep, PagingDep, UserDep

router = APIRouter(prefix="/api/dandisets", tags=["dandisets"], route_class=JsonBodyRoute)


@router.get("/")
def list_dandisets(
    archive: ArchiveDep,
    user: UserDep,
    paging: PagingDep,
    search: str | None = None,
    user_filter: Annotated[
        Literal["me"] | None, Query(alias="user", description="`me`: only your datasets.")
    ] = None,
    draft: Annotated[bool, Query(description="Include datasets never published.")] = True,
    empty: Annotated[bool, Query(description="Include datasets without files.")] = True,
    embargoed: Annotated[
        bool, Query(description="Include embargoed and private datasets you may see.")
    ] = False,
    starred: bool = False,
    ordering: str = "id",
) -> dict[str, Any]:
    total, rows = datasets.list_datasets(
        archive,
        user=user,
        mine=user_filter == "me",
        search=search,
        embargoed=None if embargoed else False,
        draft=draft,
        empty=empty,
        starred=starred,
        ordering=ordering,
        offset=paging.offset,
        limit=paging.page_size,
    )
    return paging.respond(total, rows)


@router.post("/")
def create_dandiset(
    archive: ArchiveDep,
    user: UserDep,
    body: Annotated[NewDataset, Body()],
    embargo: bool = False,
    embargo_end_date: Annotated[
        str | None, Query(description="YYYY-MM-DD; an embargo without one lasts two years.")
    ] = None,
    funding_source: str | None = None,
    award_number: str | None = None,
    access: Annotated[
        str | None, Query(description="Extension: open, embargoed or private.")
    ] = None,
) -> dict[str, Any]:
    level = access or ("embargoed" if embargo else "open")
    return datasets.create_dataset(
        archive,
        user=user,
        name=body.dataset_name(),
        metadata=body.metadata,
        access=level,
        embargo_end=embargo_end_date,
        funding_source=funding_source,
        award_number=award_number,
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
    dataset_id: str, archive: ArchiveDep, user: UserDep, body: Annotated[Owners, Body()]
) -> list[dict[str, str]]:
    return datasets.set_owners(
        archive, dataset_id=dataset_id, user=user, usernames=body.usernames()
    )


@router.put("/{dataset_id}/access/")
def put_access(
    dataset_id: str, archive: ArchiveDep, user: UserDep, body: Annotated[AccessChange, Body()]
) -> dict[str, Any]:
    """Extension: set the access level (`open`, `embargoed` with `embargo_end`, `private`)."""
    return datasets.set_access(
        archive,
        dataset_id=dataset_id,
        user=user,
        access=body.access,
        embargo_end=body.embargo_end,
    )
