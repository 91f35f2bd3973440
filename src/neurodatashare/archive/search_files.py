"""The files of one search result: those that satisfy every file-level filter themselves
and hold a query word, with the reasons they matched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurodatashare.archive import search_text
from neurodatashare.archive.search_documents import (
    COUNTS,
    FILE_FACETS,
    species_words,
    term_key,
    words_of,
)
from neurodatashare.db.models import SearchAsset, SearchDataset

if TYPE_CHECKING:
    from neurodatashare.archive.search import SearchParams

FILES_SHOWN = 5
FILES_SCANNED = 2_000  # files of one dataset checked against the facet filters


def _facet_hits(facets: dict[str, Any], wanted: dict[str, list[str]]) -> list[str] | None:
    """Reasons the file meets every facet filter, or None if it misses one."""
    reasons = []
    for facet, keys in wanted.items():
        labels = [str(label) for label in facets.get(facet) or []]
        hits = [label for label in labels if term_key(facet, label) in keys]
        if not hits:
            return None
        reasons += [f"{facet}: {label}" for label in hits]
    return reasons


def _word_hits(facets: dict[str, Any], words: list[str]) -> list[str]:
    stems = [search_text.stem(w) for w in words]
    reasons = []
    for facet, labels in facets.items():
        for label in labels or []:
            tokens = words_of(
                f"{label} {species_words(str(label))}" if facet == "species" else str(label)
            )
            if any(t.startswith(st) for t in tokens for st in stems):
                reasons.append(f"{facet}: {label}")
    return reasons


def matching_files(
    s: Session, *, dataset: SearchDataset, params: SearchParams
) -> tuple[int, list[dict[str, Any]]]:
    """(how many files match, the first few of them as JSON)."""
    words = params.words
    facet_filters = {f: keys for f, keys in params.filters.items() if f in FILE_FACETS}
    formats = params.filters.get("format")
    if not (words or facet_filters or formats or params.ranges):
        return 0, []
    query = select(SearchAsset).where(SearchAsset.dataset_id == dataset.dataset_id)
    order: list[Any] = [SearchAsset.path]
    if words:
        matched = search_text.asset_matches(s, dataset_id=dataset.dataset_id, words=words)
        query = query.join(matched, matched.c.id == SearchAsset.id)
        order = [matched.c.rank, SearchAsset.path]
    if formats:
        query = query.where(func.lower(SearchAsset.format).in_(formats))
    for name, (low, high) in params.ranges.items():
        column = getattr(SearchAsset, name)
        query = query.where(column.is_not(None))
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column <= high)
    if not facet_filters:
        count = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(*order).limit(FILES_SHOWN)).all()
        return count, [_file_json(r, params, []) for r in rows]
    shown: list[dict[str, Any]] = []
    count = 0
    for row in s.scalars(query.order_by(*order).limit(FILES_SCANNED)):
        reasons = _facet_hits(row.facets or {}, facet_filters)
        if reasons is None:
            continue
        count += 1
        if len(shown) < FILES_SHOWN:
            shown.append(_file_json(row, params, reasons))
    return count, shown


def _file_json(row: SearchAsset, params: SearchParams, reasons: list[str]) -> dict[str, Any]:
    words = params.words
    facets = row.facets or {}
    matched = list(reasons)
    if formats := params.filters.get("format"):
        matched += [f"format: {row.format}"] if row.format.lower() in formats else []
    for name in COUNTS:
        if name in params.ranges and getattr(row, name) is not None:
            matched.append(f"{name}: {getattr(row, name):,}")
    highlight = search_text.mark_words(row.path, words) if words else None
    if words:
        matched += [r for r in _word_hits(facets, words) if r not in matched]
        if highlight is not None:
            matched.append("path")
        if not matched:
            matched.append("file metadata")
    return {
        "asset_id": row.asset_id,
        "path": row.path,
        "format": row.format,
        "modality": ", ".join(facets.get("modality") or []),
        "size": row.size,
        "url": f"/asset/{row.asset_id}",
        "matched": matched,
        "highlight": highlight,
    }
