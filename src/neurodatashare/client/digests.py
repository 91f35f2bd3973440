"""dandi-etags of local files: computed by reading a file once, cached across runs.

The cache lets a rerun of an upload or a download skip hashing files that did not change
(same size, mtime, ctime and inode).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurodatashare.client.config import state_dir, write_private_json
from neurodatashare.client.engine import CHUNK, Cancelled
from neurodatashare.client.errors import ClientError
from neurodatashare.storage.digests import EtagHasher


def file_etag(
    path: Path,
    *,
    size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """The dandi-etag of a local file (reading it once)."""
    size = path.stat().st_size if size is None else size
    hasher = EtagHasher(size)
    try:
        with open(path, "rb") as f:
            while block := f.read(8 * CHUNK):
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                hasher.update(block)
                if on_bytes is not None:
                    on_bytes(len(block))
        return hasher.hexdigest()
    except ValueError as exc:
        raise ClientError(f"{path} changed while it was being read ({exc}).") from exc


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

    def get(self, local: Path, st: os.stat_result) -> str | None:
        entry = self._data.get(str(local.resolve()))
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == self._stamp(st):
            return str(entry[4])
        return None

    def put(self, local: Path, etag: str) -> None:
        with contextlib.suppress(OSError):
            entry = [*self._stamp(local.stat()), etag]
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
