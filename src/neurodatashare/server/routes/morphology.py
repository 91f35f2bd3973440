"""Extensions: the morphology and model views' data (SWC, Neurolucida, NeuroML), under the
explorer's prefix. Each route calls one service of archive/morphology.py or, for a NeuroML
file's element tree, archive/model_tree.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from neurodatashare.archive import model_tree, morphology
from neurodatashare.server.deps import ArchiveDep, UserDep
from neurodatashare.server.params import RadiusStep

router = APIRouter(prefix="/api/assets/{asset_id}/explore", tags=["explore"])

Radii = Annotated[bool, Query(description="Also send each point's radius (`r`).")]
CellId = Annotated[
    str | None,
    Query(max_length=200, description="A NeuroML file's cell; the first with segments if absent."),
]
CACHE = {"Cache-Control": "private, max-age=300"}


Encoding = Annotated[
    Literal["json", "binary"],
    Query(
        alias="format",
        description="`json` (polylines per neurite type) or `binary`: int16 points and "
        "section arrays in one body, for the 3D view (docs/explorer-api.md).",
    ),
]


@router.get("/morphology")
def morphology_view(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    radii: Radii = False,
    cell: CellId = None,
    encoding: Encoding = "json",
) -> Response:
    """The reconstruction as polylines per neurite type, for a 3D plot."""
    if encoding == "binary":
        from neurodatashare.formats.swc_binary import MEDIA_TYPE

        data = morphology.morphology_binary(archive, asset_id=asset_id, user=user, cell=cell)
        return Response(data, media_type=MEDIA_TYPE, headers=CACHE)
    body = morphology.morphology_json(archive, asset_id=asset_id, user=user, radii=radii, cell=cell)
    return Response(body, media_type="application/json", headers=CACHE)


@router.get("/dendrogram")
def dendrogram(
    asset_id: str, archive: ArchiveDep, user: UserDep, cell: CellId = None
) -> dict[str, Any]:
    return morphology.dendrogram(archive, asset_id=asset_id, user=user, cell=cell)


@router.get("/sholl")
def sholl(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    step: RadiusStep | None = None,
    cell: CellId = None,
) -> dict[str, Any]:
    return morphology.sholl(archive, asset_id=asset_id, user=user, step=step, cell=cell)


@router.get("/network")
def network(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return morphology.network(archive, asset_id=asset_id, user=user)


ElementPath = Annotated[
    str,
    Query(
        max_length=2000,
        pattern=r"^[0-9/]*$",
        description="An element by child numbers from the root: `/` (the root), `/2/0`.",
    ),
]


@router.get("/elements")
def elements(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    path: ElementPath = "/",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=model_tree.MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """A NeuroML file's element tree below `path`, with the validation findings on the
    elements they name."""
    return model_tree.elements(
        archive, asset_id=asset_id, user=user, path=path, offset=offset, limit=limit
    )
