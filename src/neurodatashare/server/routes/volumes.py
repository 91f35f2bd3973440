"""Extensions: the slice viewer's data for OME-Zarr volumes (archive/volumes.py), under
the explorer's prefix: the volume's layout, and a plane drawn as a PNG.

`_store_for_asset` is the one place that turns an asset id into the volume's store (the
read-only mapping of its Zarr entries); it checks access first, so a hidden asset answers
exactly as a missing one. The store is the Zarr asset's (archive/zarrs.py,
`open_zarr_store`); an asset that is not an OME-Zarr Zarr is "not an OME-Zarr volume".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from neurodatashare.archive import volumes
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.errors import BadRequest
from neurodatashare.server.deps import ArchiveDep, UserDep
from neurodatashare.server.params import ImagePixels, Index, VolumeLevel, Voxel

router = APIRouter(prefix="/api/assets/{asset_id}/explore", tags=["explore"])

CACHE = {"Cache-Control": "private, max-age=300"}
CHANNEL = re.compile(
    r"^(\d{1,3}):([0-9A-Fa-f]{6})(?::(-?[0-9.]+(?:[eE][-+]?\d+)?):(-?[0-9.]+(?:[eE][-+]?\d+)?))?$"
)
Plane = Annotated[str, Query(pattern="^(xy|xz|yz)$", description="The plane: xy, xz or yz.")]
Channels = Annotated[
    list[str] | None,
    Query(
        max_length=64,
        description="Channels to show, each INDEX:RRGGBB or INDEX:RRGGBB:START:END (the "
        "contrast window); the volume's own channels and windows if absent.",
    ),
]


def _store_for_asset(
    archive: Archive, *, asset_id: str, user: User | None
) -> tuple[Mapping[str, bytes], Mapping[str, bytes] | None]:  # Source
    """The asset's Zarr store and its derived pyramid (None if it has none): the
    integration point with the Zarr storage."""
    from neurodatashare.archive.access import visible_asset
    from neurodatashare.archive.zarrs import open_zarr_store
    from neurodatashare.formats import store_format_for

    with archive.db.read() as s:
        asset, _ = visible_asset(s, asset_id=asset_id, user=user)
        path, zarr_id = asset.path, asset.zarr_id
    fmt = store_format_for(path)
    if zarr_id is None or fmt is None or fmt.name != "ome-zarr":
        raise BadRequest(f"{path} is not an OME-Zarr volume, so the slice viewer cannot show it.")
    from neurodatashare.archive.zarr_pipeline import open_pyramid

    # a one-level large volume's derived pyramid (the zarr.pyramid job), once built
    return open_zarr_store(archive, zarr_id), open_pyramid(archive, zarr_id)


Source = tuple[Mapping[str, bytes], Mapping[str, bytes] | None]


def volume_store(asset_id: str, archive: ArchiveDep, user: UserDep) -> Callable[[], Source]:
    """How a route gets the store: called after the query is checked, so a bad parameter
    is a 400 whoever asks (tests override this dependency with their directories)."""
    return lambda: _store_for_asset(archive, asset_id=asset_id, user=user)


StoreDep = Annotated[Callable[[], Source], Depends(volume_store)]


def _channels(values: list[str] | None) -> list[dict[str, Any]] | None:
    if not values:
        return None
    out = []
    for v in values:
        m = CHANNEL.match(v)
        if not m:
            raise BadRequest(
                f"channel {v!r} is not INDEX:RRGGBB or INDEX:RRGGBB:START:END "
                "(e.g. 0:00FF00:100:2000)."
            )
        ch: dict[str, Any] = {"index": int(m[1]), "color": m[2].upper()}
        if m[3] is not None:
            ch["start"], ch["end"] = float(m[3]), float(m[4])
        out.append(ch)
    return out


@router.get("/volume")
def volume_layout(asset_id: str, source: StoreDep) -> dict[str, Any]:
    """Axes, pyramid levels, channels with their windows, and the planes offered."""
    store, pyramid = source()
    return {"asset_id": asset_id} | volumes.layout(store, pyramid=pyramid)


@router.get("/volume/slice.png")
def volume_slice(
    asset_id: str,
    source: StoreDep,
    plane: Plane = "xy",
    left: Voxel | None = None,
    top: Voxel | None = None,
    right: Voxel | None = None,
    bottom: Voxel | None = None,
    width: ImagePixels | None = None,
    height: ImagePixels | None = None,
    level: VolumeLevel | None = None,
    t: Index | None = None,
    z: Index | None = None,
    y: Index | None = None,
    x: Index | None = None,
    channel: Channels = None,
) -> Response:
    """One plane as an RGB PNG: the region [left, right) x [top, bottom) in full-resolution
    voxels of the plane's horizontal and vertical axes (the whole plane by default), drawn
    at width x height pixels from the level that matches (or `level`)."""
    store, pyramid = source()
    volume = volumes.open_volume(store, pyramid=pyramid)
    hu, hv = volumes.PLANES[plane]
    shape0 = volume.levels[0].array.shape
    if hu not in volume.names or hv not in volume.names:
        raise BadRequest(f"This volume has axes {volume.names}, so it has no {plane} plane.")
    nu, nv = shape0[volume.axis(hu)], shape0[volume.axis(hv)]
    region = (
        0.0 if left is None else left,
        0.0 if top is None else top,
        float(nu) if right is None else right,
        float(nv) if bottom is None else bottom,
    )
    if width is None or height is None:
        span_u, span_v = max(region[2] - region[0], 1e-9), max(region[3] - region[1], 1e-9)
        fit = 512 / max(span_u, span_v)
        width = width or max(1, min(2048, round(span_u * fit)))
        height = height or max(1, min(2048, round(span_v * fit)))
    index = {k: v for k, v in (("t", t), ("z", z), ("y", y), ("x", x)) if v is not None}
    index = {k: v for k, v in index.items() if k not in (hu, hv)}
    png, header = volumes.render(
        store,
        plane=plane,
        index=index,
        region=region,
        size=(width, height),
        level=level,
        channels=_channels(channel),
        pyramid=pyramid,
        volume=volume,
    )
    headers = CACHE | {
        "X-Volume-Level": str(header["level"]),
        "X-Volume-Chunks": str(header["chunks"]),
    }
    return Response(png, media_type="image/png", headers=headers)
