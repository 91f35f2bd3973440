"""Extensions: the AnnData views' data endpoints (archive/expression.py), beside the NWB
explorer's under /api/assets/{asset_id}/explore/. The embedding travels as float32 bytes
with a JSON header, like the explorer's windows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from neurodatashare.archive import expression
from neurodatashare.formats.expression.limits import MAX_CELLS_LIMIT, MAX_GENE_RESULTS
from neurodatashare.server.deps import ArchiveDep, UserDep
from neurodatashare.server.params import (
    BinPixels,
    Coordinate,
    Offset,
    PixelHeight,
    PixelWidth,
)
from neurodatashare.server.routes.explore import binary

router = APIRouter(prefix="/api/assets/{asset_id}/explore", tags=["explore"])

Text = Annotated[str | None, Query(max_length=500)]


@router.get("/embedding")
def embedding(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    key: Annotated[str | None, Query(max_length=500, description="The obsm key.")] = None,
    color: Annotated[
        str | None, Query(max_length=500, description="An obs column or a gene.")
    ] = None,
    x0: Coordinate | None = None,
    x1: Coordinate | None = None,
    y0: Coordinate | None = None,
    y1: Coordinate | None = None,
    width: PixelWidth = 800,
    height: PixelHeight = 600,
    bin: BinPixels = 4,
) -> Response:
    return binary(
        expression.embedding(
            archive,
            asset_id=asset_id,
            user=user,
            key=key,
            color=color,
            x0=x0,
            x1=x1,
            y0=y0,
            y1=y1,
            width=width,
            height=height,
            bin_pixels=bin,
        )
    )


@router.get("/genes")
def genes(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    q: Annotated[str, Query(max_length=200, description="Part of a gene name.")] = "",
    limit: Annotated[
        int, Query(ge=1, le=MAX_GENE_RESULTS, description="Genes to return, 1 to 50.")
    ] = 20,
) -> dict[str, Any]:
    return expression.genes(archive, asset_id=asset_id, user=user, q=q, limit=limit)


@router.get("/dotplot")
def dotplot(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    genes: Annotated[str, Query(max_length=5000, description="Gene names, comma-separated.")],
    group: Annotated[str | None, Query(max_length=500, description="An obs column.")] = None,
) -> dict[str, Any]:
    return expression.dotplot(archive, asset_id=asset_id, user=user, genes=genes, group=group)


@router.get("/cells")
def cells(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    offset: Offset = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_CELLS_LIMIT, description="Rows per page, 1 to 1000.")
    ] = 100,
    sort: Text = None,
    desc: bool = False,
    filter: Annotated[list[str] | None, Query(description="COL:OP:VALUE, repeatable")] = None,
) -> dict[str, Any]:
    return expression.cells(
        archive,
        asset_id=asset_id,
        user=user,
        offset=offset,
        limit=limit,
        sort=sort,
        desc=desc,
        filters=tuple(filter or ()),
    )
