"""A seekable, read-only file object over ranged reads, with a small block cache.

A remote store implements only `read_range(key, start, length)`; `RangedReader` turns
that into the file object h5py (and so pynwb and lindi) can open. remfile does the same
for HTTP URLs only, and fsspec would bring a whole filesystem layer for one primitive, so
this is the few lines a store needs. Blocks are fetched whole and the most recently used
`cache_blocks` of them are kept, since HDF5 reads many small, nearby pieces.

A store may also pass a `BlockCache` shared by all its readers: blobs never change, so a
block fetched for one request serves the next reader of the same blob (what the OS page
cache does for a local file), within a fixed byte budget.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

ReadRange = Callable[[int, int], bytes]


class BlockCache:
    """A thread-safe LRU of blocks, bounded by their total size in bytes."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self._blocks: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, name: Hashable) -> bytes | None:
        with self._lock:
            data = self._blocks.get(name)
            if data is not None:
                self._blocks.move_to_end(name)
            return data

    def put(self, name: Hashable, data: bytes) -> None:
        if len(data) > self.capacity:
            return
        with self._lock:
            old = self._blocks.pop(name, None)
            self._bytes += len(data) - (len(old) if old is not None else 0)
            self._blocks[name] = data
            while self._bytes > self.capacity:
                _, dropped = self._blocks.popitem(last=False)
                self._bytes -= len(dropped)

    @property
    def size_bytes(self) -> int:
        return self._bytes


class RangedReader(io.RawIOBase):
    def __init__(
        self,
        read_range: ReadRange,
        size: int,
        *,
        block_size: int = 1 << 20,
        cache_blocks: int = 32,
        shared: BlockCache | None = None,
        name: Hashable = None,
    ) -> None:
        super().__init__()
        self._read_range = read_range
        self._size = size
        self._block = block_size
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_blocks = cache_blocks
        self._shared = shared
        self._name = name
        self._pos = 0
        self.fetches = 0  # ranged reads made so far (tests and benchmarks read it)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _block_at(self, index: int) -> bytes:
        data = self._cache.get(index)
        if data is not None:
            self._cache.move_to_end(index)
            return data
        shared_name = (self._name, self._block, index)
        if self._shared is not None:
            data = self._shared.get(shared_name)
        if data is None:
            start = index * self._block
            data = self._read_range(start, min(self._block, self._size - start))
            self.fetches += 1
            if self._shared is not None:
                self._shared.put(shared_name, data)
        self._cache[index] = data
        if len(self._cache) > self._cache_blocks:
            self._cache.popitem(last=False)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        want = min(len(out), max(0, self._size - self._pos))
        done = 0
        while done < want:
            index, skip = divmod(self._pos, self._block)
            piece = self._block_at(index)[skip : skip + want - done]
            if not piece:
                break
            out[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, self._size - self._pos)
        buffer = bytearray(size)
        return bytes(buffer[: self.readinto(buffer)])
