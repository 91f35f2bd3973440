"""The zarr store `open_asset` reads a streaming index through (lindi's, extended).

What lindi's reference store does not do:

- fetch the chunks of one read together: zarr asks for all the chunks of a slice at
  once (`getitems`) and lindi answers them one request each, one after another. Here the
  byte ranges of one read are sorted, neighbours (gaps up to :data:`MERGE_GAP`) merged,
  and up to :data:`MAX_RANGES` ranges sent in one request (`multipart/byteranges`; one
  request per range to a server that answers a multi-range with 200, such as S3), the
  requests from a small thread pool: most slices cost one request.
- read contiguous datasets in pseudo-chunks of :data:`READ_CHUNK_BYTES` (whole rows),
  from the index's arithmetic entry, instead of the index's 1 MiB ones.
- read the chunk tables of datasets with many chunks (nwb/chunk_tables.py): such a
  dataset's refs are not in the index but in table blocks of 1,024 chunks; a read fetches
  the blocks of the chunks it needs that it does not have yet (all of them in one
  request, through `fetch_table([(offset, length), ...])`) before the data, and keeps
  them for the next reads. The `_EXTERNAL_ARRAY_LINK` that sends plain lindi readers to
  h5py is dropped.
"""

from __future__ import annotations

import json
import math
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
from lindi.LindiH5pyFile.LindiReferenceFileSystemStore import (
    LindiReferenceFileSystemStore,
    _pad_chunk,
)

FETCH_THREADS = 8
#: Pseudo-chunks of contiguous datasets read by this store (whole rows): small, since the
#: ranges of one read go in one request anyway, so a slice fetches little beyond its rows.
READ_CHUNK_BYTES = 64 * 1024
#: Bytes between two chunks still fetched as one range (cheaper than a range's headers).
MERGE_GAP = 512
#: One request fetches at most this much (more are sent in parallel instead).
MAX_REQUEST = 64 * 2**20
#: Ranges in one request at most (Starlette answers up to 100, then the whole file).
MAX_RANGES = 90
TABLES_KEY = "nds_chunk_tables"  # as nwb/chunk_tables.py writes it

#: Reads byte ranges of the chunk tables: [(offset, length), ...] -> their bytes, in order.
FetchTable = Callable[[list[tuple[int, int]]], list[bytes]]
Range = tuple[str, int, int]


class _Table:
    """One dataset's chunk refs: arithmetic (contiguous) or table blocks, fetched as needed."""

    def __init__(self, entry: dict[str, Any], zarray: dict[str, Any]) -> None:
        shape, chunks = zarray["shape"], zarray["chunks"]
        self.grid = [math.ceil(s / c) if c else 0 for s, c in zip(shape, chunks, strict=True)]
        self.contiguous: list[int] | None = entry.get("contiguous")
        self.per_chunk = math.prod(chunks) * np.dtype(zarray["dtype"]).itemsize
        if self.contiguous is None:
            # version 1 of the format: one block per dataset, {"offset", "length", "count"}
            listed = isinstance(entry.get("first"), list)
            self.first = np.asarray(entry["first"] if listed else [0], np.int64)
            self.where = list(
                zip(
                    entry["offset"] if listed else [entry["offset"]],
                    entry["length"] if listed else [entry["length"]],
                    strict=True,
                )
            )
            if len(self.first) != len(self.where):
                raise ValueError("a chunk table entry's lists differ in length")
            self.blocks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def linear(self, name: str) -> int | None:
        """The C-order index of chunk `name` ("3.0") in the grid, None if not a chunk."""
        try:
            coords = [int(c) for c in name.split(".")]
        except ValueError:
            return None
        if len(coords) != len(self.grid):
            return None
        linear = 0
        for c, g in zip(coords, self.grid, strict=True):
            if not 0 <= c < g:
                return None
            linear = linear * g + c
        return linear

    def block_of(self, linear: int) -> int | None:
        """The block that would list chunk `linear`; None for contiguous data or before
        the first stored chunk."""
        if self.contiguous is not None:
            return None
        b = int(self.first.searchsorted(linear, side="right")) - 1
        return b if b >= 0 else None

    def add(self, block: int, raw: bytes) -> None:
        data = zlib.decompress(raw)
        n = len(data) // 20  # int64 + int64 + uint32 a chunk (nwb/chunk_tables.py)
        deltas = np.frombuffer(data, "<i8", count=2 * n)
        size = np.frombuffer(data, "<u4", count=n, offset=16 * n)
        self.blocks[block] = (np.cumsum(deltas[:n]), np.cumsum(deltas[n:]), size)

    def find(self, name: str) -> tuple[int, int] | None:
        """(offset, size) of chunk `name`; its block must have been added."""
        linear = self.linear(name)
        if linear is None:
            return None
        if self.contiguous is not None:
            start, total = self.contiguous
            at = linear * self.per_chunk
            return (start + at, min(self.per_chunk, total - at)) if at < total else None
        block = self.block_of(linear)
        if block is None:
            return None  # before the first stored chunk: never written
        index, offset, size = self.blocks[block]
        i = int(index.searchsorted(linear))
        if i < len(index) and index[i] == linear:
            return int(offset[i]), int(size[i])
        return None  # never written: zarr gives the fill value


