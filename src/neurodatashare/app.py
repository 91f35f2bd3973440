"""The whole program as one ASGI app: the API (server/) plus the web pages (web/).

The two layers never import each other; this module is where they meet.
"""

from __future__ import annotations

from fastapi import FastAPI

from neurodatashare.archive import Archive
from neurodatashare.config import Settings


def create_app(settings: Settings | None = None, *, archive: Archive | None = None) -> FastAPI:
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response

    from neurodatashare.server import create_api
    from neurodatashare.server.errors import http_error
    from neurodatashare.web import install_web
    from neurodatashare.web.views import not_found_page

    app = create_api(settings, archive=archive)
    install_web(app)

    async def not_found(request: Request, exc: HTTPException) -> Response:
        """Unknown pages get the site's own 404 page; the API keeps answering JSON."""
        path = request.url.path
        if exc.status_code == 404 and not (path == "/api" or path.startswith("/api/")):
            return not_found_page(request)
        return await http_error(request, exc)

    app.add_exception_handler(HTTPException, not_found)  # type: ignore[arg-type]
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory neurodatashare.app:app_from_env`."""
    return create_app(Settings())
