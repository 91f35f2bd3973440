"""A real archive behind a real HTTP server (uvicorn in a thread), for tests.

PostgreSQL databases are created per test session and dropped after; if the server
cannot be reached the caller fails loudly rather than skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from neurodatashare.app import create_app
from neurodatashare.archive import Archive
from neurodatashare.archive import users as user_service
from neurodatashare.db.models import Base
from neurodatashare.testing.factories import Caller

PG_ADMIN_URL = os.environ.get(
    "NDS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresDatabase:
    """A throw-away database on the local PostgreSQL server."""

    def __init__(self) -> None:
        self.name = f"nds_test_{uuid.uuid4().hex[:10]}"
        try:
            self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception as exc:
            pytest.fail(
                f"PostgreSQL is required for the test suite but {PG_ADMIN_URL} failed: {exc}. "
                "Start PostgreSQL or set NDS_TEST_POSTGRES_URL.",
                pytrace=False,
            )
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def database_url(backend: str, home: Path) -> tuple[str, PostgresDatabase | None]:
    if backend == "sqlite":
        return f"sqlite:///{home / 'nds.sqlite3'}", None
    pg = PostgresDatabase()
    return pg.url, pg


@dataclass
class Live:
    """A running server: its URL, the archive behind it, and helpers to make callers."""

    url: str
    archive: Archive
    backend: str
    callers: list[Caller] = field(default_factory=list)

    def user(self, username: str, *, admin: bool = False, password: str | None = None) -> Caller:
        user = user_service.create_user(
            self.archive, username=username, is_admin=admin, password=password
        )
        caller = Caller(
            self.url, user_service.new_api_key(self.archive, user=user), username=username
        )
        self.callers.append(caller)
        return caller

    def anonymous(self) -> Caller:
        caller = Caller(self.url)
        self.callers.append(caller)
        return caller

    def _wait_for_running_jobs(self, timeout: float = 60) -> None:
        """Let the server's worker finish what it started before the rows vanish."""
        from sqlalchemy import func, select, update

        from neurodatashare.db.models import Job

        with self.archive.db.write() as s:  # nothing new may start
            s.execute(update(Job).where(Job.state == "queued").values(state="cancelled"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.archive.db.read() as s:
                running = s.scalar(
                    select(func.count()).select_from(Job).where(Job.state == "running")
                )
            if not running:
                return
            time.sleep(0.05)

    def reset(self) -> None:
        for caller in self.callers:
            caller.close()
        self.callers.clear()
        self._wait_for_running_jobs()
        with self.archive.db.write() as s:
            for table in reversed(Base.metadata.sorted_tables):
                s.execute(table.delete())
        if self.archive.settings.blob_store == "s3":
            from neurodatashare.testing.seaweed import empty_bucket

            store: Any = self.archive.store
            empty_bucket(store.client, store.bucket)
        root = self.archive.settings.resolved_blob_dir
        for area in ("blobs", "uploads", "zarrs"):
            shutil.rmtree(root / area, ignore_errors=True)
            (root / area).mkdir(parents=True)


@contextmanager
def serve_asgi_in_thread(app: Any, port: int, *, name: str = "the test server") -> Iterator[str]:
    """Run an ASGI app on 127.0.0.1:port until the block ends; yield its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_in_thread(archive: Archive, port: int) -> Iterator[str]:
    """Run the whole app on 127.0.0.1:port until the block ends; yield its URL."""
    with serve_asgi_in_thread(create_app(archive=archive), port) as url:
        yield url
