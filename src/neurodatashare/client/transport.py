"""An httpx transport over the standard library's `http.client`, for bulk transfers.

Why not httpx's own transport: it parses HTTP/1.1 in pure Python (h11) and reads the
socket 64 KiB at a time, copying each piece twice on its way out. `http.client` parses
only the headers in Python and reads a body straight from the socket into one buffer per
read. `nds download`, which also MD5s and writes every byte, went from 3.5 to 2.3 s of
client CPU per GiB (docs/performance.md); reads of 1 MiB were slower than httpx, since
they leave the core's cache before they are hashed and written.

httpx stays the client: its API, redirects (dropping the key when a redirect leaves the
archive's origin), timeouts, event hooks and exception types are unchanged; this only
moves bytes. httpx ignores proxy variables once given a transport, so where the
environment names a proxy `bulk_transport` leaves httpx its own, which honours them.
Connections are kept alive per origin, and an idle one the server has closed is dropped
before it is used again, as httpcore does.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx

READ_SIZE = 256 << 10  # bytes per body read: stays in L2 from recv through pwrite and MD5


Origin = tuple[str, str, int]


def _idle_is_usable(conn: http.client.HTTPConnection) -> bool:
    """False when the server closed an idle connection (it is readable: EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class _Body(httpx.SyncByteStream):
    """A response body read in `READ_SIZE` pieces; the connection goes back to the pool
    once the body is read to its end, and is closed if the body is left half-read."""

    def __init__(
        self,
        transport: StdlibTransport,
        origin: Origin,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        method: str,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: http.client.HTTPConnection | None = conn
        self._response = response
        self._expected = _body_length(response, method)

    def __iter__(self) -> Iterator[bytes]:
        left = self._expected
        while True:
            try:
                data = self._response.read(READ_SIZE)
            except Exception as exc:
                self._discard()
                raise _mapped(exc, reading=True) from exc
            if not data:
                break
            if left is not None:
                left -= len(data)
            yield data
        if left:
            # http.client ends a body cut short without a word (for compatibility)
            self._discard()
            raise httpx.RemoteProtocolError(
                f"The server closed the connection {left} bytes before the end of the body."
            )
        self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._response.will_close or not self._response.isclosed():
            conn.close()
        else:
            self._transport._put_idle(self._origin, conn)

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        if self._conn is not None and self._response.isclosed():
            self._release()
        else:
            self._discard()


def _body_length(response: http.client.HTTPResponse, method: str) -> int | None:
    """The body's length from Content-Length, when the body is delimited by it."""
    if response.status < 200 or response.status in (204, 304) or method == "HEAD":
        return 0
    if "chunked" in (response.getheader("Transfer-Encoding") or "").lower():
        return None  # http.client itself raises IncompleteRead on a cut chunked body
    try:
        return int(response.getheader("Content-Length") or "")
    except ValueError:
        return None  # delimited by the end of the connection


def _mapped(exc: BaseException, *, reading: bool) -> httpx.TransportError:
    """The httpx exception httpx's own transport raises for the same failure."""
    if isinstance(exc, httpx.TransportError):
        return exc
    text = str(exc) or type(exc).__name__
    if isinstance(exc, socket.timeout | TimeoutError):
        return (httpx.ReadTimeout if reading else httpx.WriteTimeout)(text)
    if isinstance(exc, http.client.HTTPException):  # RemoteDisconnected, IncompleteRead...
        return httpx.RemoteProtocolError(text)
    if isinstance(exc, ssl.SSLError):
        return httpx.ConnectError(text)
    return (httpx.ReadError if reading else httpx.WriteError)(text)


class StdlibTransport(httpx.BaseTransport):
    """`httpx.Client(transport=StdlibTransport())`: HTTP/1.1 with keep-alive per origin."""

    def __init__(self, *, max_idle: int = 32, verify: ssl.SSLContext | None = None) -> None:
        self._max_idle = max_idle  # idle connections kept per origin
        self._ssl = verify
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    # -- the pool --------------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            import certifi  # httpx's own choice of CA bundle, and its SSL_CERT_FILE

            cafile = os.environ.get("SSL_CERT_FILE") or certifi.where()
            self._ssl = ssl.create_default_context(cafile=cafile)
        return self._ssl

    def _new(self, origin: Origin, timeout: float | None) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._ssl_context()
            )
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _take_idle(self, origin: Origin) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None or _idle_is_usable(conn):
                return conn
            conn.close()

    def _put_idle(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._max_idle:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()

    # -- one request -----------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported scheme {scheme!r}.")
        origin: Origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        conn = self._take_idle(origin)
        if conn is None:
            conn = self._new(origin, timeouts.get("connect"))
            try:
                conn.connect()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if isinstance(exc, socket.timeout | TimeoutError):
                    raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
                raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        assert conn.sock is not None
        conn.sock.settimeout(timeouts.get("write"))
        reading = False
        try:
            self._send(conn, request)
            reading = True
            conn.sock.settimeout(timeouts.get("read"))
            response = conn.getresponse()
        except Exception as exc:
            conn.close()
            raise _mapped(exc, reading=reading) from exc
        return httpx.Response(
            status_code=response.status,
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.getheaders()],
            stream=_Body(self, origin, conn, response, request.method),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode()},
        )

    @staticmethod
    def _send(conn: http.client.HTTPConnection, request: httpx.Request) -> None:
        conn.putrequest(
            request.method,
            request.url.raw_path.decode("ascii"),
            skip_host=True,  # httpx's Host header is among the request's headers
            skip_accept_encoding=True,
        )
        chunked = False
        for name, value in request.headers.raw:
            if name.lower() == b"transfer-encoding" and value.lower() == b"chunked":
                chunked = True
            conn.putheader(name.decode("latin-1"), value.decode("latin-1"))
        conn.endheaders()
        stream = request.stream
        assert isinstance(stream, httpx.SyncByteStream | httpx.ByteStream)
        for chunk in stream:
            if not chunk:
                continue
            if chunked:
                conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            else:
                conn.send(chunk)
        if chunked:
            conn.send(b"0\r\n\r\n")


def bulk_transport(*, max_idle: int) -> StdlibTransport | None:
    """The transport for the client's sessions: None (httpx's own) when the environment
    names a proxy (`HTTPS_PROXY` and the like), since httpx reads those only then."""
    if urllib.request.getproxies():
        return None
    return StdlibTransport(max_idle=max_idle)
