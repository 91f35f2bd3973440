"""access: signed-link generations, retired dataset ids, blob claims

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import neurodatashare.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("access_generation", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "retired_dataset_ids",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deleted", neurodatashare.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "blob_claims",
        sa.Column("blob_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created", neurodatashare.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["blob_id"], ["blobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("blob_id", "user_id"),
    )
    with op.batch_alter_table("blob_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_claims_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("blob_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_claims_user_id"))
    op.drop_table("blob_claims")
    op.drop_table("retired_dataset_ids")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("access_generation")
