"""A seekable, read-only file object over ranged reads, with a small block cache.

A remote store implements only `read_range(key, start, length)`; `RangedReader` turns
that into the file object h5py (and so pynwb and lindi) can open. remfile does the same
for HTTP URLs only, and fsspec would bring a whole filesystem layer for one primitive, so
this is the few lines a store needs. Blocks are fetched whole and the most recently used
`cache_blocks` of them are kept, since HDF5 reads many small, nearby pieces.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable

ReadRange = Callable[[int, int], bytes]


class RangedReader(io.RawIOBase):
    def __init__(
        self,
        read_range: ReadRange,
        size: int,
        *,
        block_size: int = 1 << 20,
        cache_blocks: int = 32,
    ) -> None:
        super().__init__()
        self._read_range = read_range
        self._size = size
        self._block = block_size
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_blocks = cache_blocks
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
        if data is None:
            start = index * self._block
            data = self._read_range(start, min(self._block, self._size - start))
            self.fetches += 1
            self._cache[index] = data
            if len(self._cache) > self._cache_blocks:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
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
