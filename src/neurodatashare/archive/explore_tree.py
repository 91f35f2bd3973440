"""The explorer's file tree, a page at a time, cached per blob.

The pages are computed by nwb/explore/tree.py and kept here as JSON bytes in a bounded,
in-process LRU keyed by (blob, page): blobs are content-addressed and never change, so a
page never goes stale. Access is checked on every call, before the cache is consulted.
At most two pages are computed at once (and each only once); a caller that would wait
more than a few seconds for its turn gets a 429 with Retry-After instead, so a burst of
calls for large files cannot occupy every worker thread.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from neurodatashare.archive import explorer
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.errors import TooBusy
from neurodatashare.nwb.limits import DEFAULT_PAGE as DEFAULT_PAGE
from neurodatashare.nwb.limits import MAX_PAGE as MAX_PAGE

CACHE_BYTES = 64 * 1024 * 1024
_cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_cache_size = 0
_cache_lock = threading.Lock()
_key_locks: dict[tuple[Any, ...], threading.Lock] = {}
_builders = threading.BoundedSemaphore(2)
WAIT_SECONDS = 5.0


def _cached(key: tuple[Any, ...]) -> bytes | None:
    with _cache_lock:
        body = _cache.get(key)
        if body is not None:
            _cache.move_to_end(key)
        return body


def _store(key: tuple[Any, ...], body: bytes) -> None:
    global _cache_size
    with _cache_lock:
        if key in _cache or len(body) > CACHE_BYTES // 4:
            return
        _cache[key] = body
        _cache_size += len(body)
        while _cache_size > CACHE_BYTES:
            _old, dropped = _cache.popitem(last=False)
            _cache_size -= len(dropped)


def _blob_of(archive: Archive, *, asset_id: str, user: User | None) -> str:
    from neurodatashare.archive.access import blob_of, visible_asset
    from neurodatashare.archive.conversion_files import cache_key as output_key
    from neurodatashare.archive.conversion_files import conversion_of

    if conversion_of(asset_id) is not None:
        return output_key(archive, user=user, asset_id=asset_id)
    with archive.db.read() as s:
        asset, _dataset = visible_asset(s, asset_id=asset_id, user=user)
        if asset.zarr_id is None:
            return blob_of(asset).id
    from neurodatashare.archive.zarr_explore import cache_key

    return cache_key(archive, asset)  # an NWB-Zarr: pages are shared per Zarr checksum


def tree_json(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str = "/",
    depth: int | None = None,
    offset: int = 0,
    limit: int = 1000,
) -> bytes:
    """One page of the asset's object tree as JSON bytes (see nwb/explore/tree.py, tree_page)."""
    blob_id = _blob_of(archive, asset_id=asset_id, user=user)
    key = (blob_id, path, depth, offset, limit)
    body = _cached(key)
    if body is None:
        body = _build(archive, key, asset_id=asset_id, user=user)
    # Pages are shared by every asset with these bytes; each answer names its own asset.
    return b'{"asset_id":' + json.dumps(asset_id).encode() + b"," + body[1:]


def _page_with_links(h5: Any, **page_args: Any) -> tuple[dict[str, Any], bool]:
    """One page; the root page also lists the objects of followed external links."""
    from neurodatashare.archive.links import graft_tree
    from neurodatashare.nwb.explore import tree_page
    from neurodatashare.nwb.links import FOLLOW

    page = tree_page(h5, **page_args)
    links = FOLLOW.get() or []
    if links and page["offset"] == 0 and page["path"] == "/":
        page["nodes"] = graft_tree(page["nodes"], links)
    return page, bool(links)


def _build(archive: Archive, key: tuple[Any, ...], *, asset_id: str, user: User | None) -> bytes:
    _blob, path, depth, offset, limit = key
    with _cache_lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    busy = TooBusy(
        "The server is busy listing other large files; try again in a few seconds.",
        headers={"Retry-After": "2"},
    )
    # Waiting is bounded: callers beyond the builders get a 429 instead of holding threads.
    if not key_lock.acquire(timeout=WAIT_SECONDS):
        raise busy
    try:
        body = _cached(key)  # built by another caller while this one waited
        if body is not None:
            return body
        if not _builders.acquire(timeout=WAIT_SECONDS):
            raise busy
        try:
            page, linked = explorer.read(
                archive,
                asset_id=asset_id,
                user=user,
                view=lambda h5, _o: _page_with_links(
                    h5, path=path, depth=depth, offset=offset, limit=limit
                ),
            )
        finally:
            _builders.release()
        body = json.dumps(page, separators=(",", ":")).encode()
        if not linked:
            # A page that shows a sibling file's objects depends on the dataset, not only on
            # the blob's bytes: it is not shared through the per-blob cache.
            _store(key, body)
        return body
    finally:
        key_lock.release()
        with _cache_lock:
            if _key_locks.get(key) is key_lock:
                del _key_locks[key]
