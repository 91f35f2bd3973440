"""Search across datasets: by words, facets, counts and cross-scale links, over the index
that archive/search_index.py keeps in step with the data.

Facets filter datasets (a dataset matches `species=Mus musculus` if any of its files
records a mouse); values of one facet are alternatives, different facets must all hold.
Counts (`units_min`...) compare each file's own count. The files listed under a dataset
are the ones that themselves satisfy every file-level filter and hold a query word.

Visibility is decided by the live `datasets` and owners tables in the same query, never
by anything copied into the index: what a caller may not see is not in the results, the
count, the facet counts or the highlights.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Integer, and_, case, column, exists, func, or_, select, text
from sqlalchemy.orm import Session

from neurodatashare.archive import search_text
from neurodatashare.archive.access import ended_embargo, visible_clause
from neurodatashare.archive.context import Archive
from neurodatashare.archive.search_documents import ASSET_FACETS, COUNTS, words_of
from neurodatashare.archive.search_files import matching_files
from neurodatashare.db.models import (
    Dataset,
    SearchAsset,
    SearchDataset,
    SearchTerm,
    SearchValue,
    User,
)
from neurodatashare.errors import BadRequest

FACETS = (*ASSET_FACETS, "licence", "access")
ORDERINGS = ("relevance", "-modified", "modified", "name", "-name", "id", "-id")
MAX_Q = 500
MAX_WORDS = 32
MAX_PAGE_SIZE = 100
MAX_COUNT = 2**31 - 1
FACET_VALUES = 25  # values shown per facet, the most frequent first
MODALITIES = (
    "ecephys",
    "ophys",
    "icephys",
    "behavior",
    "transcriptomics",
    "morphology",
    "model",
    "microscopy",
)


@dataclass
class SearchParams:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet -> lower-case keys
    ranges: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    linked: list[str] = field(default_factory=list)
    page: int = 1
    page_size: int = 20
    ordering: str = ""

    @property
    def words(self) -> list[str]:
        return [w[:64] for w in words_of(self.q)][:MAX_WORDS]

    @classmethod
    def from_query(cls, items: Iterable[tuple[str, str]]) -> SearchParams:
        """Parse query parameters (name, value) pairs; BadRequest names what is wrong."""
        params = cls()
        for name, raw in items:
            value = raw.strip()
            if name.startswith("_") or not value:
                continue  # cache busters, and empty fields of a web form
            if name == "q":
                if len(value) > MAX_Q:
                    raise BadRequest(f"q is {len(value)} characters; at most {MAX_Q}.")
                params.q = " ".join(filter(None, [params.q, value]))
            elif name in FACETS:
                params.filters.setdefault(name, []).append(value.lower()[:255])
            elif name.endswith(("_min", "_max")) and name[:-4] in COUNTS:
                number = _count(name, value)
                low, high = params.ranges.get(name[:-4], (None, None))
                params.ranges[name[:-4]] = (
                    (number, high) if name.endswith("_min") else (low, number)
                )
            elif name == "linked":
                params.linked += [
                    _modality(v) for v in value.replace("+", ",").split(",") if v.strip()
                ]
            elif name in ("page", "page_size"):
                setattr(params, name, _count(name, value))
            elif name == "ordering":
                if value not in ORDERINGS:
                    raise BadRequest(f"ordering {value!r} is not one of {', '.join(ORDERINGS)}.")
                params.ordering = value
            else:
                known = ", ".join(
                    [
                        "q",
                        *FACETS,
                        *(f"{c}_min/{c}_max" for c in COUNTS),
                        "linked",
                        "page",
                        "page_size",
                        "ordering",
                    ]
                )
                raise BadRequest(f"Unknown search parameter {name[:40]!r}; known: {known}.")
        if params.page < 1:
            raise BadRequest("page starts at 1.")
        if not 1 <= params.page_size <= MAX_PAGE_SIZE:
            raise BadRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        for name, (low, high) in params.ranges.items():
            if low is not None and high is not None and low > high:
                raise BadRequest(f"{name}_min ({low}) is more than {name}_max ({high}).")
        return params

    def query_items(self, *, page: int | None = None) -> list[tuple[str, str]]:
        """These parameters as query items (for next/previous links and the web page)."""
        items: list[tuple[str, str]] = [("q", self.q)] if self.q else []
        items += [(f, v) for f, values in self.filters.items() for v in values]
        for name, (low, high) in self.ranges.items():
            items += [(f"{name}_min", str(low))] if low is not None else []
            items += [(f"{name}_max", str(high))] if high is not None else []
        items += [("linked", ",".join(self.linked))] if self.linked else []
        items += [("ordering", self.ordering)] if self.ordering else []
        if self.page_size != 20:
            items.append(("page_size", str(self.page_size)))
        if page is not None and page > 1:
            items.append(("page", str(page)))
        return items


def _count(name: str, value: str) -> int:
    if not value.isdigit() or int(value) > MAX_COUNT:
        raise BadRequest(
            f"{name} must be a whole number from 0 to {MAX_COUNT:,}; got {value[:40]!r}."
        )
    return int(value)


def _modality(value: str) -> str:
    name = value.strip().lower()
    if name not in MODALITIES:
        raise BadRequest(f"linked: {value[:40]!r} is not one of {', '.join(MODALITIES)}.")
    return name


# --------------------------------------------------------------------------- query


def _access_value() -> Any:
    """A dataset's access as callers see it (an embargo ends by itself on its date)."""
    return case((ended_embargo(), "open"), else_=Dataset.access)


