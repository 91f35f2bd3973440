"""archive/blob_files.py: blobs opened through the store, and the bounded cache of them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.blob_files import OpenFiles, open_blob
from neurodatashare.config import Settings
from neurodatashare.db.models import Blob
from neurodatashare.storage.ranged import RangedReader


class Store:
    """The two BlobStore methods the cache uses, over files in a folder; `remote` makes it
    hand out ranged readers instead of paths, as a store without local files does."""

    def __init__(self, root: Path, *, remote: bool = False) -> None:
        self.root = root
        self.remote = remote
        self.handed_out: list[RangedReader] = []

    def local_path(self, key: str) -> Path | None:
        return None if self.remote else self.root / key

    def open(self, key: str) -> Any:
        data = (self.root / key).read_bytes()
        reader = RangedReader(lambda start, n: data[start : start + n], len(data))
        self.handed_out.append(reader)
        return reader


def write(root: Path, key: str, value: float) -> str:
    with h5py.File(root / key, "w") as f:
        f["x"] = np.full(4, value)
    return key


def test_the_cache_is_bounded_evicts_the_oldest_and_closes_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    files = OpenFiles(capacity=2)
    seen = {}
    for n in range(3):
        with files.use(store, blob_id=f"b{n}", key=write(tmp_path, f"f{n}", n)) as entry:
            assert entry.h5["x"][0] == n
            seen[n] = entry.h5
    assert len(files) == 2 and files.opens == 3
    assert not seen[0].id.valid  # evicted and closed
    assert seen[1].id.valid and seen[2].id.valid
    with files.use(store, blob_id="b1", key="f1") as again:
        assert again.h5 is seen[1]  # a second use does not reopen
    assert files.opens == 3
    files.close()
    assert len(files) == 0 and not seen[1].id.valid and not seen[2].id.valid


def test_a_handle_in_use_is_closed_only_by_its_last_user(tmp_path: Path) -> None:
    store = Store(tmp_path)
    files = OpenFiles(capacity=1)
    first = files.acquire(store, blob_id="a", key=write(tmp_path, "a", 1))
    second = files.acquire(store, blob_id="a", key="a")
    assert first is second and files.opens == 1
    with files.use(store, blob_id="b", key=write(tmp_path, "b", 2)):
        pass  # evicts "a" from the cache while two requests still read it
    assert len(files) == 1
    assert first.h5["x"][0] == 1
    files.release(first)
    assert first.h5.id.valid
    files.release(second)
    assert not first.h5.id.valid
    # closing the archive while a request reads: that request finishes first
    busy = files.acquire(store, blob_id="b", key="b")
    files.close()
    assert busy.h5["x"][0] == 2
    files.release(busy)
    assert not busy.h5.id.valid
    # after closing, a late request is still served, and nothing is kept
    with files.use(store, blob_id="c", key=write(tmp_path, "c", 3)) as late:
        assert late.h5["x"][0] == 3
    assert len(files) == 0 and not late.h5.id.valid


def test_an_overview_built_later_opens_the_blob_afresh(tmp_path: Path) -> None:
    store = Store(tmp_path)
    files = OpenFiles()
    write(tmp_path, "blob", 1)
    with h5py.File(tmp_path / "ov", "w") as f:
        f.attrs["version"] = -1  # any HDF5 file will do: it reads as an empty overview
    with files.use(store, blob_id="blob", key="blob") as plain:
        assert plain.overview is None
        assert files.cached_overview("blob") is None
    with files.use(store, blob_id="blob", key="blob", overview_key="ov") as both:
        assert both.overview is not None and both is not plain
    assert not plain.h5.id.valid and files.opens == 2
    assert files.cached_overview("blob") == "ov"
    with files.use(store, blob_id="blob", key="blob") as again:
        assert again is both  # a sibling's use without the overview key reuses it
    files.close()


def test_an_unreadable_overview_is_left_out(tmp_path: Path) -> None:
    store = Store(tmp_path)
    files = OpenFiles()
    write(tmp_path, "blob", 1)
    (tmp_path / "ov").write_bytes(b"broken")
    with files.use(store, blob_id="blob", key="blob", overview_key="ov") as entry:
        assert entry.overview is None and entry.h5["x"][0] == 1
    with files.use(store, blob_id="blob", key="blob", overview_key="ov") as again:
        assert again is entry  # not retried on every request
    files.close()


def test_a_remote_blob_is_read_through_the_store_never_copied(tmp_path: Path) -> None:
    store = Store(tmp_path, remote=True)
    files = OpenFiles()
    with files.use(store, blob_id="r", key=write(tmp_path, "r", 7)) as entry:
        assert entry.h5["x"][0] == 7
    (reader,) = store.handed_out
    assert reader.fetches >= 1 and not reader.closed
    files.close()
    assert reader.closed


def test_unreadable_bytes_raise_oserror_and_cache_nothing(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"not hdf5" * 100)
    files = OpenFiles()
    for store in (Store(tmp_path), Store(tmp_path, remote=True)):
        with pytest.raises(OSError):
            files.acquire(store, blob_id="j", key="junk")
    assert len(files) == 0
    assert all(r.closed for r in store.handed_out)


def test_threads_share_one_handle(tmp_path: Path) -> None:
    store = Store(tmp_path)
    files = OpenFiles(capacity=2)
    for n in range(4):
        write(tmp_path, f"t{n}", n)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(30):
                k = (n + i) % 4
                with files.use(store, blob_id=f"t{k}", key=f"t{k}") as entry:
                    assert entry.h5["x"][0] == k
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(files) <= 2
    files.close()


def test_closing_the_archive_closes_its_open_files(tmp_path: Path) -> None:
    archive = Archive.open(Settings(home=tmp_path))
    key = "blobs/x/f.h5"
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["x"] = [1.0]
    archive.store.put_file(key, tmp_path / "x.h5")
    with archive.files.use(archive.store, blob_id="x", key=key) as entry:
        assert entry.h5["x"][0] == 1.0
    assert len(archive.files) == 1
    archive.close()
    assert len(archive.files) == 0 and not entry.h5.id.valid


def test_open_blob_opens_by_path_on_the_local_store(tmp_path: Path) -> None:
    archive = Archive.open(Settings(home=tmp_path))
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f["y"] = [2.0]
    archive.store.put_file("blobs/y/f.h5", tmp_path / "y.h5")
    try:
        with open_blob(archive, Blob(id="y", key="blobs/y/f.h5")) as h5:
            assert h5["y"][0] == 2.0
            assert Path(h5.filename) == archive.store.local_path("blobs/y/f.h5")
        assert not h5.id.valid
    finally:
        archive.close()
