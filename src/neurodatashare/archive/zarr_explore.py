"""The explorer on NWB stored as Zarr: the asset's Zarr opened as an h5py-like file
(nwb/zarr_lindi.py) over its stored entries, for the same readers as HDF5 NWB.

Opened files are kept per Zarr checksum (a small LRU), as archive/blob_files.py keeps
blobs' HDF5 files: the checksum names the content, so a published copy shares the entry
and a changed Zarr (a new checksum) is opened afresh. A Zarr without a checksum yet is
opened for the one request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, Zarr
from neurodatashare.errors import BadRequest, Unreadable

MAX_OPEN = 8
_open: OrderedDict[tuple[int, str], Any] = OrderedDict()
_lock = threading.Lock()


@dataclass
class OpenedZarr:
    """What explorer.read needs of an open asset: the file, no overview, no blob."""

    h5: Any
    overview: Any = None
    blob_id: str | None = None


def cache_key(archive: Archive, asset: Asset) -> str:
    """A name for the Zarr's content (explore_tree caches pages by it)."""
    with archive.db.read() as s:
        z = s.get(Zarr, asset.zarr_id)
        checksum = z.checksum if z is not None and z.status == "Complete" else None
    return f"zarr:{checksum}" if checksum else f"zarr-id:{asset.zarr_id}"


def _open_file(archive: Archive, asset: Asset) -> Any:
    from neurodatashare.archive.zarrs import open_zarr_store
    from neurodatashare.nwb.zarr_lindi import open_as_h5

    assert asset.zarr_id is not None
    store = open_zarr_store(archive, asset.zarr_id)
    key = getattr(store, "cache_key", None)
    name = asset.path.rstrip("/").rsplit("/", 1)[-1]
    if key is None:
        return open_as_h5(store, name=name)
    with _lock:
        found = _open.get((id(archive), key))
        if found is not None:
            _open.move_to_end((id(archive), key))
            return found
    h5 = open_as_h5(store, name=name)
    with _lock:
        _open[(id(archive), key)] = h5
        while len(_open) > MAX_OPEN:
            _open.popitem(last=False)
    return h5


@contextmanager
def opened_zarr(archive: Archive, asset: Asset) -> Iterator[OpenedZarr]:
    """The NWB-Zarr asset open for the explorer; 400 for a Zarr that is not NWB."""
    from neurodatashare.formats import store_format_for
    from neurodatashare.formats.nwb_zarr import NWB_ZARR

    if store_format_for(asset.path) is not NWB_ZARR:
        raise BadRequest(f"{asset.path} is not an NWB file, so the explorer cannot show it.")
    try:
        h5 = _open_file(archive, asset)
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise Unreadable(
            f"{asset.path} cannot be read as an NWB-Zarr file ({exc}). "
            "Its validation report says more."
        ) from None
    yield OpenedZarr(h5=h5)
