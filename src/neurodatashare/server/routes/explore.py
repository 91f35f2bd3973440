"""Extensions: the explorer's data endpoints. Numbers travel as binary, sized to a screen."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from neurodatashare.archive import explore
from neurodatashare.errors import BadRequest
from neurodatashare.nwb.limits import DEFAULT_PAGE as DEFAULT_TREE_PAGE
from neurodatashare.nwb.limits import MAX_PAGE as MAX_TREE_PAGE
from neurodatashare.server.deps import ArchiveDep, UserDep
from neurodatashare.server.params import BinWidth, Duration, Index, Offset, PixelWidth, Seconds

router = APIRouter(prefix="/api/assets/{asset_id}/explore", tags=["explore"])


def parse_ranges(text: str | None, *, what: str) -> list[int] | None:
    """'0-3,7' -> [0, 1, 2, 3, 7]; at most 10,000 entries."""
    if not text:
        return None
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            first, last = int(lo), int(hi or lo)
            if last < first or last - first > 10_000:
                raise ValueError
            out.extend(range(first, last + 1))
    except ValueError:
        raise BadRequest(f"{what} must look like 0-31 or 1,4,9 (got {text!r}).") from None
    if len(out) > 10_000:
        raise BadRequest(f"Ask for at most 10,000 {what} at once.")
    return out


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
    from neurodatashare.archive.explore_tree import tree_json

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
    from neurodatashare.nwb.explore import series_info

    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, overview: series_info(h5, path, overview=overview),
    )


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
    from neurodatashare.nwb.explore import read_window

    chosen = parse_ranges(channels, what="channels")
    result = explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, overview: read_window(
            h5, path, start=start, end=end, width=width, channels=chosen, overview=overview
        ),
    )
    return binary(result)


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
    from neurodatashare.nwb.explore import read_table

    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, _o: read_table(
            h5, path, offset=offset, limit=limit, sort=sort, desc=desc, filters=tuple(filter or ())
        ),
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
    from neurodatashare.nwb.explore import read_spikes

    chosen = parse_ranges(units, what="units")
    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, _o: read_spikes(h5, path, start=start, end=end, units=chosen),
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
    from neurodatashare.nwb.explore import psth as compute_psth

    chosen = parse_ranges(units, what="units")
    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, _o: compute_psth(
            h5,
            units_path=units_path,
            intervals_path=intervals_path,
            align=align,
            group_by=group_by,
            pre=pre,
            post=post,
            bin=bin,
            units=chosen,
        ),
    )


@router.get("/waveforms")
def waveforms(
    asset_id: str,
    archive: ArchiveDep,
    user: UserDep,
    path: str = "/units",
    units: str | None = None,
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_waveforms

    chosen = parse_ranges(units, what="units")
    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, _o: read_waveforms(h5, path, units=chosen),
    )


@router.get("/frame")
def frame(asset_id: str, path: str, index: Index, archive: ArchiveDep, user: UserDep) -> Response:
    from neurodatashare.nwb.explore import read_frame

    return binary(
        explore.run(
            archive,
            asset_id=asset_id,
            user=user,
            read=lambda h5, _o: read_frame(h5, path, index=index),
        )
    )


@router.get("/projection")
def projection(
    asset_id: str, path: str, archive: ArchiveDep, user: UserDep, kind: str = "mean"
) -> Response:
    from neurodatashare.nwb.explore import projection as compute

    if kind not in ("mean", "max"):
        raise BadRequest("kind must be mean or max.")
    return binary(
        explore.run(
            archive, asset_id=asset_id, user=user, read=lambda h5, _o: compute(h5, path, kind=kind)
        )
    )


@router.get("/rois")
def rois(asset_id: str, path: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_rois

    return explore.run(
        archive, asset_id=asset_id, user=user, read=lambda h5, _o: read_rois(h5, path)
    )


# -- views chosen by neurodata type (nwb/explore_views.py) and the page's overview ----------


@router.get("/overview")
def overview(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    from neurodatashare.nwb.explore import file_overview

    return explore.run(archive, asset_id=asset_id, user=user, read=lambda h5, _o: file_overview(h5))


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
    from neurodatashare.nwb.explore import read_snippets

    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, _o: read_snippets(h5, path, start=start, end=end, limit=limit),
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
    from neurodatashare.nwb.explore import read_bands

    return binary(
        explore.run(
            archive,
            asset_id=asset_id,
            user=user,
            read=lambda h5, _o: read_bands(
                h5, path, start=start, end=end, width=width, channel=channel
            ),
        )
    )


@router.get("/picture")
def picture(
    asset_id: str, path: str, archive: ArchiveDep, user: UserDep, index: Index | None = None
) -> Response:
    from neurodatashare.nwb.explore import read_picture

    return binary(
        explore.run(
            archive,
            asset_id=asset_id,
            user=user,
            read=lambda h5, _o: read_picture(h5, path, index=index),
        )
    )


@router.get("/events")
def events(
    asset_id: str,
    path: str,
    archive: ArchiveDep,
    user: UserDep,
    start: Seconds | None = None,
    end: Seconds | None = None,
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_events

    return explore.run(
        archive,
        asset_id=asset_id,
        user=user,
        read=lambda h5, _o: read_events(h5, path, start=start, end=end),
    )
