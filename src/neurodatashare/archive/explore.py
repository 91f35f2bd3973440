"""The explorer's data: an asset's NWB file read server-side, a screen's worth at a time.

Access is checked like every other route; the reading itself lives in nwb/explore.py and
nwb/overview.py, which only ever read what a request needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Derived, User
from neurodatashare.errors import BadRequest, NDSError
from neurodatashare.formats.nwb import OVERVIEW_KIND, overview_producer

log = logging.getLogger("neurodatashare.explore")


class Unreadable(NDSError):
    status_code = 422


@contextmanager
def asset_file(archive: Archive, *, asset_id: str, user: User | None) -> Iterator[Any]:
    """(h5py file, overview reader or None) of an NWB asset the user may see."""
    import h5py

    from neurodatashare.archive.access import visible_asset
    from neurodatashare.archive.processing import is_nwb, local_copy
    from neurodatashare.nwb.overview import OverviewReader

    with archive.db.read() as s:
        asset, dataset = visible_asset(s, asset_id=asset_id, user=user)
        blob = asset.blob
        overview_row = s.scalar(
            select(Derived).where(
                Derived.blob_id == asset.blob_id,
                Derived.kind == OVERVIEW_KIND,
                Derived.producer == overview_producer(),
            )
        )
    if not is_nwb(asset.path):
        raise BadRequest(f"{asset.path} is not an NWB file, so the explorer cannot show it.")
    overview_path = (
        archive.store.local_path(overview_row.storage_key)
        if overview_row is not None and overview_row.storage_key
        else None
    )
    with local_copy(archive, blob) as path:
        try:
            h5 = h5py.File(path, "r")
        except OSError as exc:
            raise Unreadable(
                f"{asset.path} cannot be read as an HDF5/NWB file ({exc}). "
                "Its validation report says more."
            ) from None
        reader = OverviewReader(overview_path) if overview_path else None
        try:
            with _following_links(archive, asset, dataset, h5):
                yield h5, reader
        finally:
            if reader is not None:
                reader.close()
            h5.close()


@contextmanager
def _following_links(archive: Archive, asset: Any, dataset: Any, h5: Any) -> Iterator[None]:
    """While reading, follow the file's external links into sibling assets (see links)."""
    from neurodatashare.archive.links import blob_links, followed, siblings
    from neurodatashare.nwb.links import FOLLOW

    found = blob_links(asset.blob_id, h5)
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


def run(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    read: Callable[[Any, Any], Any],
) -> Any:
    """Open the asset's file, run `read(h5, overview)`, and turn read errors into 4xx."""
    with asset_file(archive, asset_id=asset_id, user=user) as (h5, overview):
        try:
            return read(h5, overview)
        except NDSError:
            raise
        except (KeyError, ValueError, TypeError, OSError) as exc:
            log.info("explore read failed on %s", asset_id, exc_info=True)
            raise Unreadable(f"This part of the file cannot be read: {exc}") from None
