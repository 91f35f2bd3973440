"""zarr: Zarr archives and their entries; an asset holds a blob or a Zarr

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import neurodatashare.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = neurodatashare.db.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "zarrs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checksum", sa.String(length=128), nullable=True),
        sa.Column("file_count", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frozen", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created", UTC(timezone=True), nullable=False),
        sa.Column("modified", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_zarrs_name",
        "zarrs",
        ["dataset_id", "name"],
        unique=True,
        sqlite_where=sa.text("frozen = 0"),
        postgresql_where=sa.text("frozen = false"),
    )
    op.create_table(
        "zarr_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zarr_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("modified", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["zarr_id"], ["zarrs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("zarr_id", "path"),
    )
    op.create_index("ix_zarr_entries_key", "zarr_entries", ["storage_key"], unique=False)
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.alter_column("blob_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("zarr_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_assets_zarr_id"), ["zarr_id"], unique=False)
        batch_op.create_foreign_key("fk_assets_zarr_id_zarrs", "zarrs", ["zarr_id"], ["id"])
    with op.batch_alter_table("derived", schema=None) as batch_op:
        batch_op.alter_column("blob_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("zarr_checksum", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(
            "uq_derived_zarr_checksum_kind", ["zarr_checksum", "kind"]
        )


def downgrade() -> None:
    with op.batch_alter_table("derived", schema=None) as batch_op:
        batch_op.drop_constraint("uq_derived_zarr_checksum_kind", type_="unique")
        batch_op.drop_column("zarr_checksum")
        batch_op.alter_column("blob_id", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_assets_zarr_id_zarrs", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_assets_zarr_id"))
        batch_op.drop_column("zarr_id")
        batch_op.alter_column("blob_id", existing_type=sa.String(length=36), nullable=False)
    op.drop_table("zarr_entries")
    op.drop_index("ux_zarrs_name", table_name="zarrs")
    op.drop_table("zarrs")
