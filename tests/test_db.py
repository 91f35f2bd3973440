"""The schema: migrations match the models, on both backends; SQLite runs in WAL mode."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session

from neurodatashare.archive.search_index import SEARCH_TEXT_OBJECTS
from neurodatashare.db import Database
from neurodatashare.db.models import Base
from neurodatashare.testing.live import Live


def _modelled(name: str | None, _type: str, _parents: object) -> bool:
    """The search index's full-text objects are the migration's alone (search_index.py)."""
    return name not in SEARCH_TEXT_OBJECTS


def test_migrations_match_models(live: Live) -> None:
    with live.archive.db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _modelled}
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_migrate_twice_is_harmless(live: Live) -> None:
    live.archive.db.migrate()
    live.archive.db.migrate()
    with live.archive.db.read() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_sqlite_writes_from_two_threads_do_not_lock(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE serialises writers instead of failing with 'database is locked'."""
    from concurrent.futures import ThreadPoolExecutor

    from neurodatashare.db.models import User

    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    db.migrate()

    def write(i: int) -> None:
        with db.write() as s:
            count = s.execute(text("SELECT count(*) FROM users")).scalar()
            s.add(User(username=f"u{i}-{count}"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(200)))
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM users")).scalar() == 200
    db.dispose()


def test_a_deadlock_on_postgresql_is_run_again_not_an_error() -> None:
    """Two transactions lock two rows in opposite orders: PostgreSQL aborts one to break the
    deadlock, and `Database.transact` runs that one again, so both changes land."""
    import threading

    from neurodatashare.testing.live import PostgresDatabase

    pg = PostgresDatabase()
    db = Database(pg.url)
    try:
        with db.write() as s:
            s.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
            s.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        both_hold_one = threading.Barrier(2, timeout=30)
        runs: list[int] = []

        def cross(first: int, second: int) -> None:
            def work(s: Session) -> None:
                runs.append(first)
                s.execute(text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": first})
                if runs.count(first) == 1:  # only the first run meets the other half-way
                    both_hold_one.wait()
                s.execute(text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": second})

            db.transact(work)

        threads = [threading.Thread(target=cross, args=pair) for pair in ((1, 2), (2, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(runs) == 3, runs  # one of the two ran twice
        with db.read() as s:
            assert dict(s.execute(text("SELECT id, n FROM pair")).all()) == {1: 2, 2: 2}
    finally:
        db.dispose()
        pg.drop()
