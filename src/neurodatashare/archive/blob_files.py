"""Blobs opened as HDF5 files through the store, and the explorer's cache of open ones.

A blob is opened where it lies: by its path when the store has one (the local store: the
file itself, fastest for h5py), else as the seekable file object the store hands out
(`storage.ranged.RangedReader` on a remote store), so nothing is ever copied whole.

The explorer asks for a few pieces of one file per second while a user pans a trace, so
`OpenFiles` keeps the last few opened blobs (each with its overview file) open, keyed by
blob id; blobs never change. It holds file handles only: whoever uses it checks access
first, on every request. A handle in use is never closed: eviction (or closing the
archive) only marks it, and the last user closes it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neurodatashare.archive.context import Archive
    from neurodatashare.db.models import Blob
    from neurodatashare.storage import BlobStore

log = logging.getLogger("neurodatashare.explore")

#: Blobs kept open at once (each is one or two HDF5 files).
CAPACITY = 8


class HDF5Blob:
    """An HDF5 file opened from the store by key, with whatever it was opened through."""

    def __init__(self, store: BlobStore, key: str) -> None:
        import h5py

        from neurodatashare.nwb.links import isolate

        isolate()  # HDF5 must never open a linked file by name itself (nwb/links.py)
        path = store.local_path(key)
        self._source: Any = None if path is not None else store.open(key)
        try:
            self.h5 = h5py.File(path if path is not None else self._source, "r")
        except BaseException:
            self._close_source()
            raise

    @classmethod
    def at(cls, path: Path) -> HDF5Blob:
        """A file on the server's own disk that is not a blob (a conversion's output)."""
        import h5py

        from neurodatashare.nwb.links import isolate

        isolate()
        opened = cls.__new__(cls)
        opened._source = None
        opened.h5 = h5py.File(path, "r")
        return opened

    def _close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def close(self) -> None:
        try:
            self.h5.close()
        finally:
            self._close_source()


@contextmanager
def open_blob(archive: Archive, blob: Blob) -> Iterator[Any]:
    """The blob as an open h5py file for the block; nothing is copied."""
    f = HDF5Blob(archive.store, blob.key)
    try:
        yield f.h5
    finally:
        f.close()


@dataclass(eq=False)
class Opened:
    """One cached blob: its HDF5 file and, once the overview exists, the overview reader."""

    blob_id: str
    file: HDF5Blob
    overview: Any = None  # nwb.overview.OverviewReader
    overview_key: str | None = None
    users: int = 0
    dropped: bool = False  # out of the cache; closed by its last user
    overview_source: Any = None  # the file object the overview was opened through

    @property
    def h5(self) -> Any:
        return self.file.h5

    def close(self) -> None:
        try:
            if self.overview is not None:
                self.overview.close()
            if self.overview_source is not None:
                self.overview_source.close()
        finally:
            self.file.close()


class OpenFiles:
    """A bounded LRU of open blobs, safe to share between request threads."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Opened] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self.opens = 0  # blobs opened so far (tests and benchmarks read it)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def cached_overview(self, blob_id: str) -> str | None:
        """The overview key a cached entry already has (so its row need not be read)."""
        with self._lock:
            entry = self._entries.get(blob_id)
            return entry.overview_key if entry is not None else None

    @contextmanager
    def use(
        self, store: BlobStore, *, blob_id: str, key: str, overview_key: str | None = None
    ) -> Iterator[Opened]:
        """The blob open for the block (see `acquire`)."""
        entry = self.acquire(store, blob_id=blob_id, key=key, overview_key=overview_key)
        try:
            yield entry
        finally:
            self.release(entry)

    def acquire(
        self, store: BlobStore, *, blob_id: str, key: str, overview_key: str | None = None
    ) -> Opened:
        """The blob from the cache or opened now (with its overview file when
        `overview_key` is given); hand it back with `release`."""
        entry = self._take(blob_id, overview_key)
        if entry is None:
            entry = self._put(
                self._open(store, blob_id=blob_id, key=key, overview_key=overview_key)
            )
        return entry

    def _take(self, blob_id: str, overview_key: str | None) -> Opened | None:
        with self._lock:
            entry = self._entries.get(blob_id)
            if entry is None:
                return None
            if overview_key is not None and entry.overview_key != overview_key:
                # the overview was built since this blob was opened: open it afresh
                self._drop(blob_id)
                return None
            self._entries.move_to_end(blob_id)
            entry.users += 1
            return entry

    def _open(
        self, store: BlobStore, *, blob_id: str, key: str, overview_key: str | None
    ) -> Opened:
        f = HDF5Blob(store, key)
        entry = Opened(blob_id=blob_id, file=f, overview_key=overview_key, users=1)
        if overview_key is not None:
            from neurodatashare.nwb.overview import OverviewReader

            path = store.local_path(overview_key)
            try:
                if path is None:
                    entry.overview_source = store.open(overview_key)
                entry.overview = OverviewReader(path or entry.overview_source)
            except OSError:
                # the overview only speeds up zoomed-out windows (they answer 409 without it)
                log.warning("overview %s of blob %s cannot be read", overview_key, blob_id)
            except BaseException:
                entry.close()
                raise
        return entry

    def _put(self, entry: Opened) -> Opened:
        with self._lock:
            self.opens += 1
            if self._closed:
                entry.dropped = True  # the archive is closing: serve this one, keep none
                return entry
            if entry.blob_id in self._entries:
                self._drop(entry.blob_id)  # another thread opened it meanwhile; newest wins
            self._entries[entry.blob_id] = entry
            while len(self._entries) > self.capacity:
                self._drop(next(iter(self._entries)))
            return entry

    def _drop(self, blob_id: str) -> None:
        """Take an entry out of the cache (lock held); close it now when no one uses it."""
        entry = self._entries.pop(blob_id)
        entry.dropped = True
        if entry.users == 0:
            entry.close()

    def release(self, entry: Opened) -> None:
        with self._lock:
            entry.users -= 1
            last = entry.dropped and entry.users == 0
        if last:
            entry.close()

    def forget(self, blob_id: str) -> None:
        """Drop a blob whose reading failed, so the next request opens it afresh."""
        with self._lock:
            if blob_id in self._entries:
                self._drop(blob_id)

    def close(self) -> None:
        """Close every idle handle now and every busy one when its last user is done."""
        with self._lock:
            self._closed = True
            for blob_id in list(self._entries):
                self._drop(blob_id)
