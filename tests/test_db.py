"""The schema: migrations match the models, on both backends; SQLite runs in WAL mode."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

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
