"""Run alembic migrations from code, under an advisory lock on PostgreSQL.

Several processes may start together (without the lock, concurrent starters race on
the same DDL and crash), so on PostgreSQL the upgrade holds pg_advisory_xact_lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
ADVISORY_LOCK_ID = 0x6E6473  # "nds"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    else:
        with engine.execution_options(nds_write=True).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
