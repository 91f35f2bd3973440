"""The whole program as one ASGI app: the API (server/) plus the web pages (web/).

The two layers never import each other; this module is where they meet.
"""

from __future__ import annotations

from fastapi import FastAPI

from neurodatashare.archive import Archive
from neurodatashare.config import Settings


def create_app(settings: Settings | None = None, *, archive: Archive | None = None) -> FastAPI:
    from neurodatashare.server import create_api
    from neurodatashare.web import install_web

    app = create_api(settings, archive=archive)
    install_web(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory neurodatashare.app:app_from_env`."""
    return create_app(Settings())
