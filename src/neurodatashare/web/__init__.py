"""Server-rendered web pages: dataset list, search, landing pages with a file browser, login."""

from __future__ import annotations

from fastapi import FastAPI


def install_web(app: FastAPI) -> None:
    from neurodatashare.web import convert_pages, edit_pages, search_pages, subject_pages
    from neurodatashare.web.views import router, static_files

    app.include_router(router)
    app.include_router(subject_pages.router)
    app.include_router(edit_pages.router)
    app.include_router(search_pages.router)
    app.include_router(convert_pages.router)
    app.mount("/static", static_files(), name="static")