def _has_term(s: Session, facet: str, keys: list[str]) -> Any:
    wanted = list(
        s.scalars(
            select(SearchValue.id).where(SearchValue.facet == facet, SearchValue.key.in_(keys))
        )
    )
    return exists(
        select(SearchTerm.dataset_id).where(
            SearchTerm.dataset_id == SearchDataset.dataset_id,
            SearchTerm.value_id.in_(wanted or [-1]),
        )
    )


def _in_range(name: str, low: int | None, high: int | None) -> Any:
    column = getattr(SearchAsset, name)
    if low is not None and high is None:  # a file with at least `low`: the largest has
        return getattr(SearchDataset, f"{name}_hi") >= low
    if high is not None and low is None:
        return getattr(SearchDataset, f"{name}_lo") <= high
    return exists(
        select(SearchAsset.id).where(
            SearchAsset.dataset_id == SearchDataset.dataset_id, column >= low, column <= high
        )
    )


def _linked_keys(s: Session, wanted: list[str]) -> list[str]:
    """The stored combinations of modalities (one per cell) that include every wanted one."""
    keys = s.scalars(select(SearchValue.key).where(SearchValue.facet == "linked"))
    return [k for k in keys if set(wanted) <= set(k.split("+"))]


def _conditions(s: Session, params: SearchParams, user: User | None) -> list[Any]:
    conditions: list[Any] = [visible_clause(user)]
    for facet, keys in params.filters.items():
        if facet == "access":
            conditions.append(_access_value().in_(keys))
        else:
            conditions.append(_has_term(s, facet, keys))
    for name, (low, high) in params.ranges.items():
        conditions.append(_in_range(name, low, high))
    if params.linked:
        conditions.append(_has_term(s, "linked", _linked_keys(s, params.linked) or ["-"]))
    return conditions


def _order(params: SearchParams, rank: Any) -> list[Any]:
    ordering = params.ordering or ("relevance" if rank is not None else "-modified")
    if ordering == "relevance" and rank is None:
        ordering = "-modified"
    column: Any = {
        "relevance": rank,
        "modified": SearchDataset.modified,
        "name": func.lower(SearchDataset.name),
        "id": SearchDataset.dataset_id,
    }[ordering.lstrip("-")]
    descending = ordering.startswith("-")
    return [column.desc() if descending else column.asc(), SearchDataset.dataset_id.desc()]


