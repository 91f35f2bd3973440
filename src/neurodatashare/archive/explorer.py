"""The explorer's views: one service per view, each reading a screen's worth of an asset.

Every call checks access (visible_asset) first, then reads the asset's NWB file through
the archive's cache of open files (archive/blob_files.py), so panning a trace does not
reopen the file and its overview for every window. The reading itself lives in
the nwb/explore/ package; read errors become 4xx.
The tree is served by archive/explore_tree.py; overviews are built by the pipeline
(archive/pipeline.py, with the builders in formats/nwb.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import select

from neurodatashare.archive.blob_files import Opened
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, Dataset, Derived, User
from neurodatashare.errors import BadRequest, NDSError, Unreadable
from neurodatashare.formats.nwb import OVERVIEW_KIND, overview_producer
from neurodatashare.storage import unavailable

log = logging.getLogger("neurodatashare.explore")

PROJECTIONS = ("mean", "max")
MAX_CHOSEN = 10_000  # channels or units named in one request
T = TypeVar("T")


@contextmanager
def opened(archive: Archive, *, asset_id: str, user: User | None) -> Iterator[Opened]:
    """The NWB asset's open file (and overview) for the block, if the user may see it.

    Access is decided here on every call; the cache only ever holds file handles.
    """
    from neurodatashare.archive.access import blob_of, visible_asset
    from neurodatashare.archive.conversion_files import conversion_of, opened_output
    from neurodatashare.archive.derived import is_nwb

    if conversion_of(asset_id) is not None:  # a conversion's file, before it is uploaded
        with opened_output(archive, user=user, asset_id=asset_id) as output:
            yield output
        return
    files = archive.files
    with archive.db.read() as s:
        asset, dataset = visible_asset(s, asset_id=asset_id, user=user)
        is_zarr = asset.zarr_id is not None
        if not is_zarr:
            blob = blob_of(asset)
            blob_id, key = blob.id, blob.key
            overview_key = files.cached_overview(blob_id)
            if overview_key is None:
                overview_key = s.scalar(
                    select(Derived.storage_key).where(
                        Derived.blob_id == blob_id,
                        Derived.kind == OVERVIEW_KIND,
                        Derived.producer == overview_producer(),
                    )
                )
    if is_zarr:  # NWB stored as Zarr (archive/zarr_explore.py)
        from neurodatashare.archive.zarr_explore import opened_zarr

        with opened_zarr(archive, asset) as zentry:
            yield zentry  # type: ignore[misc]
        return
    if not is_nwb(asset.path):
        raise BadRequest(f"{asset.path} is not an NWB file, so the explorer cannot show it.")
    try:
        entry = files.acquire(archive.store, blob_id=blob_id, key=key, overview_key=overview_key)
    except OSError as exc:
        if unavailable(exc):
            raise  # the storage, not the file: a 503 (server/errors.py)
        raise Unreadable(
            f"{asset.path} cannot be read as an HDF5/NWB file ({exc}). "
            "Its validation report says more."
        ) from None
    try:
        with _following_links(archive, asset, dataset, entry.h5):
            yield entry
    finally:
        files.release(entry)


@contextmanager
def _following_links(archive: Archive, asset: Asset, dataset: Dataset, h5: Any) -> Iterator[None]:
    """While reading, follow the file's external links into sibling assets (see links)."""
    from neurodatashare.archive.access import blob_of
    from neurodatashare.archive.links import blob_links, followed, siblings
    from neurodatashare.nwb.links import FOLLOW

    found = blob_links(blob_of(asset).id, h5)
    if not found:
        yield
        return
    with archive.db.read() as s:
        resolved = siblings(s, asset=asset, dataset=dataset, links=found)
    with followed(archive, resolved) as links:
        token = FOLLOW.set(links)
        try:
            yield
        finally:
            FOLLOW.reset(token)


def read(archive: Archive, *, asset_id: str, user: User | None, view: Callable[[Any, Any], T]) -> T:
    """`view(h5, overview)` on the asset's open file, with read errors turned into 4xx."""
    with opened(archive, asset_id=asset_id, user=user) as entry:
        try:
            return view(entry.h5, entry.overview)
        except NDSError:
            raise
        except (KeyError, ValueError, TypeError, OSError) as exc:
            log.info("explore read failed on %s", asset_id, exc_info=True)
            if isinstance(exc, OSError) and entry.blob_id:
                archive.files.forget(entry.blob_id)  # reopen next time, in case it was the handle
            raise Unreadable(f"This part of the file cannot be read: {exc}") from None


