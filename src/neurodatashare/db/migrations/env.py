"""Alembic environment: the connection comes from neurodatashare.db.migrate."""

from __future__ import annotations

from alembic import context

from neurodatashare.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - alembic CLI use: open one ourselves
    from neurodatashare.config import Settings
    from neurodatashare.db.engine import make_engine

    engine = make_engine(Settings().resolved_database_url)
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