def search(archive: Archive, *, user: User | None, params: SearchParams) -> dict[str, Any]:
    """The page of datasets matching `params` that `user` may see (the body of
    GET /api/search/; docs/search.md)."""
    words = params.words
    with archive.db.read() as s:
        query = select(SearchDataset.dataset_id, _access_value().label("access")).join(
            Dataset, Dataset.id == SearchDataset.dataset_id
        )
        rank = None
        if words:
            matched = search_text.dataset_matches(s, words)
            numbered = _dataset_number(params.q)
            if numbered is None:
                query = query.join(matched, matched.c.dataset_id == SearchDataset.dataset_id)
                rank = matched.c.rank
            else:
                query = query.outerjoin(matched, matched.c.dataset_id == SearchDataset.dataset_id)
                query = query.where(
                    or_(matched.c.dataset_id.is_not(None), SearchDataset.dataset_id == numbered)
                )
                rank = func.coalesce(matched.c.rank, -1e9)
        query = query.where(and_(*_conditions(s, params, user)))
        # Every match once, in order (at most the archive's datasets: small): the count,
        # the access counts and the page come from it, the facet counts from its ids.
        matches = s.execute(query.order_by(*_order(params, rank))).all()
        total = len(matches)
        first = (params.page - 1) * params.page_size
        page = matches[first : first + params.page_size]
        shown = {
            row.dataset_id: row
            for row in s.scalars(
                select(SearchDataset).where(SearchDataset.dataset_id.in_([m[0] for m in page]))
            )
        }
        rows = [(shown[dataset_id], access) for dataset_id, access in page]
        facets = _facet_counts(s, matches)
        page_ids = [row[0].dataset_id for row in rows]
        highlights = search_text.dataset_highlights(s, dataset_ids=page_ids, words=words)
        licences = _licences(s, page_ids)
        files = matching_files(s, dataset_ids=page_ids, params=params)
        results = [
            _result(
                row[0],
                access=row[1],
                params=params,
                licences=licences.get(row[0].dataset_id, []),
                highlights=highlights.get(row[0].dataset_id, {}),
                files=files.get(row[0].dataset_id, (0, [])),
            )
            for row in rows
        ]
    base = f"{archive.api_url}/search/"
    last_page = max(1, -(-total // params.page_size))
    return {
        "count": total,
        "next": _page_url(base, params, params.page + 1) if params.page < last_page else None,
        "previous": _page_url(base, params, params.page - 1) if params.page > 1 else None,
        "query": {
            "q": params.q,
            "filters": params.filters,
            "ranges": {k: list(v) for k, v in params.ranges.items()},
            "linked": params.linked,
        },
        "results": results,
        "facets": facets,
    }


def _dataset_number(q: str) -> int | None:
    stripped = q.strip().removeprefix("DANDI:").removeprefix("NDS:")
    return int(stripped) if stripped.isdigit() and len(stripped) <= 6 else None


def _page_url(base: str, params: SearchParams, page: int) -> str:
    return f"{base}?{urlencode(params.query_items(page=page))}".rstrip("?")


def _facet_counts(s: Session, matches: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values among the matching datasets ((id, access) rows), with counts."""
    facets: dict[str, list[dict[str, Any]]] = {f: [] for f in FACETS}
    if not matches:
        return facets
    counted = dict(
        s.execute(
            select(SearchTerm.value_id, func.count())
            .where(SearchTerm.dataset_id.in_(_id_list(s, [m[0] for m in matches])))
            .group_by(SearchTerm.value_id)
        ).all()
    )
    value_ids = list(counted)
    for start in range(0, len(value_ids), 900):
        for value_id, facet, key, label in s.execute(
            select(SearchValue.id, SearchValue.facet, SearchValue.key, SearchValue.label).where(
                SearchValue.id.in_(value_ids[start : start + 900])
            )
        ):
            if facet in facets and facet != "access":
                facets[facet].append({"value": key, "label": label, "count": counted[value_id]})
    levels = Counter(m[1] for m in matches)
    facets["access"] = [{"value": a, "label": a, "count": n} for a, n in levels.items()]
    for values in facets.values():
        values.sort(key=lambda v: (-v["count"], v["label"].lower()))
        del values[FACET_VALUES:]
    return facets


def _id_list(s: Session, ids: list[int]) -> Any:
    """A SELECT of these ids bound as one parameter (a JSON array on SQLite, an array on
    PostgreSQL): thousands of ids, where one bound variable each would hit SQLite's limit."""
    if s.get_bind().dialect.name == "postgresql":
        sql = text("SELECT unnest(CAST(:ids AS integer[]))").bindparams(ids=ids)
    else:
        sql = text("SELECT value FROM json_each(:ids)").bindparams(ids=json.dumps(ids))
    return sql.columns(column("value", Integer))


def _licences(s: Session, dataset_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for dataset_id, label in s.execute(
        select(SearchTerm.dataset_id, SearchValue.label)
        .join(SearchValue, SearchValue.id == SearchTerm.value_id)
        .where(SearchTerm.dataset_id.in_(dataset_ids), SearchValue.facet == "licence")
    ):
        out.setdefault(dataset_id, []).append(label)
    return out


def _result(
    row: SearchDataset,
    *,
    access: str,
    params: SearchParams,
    licences: list[str],
    highlights: dict[str, str],
    files: tuple[int, list[dict[str, Any]]],
) -> dict[str, Any]:
    identifier = f"{row.dataset_id:06d}"
    count, listed = files
    matched = [*highlights]
    words = params.words
    if words and not matched:
        matched.append("other metadata or its files")
    matched += [f for f in params.filters if f not in matched]
    return {
        "identifier": identifier,
        "version": "draft",
        "name": row.name,
        "description": row.description[:300],
        "access": access,
        "licence": sorted(licences),
        "asset_count": row.asset_count,
        "size": row.size,
        "modified": row.modified.isoformat(),
        "url": f"/dandiset/{identifier}/draft",
        "highlights": highlights,
        "matched": matched,
        "assets_matching": count,
        "assets": listed,
    }
