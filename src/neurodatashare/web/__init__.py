"""Server-rendered web pages: dataset list, landing pages with a file browser, login."""

from __future__ import annotations

from fastapi import FastAPI


def install_web(app: FastAPI) -> None:
    from neurodatashare.web import subject_pages
    from neurodatashare.web.views import router, static_files

    app.include_router(router)
    app.include_router(subject_pages.router)
    app.mount("/static", static_files(), name="static")
