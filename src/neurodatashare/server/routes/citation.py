"""/api/dandisets/{id}/versions/{version}/citation/: a version's citation in one format."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from neurodatashare.archive import citation
from neurodatashare.server.deps import ArchiveDep, UserDep

router = APIRouter(prefix="/api/dandisets/{dataset_id}/versions", tags=["versions"])


@router.get("/{version}/citation/")
def get_citation(
    dataset_id: str, version: str, archive: ArchiveDep, user: UserDep, format: str = "apa"
) -> Response:
    """`format`: apa (text), bibtex, ris, csl-json, datacite-json or datacite-xml (the two
    DataCite records only for published versions)."""
    rendered = citation.cite(
        archive, dataset_id=dataset_id, version=version, user=user, format=format
    )
    return Response(rendered.body, media_type=rendered.media_type)
