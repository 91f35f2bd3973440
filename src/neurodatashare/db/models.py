"""SQLAlchemy 2 models. Migrations in db/migrations must match these (a test checks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    # A disabled user's keys and sessions stop working at once (the row and data stay).
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Copied into each web session cookie; raising it ends every session of the user.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so an administrator can tell keys apart (None for
    # keys made before it was recorded). 8 of 40 hex digits leave 128 bits unknown.
    prefix: Mapped[str | None] = mapped_column(String(8))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class DatasetOwner(Base):
    __tablename__ = "dataset_owners"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access: Mapped[str] = mapped_column(String(16), default="open")  # open|embargoed|private
    embargo_end: Mapped[date | None] = mapped_column(Date)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change of access level or owners; signed links carry it, so a
    # change revokes every link handed out before it (archive/streaming.py).
    access_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    owners: Mapped[list[User]] = relationship(secondary="dataset_owners", lazy="selectin")
    versions: Mapped[list[Version]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", passive_deletes=True
    )


class RetiredDatasetId(Base):
    """Identifiers of deleted datasets: never handed out again (citations may name them)."""

    __tablename__ = "retired_dataset_ids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))  # "draft" or "0.YYMMDD.NNNN"
    name: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="Pending")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class Blob(Base):
    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    etag: Mapped[str] = mapped_column(String(40), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlobClaim(Base):
    """A user who uploaded a blob's bytes and has not yet made an asset of it.

    Until the blob is in an asset the claimant can see, this is what makes it readable
    to them (archive/blobs.py); it is used up by that asset and expires like an upload.
    """

    __tablename__ = "blob_claims"

    blob_id: Mapped[str] = mapped_column(
        ForeignKey("blobs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Zarr(Base):
    """A Zarr archive of a dataset: a folder of entries uploaded one file at a time.

    As in DANDI: `Pending` while entries change, `Uploaded` once finalized, `Ingesting`
    while the checksum is computed, `Complete` with its checksum, file count and size.
    A published version holds a frozen copy (`frozen`): its own row with copies of the
    entry rows, sharing their storage objects (archive/zarrs.py).
    """

    __tablename__ = "zarrs"
    __table_args__ = (
        # one live Zarr per (dataset, name); frozen copies of published versions repeat it
        Index(
            "ux_zarrs_name",
            "dataset_id",
            "name",
            unique=True,
            sqlite_where=text("frozen = 0"),
            postgresql_where=text("frozen = false"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="Pending")
    checksum: Mapped[str | None] = mapped_column(String(128))
    file_count: Mapped[int] = mapped_column(BigInteger, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ZarrEntry(Base):
    """One file of a Zarr. Each upload stores its bytes under a new storage key, so a
    frozen copy's rows keep pointing at the bytes they were published with."""

    __tablename__ = "zarr_entries"
    __table_args__ = (
        UniqueConstraint("zarr_id", "path"),
        Index("ix_zarr_entries_key", "storage_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zarr_id: Mapped[str] = mapped_column(ForeignKey("zarrs.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(1024))
    storage_key: Mapped[str] = mapped_column(String(255))
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Asset(Base):
    """A path plus metadata pointing at a blob or a Zarr (exactly one). Immutable once in
    a published version."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    path: Mapped[str] = mapped_column(String(512))
    blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"), index=True)
    zarr_id: Mapped[str | None] = mapped_column(ForeignKey("zarrs.id"), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    blob: Mapped[Blob | None] = relationship(lazy="joined")
    zarr: Mapped[Zarr | None] = relationship(lazy="joined")

    @property
    def size(self) -> int:
        """The blob's size, or the Zarr's (0 until its checksum is computed, as in DANDI)."""
        if self.blob is not None:
            return int(self.blob.size)
        return int(self.zarr.size) if self.zarr is not None else 0


class VersionAsset(Base):
    """Which assets a version holds; a published version shares rows with the draft."""

    __tablename__ = "version_assets"
    __table_args__ = (
        UniqueConstraint("version_id", "path"),
        Index("ix_version_assets_asset", "asset_id"),
    )

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(512))  # copy of assets.path, for the unique key


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    etag: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    part_count: Mapped[int] = mapped_column(Integer)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """Background work, queued in the same transaction as the data it belongs to."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "run_after", "priority", "id"),
        # one queued-or-running job per (kind, key): enqueueing twice is a no-op
        Index(
            "ux_jobs_active",
            "kind",
            "key",
            unique=True,
            sqlite_where=text("state IN ('queued', 'running')"),
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=100)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Derived(Base):
    """Something computed once from a blob's (or a Zarr's) bytes (metadata, validation, index...).

    Blobs are content-addressed (one row per dandi-etag), so keying by blob id is keying
    by digest: a second asset with the same bytes reuses every row here.
    """

    __tablename__ = "derived"
    __table_args__ = (
        UniqueConstraint("blob_id", "kind"),
        UniqueConstraint("zarr_checksum", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A blob's results, or (blob_id None) a Zarr's, keyed by its DANDI Zarr checksum: the
    # checksum names the Zarr's content as the etag names a blob's (archive/zarrs.py).
    blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id", ondelete="CASCADE"))
    zarr_checksum: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # metadata | validation | lindi | overview
    producer: Mapped[str] = mapped_column(String(128))  # tool versions; a change recomputes
    payload: Mapped[Any] = mapped_column(JSONType, nullable=True)
    max_severity: Mapped[int | None] = mapped_column(Integer)  # validation only
    storage_key: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --------------------------------------------------------------------------- search
# The search index (archive/search_index.py keeps it in step, in the same transaction as
# the data). Full text lives beside these tables and is not modelled here: on SQLite two
# FTS5 tables over `search_datasets` and `search_assets`, on PostgreSQL a generated
# `tsv` column on each with a GIN index (migration 0006; SEARCH_TEXT_OBJECTS names them).
COUNT_COLUMNS = ("units", "electrodes", "rois", "cells", "genes")


class SearchDataset(Base):
    """A dataset's draft as search sees it: its words, and its files' counts' ranges."""

    __tablename__ = "search_datasets"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")  # other metadata and the files' words
    asset_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The smallest and largest count among the dataset's files that have one.
    units_lo: Mapped[int | None] = mapped_column(Integer)
    units_hi: Mapped[int | None] = mapped_column(Integer)
    electrodes_lo: Mapped[int | None] = mapped_column(Integer)
    electrodes_hi: Mapped[int | None] = mapped_column(Integer)
    rois_lo: Mapped[int | None] = mapped_column(Integer)
    rois_hi: Mapped[int | None] = mapped_column(Integer)
    cells_lo: Mapped[int | None] = mapped_column(Integer)
    cells_hi: Mapped[int | None] = mapped_column(Integer)
    genes_lo: Mapped[int | None] = mapped_column(Integer)
    genes_hi: Mapped[int | None] = mapped_column(Integer)


class SearchValue(Base):
    """A facet value some dataset has had: its key (lower case) and the label shown."""

    __tablename__ = "search_values"
    __table_args__ = (UniqueConstraint("facet", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facet: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))


class SearchTerm(Base):
    """One facet value a dataset has (from its metadata or any of its files). Values are
    numbers so facet counts group integers, not strings (3.7x faster on SQLite); without
    rowid on SQLite the table is its own (dataset, value) index."""

    __tablename__ = "search_terms"
    __table_args__ = (
        Index("ix_search_terms_value", "value_id", "dataset_id"),
        {"sqlite_with_rowid": False},
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    value_id: Mapped[int] = mapped_column(ForeignKey("search_values.id"), primary_key=True)


class SearchAsset(Base):
    """One file of a dataset's draft as search sees it."""

    __tablename__ = "search_assets"
    # Count filters look up a dataset's files that have the count (few of its files do).
    __table_args__ = (
        UniqueConstraint("dataset_id", "asset_id"),
        *(
            Index(
                f"ix_search_assets_{name}",
                "dataset_id",
                name,
                sqlite_where=text(f"{name} IS NOT NULL"),
                postgresql_where=text(f"{name} IS NOT NULL"),
            )
            for name in COUNT_COLUMNS
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    asset_id: Mapped[str] = mapped_column(String(36))
    scope: Mapped[str] = mapped_column(String(16))  # "d<dataset id>": a word for FTS5 to AND
    path: Mapped[str] = mapped_column(String(512))
    format: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    facets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # "|facet=key|facet=key|": the file's own facet keys, for filters in SQL (LIKE)
    keys: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    units: Mapped[int | None] = mapped_column(Integer)
    electrodes: Mapped[int | None] = mapped_column(Integer)
    rois: Mapped[int | None] = mapped_column(Integer)
    cells: Mapped[int | None] = mapped_column(Integer)
    genes: Mapped[int | None] = mapped_column(Integer)


class Conversion(Base):
    """A conversion (or its stub preview) a user asked the server for; run as a job."""

    __tablename__ = "conversions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "preview" or "conversion"
    state: Mapped[str] = mapped_column(String(16), default="queued")
    stage: Mapped[str] = mapped_column(String(128), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    request: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
