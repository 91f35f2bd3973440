"""conversions: NeuroConv conversions and previews users run on the server

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neurodatashare.db.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = neurodatashare.db.models.UTCDateTime
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "conversions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=128), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", UTC(), nullable=False),
        sa.Column("finished", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversions_owner_id", "conversions", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_conversions_owner_id", table_name="conversions")
    op.drop_table("conversions")
