"""Run a real `nds serve` subprocess for integration tests and benchmarks.

    with run_server(tmp_path / "home") as srv:
        key = create_user(srv, "alice")
        httpx.get(f"{srv.api_url}/info/")

The server gets a free port on 127.0.0.1 (unless one is given), its own NDS_HOME, and
SQLite in that home unless `database_url` names another database. Its output (uvicorn's
access log included) goes to `home/server.log`; `log_text()` reads it. At the end of the
block it is stopped with SIGTERM, then SIGKILL if it does not exit. `kill()` stops it
abruptly (for crash tests) and `restart()` starts it again on the same port and data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

START_TIMEOUT = 60.0


def wait_for_info(
    base_url: str, *, timeout: float, exited: Callable[[], str | None] = lambda: None
) -> Exception | None:
    """Poll `base_url`/api/info/ until it answers 200 (then None) or `timeout` passes (then
    the last error); `exited` says why the process behind it has gone (RuntimeError)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = TimeoutError(f"no answer within {timeout:.0f} s")
    while time.monotonic() < deadline:
        reason = exited()
        if reason is not None:
            raise RuntimeError(reason)
        try:
            with urllib.request.urlopen(f"{base_url}/api/info/", timeout=2) as r:
                if r.status == 200:
                    return None
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    return last


STOP_TIMEOUT = 15.0


def nds_executable() -> Path:
    """The `nds` script installed next to the running interpreter."""
    path = Path(sys.executable).parent / "nds"
    if not path.exists():
        raise RuntimeError(f"{path} does not exist; install the project into this environment")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(
    home: Path,
    *,
    port: int,
    database_url: str | None = None,
    public_url: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for `nds` commands: inherited, minus any NDS_* setting, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NDS_")}
    env.update({"NDS_HOME": str(home), "NDS_HOST": "127.0.0.1", "NDS_PORT": str(port)})
    if database_url:
        env["NDS_DATABASE_URL"] = database_url
    if public_url:
        env["NDS_PUBLIC_URL"] = public_url
    env["PYTHONUNBUFFERED"] = "1"  # so the log is complete when a test reads it
    env.update(extra or {})
    return env


@dataclass
class ServerHandle:
    """A running `nds serve`. `url`/`api_url` are what clients use (NDS_PUBLIC_URL if set)."""

    url: str
    api_url: str
    port: int
    home: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)

    # -- lifecycle ----------------------------------------------------------------------
    def _start(self) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self.process = subprocess.Popen(
            [str(nds_executable()), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, not the server
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Block until GET /api/info/ answers 200; fail with the server log if it dies."""

        def exited() -> str | None:
            if self.process.poll() is None:
                return None
            self._reap()
            return (
                f"nds serve exited with code {self.process.returncode} before it was "
                f"ready. Its log ({self.log_path}):\n{self.log_text()[-4000:]}"
            )

        last = wait_for_info(self.direct_url, timeout=timeout, exited=exited)
        if last is None:
            return
        self.kill()
        raise RuntimeError(
            f"nds serve did not answer {self.direct_url}/api/info/ within {timeout:.0f}s "
            f"(last error: {last}). Its log:\n{self.log_text()[-4000:]}"
        )

    def _reap(self) -> None:
        if self._log is not None and not self._log.closed:
            self._log.close()

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self._reap()
        return self.process.returncode

    def kill(self) -> None:
        """Stop the server at once with SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
        self._reap()

    def restart(self, *, crash: bool = False) -> None:
        """Stop the server (gracefully, or with SIGKILL if `crash`) and start it again."""
        if crash:
            self.kill()
        else:
            self.stop()
        self._start()

    @property
    def direct_url(self) -> str:
        """http://127.0.0.1:PORT, even when `url` is a proxy's public URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    # -- inspection ---------------------------------------------------------------------
    def log_text(self) -> str:
        if self._log is not None and not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_offset(self) -> int:
        """The log's current length; pass it to `log_since` to see only newer lines."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


@contextmanager
def run_server(
    home: Path,
    *,
    database_url: str | None = None,
    port: int | None = None,
    public_url: str | None = None,
    env: Mapping[str, str] | None = None,
    log_name: str = "server.log",
) -> Iterator[ServerHandle]:
    """Start `nds serve` on 127.0.0.1 and yield its handle once /api/info/ answers.

    `public_url` sets NDS_PUBLIC_URL (e.g. to put a proxy in front); `env` adds or
    overrides environment variables of the server and of `create_user`; `log_name` is
    the log's file name in `home` (give a second server on the same home its own).
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    full_env = server_env(
        home, port=port, database_url=database_url, public_url=public_url, extra=env
    )
    url = (public_url or f"http://127.0.0.1:{port}").rstrip("/")
    handle = ServerHandle(
        url=url,
        api_url=f"{url}/api",
        port=port,
        home=home,
        process=None,  # type: ignore[arg-type]  # set by _start
        env=full_env,
        log_path=home / log_name,
    )
    handle._start()
    try:
        yield handle
    finally:
        handle.stop()


class _HasEnv(Protocol):
    env: dict[str, str]


def create_user(handle: _HasEnv, name: str, admin: bool = False) -> str:
    """Create an approved user with `nds admin create-user` and return its API key."""
    cmd = [str(nds_executable()), "admin", "create-user", name]
    if admin:
        cmd.append("--admin")
    done = subprocess.run(
        cmd, env=handle.env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed with code {done.returncode}:\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"`{' '.join(cmd)}` printed no API key; stderr:\n{done.stderr}")
    return lines[-1].strip()
