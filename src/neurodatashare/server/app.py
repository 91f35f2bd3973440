"""The API application factory. Start-up opens the archive and applies migrations.

The web pages are added by neurodatashare.app, which composes the two layers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware

from neurodatashare import __version__
from neurodatashare.archive import Archive
from neurodatashare.archive.conversions import discard_old as discard_old_conversions
from neurodatashare.archive.processing import handlers
from neurodatashare.archive.reprocess import queue_outdated
from neurodatashare.archive.uploads import discard_stale_uploads
from neurodatashare.config import Settings
from neurodatashare.jobs import Worker
from neurodatashare.server.errors import install_error_handlers
from neurodatashare.server.routes import (
    assets,
    citation,
    convert,
    dandisets,
    explore,
    expression,
    harvest,
    info,
    search,
    subjects,
    uploads,
    validation,
    versions,
    volumes,
    zarr,
)
from neurodatashare.server.routes import morphology as morphology_routes
from neurodatashare.storage import unavailable

log = logging.getLogger("neurodatashare.server")


def create_api(settings: Settings | None = None, *, archive: Archive | None = None) -> FastAPI:
    settings = settings or (archive.settings if archive else Settings())
    the_archive = archive or Archive.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dropped = discard_stale_uploads(the_archive)
        if dropped:
            log.info("discarded %d unfinished uploads", dropped)
        if discard_old_conversions(the_archive):
            log.info("removed conversions older than %g days", settings.convert_keep_days)
        outdated = queue_outdated(the_archive)
        if outdated:
            log.info("queued %d files whose results were made by older tools", outdated)
        worker = Worker(
            the_archive.db,
            handlers(the_archive),
            threads=settings.worker_threads,
            lease_seconds=settings.job_lease_seconds,
            transient=unavailable,
        )
        worker.start()
        yield
        worker.stop()
        if archive is None:
            the_archive.close()

    app = FastAPI(
        title="neurodatashare",
        version=__version__,
        description="A DANDI-compatible archive for neuroscience data, with extensions.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served below, with Swagger UI's files from a package, not a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.archive = the_archive
    install_error_handlers(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key,
        session_cookie="nds_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.resolved_public_url.startswith("https://"),
    )
    # Browser tools (NWB GUIDE, notebooks) call the API from other origins; the API uses
    # token headers, not cookies, for them, so credentials stay off.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["ETag", "Content-Range", "Location"],
    )
    for module in (
        info,
        dandisets,
        versions,
        assets,
        uploads,
        zarr,
        validation,
        explore,
        subjects,
        search,
        citation,
        harvest,
        convert,
    ):
        app.include_router(module.router)
    app.include_router(morphology_routes.router)
    app.include_router(expression.router)  # the AnnData views (server/routes/expression.py)
    app.include_router(volumes.router)  # the OME-Zarr slice viewer (server/routes/volumes.py)
    install_api_docs(app)
    return app


DOCS_ASSETS = "/api/docs/assets"


def install_api_docs(app: FastAPI) -> None:
    """`/api/docs`: Swagger UI, with its script and style served from the fastapi-offline
    package, so the page works without the internet (no CDN, no validator badge)."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from starlette.responses import HTMLResponse

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="api-docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title="neurodatashare API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