def _chosen(text: str | None, *, what: str) -> str | None:
    """`text` ("0-31,40") if it names at most MAX_CHOSEN indices, before any file is opened.

    The readers expand it with nwb.explore.parse_index_list, which bounds each range but
    not how many there are; counting range by range keeps a long list from being built.
    """
    from neurodatashare.nwb.explore import parse_index_list

    if not text:
        return text
    total = 0
    for part in text.split(","):
        total += len(parse_index_list(part, 2**62, what=what) or ())
        if total > MAX_CHOSEN:
            raise BadRequest(f"Ask for at most {MAX_CHOSEN:,} {what}s at once.")
    return text


# -- the views (docs/explorer-api.md); `channels`/`units` are text like "0-31,40" ---------


def series_info(archive: Archive, *, asset_id: str, user: User | None, path: str) -> dict[str, Any]:
    from neurodatashare.nwb.explore import series_info as info

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, overview: info(h5, path, overview=overview),
    )


def series_window(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str,
    start: float,
    end: float,
    width: int,
    channels: str | None = None,
) -> Any:
    """A Window of the series between start and end for a plot `width` pixels wide."""
    from neurodatashare.nwb.explore import read_window

    channels = _chosen(channels, what="channel")
    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, overview: read_window(
            h5, path, start=start, end=end, width=width, channels=channels, overview=overview
        ),
    )


def table_rows(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str,
    offset: int = 0,
    limit: int = 100,
    sort: str | None = None,
    desc: bool = False,
    filters: Sequence[str] = (),
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_table

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_table(
            h5, path, offset=offset, limit=limit, sort=sort, desc=desc, filters=tuple(filters)
        ),
    )


def spikes(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str,
    start: float,
    end: float,
    units: str | None = None,
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_spikes

    units = _chosen(units, what="unit")
    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_spikes(h5, path, start=start, end=end, units=units),
    )


def psth(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    units_path: str,
    intervals_path: str,
    align: str,
    group_by: str | None,
    pre: float,
    post: float,
    bin: float,
    units: str | None = None,
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import psth as compute

    units = _chosen(units, what="unit")
    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: compute(
            h5,
            units_path=units_path,
            intervals_path=intervals_path,
            align=align,
            group_by=group_by,
            pre=pre,
            post=post,
            bin=bin,
            units=units,
        ),
    )


def waveforms(
    archive: Archive, *, asset_id: str, user: User | None, path: str, units: str | None = None
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_waveforms

    units = _chosen(units, what="unit")
    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_waveforms(h5, path, units=units),
    )


def frame(archive: Archive, *, asset_id: str, user: User | None, path: str, index: int) -> Any:
    from neurodatashare.nwb.explore import read_frame

    return read(
        archive, asset_id=asset_id, user=user, view=lambda h5, _o: read_frame(h5, path, index=index)
    )


def projection(
    archive: Archive, *, asset_id: str, user: User | None, path: str, kind: str = "mean"
) -> Any:
    from neurodatashare.nwb.explore import projection as compute

    if kind not in PROJECTIONS:
        raise BadRequest("kind must be mean or max.")
    return read(
        archive, asset_id=asset_id, user=user, view=lambda h5, _o: compute(h5, path, kind=kind)
    )


def rois(archive: Archive, *, asset_id: str, user: User | None, path: str) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_rois

    return read(archive, asset_id=asset_id, user=user, view=lambda h5, _o: read_rois(h5, path))


def file_overview(archive: Archive, *, asset_id: str, user: User | None) -> dict[str, Any]:
    from neurodatashare.nwb.explore import file_overview as summary

    return read(archive, asset_id=asset_id, user=user, view=lambda h5, _o: summary(h5))


def snippets(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str,
    start: float | None = None,
    end: float | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_snippets

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_snippets(h5, path, start=start, end=end, limit=limit),
    )


def bands(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str,
    start: float | None = None,
    end: float | None = None,
    width: int = 1000,
    channel: int = 0,
) -> Any:
    from neurodatashare.nwb.explore import read_bands

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_bands(
            h5, path, start=start, end=end, width=width, channel=channel
        ),
    )


def picture(
    archive: Archive, *, asset_id: str, user: User | None, path: str, index: int | None = None
) -> Any:
    from neurodatashare.nwb.explore import read_picture

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_picture(h5, path, index=index),
    )


def events(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, Any]:
    from neurodatashare.nwb.explore import read_events

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda h5, _o: read_events(h5, path, start=start, end=end),
    )
