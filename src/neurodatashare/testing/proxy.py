"""A loopback TCP proxy that counts HTTP requests and bytes, and can add latency.

Used by tests (how many round trips does opening a file take?) and by
bench/remote_open.py (the same, with 50 ms added to every request, as on a real network).
Hand-written because no small library counts requests through keep-alive connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from typing import Any

_REQUEST_LINE = re.compile(
    rb"(?:^|\r\n)(?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) \S+ HTTP/1\.[01]\r\n"
)


class CountingProxy:
    def __init__(
        self, target_port: int, *, delay_s: float = 0.0, target_host: str = "127.0.0.1"
    ) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def reset(self) -> None:
        self.requests = self.bytes_up = self.bytes_down = 0

    def snapshot(self) -> dict[str, int]:
        return {"requests": self.requests, "bytes_down": self.bytes_down}

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool
    ) -> None:
        try:
            while data := await reader.read(1 << 16):
                if upstream:
                    found = len(_REQUEST_LINE.findall(data))
                    if found and self.delay_s:
                        await asyncio.sleep(self.delay_s)  # one round trip per request
                    self.requests += found
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            self._pipe(client_r, server_w, upstream=True),
            self._pipe(server_r, client_w, upstream=False),
        )

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._server = server
        self._started.set()
        self._loop.run_forever()

    def start(self) -> CountingProxy:
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self) -> None:
        def _close() -> None:
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(_close)
        self._thread.join(5)

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
