"""dandi-etags of local files: computed by reading a file once, cached across runs.

The cache lets a rerun of an upload or a download skip hashing files that did not change
(same size, mtime, ctime and inode). It keeps each part's MD5 beside the etag, so an
upload of a cached file (or of one `nds download` wrote) need not read it before sending.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dandischema.digests.dandietag import Part

from neurodatashare.client.config import state_dir, write_private_json
from neurodatashare.client.engine import CHUNK, Cancelled
from neurodatashare.client.errors import ClientError
from neurodatashare.storage.digests import etag_from_part_md5s, part_plan

HASH_THREADS = min(4, os.cpu_count() or 1)  # parts hashed at once (hashlib drops the GIL)
# Part MD5s are cached too for files of up to this many parts (64 GiB): an upload of a
# cached file then sends its parts without hashing them and still checks each one.
MAX_CACHED_PARTS = 1024


def file_part_md5s(
    path: Path,
    *,
    size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    threads: int = HASH_THREADS,
) -> list[str]:
    """The MD5 of each part of a local file (the dandi-etag's plan), reading it once.

    Parts are hashed side by side in `threads` threads, each through one reused 1 MiB
    buffer (a fresh 8 MiB `read()` per block page-faults its memory in every time).
    """
    size = path.stat().st_size if size is None else size
    plan = part_plan(size)

    def one(part: Part) -> str:
        md5 = hashlib.md5()
        view = memoryview(bytearray(min(CHUNK, part.size)))
        with open(path, "rb", buffering=0) as f:
            f.seek(part.offset)
            left = part.size
            while left:
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                n = f.readinto(view[: min(len(view), left)])
                if not n:
                    raise ClientError(f"{path} became shorter while it was being read.")
                md5.update(view[:n])
                left -= n
                if on_bytes is not None:
                    on_bytes(n)
        return md5.hexdigest()

    if len(plan) <= 1 or threads <= 1:
        md5s = [one(part) for part in plan]
    else:
        with ThreadPoolExecutor(min(threads, len(plan)), thread_name_prefix="nds-hash") as pool:
            md5s = list(pool.map(one, plan))
    if path.stat().st_size != size:
        raise ClientError(f"{path} changed size while it was being read.")
    return md5s


def file_etag(
    path: Path,
    *,
    size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """The dandi-etag of a local file (reading it once)."""
    return etag_from_part_md5s(file_part_md5s(path, size=size, on_bytes=on_bytes, cancel=cancel))


class DigestCache:
    """dandi-etags of local files, reused while size, mtime, ctime and inode are unchanged."""

    MAX_ENTRIES = 200_000

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._new: dict[str, list[Any]] = {}
        self._data = self._read()

    def _read(self) -> dict[str, list[Any]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _stamp(st: os.stat_result) -> list[Any]:
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]

    def _entry(self, local: Path, st: os.stat_result) -> list[Any] | None:
        entry = self._data.get(str(local.resolve()))
        if isinstance(entry, list) and len(entry) in (5, 6) and entry[:4] == self._stamp(st):
            return entry
        return None

    def get(self, local: Path, st: os.stat_result) -> str | None:
        entry = self._entry(local, st)
        return None if entry is None else str(entry[4])

    def part_md5s(self, local: Path, st: os.stat_result) -> list[str] | None:
        """The cached MD5 of each part, when they are cached and make the cached etag."""
        entry = self._entry(local, st)
        if entry is None or len(entry) != 6 or not isinstance(entry[5], list):
            return None
        parts = [str(p) for p in entry[5]]
        return parts if etag_from_part_md5s(parts) == entry[4] else None

    def put(self, local: Path, etag: str, part_md5s: list[str] | None = None) -> None:
        with contextlib.suppress(OSError):
            entry = [*self._stamp(local.stat()), etag]
            if part_md5s and len(part_md5s) <= MAX_CACHED_PARTS:
                entry.append(list(part_md5s))
            with self._lock:
                self._data[str(local.resolve())] = entry
                self._new[str(local.resolve())] = entry

    def save(self) -> None:
        if self.path is None or not self._new:
            return
        with self._lock:
            merged = {**self._read(), **self._new}
            if len(merged) > self.MAX_ENTRIES:
                merged = dict(list(merged.items())[-self.MAX_ENTRIES :])
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_private_json(self.path, merged)
            self._new.clear()

    @classmethod
    def default(cls) -> DigestCache:
        try:
            return cls(state_dir() / "digests.json")
        except OSError:
            return cls(None)
