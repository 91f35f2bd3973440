"""The REST base under the client: one httpx session, retries, pagination, typed errors.

* Every request to the archive carries `Authorization: token KEY` when there is a key.
  Part uploads and redirected downloads go to storage URLs that are signed instead, so
  they use `storage`, a second session without the key (httpx also drops the key when a
  redirect leaves the archive's origin).
* Retries with exponential backoff (honouring `Retry-After`). While the archive cannot be
  reached or answers 502/503/504 (restarting, behind a proxy), requests are retried for
  up to `retry_seconds` (`NDS_RETRY_SECONDS`, default 300), and `on_wait` is told what is
  awaited; 429 and 500 are retried `retries` times. Requests that are not idempotent
  (POST) are retried only when the archive cannot have acted on them (the connection was
  refused, or it answered 429/503), unless the caller says the archive makes this one
  idempotent (`idempotent=True`: initialize with the same digest, asset creation with
  the same path and blob): then also when the connection broke while it was answering.
* Listings are followed lazily, page by page, through `next`.
* An error status becomes the matching `ClientError` with the archive's `detail` as the
  message.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import httpx

from neurodatashare.client.config import normalize_url
from neurodatashare.client.errors import (
    BadRequestError,
    ConfigurationError,
    HTTPError,
    NetworkError,
    error_for_status,
)
from neurodatashare.client.transport import bulk_transport

log = logging.getLogger("neurodatashare.client")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_TO_REPEAT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_RETRIES = 5  # attempts after the first, for 429 and 500
DEFAULT_BACKOFF = 0.5  # seconds before the first retry; doubles each time
DEFAULT_RETRY_SECONDS = 300.0  # how long an unreachable or restarting archive is awaited
ENV_RETRY_SECONDS = "NDS_RETRY_SECONDS"
# the archive is away (restarting, behind a proxy that cannot reach it): wait for it
AWAY_STATUSES = frozenset({502, 503, 504})
# the connection broke, so the request may have been received: repeat only idempotent ones
BROKEN = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def retry_seconds_from_env() -> float:
    """`NDS_RETRY_SECONDS`, or the default when it is unset; a bad value is refused."""
    raw = os.environ.get(ENV_RETRY_SECONDS, "").strip()
    if not raw:
        return DEFAULT_RETRY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not value >= 0:
        raise ConfigurationError(
            f"{ENV_RETRY_SECONDS}={raw!r} is not a number of seconds (0 or more)."
        )
    return value


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
        retry_seconds: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.api_url = f"{self.url}/api"
        self.token = token or None
        self.retries = DEFAULT_RETRIES if retries is None else retries
        self.backoff = DEFAULT_BACKOFF if backoff is None else backoff
        self.max_backoff = max_backoff
        self.retry_seconds = retry_seconds_from_env() if retry_seconds is None else retry_seconds
        # told, in a sentence, what a retry waits for (the CLI prints it on stderr)
        self.on_wait = on_wait if on_wait is not None else log.warning
        self._last_wait_note = 0.0
        headers = {"User-Agent": _user_agent()}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 15.0))
        # (the limits bind httpx's own transports: through a proxy, see bulk_transport)
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self.http = httpx.Client(
            headers=headers,
            timeout=timeouts,
            limits=limits,
            follow_redirects=True,
            transport=bulk_transport(max_idle=max_connections),
        )
        self.storage = httpx.Client(
            headers={"User-Agent": headers["User-Agent"]},
            timeout=timeouts,
            limits=limits,
            follow_redirects=True,
            transport=bulk_transport(max_idle=max_connections),
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

    def away_delay(
        self, attempt: int, since: float, response: httpx.Response | None = None
    ) -> float | None:
        """Seconds to wait before trying again an archive that is away (unreachable,
        restarting), or None once `retry_seconds` since `since` would be spent."""
        delay = min(self.retry_delay(attempt, response), 5.0 if response is None else 30.0)
        if time.monotonic() + delay - since > self.retry_seconds:
            return None
        return delay

    def transfer_delay(
        self, failures: int, stalled_since: float, what: str, why: str
    ) -> float | None:
        """Seconds before retrying a transfer that failed `failures` (>= 1) times in a row
        with no bytes moving since `stalled_since`; None to give up. A few quick retries,
        then the archive is awaited as a restarting one is, for up to `retry_seconds`."""
        if failures <= self.retries:
            return self.retry_delay(failures - 1)
        delay = self.away_delay(failures - 1, stalled_since)
        if delay is not None:
            self.note_wait(what, why, stalled_since, delay)
        return delay

    def note_wait(self, what: str, why: str, since: float, delay: float) -> None:
        """Tell `on_wait` what is awaited: at the first retry, then every 10 s or so."""
        now = time.monotonic()
        if now - self._last_wait_note < 10 and now - since > 1:
            return
        self._last_wait_note = now
        left = max(0.0, self.retry_seconds - (now - since))
        self.on_wait(
            f"Waiting for the archive to come back ({why.rstrip('.')}): "
            f"retrying {what} in {delay:.1f} s, for up to {left:.0f} s more "
            f"({ENV_RETRY_SECONDS} sets how long)."
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
        idempotent: bool = False,
    ) -> httpx.Response:
        """Send a request with retries; an error status raises (unless in `ok_statuses`).

        `idempotent` says that the archive makes this POST safe to repeat, so it is
        repeated even when the connection broke after it was sent."""
        url = self.url_for(path)
        session = self.storage if storage else self.http
        method = method.upper()
        repeatable = method in SAFE_TO_REPEAT
        what = f"{method} {urlsplit(url).path}"
        attempt = 0
        since = time.monotonic()
        while True:
            try:
                r = session.request(
                    method, url, params=params, json=json, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                broken = isinstance(exc, BROKEN)
                if repeatable or never_sent or (idempotent and broken):
                    delay = self.away_delay(attempt, since)
                    if delay is not None:
                        self.note_wait(what, describe_transport_error(exc, url), since, delay)
                        time.sleep(delay)
                        attempt += 1
                        continue
                raise NetworkError(describe_transport_error(exc, url)) from exc
            if r.status_code in RETRY_STATUSES and r.status_code not in ok_statuses:
                delay = None
                if r.status_code in AWAY_STATUSES and (
                    repeatable or idempotent or r.status_code == 503
                ):
                    delay = self.away_delay(attempt, since, r)
                    if delay is not None:
                        self.note_wait(what, f"it answered {r.status_code}", since, delay)
                elif attempt < self.retries and (repeatable or r.status_code == 429):
                    delay = self.retry_delay(attempt, r)
                if delay is not None:
                    time.sleep(delay)
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
