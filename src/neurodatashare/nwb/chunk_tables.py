"""Chunk tables: the streaming index's chunk references for datasets with many chunks.

A LINDI index lists every chunk as a JSON reference (about 50 bytes each), so a dataset
with a million chunks would make the index that should open the file in one request
larger than what it saves. Up to :data:`INLINE_CHUNKS` chunks per dataset the references
stay inline. Above it the dataset's refs leave the JSON:

- a chunked dataset's table (chunk index, byte offset, byte size of every stored chunk,
  from h5py's `chunk_iter`) goes into a compact binary side artifact per blob, sorted by
  chunk index and cut into blocks of :data:`BLOCK_CHUNKS` chunks, each zlib-compressed on
  its own; the index lists the blocks under :data:`TABLES_KEY` (`{"count", "first",
  "offset", "length"}`: parallel lists of each block's first chunk index and its place in
  the artifact), so a reader fetches only the blocks of the chunks it reads, not the
  whole table (a first slice of a million-chunk dataset would otherwise fetch more table
  than data);
- an unchunked (contiguous) dataset's pseudo-chunks are arithmetic, so the index keeps
  only `{"contiguous": [first byte, bytes in all]}`.

A contiguous dataset gets that entry at any size: the archive's client reads it in small
pseudo-chunks of its own (whole rows, client/chunk_store.py), so a slice fetches little more
than its rows, while the inline refs (lindi's, :data:`PSEUDO_CHUNK_BYTES` each) serve plain
lindi and fsspec readers. Above :data:`INLINE_CHUNKS`, either kind of dataset's `.zattrs`
gets lindi's own `_EXTERNAL_ARRAY_LINK` (url `{{u}}`, which serving replaces by the
download URL), so a plain lindi reader still reads it (with h5py over Range requests);
the archive's client drops that attribute and reads the refs from the table instead
(client/chunk_store.py fetches and decodes the blocks a read needs). docs/api.md says
what each reader gets.

A block is zlib(deltas of the C-order chunk indexes as int64, deltas of the byte offsets
as int64, sizes as uint32), the first of each delta the value itself: chunks written in
order compress to well under a byte each. (Version 1 had one block per dataset,
`{"offset", "length", "count"}`: the same thing with a single block.)
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: Chunks of one dataset listed inline in the JSON index at most; more go to a table.
INLINE_CHUNKS = 10_000
#: Size of the pseudo-chunks of a contiguous dataset (whole rows): a read fetches at most
#: one pseudo-chunk more on each side of the rows it needs.
PSEUDO_CHUNK_BYTES = 2**20
#: The index's top-level key naming each table dataset's section (or arithmetic).
TABLES_KEY = "nds_chunk_tables"
#: Stored chunks per table block: a block of chunks written in order is ~100 bytes
#: compressed, and the index lists ~1,000 blocks (~20 KB) for a million chunks.
BLOCK_CHUNKS = 1024
#: Bumped when the table format changes (part of the index's producer version, so stored
#: indexes are rebuilt at start-up: archive/reprocess.py).
VERSION = 2


def encode_block(index: np.ndarray, offset: np.ndarray, size: np.ndarray) -> bytes:
    """One block (chunks sorted by index): 20 bytes a chunk before zlib (decoded by
    client/chunk_store.py)."""
    parts = (
        np.diff(index.astype(np.int64), prepend=np.int64(0)).astype("<i8").tobytes(),
        np.diff(offset.astype(np.int64), prepend=np.int64(0)).astype("<i8").tobytes(),
        size.astype("<u4").tobytes(),
    )
    return zlib.compress(b"".join(parts), 6)


def encode_blocks(
    index: np.ndarray, offset: np.ndarray, size: np.ndarray, at: int
) -> tuple[dict[str, Any], list[bytes]]:
    """The dataset's table entry (blocks placed from byte `at` of the artifact) and its
    blocks, :data:`BLOCK_CHUNKS` chunks each, sorted by chunk index."""
    order = np.argsort(index, kind="stable")
    index, offset, size = index[order], offset[order], size[order]
    entry: dict[str, Any] = {"count": len(index), "first": [], "offset": [], "length": []}
    blocks = []
    for start in range(0, len(index), BLOCK_CHUNKS):
        end = start + BLOCK_CHUNKS
        block = encode_block(index[start:end], offset[start:end], size[start:end])
        entry["first"].append(int(index[start]))
        entry["offset"].append(at)
        entry["length"].append(len(block))
        blocks.append(block)
        at += len(block)
    return entry, blocks


def _table(ds: h5py.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C-order chunk index, byte offset and size of every stored chunk of `ds`."""
    grid = [math.ceil(s / c) for s, c in zip(ds.shape, ds.chunks, strict=True)]
    n = ds.id.get_num_chunks()
    index = np.empty(n, np.int64)
    offset = np.empty(n, np.int64)
    size = np.empty(n, np.int64)
    chunks = ds.chunks
    strides = [math.prod(grid[i + 1 :]) for i in range(len(grid))]
    k = 0

    def visit(info: Any) -> None:
        nonlocal k
        at = zip(info.chunk_offset, chunks, strides, strict=True)
        index[k] = sum(o // c * s for o, c, s in at)
        offset[k] = info.byte_offset
        size[k] = info.size
        k += 1

    ds.id.chunk_iter(visit)
    return index[:k], offset[:k], size[:k]


def _contiguous(ds: h5py.Dataset) -> list[int] | None:
    """[first byte, bytes] of a dataset stored in one piece, uncompressed; else None."""
    if ds.ndim == 0 or ds.dtype.kind not in "iuf" or ds.compression or ds.shuffle:
        return None
    if ds.chunks is None:
        start = ds.id.get_offset()
        total = ds.id.get_storage_size()
    elif tuple(ds.chunks) == ds.shape and not ds.id.get_create_plist().get_nfilters():
        info = ds.id.get_chunk_info(0)  # one chunk as big as the dataset
        start, total = info.byte_offset, info.size
    else:
        return None
    if start is None or total != ds.size * ds.dtype.itemsize:
        return None  # not written yet (fill value only)
    return [int(start), int(total)]


def _attrs(refs: dict[str, Any], path: str) -> dict[str, Any]:
    value = refs.get(f"{path}/.zattrs", {})
    return json.loads(value) if isinstance(value, str) else dict(value)


def move_to_tables(rfs: dict[str, Any], h5: h5py.File, template: str, sidecar: Path) -> int:
    """Replace the refs of every many-chunk dataset of `rfs` by a table; returns how many
    datasets moved. Writes `sidecar` only when a chunked dataset moved."""
    refs: dict[str, Any] = rfs["refs"]
    per_dataset: dict[str, int] = {}
    for key, value in refs.items():
        if isinstance(value, list):
            parent = key.rpartition("/")[0]
            per_dataset[parent] = per_dataset.get(parent, 0) + 1
    tables: dict[str, Any] = {}
    sections: list[bytes] = []
    at = 0
    for key in [k for k in refs if k.endswith(".zattrs")]:
        path = key[: -len("/.zattrs")] if "/" in key else ""
        attrs = _attrs(refs, path)
        ds = h5.get(path) if "_EXTERNAL_ARRAY_LINK" in attrs else None
        # lindi left its chunks out (too many); a table serves only numbers read as they
        # are stored (strings and compound rows lindi decodes itself keep lindi's link)
        if isinstance(ds, h5py.Dataset) and ds.dtype.kind in "iuf" and ds.chunks:
            tables[path], blocks = encode_blocks(*_table(ds), at)
            sections.extend(blocks)
            at += sum(len(b) for b in blocks)
    for path, count in per_dataset.items():
        ds = h5.get(path)
        where = _contiguous(ds) if isinstance(ds, h5py.Dataset) and path not in tables else None
        if where is None:
            continue
        # a reader may choose its own pseudo-chunks of a contiguous dataset: the refs
        # below (lindi's, PSEUDO_CHUNK_BYTES each) are for plain lindi/fsspec readers
        tables[path] = {"contiguous": where}
        if count <= INLINE_CHUNKS:
            continue
        prefix = path + "/"
        for key in [k for k in refs if k.startswith(prefix) and isinstance(refs[k], list)]:
            del refs[key]
        attrs = _attrs(refs, path)
        attrs["_EXTERNAL_ARRAY_LINK"] = {"link_type": "hdf5_dataset", "url": template, "name": path}
        refs[f"{path}/.zattrs"] = attrs
    if sections:
        sidecar.write_bytes(b"".join(sections))
    if tables:
        rfs[TABLES_KEY] = tables
    return len(tables)
