"""/api/search/: datasets by words, facets, counts and cross-scale links (docs/search.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from neurodatashare.archive import search
from neurodatashare.archive.search_documents import COUNTS
from neurodatashare.server.deps import ArchiveDep, UserDep

router = APIRouter(prefix="/api/search", tags=["search"])


def _parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


# The parameters are read from the query string as (name, value) pairs, so a facet can
# repeat; they are listed here for the OpenAPI document.
PARAMETERS = [
    _parameter(
        "q",
        "Words; every one must match (stemmed, as a prefix).",
        {"type": "string", "maxLength": search.MAX_Q},
    ),
    *[
        _parameter(
            facet,
            f"Keep datasets with this {facet} (repeat for alternatives).",
            {"type": "array", "items": {"type": "string"}},
        )
        for facet in search.FACETS
    ],
    *[
        _parameter(
            f"{name}_{end}",
            f"A file with at {'least' if end == 'min' else 'most'} this many {name}.",
            {"type": "integer", "minimum": 0},
        )
        for name in COUNTS
        for end in ("min", "max")
    ],
    _parameter(
        "linked",
        "Modalities one cell must have files of, comma-separated "
        "(e.g. morphology,transcriptomics).",
        {"type": "string"},
    ),
    _parameter("page", "Page number, from 1.", {"type": "integer", "minimum": 1}),
    _parameter(
        "page_size",
        "Results per page (at most 100).",
        {"type": "integer", "minimum": 1, "maximum": search.MAX_PAGE_SIZE},
    ),
    _parameter(
        "ordering",
        "relevance (with q), -modified, modified, name, -name, id, -id.",
        {"type": "string", "enum": list(search.ORDERINGS)},
    ),
]


@router.get("/", openapi_extra={"parameters": PARAMETERS})
def search_datasets(archive: ArchiveDep, user: UserDep, request: Request) -> dict[str, Any]:
    """Datasets matching the query that you may see, each with its matching files, and
    the facet counts of all matches."""
    params = search.SearchParams.from_query(request.query_params.multi_items())
    return search.search(archive, user=user, params=params)
