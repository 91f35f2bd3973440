"""The client's http.client transport under httpx, against a real local HTTP server:
keep-alive, a connection the server closed while idle, bodies with and without a length,
half-read bodies, redirects that leave the origin, and each failure as httpx's own
exception type (the client's retry rules are written against those)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trustme

from neurodatashare.client.transport import READ_SIZE, StdlibTransport

BIG = bytes(range(256)) * (3 * READ_SIZE // 256 + 7)  # several reads, not a whole number


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    seen: list[tuple[str, str, int, str | None]] = []  # method, path, client port, auth

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> None:
        auth = self.headers.get("Authorization")
        self.seen.append((self.command, self.path, self.client_address[1], auth))

    def do_GET(self) -> None:
        self._record()
        if self.path == "/big":
            self._answer(200, BIG)
        elif self.path == "/close-after":
            self._answer(200, b"bye", Connection="close")
            self.close_connection = True
        elif self.path == "/cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BIG)))
            self.end_headers()
            self.wfile.write(BIG[: READ_SIZE + 10])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif self.path == "/slow":
            time.sleep(1.0)
            with contextlib.suppress(OSError):  # the client has given up by now
                self._answer(200, b"late")
        elif self.path.startswith("/elsewhere"):
            other = self.server.other_port  # type: ignore[attr-defined]
            self._answer(307, b"", Location=f"http://127.0.0.1:{other}/big")
        else:
            self._answer(200, self.path.encode())

    def do_PUT(self) -> None:
        self._record()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(200, str(len(body)).encode(), X_Sum=str(sum(body)))


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    """Two servers on two ports (two origins); each redirects /elsewhere to the other."""
    Handler.seen = []
    a = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    b = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    a.other_port, b.other_port = b.server_port, a.server_port  # type: ignore[attr-defined]
    for s in (a, b):
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{a.server_port}", f"http://127.0.0.1:{b.server_port}"
    for s in (a, b):
        s.shutdown()
        s.server_close()


def client(**kw: object) -> httpx.Client:
    return httpx.Client(transport=StdlibTransport(), **kw)  # type: ignore[arg-type]


def test_bodies_arrive_whole_and_the_connection_is_reused(servers: tuple[str, str]) -> None:
    url, _ = servers
    with client() as c:
        with c.stream("GET", f"{url}/big") as r:
            chunks = list(r.iter_bytes())
        assert b"".join(chunks) == BIG
        assert max(len(x) for x in chunks) <= READ_SIZE
        assert c.get(f"{url}/small").text == "/small"
    ports = {port for _, _, port, _ in Handler.seen}
    assert len(Handler.seen) == 2 and len(ports) == 1  # one keep-alive connection


def test_a_connection_the_server_closed_is_not_reused(servers: tuple[str, str]) -> None:
    url, _ = servers
    with client() as c:
        assert c.get(f"{url}/close-after").text == "bye"
        assert c.get(f"{url}/again").text == "/again"
        assert c.get(f"{url}/and-again").text == "/and-again"
    ports = [port for _, _, port, _ in Handler.seen]
    assert ports[0] != ports[1] and ports[1] == ports[2]


def test_request_bodies_with_and_without_a_length(servers: tuple[str, str]) -> None:
    url, _ = servers

    def pieces() -> Iterator[bytes]:
        yield BIG[:1000]
        yield b""  # an empty piece must not end a chunked body early
        yield BIG[1000:]

    with client() as c:
        sized = c.put(f"{url}/p", content=BIG)
        chunked = c.put(f"{url}/p", content=pieces())
    for r in (sized, chunked):
        assert r.status_code == 200
        assert r.text == str(len(BIG)) and r.headers["X-Sum"] == str(sum(BIG))


def test_a_half_read_body_closes_its_connection(servers: tuple[str, str]) -> None:
    url, _ = servers
    with client() as c:
        with c.stream("GET", f"{url}/big") as r:
            next(r.iter_bytes())  # the rest is left unread
        assert c.get(f"{url}/next").text == "/next"  # not the rest of /big
    ports = [port for _, _, port, _ in Handler.seen]
    assert ports[0] != ports[1]


def test_a_cut_body_raises_a_transport_error(servers: tuple[str, str]) -> None:
    url, _ = servers
    with client() as c, c.stream("GET", f"{url}/cut") as r:
        got = 0
        with pytest.raises(httpx.TransportError) as caught:
            for chunk in r.iter_bytes():
                got += len(chunk)
    assert isinstance(caught.value, httpx.RemoteProtocolError | httpx.ReadError)
    assert got >= READ_SIZE  # what arrived before the cut was handed over


def test_refused_connections_and_timeouts_are_httpx_errors(servers: tuple[str, str]) -> None:
    url, _ = servers
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens once it is closed
    with client() as c, pytest.raises(httpx.ConnectError):
        c.get(f"http://127.0.0.1:{closed_port}/")
    with client(timeout=httpx.Timeout(0.2)) as c, pytest.raises(httpx.ReadTimeout):
        c.get(f"{url}/slow")
    with client() as c, pytest.raises(httpx.UnsupportedProtocol):
        c.get("ftp://127.0.0.1/")


def test_a_redirect_to_another_origin_drops_the_key(servers: tuple[str, str]) -> None:
    url, other = servers
    with client(headers={"Authorization": "token secret"}, follow_redirects=True) as c:
        r = c.get(f"{url}/elsewhere")
    assert r.content == BIG and str(r.url) == f"{other}/big"
    first, second = Handler.seen
    assert first[3] == "token secret" and second[3] is None


def test_a_proxy_named_in_the_environment_is_used(
    servers: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx reads proxy variables only with its own transport: the client keeps it then."""
    from neurodatashare.client.http import RestClient

    url, _ = servers
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", url)  # the test server plays the proxy
    with RestClient("http://archive.invalid") as client:
        r = client.http.get("http://archive.invalid/api/info/")
    assert r.text == "http://archive.invalid/api/info/"  # the proxy got the absolute URL


def test_https_with_the_ca_named_by_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Certificates are verified (host name included), against SSL_CERT_FILE when set."""
    ca = trustme.CA()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_port}"
    try:
        with client() as c, pytest.raises(httpx.ConnectError):
            c.get(f"{url}/untrusted")  # our throwaway CA is in no bundle
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        with client() as c:
            assert c.get(f"{url}/trusted").text == "/trusted"
            with c.stream("GET", f"{url}/big") as r:
                assert r.read() == BIG
        with client() as c, pytest.raises(httpx.ConnectError):
            c.get(f"https://localhost:{server.server_port}/")  # not the certificate's name
    finally:
        server.shutdown()
        server.server_close()
