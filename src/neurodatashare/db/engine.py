"""Engine set-up for SQLite (embedded) and PostgreSQL (scale-out), and sessions.

SQLite: WAL, a busy timeout and `BEGIN IMMEDIATE` for every write transaction. A deferred
BEGIN cannot upgrade a read snapshot to a write lock, so under two processes it fails with
"database is locked" under concurrent writers.
PostgreSQL: a bounded pool with pre-ping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# PostgreSQL's "deadlock detected" and "could not serialize": the transaction was rolled
# back whole because another one touched the same rows in another order; running it again
# is safe and is what PostgreSQL's documentation asks of the application.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def is_conflict(exc: BaseException) -> bool:
    """Whether `exc` is a transaction PostgreSQL aborted only to break a conflict."""
    orig = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    return getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("nds_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True, pool_recycle=1800)


class Database:
    """One engine plus sessions that say whether they write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(nds_write=True), expire_on_commit=False
        )

    @property
    def write_sessions(self) -> sessionmaker[Session]:
        """The factory of write sessions, for hooks that must run on every write."""
        return self._write

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) detaches the loaded rows without expiring them, so
        # services can hand them out after the session ends.
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on error."""
        with self._write() as session, session.begin():
            yield session

    def transact(self, work: Callable[[Session], T], *, attempts: int = 4) -> T:
        """`work` in a write transaction, run again (a few times, with a short pause) when
        the database aborted it to break a deadlock with a concurrent transaction."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as session:
                    return work(session)
            except DBAPIError as exc:
                if attempt == attempts or not is_conflict(exc):
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def migrate(self) -> None:
        from neurodatashare.db.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
