"""JSON request bodies: read with a size limit, parsed, and validated into the route's model.

The routes declare their body as a pydantic model (archive/requests.py), so FastAPI puts
its schema in the OpenAPI document and validates it. Two things FastAPI does not do our
way: it reads the whole body before any dependency runs (so a dependency cannot stop a
body that is too large), and its errors are lists meant for programmers. So the routers
use `JsonBodyRoute`, whose handler runs before FastAPI's: it reads the body with the
limit `settings.max_json_bytes` (413, checked on Content-Length and again while the body
streams in), parses it (400 "not valid JSON"), and hands FastAPI the bytes again labelled
application/json (JSON was read whatever the Content-Type said, so `curl -d` keeps
working). A body that fails validation becomes one 400 sentence naming the field.
`get_route_handler` is the hook FastAPI calls for each router a route is included in.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from fastapi import params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import RootModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from neurodatashare.errors import BadRequest, PayloadTooLarge

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class JsonBodyRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        field = self.body_field
        if field is None or isinstance(field.field_info, params.Form):
            return handler
        model = field.field_info.annotation
        kind = "list" if isinstance(model, type) and issubclass(model, RootModel) else "object"
        hint = getattr(model, "hint", "")

        async def read_then_validate(request: Request) -> Response:
            raw = await read_json_bytes(request)
            try:
                return await handler(_replay(request, raw))
            except RequestValidationError as exc:
                message = describe_body_errors(exc.errors(), kind=kind)
                if message is None:
                    raise  # a query or path parameter: server/errors.py answers
                raise BadRequest(f"{message} {hint}".strip()) from None

        return read_then_validate


async def read_json_bytes(request: Request) -> bytes:
    """The body, at most `max_json_bytes` long, checked to be JSON (empty is allowed)."""
    limit = request.app.state.archive.settings.max_json_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        if int(declared) <= DRAIN_BYTES:  # as below: a streaming proxy gets our 413, not a 502
            await _drain(request.stream())
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    body = bytearray()
    stream = request.stream()
    async for chunk in stream:
        body += chunk
        if len(body) > limit:
            await _drain(stream)
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    if body:
        try:
            json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"The request body is not valid JSON ({exc}).") from None
    return bytes(body)


DRAIN_BYTES = 8 * 2**20


async def _drain(stream: AsyncIterator[bytes]) -> None:
    """Read (and drop) what is left of a too-large body, up to DRAIN_BYTES, before the
    413. A proxy that streams the body (nginx with proxy_request_buffering off) still
    sending it when the server answers and closes would get a broken pipe and answer 502
    instead of our 413."""
    drained = 0
    async for chunk in stream:
        drained += len(chunk)
        if drained > DRAIN_BYTES:
            return


def _replay(request: Request, raw: bytes) -> Request:
    """A request that delivers `raw` again, declared as JSON when it is not empty."""
    headers = [
        (k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")
    ]
    if raw:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await request.receive()  # after the body: only a disconnect comes

    return Request({**request.scope, "headers": headers}, receive)


# What a value must be, by pydantic error type.
_EXPECTED = {
    "missing": "",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "dict_type": "a JSON object",
    "list_type": "a list",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "bool_type": "true or false",
}


def _path(loc: Sequence[Any]) -> str:
    """('parts', 0, 'size') -> 'parts[0].size'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_body_errors(errors: Sequence[Any], *, kind: str = "object") -> str | None:
    """What is wrong with the body, in sentences (the first three problems); None when no
    error is about the body.

    'The request body needs a 'contentSize' field.', ''contentSize' must be a whole number
    (got "abc").', 'The request body must be a JSON object.'
    """
    found = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("body",)]
    if not found:
        return None
    text = " ".join(_sentence(e, kind=kind) for e in found[:3])
    if len(found) > 3:
        text += f" ({len(found) - 3} more problems.)"
    return text


def _sentence(err: Any, *, kind: str) -> str:
    loc = tuple(err["loc"])[1:]
    kind_of = err.get("type", "")
    if kind_of == "json_invalid":
        return f"The request body is not valid JSON ({err.get('ctx', {}).get('error')})."
    if not loc:  # the body itself: missing, or not an object (a list for a list body)
        return f"The request body must be a JSON {kind}."
    if kind_of == "missing":
        owner = f"'{_path(loc[:-1])}'" if loc[:-1] else "The request body"
        return f"{owner} needs a {loc[-1]!r} field."
    if kind_of == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", ""))
        must = f"one of {expected}" if " or " in expected else expected
    else:
        must = _EXPECTED.get(kind_of, "")
    shown = _shown(err.get("input"))
    if not must:
        return f"'{_path(loc)}': {err.get('msg')} (got {shown})."
    return f"'{_path(loc)}' must be {must} (got {shown})."
