"""One error handler at the edge: every error is `{"detail": message}` with a 4xx status.

Unexpected exceptions become a 500 with a short message; the traceback goes to the log,
never to the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from neurodatashare.db.engine import is_conflict
from neurodatashare.errors import NDSError, Unavailable
from neurodatashare.storage import unavailable

log = logging.getLogger("neurodatashare.server")


def _describe(errors: list[dict[str, Any]]) -> str:
    """'query parameter 'start': Input should be a finite number' for each problem."""
    parts = []
    for err in errors[:5]:
        loc = [str(x) for x in err.get("loc", ())]
        where = loc[0] if loc else ""
        name = ".".join(loc[1:]) if where in ("body", "query", "path", "header") else ".".join(loc)
        label = {"query": "query parameter", "path": "path parameter", "header": "header"}.get(
            where, "field"
        )
        nth = ""
        if where == "query" and len(loc) == 3 and loc[2].isdigit():  # a repeated parameter
            name, nth = loc[1], f" (number {int(loc[2]) + 1})"
        parts.append(f"{label} '{name}'{nth}: {err.get('msg')}" if name else str(err.get("msg")))
    return "; ".join(parts)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Routing errors (no such path, wrong method) as `{"detail": sentence}`."""
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NDSError)
    async def _nds_error(request: Request, exc: NDSError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.message}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"Invalid request: {_describe(list(exc.errors()))}"}, status_code=400
        )

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL character or an out-of-range number that the database cannot store
        log.info("database refused a value on %s: %s", request.url.path, exc.orig)
        return JSONResponse(
            {
                "detail": "The request contains a value the archive cannot store, such as a NUL "
                "character or a number out of range."
            },
            status_code=400,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if unavailable(exc):  # boto3 has retried already: the object storage is down
            log.warning("object storage unavailable on %s: %s", request.url.path, exc)
            down = Unavailable(
                "The archive's file storage is not answering just now; nothing was changed. "
                "Try again in a few seconds."
            )
            return JSONResponse({"detail": down.message}, status_code=503, headers=down.headers)
        if is_conflict(exc):  # a deadlock PostgreSQL broke: the transaction left nothing
            log.warning("transaction conflict on %s: %s", request.url.path, exc)
            busy = Unavailable(
                "The archive was busy with the same records just now; nothing was changed. "
                "Try again in a moment.",
                retry_after=1,
            )
            return JSONResponse({"detail": busy.message}, status_code=503, headers=busy.headers)
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "The server hit an unexpected error; the server log has details."},
            status_code=500,
        )
