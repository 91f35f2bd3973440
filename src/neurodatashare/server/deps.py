"""Dependencies shared by the routers: the archive handle, the caller, paging.

JSON bodies are read by server/bodies.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from neurodatashare.archive import Archive
from neurodatashare.archive.users import session_user, user_for_api_key
from neurodatashare.db.models import User
from neurodatashare.errors import BadRequest, NotAuthenticated
from neurodatashare.server.params import MAX_COUNT, Page


def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def current_user(
    request: Request, archive: Annotated[Archive, Depends(get_archive)]
) -> User | None:
    """The caller: an API key (`Authorization: token KEY`) or a web login session.

    A wrong key is an error (401) even on public routes, so a typo never silently
    turns into anonymous access.
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not key.strip():
            raise NotAuthenticated("Send the API key as 'Authorization: token KEY'.")
        return user_for_api_key(archive, key=key)
    if "session" in request.scope and request.session:
        return session_user(archive, session=request.session)
    return None


ArchiveDep = Annotated[Archive, Depends(get_archive)]
UserDep = Annotated[User | None, Depends(current_user)]


class Paging:
    def __init__(
        self,
        request: Request,
        page: Page = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_COUNT, description="Items per page.")] = 100,
    ) -> None:
        limit = request.app.state.archive.settings.max_page_size
        if not 1 <= page_size <= limit:
            raise BadRequest(f"page_size must be between 1 and {limit}.")
        self.request = request
        self.page = page
        self.page_size = page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def respond(self, total: int, results: list[Any]) -> dict[str, Any]:
        """DANDI's page shape: count, next, previous, results (count on every page)."""
        url = self.request.url
        more = self.offset + len(results) < total
        return {
            "count": total,
            "next": str(url.include_query_params(page=self.page + 1)) if more else None,
            "previous": str(url.include_query_params(page=self.page - 1))
            if self.page > 1
            else None,
            "results": results,
        }


PagingDep = Annotated[Paging, Depends()]
