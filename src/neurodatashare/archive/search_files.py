"""The files of one search result: those that satisfy every file-level filter themselves
and hold a query word, with the reasons they matched.

Everything that decides which files match runs in SQL on the dataset's own rows (its
index on dataset_id): facet keys by LIKE on the `keys` column, counts on their columns,
words through the full-text index; one query serves the whole page of results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from neurodatashare.archive import search_text
from neurodatashare.archive.search_documents import (
    COUNTS,
    FILE_FACETS,
    key_token,
    species_words,
    term_key,
    words_of,
)
from neurodatashare.db.models import SearchAsset

if TYPE_CHECKING:
    from neurodatashare.archive.search import SearchParams

FILES_SHOWN = 5


def _facet_reasons(facets: dict[str, Any], wanted: dict[str, list[str]]) -> list[str]:
    return [
        f"{facet}: {label}"
        for facet, keys in wanted.items()
        for label in facets.get(facet) or []
        if term_key(facet, str(label)) in keys
    ]


def _word_reasons(facets: dict[str, Any], words: list[str]) -> list[str]:
    stems = [search_text.stem(w) for w in words]
    reasons = []
    for facet, labels in facets.items():
        for label in labels or []:
            said = f"{label} {species_words(str(label))}" if facet == "species" else str(label)
            if any(t.startswith(st) for t in words_of(said) for st in stems):
                reasons.append(f"{facet}: {label}")
    return reasons


def matching_files(
    s: Session, *, dataset_ids: list[int], params: SearchParams
) -> dict[int, tuple[int, list[dict[str, Any]]]]:
    """For each dataset: (how many of its files match, the first few as JSON), all in
    one query (window functions number and count each dataset's matches)."""
    words = params.words
    facet_filters = {f: keys for f, keys in params.filters.items() if f in FILE_FACETS}
    formats = params.filters.get("format")
    if not dataset_ids or not (words or facet_filters or formats or params.ranges):
        return {}
    conditions: list[Any] = [SearchAsset.dataset_id.in_(dataset_ids)]
    order: list[Any] = [SearchAsset.path]
    matched = None
    if words:
        matched = search_text.asset_matches(s, dataset_ids=dataset_ids, words=words)
        order = [matched.c.rank, SearchAsset.path]
    if formats:
        conditions.append(func.lower(SearchAsset.format).in_(formats))
    for facet, keys in facet_filters.items():
        tokens = [f"|{key_token(facet, k)}|" for k in keys]
        conditions.append(or_(*(SearchAsset.keys.contains(t, autoescape=True) for t in tokens)))
    for name, (low, high) in params.ranges.items():
        column = getattr(SearchAsset, name)
        conditions.append(column.is_not(None))
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    numbered = select(
        SearchAsset.id,
        func.row_number().over(partition_by=SearchAsset.dataset_id, order_by=order).label("n"),
        func.count().over(partition_by=SearchAsset.dataset_id).label("total"),
    ).where(*conditions)
    if matched is not None:
        numbered = numbered.join(matched, matched.c.id == SearchAsset.id)
    first = numbered.subquery("numbered")
    rows = s.execute(
        select(SearchAsset, first.c.total)
        .join(first, first.c.id == SearchAsset.id)
        .where(first.c.n <= FILES_SHOWN)
        .order_by(SearchAsset.dataset_id, first.c.n)
    ).all()
    out: dict[int, tuple[int, list[dict[str, Any]]]] = {}
    for row, total in rows:
        out.setdefault(row.dataset_id, (int(total), []))[1].append(
            _file_json(row, params, facet_filters)
        )
    return out


def _file_json(
    row: SearchAsset, params: SearchParams, facet_filters: dict[str, list[str]]
) -> dict[str, Any]:
    words = params.words
    facets = row.facets or {}
    matched = _facet_reasons(facets, facet_filters)
    if formats := params.filters.get("format"):
        matched += [f"format: {row.format}"] if row.format.lower() in formats else []
    for name in COUNTS:
        if name in params.ranges and getattr(row, name) is not None:
            matched.append(f"{name}: {getattr(row, name):,}")
    highlight = search_text.mark_words(row.path, words) if words else None
    if words:
        matched += [r for r in _word_reasons(facets, words) if r not in matched]
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
