"""The storage seam: a blob opened through ranged reads behaves as the file itself."""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np

from neurodatashare.storage.local import LocalBlobStore
from neurodatashare.storage.ranged import BlockCache, RangedReader


def _store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(root=tmp_path / "blobs", public_url="http://x", secret="s")


def test_ranged_reader_matches_the_bytes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = bytes(range(256)) * 1000 + b"tail"
    store.put("blobs/a", data)
    calls: list[tuple[int, int]] = []

    def read_range(start: int, length: int) -> bytes:
        calls.append((start, length))
        return store.read_range("blobs/a", start, length)

    f = RangedReader(read_range, store.size("blobs/a"), block_size=4096, cache_blocks=4)
    assert f.read(10) == data[:10]
    f.seek(5000)
    assert f.read(5000) == data[5000:10000]
    f.seek(-4, io.SEEK_END)
    assert f.read() == b"tail"
    assert f.read(3) == b""
    f.seek(0)
    assert f.read() == data
    assert all(length <= 4096 for _, length in calls)
    before = f.fetches
    f.seek(len(data) - 10)
    f.read(10)  # the last block is cached
    assert f.fetches == before


def test_local_open_is_seekable_and_read_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("blobs/b", b"0123456789")
    with store.open("blobs/b") as f:
        assert f.seekable() and not f.writable()
        f.seek(3)
        assert f.read(4) == b"3456"
    assert store.read_range("blobs/b", 8, 100) == b"89"


def test_h5py_opens_a_blob_through_ranged_reads(tmp_path: Path) -> None:
    source = tmp_path / "x.h5"
    with h5py.File(source, "w") as h5:
        h5["data"] = np.arange(100_000, dtype="i4")
        h5["data"].attrs["unit"] = "volts"
    store = _store(tmp_path)
    store.put_file("blobs/c", source)
    reader = RangedReader(
        lambda start, length: store.read_range("blobs/c", start, length),
        store.size("blobs/c"),
        block_size=8192,
    )
    with h5py.File(reader, "r") as h5:
        assert h5["data"].attrs["unit"] == "volts"
        assert h5["data"][99_990:].tolist() == list(range(99_990, 100_000))
    assert reader.fetches > 1


def test_a_shared_block_cache_serves_the_next_reader_within_its_budget() -> None:
    data = bytes(range(256)) * 64  # 16 KiB
    calls: list[tuple[int, int]] = []

    def read_range(start: int, length: int) -> bytes:
        calls.append((start, length))
        return data[start : start + length]

    shared = BlockCache(4 * 1024)  # four 1 KiB blocks
    first = RangedReader(read_range, len(data), block_size=1024, shared=shared, name="a")
    assert first.read(3000) == data[:3000] and first.fetches == 3
    second = RangedReader(read_range, len(data), block_size=1024, shared=shared, name="a")
    assert second.read(3000) == data[:3000] and second.fetches == 0  # all from the cache
    other = RangedReader(read_range, len(data), block_size=1024, shared=shared, name="b")
    assert other.read(10) == data[:10] and other.fetches == 1  # another object: its own
    # reading on pushes the oldest blocks out: the budget holds
    second.seek(5000)
    assert second.read(4096) == data[5000:9096]
    assert shared.size_bytes <= 4 * 1024
    third = RangedReader(read_range, len(data), block_size=1024, shared=shared, name="a")
    assert third.read(1) == data[:1] and third.fetches == 1  # block 0 was evicted
