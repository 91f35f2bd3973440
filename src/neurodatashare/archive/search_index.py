"""The search index, kept in step with the data inside the transaction that changes it.

Write sessions (db.Database.write) carry two hooks: after each flush, `_collect` notes
which datasets and files the flushed rows touch (a dataset's draft, its files, their
extracted metadata, access); before the commit, `_apply` re-indexes exactly those. So
a search never sees a file its dataset no longer holds, and never misses one it does.
Access is not copied into the index: queries join the live `datasets` and owners
tables (archive/search.py), so a dataset made private is hidden at once.

What is indexed is the draft: the files a dataset holds now, and its current metadata.

Bulk writers that bypass the ORM (testing/search_corpus.py) call `rebuild`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, event, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction

from neurodatashare.archive.merged_meta import merged_metadata
from neurodatashare.archive.search_documents import (
    COUNTS,
    Term,
    asset_document,
    dataset_document,
    file_keys,
    term_key,
    words_of,
)
from neurodatashare.db import Database
from neurodatashare.db.models import (
    Asset,
    Dataset,
    Derived,
    SearchAsset,
    SearchDataset,
    SearchTerm,
    SearchValue,
    Version,
    VersionAsset,
    Zarr,
)

log = logging.getLogger("neurodatashare.search")

#: What migration 0006 adds beside the modelled tables (FTS5 tables on SQLite, tsvector
#: columns and GIN indexes on PostgreSQL); the models-match-migrations test skips them.
SEARCH_TEXT_OBJECTS = frozenset(
    {
        *(
            f"search_{t}_fts{s}"
            for t in ("datasets", "assets")
            for s in ("", "_data", "_idx", "_docsize", "_config")
        ),
        "tsv",
        "tsv_rank",
        "ix_search_datasets_tsv",
        "ix_search_assets_tsv",
    }
)
MAX_BODY_WORDS = 20_000  # distinct words of a dataset's files that its own text carries
DRAFT = "draft"


@dataclass
class Marks:
    datasets: set[int] = field(default_factory=set)
    version_assets: set[tuple[int, str]] = field(default_factory=set)  # (version, asset)
    assets: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    zarrs: set[str] = field(default_factory=set)
    checksums: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return any(vars(self).values())


def _marks(s: Session) -> Marks:
    marks = s.info.get("nds_search")
    if marks is None:
        marks = s.info["nds_search"] = Marks()
    return marks


def mark_version_asset(s: Session, *, version_id: int, asset_id: str) -> None:
    """For writers that change version_assets with bulk statements (no ORM events)."""
    _marks(s).version_assets.add((version_id, asset_id))


def _collect(s: Session, _flush: UOWTransaction) -> None:
    marks = _marks(s)
    for obj in (*s.new, *s.dirty, *s.deleted):
        if isinstance(obj, VersionAsset):
            marks.version_assets.add((obj.version_id, obj.asset_id))
        elif isinstance(obj, Asset):
            marks.assets.add(obj.id)
        elif isinstance(obj, Derived) and obj.kind == "metadata":
            if obj.blob_id:
                marks.blobs.add(obj.blob_id)
            elif obj.zarr_checksum:
                marks.checksums.add(obj.zarr_checksum)
        elif isinstance(obj, Version):
            marks.datasets.add(obj.dataset_id)
        elif isinstance(obj, Dataset) and obj not in s.deleted:
            marks.datasets.add(obj.id)
        elif isinstance(obj, Zarr):
            marks.zarrs.add(obj.id)


def _draft_pairs(s: Session, marks: Marks) -> set[tuple[int, str]]:
    """(dataset, asset) pairs whose index rows may be out of date."""
    pairs: set[tuple[int, str]] = set()
    if marks.version_assets:
        version_ids = {v for v, _a in marks.version_assets}
        drafts = {
            v: d
            for v, d in s.execute(
                select(Version.id, Version.dataset_id).where(
                    Version.id.in_(version_ids), Version.version == DRAFT
                )
            )
        }
        pairs |= {(drafts[v], a) for v, a in marks.version_assets if v in drafts}
    asset_ids = set(marks.assets)
    if marks.blobs:
        asset_ids |= set(s.scalars(select(Asset.id).where(Asset.blob_id.in_(marks.blobs))))
    zarr_ids = set(marks.zarrs)
    if marks.checksums:
        zarr_ids |= set(s.scalars(select(Zarr.id).where(Zarr.checksum.in_(marks.checksums))))
    if zarr_ids:
        asset_ids |= set(s.scalars(select(Asset.id).where(Asset.zarr_id.in_(zarr_ids))))
    if asset_ids:
        rows = s.execute(
            select(Version.dataset_id, VersionAsset.asset_id)
            .join(Version, Version.id == VersionAsset.version_id)
            .where(VersionAsset.asset_id.in_(asset_ids), Version.version == DRAFT)
        )
        pairs |= {(d, a) for d, a in rows}
    return pairs


def _apply(s: Session) -> None:
    s.flush()
    marks = s.info.pop("nds_search", None)
    if not marks:
        return
    pairs = _draft_pairs(s, marks)
    by_dataset: dict[int, set[str]] = {}
    for dataset_id, asset_id in pairs:
        by_dataset.setdefault(dataset_id, set()).add(asset_id)
    for dataset_id, asset_ids in by_dataset.items():
        index_assets(s, dataset_id=dataset_id, asset_ids=asset_ids)
    for dataset_id in marks.datasets | set(by_dataset):
        index_dataset(s, dataset_id=dataset_id)


def install(db: Database) -> None:
    """Keep the index in step on every write session of `db`."""
    event.listen(db.write_sessions, "after_flush", _collect)
    event.listen(db.write_sessions, "before_commit", _apply)


# --------------------------------------------------------------------------- writing


def _draft(s: Session, dataset_id: int) -> Version | None:
    return s.scalar(
        select(Version).where(Version.dataset_id == dataset_id, Version.version == DRAFT)
    )


def _asset_row(dataset_id: int, asset: Asset, fmt: str, meta: dict[str, Any]) -> dict[str, Any]:
    doc = asset_document(meta, path=asset.path, fmt=fmt)
    return {
        "dataset_id": dataset_id,
        "asset_id": asset.id,
        "scope": f"d{dataset_id}",
        "path": asset.path,
        "format": fmt[:32],
        "size": asset.size,
        "facets": {**doc.facet_json(), "cell_id": doc.cells[:50]},
        "keys": file_keys(doc.terms),
        "text": doc.text,
        **doc.counts,
    }


def index_assets(s: Session, *, dataset_id: int, asset_ids: Iterable[str]) -> None:
    """Re-index these files of the dataset's draft (and forget those it no longer holds)."""
    wanted = set(asset_ids)
    draft = _draft(s, dataset_id)
    held = (
        list(
            s.scalars(
                select(Asset)
                .join(VersionAsset, VersionAsset.asset_id == Asset.id)
                .where(VersionAsset.version_id == draft.id, Asset.id.in_(wanted))
            )
        )
        if draft is not None
        else []
    )
    s.execute(
        delete(SearchAsset).where(
            SearchAsset.dataset_id == dataset_id, SearchAsset.asset_id.in_(wanted)
        )
    )
    rows = [
        _asset_row(dataset_id, asset, fmt, meta)
        for asset, (fmt, meta) in zip(held, merged_metadata(s, held), strict=True)
    ]
    if rows:
        s.execute(insert(SearchAsset), rows)


