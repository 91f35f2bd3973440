"""The REST base under the client: one httpx session, retries, pagination, typed errors.

* Every request to the archive carries `Authorization: token KEY` when there is a key.
  Part uploads and redirected downloads go to storage URLs that are signed instead, so
  they use `storage`, a second session without the key (httpx also drops the key when a
  redirect leaves the archive's origin).
* Retries with exponential backoff (honouring `Retry-After`) on 429, 5xx and broken
  connections. Requests that are not idempotent (POST) are retried only when the
  archive cannot have acted on them: the connection was refused, or it answered 429/503.
* Listings are followed lazily, page by page, through `next`.
* An error status becomes the matching `ClientError` with the archive's `detail` as the
  message.
"""

from __future__ import annotations

import email.utils
import functools
import random
import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import httpx

from neurodatashare.client.config import normalize_url
from neurodatashare.client.errors import (
    BadRequestError,
    HTTPError,
    NetworkError,
    error_for_status,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_TO_REPEAT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_RETRIES = 5  # attempts after the first
DEFAULT_BACKOFF = 0.5  # seconds before the first retry; doubles each time


@functools.cache
def _user_agent() -> str:
    # Read as neurodatashare/__init__.py reads `__version__`: importing that module from here
    # would close an import cycle, since it exposes `Client` (client/remote.py) lazily.
    try:
        release = version("neurodatashare")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        release = "0.0.0"
    return f"neurodatashare-client/{release}"


def detail_of(r: httpx.Response) -> str:
    """The archive's explanation of an error: `detail` of a JSON body, else the text."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else str(detail)
    text = r.text.strip() if r.content else ""
    if text and len(text) < 500 and not text.lstrip().startswith("<"):
        return text
    return f"{r.status_code} {r.reason_phrase}".strip()


def describe_transport_error(exc: httpx.TransportError, url: str) -> str:
    where = urlsplit(url).netloc or url
    if isinstance(exc, httpx.ConnectError):
        return f"Cannot connect to {where}: {exc or 'connection refused'}."
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} did not answer in time ({type(exc).__name__})."
    return f"The connection to {where} was lost: {exc or type(exc).__name__}."


class RestClient:
    """A session with one archive: `url` (its root), `api_url` (`url + "/api"`), `token`."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int | None = None,
        backoff: float | None = None,
        max_backoff: float = 30.0,
        max_connections: int = 32,
    ) -> None:
        self.url = normalize_url(url)
        self.api_url = f"{self.url}/api"
        self.token = token or None
        self.retries = DEFAULT_RETRIES if retries is None else retries
        self.backoff = DEFAULT_BACKOFF if backoff is None else backoff
        self.max_backoff = max_backoff
        headers = {"User-Agent": _user_agent()}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 15.0))
        self.http = httpx.Client(
            headers=headers, timeout=timeouts, limits=limits, follow_redirects=True
        )
        self.storage = httpx.Client(
            headers={"User-Agent": headers["User-Agent"]},
            timeout=timeouts,
            limits=limits,
            follow_redirects=True,
        )

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self.http.close()
        self.storage.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        """An absolute URL for `path` (relative to `api_url`) or `path` itself."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.api_url}/{path.lstrip('/')}"

    def retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number `attempt` (from 0)."""
        if response is not None and (after := response.headers.get("Retry-After")):
            seconds: float | None
            try:
                seconds = float(after)
            except ValueError:
                when = email.utils.parsedate_to_datetime(after) if after else None
                seconds = when.timestamp() - time.time() if when else None
            if seconds is not None:
                return min(max(seconds, 0.0), self.max_backoff * 4)
        delay: float = min(self.backoff * 2**attempt, self.max_backoff)
        return delay * (0.75 + random.random() / 2)

    def error_from(self, r: httpx.Response) -> HTTPError:
        detail = detail_of(r)
        message = detail
        if r.status_code == 401 and not self.token:
            message = f"{detail} Log in with `nds login URL` or set NDS_API_KEY."
        return error_for_status(
            r.status_code, message, method=r.request.method, url=str(r.request.url), detail=detail
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        storage: bool = False,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send a request with retries; an error status raises (unless in `ok_statuses`)."""
        url = self.url_for(path)
        session = self.storage if storage else self.http
        method = method.upper()
        repeatable = method in SAFE_TO_REPEAT
        attempt = 0
        while True:
            try:
                r = session.request(
                    method, url, params=params, json=json, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt < self.retries and (repeatable or never_sent):
                    time.sleep(self.retry_delay(attempt))
                    attempt += 1
                    continue
                raise NetworkError(describe_transport_error(exc, url)) from exc
            if (
                r.status_code in RETRY_STATUSES
                and r.status_code not in ok_statuses
                and attempt < self.retries
                and (repeatable or r.status_code in (429, 503))
            ):
                time.sleep(self.retry_delay(attempt, r))
                attempt += 1
                continue
            if r.status_code >= 400 and r.status_code not in ok_statuses:
                raise self.error_from(r)
            return r

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def get_json(self, path: str, **kw: Any) -> Any:
        return self.get(path, **kw).json()

    def paginate(
        self, path: str, *, params: dict[str, Any] | None = None, page_size: int | None = None
    ) -> Iterator[Any]:
        """The items of a paged listing, fetching each page only when it is reached."""
        query = dict(params or {})
        if page_size is not None:
            query["page_size"] = page_size
        try:
            page = self.get_json(path, params=query)
        except BadRequestError as exc:
            # an archive with a smaller NDS_MAX_PAGE_SIZE: use its default page size
            if page_size is None or "page_size" not in exc.message:
                raise
            query.pop("page_size")
            page = self.get_json(path, params=query)
        while True:
            yield from page.get("results", [])
            following = page.get("next")
            if not following:
                return
            page = self.get_json(self._rebase(following))

    def _rebase(self, url: str) -> str:
        """Follow `next` on the origin we talk to, even if the archive names itself otherwise."""
        parts = urlsplit(url)
        if not parts.path.startswith("/api/"):
            return url
        return f"{self.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
