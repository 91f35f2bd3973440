"""Extensions: the explorer's data endpoints. Numbers travel as binary, sized to a screen.

Each route calls one service of archive/explorer.py (the tree: archive/explore_tree.py).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from neurodatashare.archive import explorer
from neurodatashare.archive.explore_tree import DEFAULT_PAGE as DEFAULT_TREE_PAGE
from neurodatashare.archive.explore_tree import MAX_PAGE as MAX_TREE_PAGE
from neurodatashare.archive.explore_tree import tree_json
from neurodatashare.server.deps import ArchiveDep, UserDep
from neurodatashare.server.params import BinWidth, Duration, Index, Offset, PixelWidth, Seconds

router = APIRouter(prefix="/api/assets/{asset_id}/explore", tags=["explore"])


def binary(payload: Any) -> Response:
    """A Window or Image as float32 bytes with its JSON header."""
    return Response(
        payload.to_bytes(),
        media_type="application/octet-stream",
        headers={
            "X-NDS-Meta": json.dumps(payload.meta(), separators=(",", ":")),
            "Access-Control-Expose-Headers": "X-NDS-Meta",
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get("/tree")
def tree(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    path: Annotated[str, Query(description="The group to list below.")] = "/",
    depth: Annotated[
        int | None, Query(ge=1, le=1000, description="Levels below `path`; all when absent.")
    ] = None,
    offset: Offset = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_TREE_PAGE, description="Objects per page, at most 5,000.")
    ] = DEFAULT_TREE_PAGE,
) -> Response:
    """The file's objects, breadth-first below `path`, a page at a time (cached per file)."""
    body = tree_json(
        archive,
        asset_id=asset_id,
        user=user,
        path=path,
        depth=depth,
        offset=offset,
        limit=limit,
    )
    return Response(
        body, media_type="application/json", headers={"Cache-Control": "private, max-age=300"}
    )


@router.get("/series")
def series(asset_id: str, path: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return explorer.series_info(archive, asset_id=asset_id, user=user, path=path)


@router.get("/window")
def window(
    asset_id: str,
    path: str,
    start: Seconds,
    end: Seconds,
    archive: ArchiveDep,
    user: UserDep,
    width: PixelWidth = 1000,
    channels: str | None = None,
) -> Response:
    return binary(
        explorer.series_window(
            archive,
            asset_id=asset_id,
            user=user,
            path=path,
            start=start,
            end=end,
            width=width,
            channels=channels,
        )
    )


@router.get("/table")
def table(
    asset_id: str,
    path: str,
    archive: ArchiveDep,
    user: UserDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page, 1 to 1000.")] = 100,
    sort: str | None = None,
    desc: bool = False,
    filter: Annotated[list[str] | None, Query(description="COL:OP:VALUE, repeatable")] = None,
) -> dict[str, Any]:
    return explorer.table_rows(
        archive,
        asset_id=asset_id,
        user=user,
        path=path,
        offset=offset,
        limit=limit,
        sort=sort,
        desc=desc,
        filters=tuple(filter or ()),
    )


@router.get("/spikes")
def spikes(
    asset_id: str,
    start: Seconds,
    end: Seconds,
    archive: ArchiveDep,
    user: UserDep,
    path: str = "/units",
    units: str | None = None,
) -> dict[str, Any]:
    return explorer.spikes(
        archive, asset_id=asset_id, user=user, path=path, start=start, end=end, units=units
    )


@router.get("/psth")
def psth(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    units_path: str = "/units",
    intervals_path: str = "/intervals/trials",
    align: str = "start_time",
    group_by: str | None = None,
    pre: Duration = 0.5,
    post: Duration = 1.0,
    bin: BinWidth = 0.02,
    units: str | None = None,
) -> dict[str, Any]:
    return explorer.psth(
        archive,
        asset_id=asset_id,
        user=user,
        units_path=units_path,
        intervals_path=intervals_path,
        align=align,
        group_by=group_by,
        pre=pre,
        post=post,
        bin=bin,
        units=units,
    )


@router.get("/waveforms")
def waveforms(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    path: str = "/units",
    units: str | None = None,
) -> dict[str, Any]:
    return explorer.waveforms(archive, asset_id=asset_id, user=user, path=path, units=units)


@router.get("/frame")
def frame(asset_id: str, path: str, index: Index, archive: ArchiveDep, user: UserDep) -> Response:
    return binary(explorer.frame(archive, asset_id=asset_id, user=user, path=path, index=index))


@router.get("/projection")
def projection(
    asset_id: str, path: str, archive: ArchiveDep, user: UserDep, kind: str = "mean"
) -> Response:
    return binary(explorer.projection(archive, asset_id=asset_id, user=user, path=path, kind=kind))


@router.get("/rois")
def rois(asset_id: str, path: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return explorer.rois(archive, asset_id=asset_id, user=user, path=path)


# -- views chosen by neurodata type (nwb/explore/views.py) and the page's overview ----------


@router.get("/overview")
def overview(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    return explorer.file_overview(archive, asset_id=asset_id, user=user)


@router.get("/snippets")
def snippets(
    asset_id: str,
    path: str,
    archive: ArchiveDep,
    user: UserDep,
    start: Seconds | None = None,
    end: Seconds | None = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Snippets to draw, 1 to 1,000.")] = 200,
) -> dict[str, Any]:
    return explorer.snippets(
        archive, asset_id=asset_id, user=user, path=path, start=start, end=end, limit=limit
    )


@router.get("/bands")
def bands(
    asset_id: str,
    path: str,
    archive: ArchiveDep,
    user: UserDep,
    start: Seconds | None = None,
    end: Seconds | None = None,
    width: PixelWidth = 1000,
    channel: Index = 0,
) -> Response:
    return binary(
        explorer.bands(
            archive,
            asset_id=asset_id,
            user=user,
            path=path,
            start=start,
            end=end,
            width=width,
            channel=channel,
        )
    )


@router.get("/picture")
def picture(
    asset_id: str, path: str, archive: ArchiveDep, user: UserDep, index: Index | None = None
) -> Response:
    return binary(explorer.picture(archive, asset_id=asset_id, user=user, path=path, index=index))


@router.get("/events")
def events(
    asset_id: str,
    path: str,
    archive: ArchiveDep,
    user: UserDep,
    start: Seconds | None = None,
    end: Seconds | None = None,
) -> dict[str, Any]:
    return explorer.events(archive, asset_id=asset_id, user=user, path=path, start=start, end=end)