def _files_summary(
    s: Session, dataset_id: int
) -> tuple[dict[str, Any], set[tuple[str, str, str]], list[str]]:
    """Counts' ranges, facet terms and distinct words over the dataset's indexed files."""
    count_columns = [getattr(SearchAsset, c) for c in COUNTS]
    aggregates = s.execute(
        select(
            func.count(),
            func.coalesce(func.sum(SearchAsset.size), 0),
            *[func.min(c) for c in count_columns],
            *[func.max(c) for c in count_columns],
        ).where(SearchAsset.dataset_id == dataset_id)
    ).one()
    n = len(COUNTS)
    summary: dict[str, Any] = {"asset_count": aggregates[0], "size": int(aggregates[1])}
    for i, name in enumerate(COUNTS):
        summary[f"{name}_lo"] = aggregates[2 + i]
        summary[f"{name}_hi"] = aggregates[2 + n + i]
    terms: set[Term] = set()
    words: dict[str, None] = {}
    cells: dict[str, set[str]] = {}
    for facets, file_text in s.execute(
        select(SearchAsset.facets, SearchAsset.text).where(SearchAsset.dataset_id == dataset_id)
    ):
        facets = facets or {}
        for facet, labels in facets.items():
            if facet == "cell_id":
                continue
            terms.update((facet, term_key(facet, str(label)), str(label)) for label in labels)
        for cell in facets.get("cell_id") or []:
            cells.setdefault(str(cell), set()).update(facets.get("modality") or [])
        if len(words) < MAX_BODY_WORDS:
            words.update(dict.fromkeys(words_of(file_text)))
    # Cells with files of several modalities (Patch-seq: sweeps, shape, expression).
    for modalities in cells.values():
        if len(modalities) > 1:
            combo = "+".join(sorted(modalities))
            terms.add(("linked", combo, combo))
    return summary, terms, list(words)[:MAX_BODY_WORDS]


