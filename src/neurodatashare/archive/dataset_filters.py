"""The SQL behind DANDI's dataset list filters: ordering, `empty`, and `search` (which
asks the search index, as GET /api/search/ does).

As in the DANDI Archive, `name`, `modified` and `size` order by the dataset's *most
recent* version (the latest published one, else the draft), and `empty` asks whether
that version has files.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from neurodatashare.db.models import Asset, Blob, Dataset, Version, VersionAsset
from neurodatashare.errors import BadRequest

# DANDI accepts id, name, modified, size and stars (each optionally with "-"); `created`
# is ours. Nobody stars datasets here, so `stars` orders as `id`.
ORDERINGS = ("id", "name", "modified", "size", "stars", "created")


def _latest_version(column: Any) -> Any:
    """A correlated subquery: `column` of the dataset's most recent version."""
    return (
        select(column)
        .where(Version.dataset_id == Dataset.id)
        .order_by(Version.created.desc(), Version.id.desc())
        .limit(1)
        .correlate(Dataset)
        .scalar_subquery()
    )


def _latest_size() -> Any:
    return (
        select(func.coalesce(func.sum(Blob.size), 0))
        .select_from(VersionAsset)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .join(Blob, Blob.id == Asset.blob_id)
        .where(VersionAsset.version_id == _latest_version(Version.id))
        .correlate(Dataset)
        .scalar_subquery()
    )


def order_clause(ordering: str) -> list[Any]:
    """ORDER BY terms for DANDI's `ordering` value; a 400 naming the choices otherwise."""
    field = ordering[1:] if ordering.startswith("-") else ordering
    if field not in ORDERINGS:
        raise BadRequest(
            f"ordering {ordering!r} is not one of {', '.join(ORDERINGS)} "
            "(put - in front for descending order, e.g. -modified)."
        )
    column: Any = {
        "id": Dataset.id,
        "stars": Dataset.id,
        "created": Dataset.created,
        "name": func.lower(_latest_version(Version.name)),
        "modified": _latest_version(Version.modified),
        "size": _latest_size(),
    }[field]
    descending = ordering.startswith("-")
    return [column.desc() if descending else column.asc(), Dataset.id]


def has_files_clause() -> ColumnElement[bool]:
    """The dataset's most recent version has at least one file."""
    return exists(
        select(VersionAsset.asset_id)
        .where(VersionAsset.version_id == _latest_version(Version.id))
        .correlate(Dataset)
    )


def filter_search(query: Select[Any], search: str, *, dialect: str) -> Select[Any]:
    """Datasets whose metadata or files hold every word of `search` (the search index,
    archive/search_text.py: stemmed, each word a prefix), or the dataset whose number
    `search` is."""
    from neurodatashare.archive.search_documents import words_of
    from neurodatashare.archive.search_text import dataset_ids_matching

    words = words_of(search)[:32]
    if not words:
        return query
    conditions: list[ColumnElement[bool]] = [
        Dataset.id.in_(dataset_ids_matching(words, dialect=dialect))
    ]
    stripped = search.strip()
    if stripped.isdigit() and len(stripped) <= 6:
        conditions.append(Dataset.id == int(stripped))
    return query.where(or_(*conditions))
