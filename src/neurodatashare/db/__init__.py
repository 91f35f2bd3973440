"""Metadata database: SQLAlchemy 2 models, engine set-up and alembic migrations."""

from neurodatashare.db.engine import Database

__all__ = ["Database"]