def index_dataset(s: Session, *, dataset_id: int) -> None:
    """Re-index the dataset's own metadata and its files' aggregates."""
    draft = _draft(s, dataset_id)
    if draft is None or s.get(Dataset, dataset_id) is None:
        return  # being deleted: the foreign keys' cascade drops its rows
    doc = dataset_document(draft.meta or {}, name=draft.name)
    summary, file_terms, words = _files_summary(s, dataset_id)
    row = {
        "name": doc.name,
        "description": doc.description,
        "body": " ".join([doc.body, *words]),
        "modified": draft.modified,
        **summary,
    }
    known = s.scalar(select(SearchDataset.dataset_id).where(SearchDataset.dataset_id == dataset_id))
    if known is None:
        s.execute(insert(SearchDataset), [{"dataset_id": dataset_id, **row}])
    else:
        s.execute(
            update(SearchDataset)
            .where(SearchDataset.dataset_id == dataset_id)
            .values(**row)
            .execution_options(synchronize_session=False)
        )
    s.execute(delete(SearchTerm).where(SearchTerm.dataset_id == dataset_id))
    terms = {(f, k[:255]): label[:255] for f, k, label in [*doc.terms, *file_terms]}
    if terms:
        s.execute(
            insert(SearchTerm),
            [{"dataset_id": dataset_id, "value_id": v} for v in value_ids(s, terms).values()],
        )


def value_ids(s: Session, terms: dict[tuple[str, str], str]) -> dict[tuple[str, str], int]:
    """The number of each (facet, key), made on first use and kept (a value no dataset has
    any more is never counted: counts come from search_terms). A value another transaction
    is making at the same moment is waited for, not duplicated (ON CONFLICT DO NOTHING)."""
    wanted = list(terms)
    found: dict[tuple[str, str], int] = {}

    def lookup(pairs: list[tuple[str, str]]) -> None:
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            rows = s.execute(
                select(SearchValue.facet, SearchValue.key, SearchValue.id).where(
                    tuple_(SearchValue.facet, SearchValue.key).in_(chunk)
                )
            )
            found.update(((f, k), i) for f, k, i in rows)

    lookup(wanted)
    missing = [pair for pair in wanted if pair not in found]
    if missing:
        dialect_insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(
            dialect_insert(SearchValue).on_conflict_do_nothing(),
            [{"facet": f, "key": k, "label": terms[f, k]} for f, k in missing],
        )
        lookup(missing)
    return found


def index_missing(db: Database) -> dict[str, Any] | None:
    """Index the datasets that have no index entry yet (an archive made before search, or
    rows written by a bulk loader); None if there were none."""
    with db.read() as s:
        missing = select(SearchDataset.dataset_id).where(
            SearchDataset.dataset_id == Version.dataset_id
        )
        drafts = [
            (d, v)
            for d, v in s.execute(
                select(Version.dataset_id, Version.id).where(
                    Version.version == DRAFT, ~missing.exists()
                )
            )
        ]
    if not drafts:
        return None
    log.info("Indexing %d datasets for search", len(drafts))
    return _index_drafts(db, drafts)


def rebuild(db: Database) -> dict[str, Any]:
    """Re-index every dataset from the archive's own tables; returns what it did."""
    with db.read() as s:
        drafts = [
            (d, v)
            for d, v in s.execute(
                select(Version.dataset_id, Version.id).where(Version.version == DRAFT)
            )
        ]
    return _index_drafts(db, drafts)


def _index_drafts(
    db: Database, drafts: list[tuple[int, int]], *, batch: int = 2_000
) -> dict[str, Any]:
    started = time.perf_counter()
    assets = 0
    for dataset_id, version_id in drafts:
        with db.write() as s:
            s.execute(delete(SearchAsset).where(SearchAsset.dataset_id == dataset_id))
            ids = s.scalars(
                select(VersionAsset.asset_id).where(VersionAsset.version_id == version_id)
            ).all()
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                held = list(s.scalars(select(Asset).where(Asset.id.in_(chunk))))
                rows = [
                    _asset_row(dataset_id, a, fmt, meta)
                    for a, (fmt, meta) in zip(held, merged_metadata(s, held), strict=True)
                ]
                if rows:
                    s.execute(insert(SearchAsset), rows)
                assets += len(rows)
                s.expunge_all()
            index_dataset(s, dataset_id=dataset_id)
    with db.write() as s:  # fresh statistics, so the planner knows the new tables' sizes
        s.execute(text("ANALYZE"))
    return {
        "datasets": len(drafts),
        "assets": assets,
        "seconds": round(time.perf_counter() - started, 3),
    }
