"""What crawlers and harvesters read: `/robots.txt`, `/sitemap.xml` and OAI-PMH at `/oai`.

Both answer the same to every caller: published versions of open datasets only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from neurodatashare.archive import Archive, harvest, oai
from neurodatashare.server.deps import ArchiveDep

router = APIRouter(tags=["harvesting"])
XML = "text/xml; charset=utf-8"


@router.get("/robots.txt")
def robots(archive: ArchiveDep) -> Response:
    """Everything may be crawled; the sitemap says where the published versions are."""
    sitemap_url = f"{archive.settings.resolved_public_url}/sitemap.xml"
    return Response(f"User-agent: *\nDisallow:\nSitemap: {sitemap_url}\n", media_type="text/plain")


@router.get("/sitemap.xml")
def sitemap(archive: ArchiveDep) -> Response:
    return Response(harvest.sitemap(archive), media_type="application/xml")


@router.get("/oai")
async def oai_get(request: Request, archive: ArchiveDep) -> Response:
    """OAI-PMH 2.0: `verb` and its arguments in the query string."""
    arguments = list(request.query_params.multi_items())
    return Response(await run_in_threadpool(_respond, archive, arguments), media_type=XML)


@router.post("/oai")
async def oai_post(request: Request, archive: ArchiveDep) -> Response:
    """OAI-PMH 2.0: the same, with the arguments as a urlencoded form body."""
    form = await request.form()
    arguments = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return Response(await run_in_threadpool(_respond, archive, arguments), media_type=XML)


def _respond(archive: Archive, arguments: list[tuple[str, str]]) -> str:
    return oai.respond(archive, arguments=arguments)
