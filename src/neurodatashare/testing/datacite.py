"""A stand-in for DataCite's REST API (DataCite itself cannot be reached from tests).

It implements the calls the archive makes, with the status codes and JSON:API bodies of
DataCite's documentation (support.datacite.org: "Create DOIs with the REST API",
"Update metadata with the REST API", "API errors"): `POST /dois`, `PUT /dois/{doi}`,
`GET /dois/{doi}`, HTTP basic auth with the repository id, DOIs only under the
repository's prefix, `event: publish` moving a draft to findable (and never back), and
the required properties of a findable DOI. `down` makes every call answer 503; stopping
the server makes them fail to connect; `hold` keeps each call that makes a DOI findable
waiting (counted in `waiting`) until it is cleared, as a slow DataCite would.

    with run_datacite(prefix="10.80507") as dc:
        settings = Settings(doi_provider="datacite", **dc.settings())
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from neurodatashare.testing.live import serve_asgi_in_thread
from neurodatashare.testing.server import free_port

REPOSITORY_ID = "NDS.TEST"
PASSWORD = "datacite-test-password"
JSONAPI = "application/vnd.api+json"
# what DataCite requires before a DOI may be findable (DataCite Metadata Schema 4, mandatory)
REQUIRED = ("url", "titles", "creators", "publisher", "publicationYear", "types")


@dataclass
class FakeDataCite:
    prefix: str
    url: str = ""
    dois: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False
    hold: bool = False
    waiting: int = 0

    def settings(self) -> dict[str, Any]:
        return {
            "datacite_api_url": self.url,
            "datacite_prefix": self.prefix,
            "datacite_repository_id": REPOSITORY_ID,
            "datacite_password": PASSWORD,
        }

    def state(self, doi: str) -> str | None:
        found = self.dois.get(doi)
        return None if found is None else str(found["state"])


def _error(status: int, title: str, source: str | None = None) -> JSONResponse:
    item: dict[str, Any] = {"status": str(status), "title": title}
    if source:
        item["source"] = source
    return JSONResponse({"errors": [item]}, status_code=status, media_type=JSONAPI)


def _authorised(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return user == REPOSITORY_ID and password == PASSWORD


def _app(dc: FakeDataCite) -> Starlette:
    async def write(request: Request) -> Response:
        doi = request.path_params.get("doi")
        dc.calls.append((request.method, doi or ""))
        if dc.down:
            return _error(503, "Service Unavailable")
        if not _authorised(request):
            return _error(401, "Bad credentials.")
        try:
            attributes = dict((await request.json())["data"]["attributes"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "You need to provide a payload following the JSONAPI spec")
        if attributes.get("event") == "publish" and dc.hold:
            dc.waiting += 1
            try:
                while dc.hold:
                    await asyncio.sleep(0.01)
            finally:
                dc.waiting -= 1
        doi = (doi or str(attributes.get("doi", ""))).lower()
        if not doi.startswith(dc.prefix.lower() + "/"):
            return _error(403, "You are not authorized to access this resource.")
        existing = dc.dois.get(doi)
        if request.method == "POST" and existing is not None:
            return _error(422, "This DOI has already been taken", "doi")
        if request.method == "PUT" and existing is None:
            return _error(404, "The resource you are looking for doesn't exist.")
        event = attributes.pop("event", None)
        record = {**(existing or {}), **attributes, "doi": doi}
        state = "findable" if event == "publish" or record.get("state") == "findable" else "draft"
        if state == "findable":
            missing = [name for name in REQUIRED if not record.get(name)]
            if missing:
                return JSONResponse(
                    {
                        "errors": [
                            {"source": m, "title": f"DOI {doi}: {m} can't be blank"}
                            for m in missing
                        ]
                    },
                    status_code=422,
                    media_type=JSONAPI,
                )
        record["state"] = state
        dc.dois[doi] = record
        body = {"data": {"id": doi, "type": "dois", "attributes": record}}
        return JSONResponse(body, status_code=201 if existing is None else 200, media_type=JSONAPI)

    async def read(request: Request) -> Response:
        doi = request.path_params["doi"].lower()
        dc.calls.append(("GET", doi))
        if dc.down:
            return _error(503, "Service Unavailable")
        found = dc.dois.get(doi)
        if found is None:
            return _error(404, "The resource you are looking for doesn't exist.")
        return JSONResponse(
            {"data": {"id": doi, "type": "dois", "attributes": found}}, media_type=JSONAPI
        )

    return Starlette(
        routes=[
            Route("/dois", write, methods=["POST"]),
            Route("/dois/{doi:path}", write, methods=["PUT"]),
            Route("/dois/{doi:path}", read, methods=["GET"]),
        ]
    )


@contextmanager
def run_datacite(*, prefix: str = "10.80507") -> Iterator[FakeDataCite]:
    """The stand-in on a free loopback port until the block ends."""
    dc = FakeDataCite(prefix=prefix)
    with serve_asgi_in_thread(_app(dc), free_port(), name="the DataCite stand-in") as url:
        dc.url = url
        yield dc
