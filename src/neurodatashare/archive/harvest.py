"""What indexers and harvesters read: published versions of open datasets only.

The sitemap, the OAI-PMH endpoint (archive/oai.py) and the landing pages' JSON-LD
(archive/jsonld.py) answer the same for every caller, owners included: they are for
crawlers, and a private or embargoed dataset, or a draft, never appears in them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive import versions
from neurodatashare.archive.access import visible_clause
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Dataset, Version

#: at most this many URLs in one sitemap file (the sitemaps.org limit)
SITEMAP_LIMIT = 50_000
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def published_rows(
    s: Session,
    *,
    after_id: int = 0,
    start: datetime | None = None,
    until: datetime | None = None,
    dataset_id: int | None = None,
    limit: int,
) -> list[tuple[Dataset, Version]]:
    """Published versions of open datasets (anonymous visibility), by version row id, so a
    harvest can go on from the last row it saw (`after_id`)."""
    query = (
        select(Dataset, Version)
        .join(Version, Version.dataset_id == Dataset.id)
        .where(visible_clause(None), Version.version != "draft", Version.id > after_id)
        .order_by(Version.id)
        .limit(limit)
    )
    if start is not None:
        query = query.where(Version.created >= start)
    if until is not None:
        query = query.where(Version.created <= until)
    if dataset_id is not None:
        query = query.where(Dataset.id == dataset_id)
    return [(d, v) for d, v in s.execute(query).all()]


def published_document(
    archive: Archive, s: Session, *, dataset: Dataset, version: Version
) -> dict[str, Any]:
    # through the module, so tests/conftest.py's dandischema audit sees these documents
    return versions.version_metadata_json(archive, s, dataset=dataset, version=version)


def sitemap(archive: Archive) -> str:
    """`/sitemap.xml`: the landing page of every published version of an open dataset."""
    with archive.db.read() as s:
        rows = published_rows(s, limit=SITEMAP_LIMIT)
        urls = [(versions.version_url(archive, d, v), v.created) for d, v in rows]
    return "".join(_sitemap_lines(urls))


def _sitemap_lines(urls: list[tuple[str, datetime]]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<urlset xmlns="{SITEMAP_NS}">\n'
    for url, when in urls:
        # a published version never changes: its publication is its last modification
        yield f"  <url><loc>{escape(url)}</loc><lastmod>{when.date().isoformat()}</lastmod></url>\n"
    yield "</urlset>\n"