def _rows(zarray: Any) -> dict[str, Any]:
    """A contiguous dataset's .zarray with pseudo-chunks of READ_CHUNK_BYTES (whole rows):
    its bytes are arithmetic, so a reader may cut them as finely as it likes."""
    zarray = dict(json.loads(zarray) if isinstance(zarray, str) else zarray)
    shape = zarray["shape"]
    row = math.prod(shape[1:]) * np.dtype(zarray["dtype"]).itemsize
    rows = max(1, min(shape[0], READ_CHUNK_BYTES // max(row, 1)))
    zarray["chunks"] = [rows, *shape[1:]]
    return zarray


class ArchiveStore(LindiReferenceFileSystemStore):
    def __init__(self, index: dict[str, Any], fetch_table: FetchTable | None) -> None:
        super().__init__(index, mode="r")
        self._pending: dict[str, dict[str, Any]] = dict(index.get(TABLES_KEY) or {})
        self._tables: dict[str, _Table] = {}
        self._fetch_table = fetch_table
        self._lock = threading.Lock()
        self._fetcher = Fetcher()
        self._expected: dict[str, int | None] = {}
        refs = self.rfs["refs"]
        for path, entry in self._pending.items():
            key = f"{path}/.zattrs"
            attrs = refs.get(key, {})
            attrs = json.loads(attrs) if isinstance(attrs, str) else dict(attrs)
            attrs.pop("_EXTERNAL_ARRAY_LINK", None)
            refs[key] = attrs
            if "contiguous" in entry:
                refs[f"{path}/.zarray"] = _rows(refs[f"{path}/.zarray"])

    def _table(self, key: str) -> tuple[_Table | None, str]:
        """The table of the dataset `key` is a chunk of (fetched the first time), if any."""
        parent, _, name = key.rpartition("/")
        if parent not in self._pending or not name[:1].isdigit():
            return None, name
        return self._load(parent), name

    def _load(self, parent: str) -> _Table:
        table = self._tables.get(parent)
        if table is not None:
            return table
        with self._lock:  # one fetch per dataset, even when threads ask at once
            if parent not in self._tables:
                zarray = self.rfs["refs"][f"{parent}/.zarray"]
                zarray = json.loads(zarray) if isinstance(zarray, str) else zarray
                entry = self._pending[parent]
                if "contiguous" not in entry and self._fetch_table is None:
                    raise KeyError(f"{parent}: its chunk table cannot be fetched")
                self._tables[parent] = _Table(entry, zarray)
            return self._tables[parent]

    def _prefetch(self, keys: Any) -> None:
        """Fetch the table blocks of these chunks not fetched yet, all in one call of
        `fetch_table` (one request for a first slice, before its data)."""
        wanted: dict[tuple[str, int], tuple[_Table, int]] = {}
        for key in keys:
            table, name = self._table(key)
            linear = table.linear(name) if table is not None else None
            block = table.block_of(linear) if table is not None and linear is not None else None
            if table is not None and block is not None and block not in table.blocks:
                wanted[(key.rpartition("/")[0], block)] = (table, block)
        if not wanted:
            return
        with self._lock:  # one fetch per block, even when threads ask at once
            todo = [(t, b) for t, b in wanted.values() if b not in t.blocks]
            if not todo:
                return
            assert self._fetch_table is not None  # _load refused tables without it
            ranges = [(int(t.where[b][0]), int(t.where[b][1])) for t, b in todo]
            for (table, block), raw in zip(todo, self._fetch_table(ranges), strict=True):
                table.add(block, raw)

    def _range(self, key: str) -> Range | None:
        """(url, offset, size) of a chunk read from the file, or None."""
        table, name = self._table(key)
        if table is not None:
            self._prefetch([key])  # (a no-op after getitems fetched the blocks of a read)
            found = table.find(name)
            return (self._url("{{u}}"), *found) if found else None
        value = self.rfs["refs"].get(key)
        if isinstance(value, list) and len(value) == 3:
            url = self._url(value[0])
            if url.startswith(("http://", "https://")):
                return url, int(value[1]), int(value[2])
        return None

    def _url(self, url: str) -> str:
        for name, value in (self.rfs.get("templates") or {}).items():
            url = url.replace("{{" + name + "}}", value)
        return url

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        table, name = self._table(key)
        if table is not None:
            self._prefetch([key])
            return table.find(name) is not None
        return super().__contains__(key)

    def _get_helper(self, key: str) -> Any:
        found = self._range(key)
        if found is not None:
            return self._fetcher.one(*found)
        return super()._get_helper(key)

    def getitems(self, keys: Any, *, contexts: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        ranged: list[tuple[Range, str]] = []
        keys = list(keys)
        self._prefetch(keys)  # the table blocks of the whole read, in one request
        for key in keys:
            found = self._range(key)
            if found is not None:
                ranged.append((found, key))
            elif key in self:
                out[key] = self[key]
        batches = _requests(_coalesce(ranged))
        if len(batches) == 1:
            fetched = [self._fetcher.batch(batches[0])]
        elif batches:
            with ThreadPoolExecutor(min(FETCH_THREADS, len(batches))) as pool:
                fetched = list(pool.map(self._fetcher.batch, batches))
        else:
            fetched = []
        for part in fetched:
            for key, value in part.items():
                out[key] = self._pad(key, value)
        return out

    def _pad(self, key: str, value: bytes) -> bytes:
        """The chunk padded as lindi pads it (a contiguous dataset's last pseudo-chunk is
        short), with each dataset's .zarray parsed once rather than once per chunk."""
        parent = key.rpartition("/")[0]
        if parent not in self._expected:
            zarray = self.rfs["refs"].get(f"{parent}/.zarray")
            zarray = json.loads(zarray) if isinstance(zarray, str) else zarray
            try:
                dtype = np.dtype(zarray["dtype"])
                numeric = dtype.kind in "iuf"
            except (TypeError, KeyError):
                numeric = False
            self._expected[parent] = (
                math.prod(zarray["chunks"]) * dtype.itemsize if numeric else None
            )
        expected = self._expected[parent]
        if expected is None or len(value) >= expected:
            return value
        padded = _pad_chunk(value, expected)
        return bytes(padded)


Group = tuple[str, int, int, list[tuple[str, int, int]]]


def _coalesce(ranged: list[tuple[Range, str]]) -> list[Group]:
    """Byte ranges for these chunks: neighbours in one file merged, up to MAX_REQUEST."""
    groups: list[Group] = []
    for (url, offset, size), key in sorted(ranged):
        if groups:
            g_url, start, end, members = groups[-1]
            if (
                g_url == url
                and offset - end <= MERGE_GAP
                and max(end, offset + size) - start <= MAX_REQUEST
            ):
                members.append((key, offset, size))
                groups[-1] = (url, start, max(end, offset + size), members)
                continue
        groups.append((url, offset, offset + size, [(key, offset, size)]))
    return groups


def _requests(groups: list[Group]) -> list[list[Group]]:
    """The groups of one read packed into requests: up to MAX_RANGES ranges of one URL
    (and MAX_REQUEST bytes) in each, so most reads cost one round trip."""
    batches: list[list[Group]] = []
    for group in groups:
        last = batches[-1] if batches else None
        if (
            last is not None
            and last[0][0] == group[0]
            and len(last) < MAX_RANGES
            and sum(g[2] - g[1] for g in last) + group[2] - group[1] <= MAX_REQUEST
        ):
            last.append(group)
        else:
            batches.append([group])
    return batches


class Fetcher:
    """Range requests over one HTTP connection pool; several ranges in one request
    (multipart/byteranges) where the server answers them, one each where it does not."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=120, follow_redirects=True)
        self.single_only: set[str] = set()  # servers that answered a multi-range with 200

    def one(self, url: str, offset: int, length: int) -> bytes:
        if not url.startswith(("http://", "https://")):  # an index of a local file
            with open(url, "rb") as f:
                f.seek(offset)
                return f.read(length)
        r = self.http.get(url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        r.raise_for_status()
        if r.status_code == 206:
            return r.content
        return r.content[offset : offset + length]  # a server that ignores Range

    def batch(self, groups: list[Group]) -> dict[str, bytes]:
        url = groups[0][0]
        if len(groups) == 1 or url in self.single_only or not url.startswith("http"):
            parts = [(g, self.one(url, g[1], g[2] - g[1])) for g in groups]
        else:
            parts = self._multi(url, groups)
        out: dict[str, bytes] = {}
        for (_, start, _, members), data in parts:
            for key, offset, size in members:
                out[key] = data[offset - start : offset - start + size]
        return out

    def _multi(self, url: str, groups: list[Group]) -> list[tuple[Group, bytes]]:
        spec = ",".join(f"{g[1]}-{g[2] - 1}" for g in groups)
        with self.http.stream("GET", url, headers={"Range": f"bytes={spec}"}) as r:
            kind = r.headers.get("content-type", "")
            if r.status_code != 206 or "multipart/byteranges" not in kind:
                # S3 and others answer only single ranges: do not read a whole object
                self.single_only.add(url)
                multi = False
            else:
                multi = True
                body = r.read()
        if not multi:
            return [(g, self.one(url, g[1], g[2] - g[1])) for g in groups]
        boundary = kind.split("boundary=", 1)[1].strip().strip('"').encode()
        found = _parts(body, boundary)
        return [(g, _slice(found, g[1], g[2])) for g in groups]


def _parts(body: bytes, boundary: bytes) -> list[tuple[int, bytes]]:
    """(first byte, bytes) of each part of a multipart/byteranges body."""
    parts: list[tuple[int, bytes]] = []
    at = 0
    marker = b"--" + boundary
    while True:
        at = body.find(marker, at)
        if at < 0 or body[at + len(marker) : at + len(marker) + 2] == b"--":
            return parts
        head_end = body.index(b"\r\n\r\n", at)
        head = body[at:head_end].decode("latin-1").lower()
        spec = head.split("content-range:", 1)[1].split("\r\n", 1)[0]
        first, last = spec.strip().removeprefix("bytes").split("/")[0].strip().split("-")
        start, stop = head_end + 4, head_end + 4 + int(last) - int(first) + 1
        parts.append((int(first), body[start:stop]))
        at = stop


def _slice(parts: list[tuple[int, bytes]], start: int, end: int) -> bytes:
    for first, data in parts:  # a server may merge ranges: find the part holding this one
        if first <= start and first + len(data) >= end:
            return data[start - first : end - first]
    raise OSError(f"the server's answer lacks bytes {start}-{end - 1}")
