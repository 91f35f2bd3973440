"""search: the index over dataset and file metadata (tables, FTS5 or tsvector + GIN)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import neurodatashare.db.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = neurodatashare.db.models.UTCDateTime
COUNTS = ("units", "electrodes", "rois", "cells", "genes")

# SQLite: external-content FTS5 tables (the text is stored once, in the tables above
# them) kept in step by triggers, which also fire for foreign-key cascades. The porter
# tokenizer stems English words as PostgreSQL's 'english' configuration does.
SQLITE_TEXT = [
    "CREATE VIRTUAL TABLE search_datasets_fts USING fts5(name, description, body, "
    "content='search_datasets', content_rowid='dataset_id', tokenize='porter unicode61')",
    "CREATE TRIGGER search_datasets_ai AFTER INSERT ON search_datasets BEGIN "
    "INSERT INTO search_datasets_fts(rowid, name, description, body) "
    "VALUES (new.dataset_id, new.name, new.description, new.body); END",
    "CREATE TRIGGER search_datasets_ad AFTER DELETE ON search_datasets BEGIN "
    "INSERT INTO search_datasets_fts(search_datasets_fts, rowid, name, description, body) "
    "VALUES ('delete', old.dataset_id, old.name, old.description, old.body); END",
    "CREATE TRIGGER search_datasets_au AFTER UPDATE ON search_datasets BEGIN "
    "INSERT INTO search_datasets_fts(search_datasets_fts, rowid, name, description, body) "
    "VALUES ('delete', old.dataset_id, old.name, old.description, old.body); "
    "INSERT INTO search_datasets_fts(rowid, name, description, body) "
    "VALUES (new.dataset_id, new.name, new.description, new.body); END",
    "CREATE VIRTUAL TABLE search_assets_fts USING fts5(scope, path, text, "
    "content='search_assets', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER search_assets_ai AFTER INSERT ON search_assets BEGIN "
    "INSERT INTO search_assets_fts(rowid, scope, path, text) "
    "VALUES (new.id, new.scope, new.path, new.text); END",
    "CREATE TRIGGER search_assets_ad AFTER DELETE ON search_assets BEGIN "
    "INSERT INTO search_assets_fts(search_assets_fts, rowid, scope, path, text) "
    "VALUES ('delete', old.id, old.scope, old.path, old.text); END",
    "CREATE TRIGGER search_assets_au AFTER UPDATE ON search_assets BEGIN "
    "INSERT INTO search_assets_fts(search_assets_fts, rowid, scope, path, text) "
    "VALUES ('delete', old.id, old.scope, old.path, old.text); "
    "INSERT INTO search_assets_fts(rowid, scope, path, text) "
    "VALUES (new.id, new.scope, new.path, new.text); END",
]
# PostgreSQL: generated tsvector columns (names weigh most, then descriptions) with GIN;
# angle brackets become spaces, or its parser would drop '<b>words</b>' as markup.
POSTGRES_TEXT = [
    "ALTER TABLE search_datasets ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, translate(name, '<>', '  ')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, translate(description, '<>', '  ')), 'B') "
    "|| setweight(to_tsvector('english'::regconfig, translate(body, '<>', '  ')), 'C')) "
    "STORED",
    "CREATE INDEX ix_search_datasets_tsv ON search_datasets USING gin (tsv)",
    # Ranking reads the whole tsvector of every match; the body's holds up to 20,000 words
    # of files (133 ms for 6,000 matches, against 2 ms for names and descriptions alone).
    "ALTER TABLE search_datasets ADD COLUMN tsv_rank tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, translate(name, '<>', '  ')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, translate(description, '<>', '  ')), 'B')) "
    "STORED",
    "ALTER TABLE search_assets ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "to_tsvector('english'::regconfig, translate(path || ' ' || text, '<>', '  '))) STORED",
    "CREATE INDEX ix_search_assets_tsv ON search_assets USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "search_datasets",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("asset_count", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("modified", UTC(timezone=True), nullable=False),
        *[
            sa.Column(f"{name}_{end}", sa.Integer(), nullable=True)
            for name in COUNTS
            for end in ("lo", "hi")
        ],
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "search_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("facet", "key"),
    )
    op.create_table(
        "search_terms",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("value_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["value_id"], ["search_values.id"]),
        sa.PrimaryKeyConstraint("dataset_id", "value_id"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_search_terms_value", "search_terms", ["value_id", "dataset_id"], unique=False
    )
    op.create_table(
        "search_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("facets", neurodatashare.db.models.JSONType, nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=True) for name in COUNTS],
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "asset_id"),
    )
    for name in COUNTS:
        op.create_index(
            f"ix_search_assets_{name}",
            "search_assets",
            ["dataset_id", name],
            sqlite_where=sa.text(f"{name} IS NOT NULL"),
            postgresql_where=sa.text(f"{name} IS NOT NULL"),
        )
    statements = POSTGRES_TEXT if op.get_bind().dialect.name == "postgresql" else SQLITE_TEXT
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_assets_fts")
        op.execute("DROP TABLE IF EXISTS search_datasets_fts")
    op.drop_table("search_assets")
    op.drop_index("ix_search_terms_value", table_name="search_terms")
    op.drop_table("search_terms")
    op.drop_table("search_values")
    op.drop_table("search_datasets")
