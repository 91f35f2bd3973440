"""The BlobStore interface. Services talk only to this; backends live beside it
(`storage/local.py`), and `neurodatashare.storage.get_blob_store` picks one.

A blob is immutable and addressed by a storage key. Uploads are multipart, as in S3:
the server plans the parts (dandischema's PartGenerator), the client PUTs each part to
a URL the store hands out, then the store assembles the parts and reports the facts
(size, dandi-etag, sha256 when it is cheap) so the service can check them before the
blob becomes visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class PartPlan:
    part_number: int
    size: int
    upload_url: str


@dataclass(frozen=True)
class BlobFacts:
    size: int
    etag: str
    sha256: str | None  # None: computed later by a background job (it needs a full read)


class PartSink(Protocol):
    """One part being received: `write` chunks (stored at once, queued for hashing), hash
    what `take_queued` hands over with `hash_chunks` (from any one thread at a time),
    then `finish` (its MD5 hex, hashing what is still queued) or `close`."""

    queued_bytes: int

    def write(self, chunk: bytes) -> None: ...

    def take_queued(self) -> list[bytes]: ...

    def hash_chunks(self, chunks: list[bytes]) -> None: ...

    def finish(self) -> str: ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    # -- uploads ------------------------------------------------------------------------
    def begin_upload(self, *, upload_id: str, size: int) -> list[PartPlan]: ...

    def resume_upload(self, *, upload_id: str, size: int) -> list[PartPlan] | None:
        """Fresh part URLs for an upload begun earlier, or None when the store no longer
        takes its parts (completed, aborted, or never begun)."""
        ...

    def part_writer(
        self, *, upload_id: str, part_number: int, total: int, expires: int, signature: str
    ) -> PartSink:
        """Check a part URL's signature and open the part for writing (the archive's own
        part URLs; a store whose client PUTs parts elsewhere raises NotFound)."""
        ...

    def check_complete_signature(self, *, upload_id: str, signature: str) -> None:
        """Raise Forbidden unless `signature` signs this upload's completion URL."""
        ...

    def complete_url(self, *, upload_id: str) -> str: ...

    def recorded_parts(self, *, upload_id: str) -> dict[int, str]:
        """Part number -> MD5 hex of each part the store has received in full."""
        ...

    def assemble(self, *, upload_id: str, part_count: int, size: int) -> BlobFacts:
        """Check that every part arrived and return what the assembled bytes are."""
        ...

    def commit(self, *, upload_id: str, key: str) -> None:
        """Make the assembled upload the blob `key` (atomic)."""
        ...

    def abort(self, *, upload_id: str) -> None: ...

    def stale_uploads(self) -> list[str]:
        """Upload ids the store holds bytes for (used to discard abandoned uploads)."""
        ...

    # -- blobs --------------------------------------------------------------------------
    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO:
        """The blob as a seekable, read-only binary file object (h5py opens it directly).

        On the local store this is the file itself; a remote store returns a
        `storage.ranged.RangedReader` over its `read_range`.
        """
        ...

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes of blob `key` from `start` (fewer only at its end)."""
        ...

    def size(self, key: str) -> int: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path the server can stream with Range, or None."""
        ...

    def download_url(self, key: str, *, filename: str) -> str | None:
        """A URL the client can be redirected to (presigned on S3), or None."""
        ...

    def delete(self, key: str) -> None: ...

    # -- derived artifacts (indexes, overviews) -------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        """Store small derived bytes at `key` (atomically replacing what was there)."""
        ...

    def read(self, key: str) -> bytes: ...

    def put_file(self, key: str, source: Path) -> None:
        """Store a local file's bytes as blob `key` (server-side imports, the demo)."""
        ...

    def adopt_file(self, key: str, source: Path) -> None:
        """Make the local file `source` the object `key`; `source` is gone afterwards (the
        local store renames it when it can: Zarr files received into its uploads area)."""
        ...


def blob_key(blob_id: str) -> str:
    """`blobs/abc/def/<uuid>`: spreads blobs over folders so none grows huge."""
    return f"blobs/{blob_id[:3]}/{blob_id[3:6]}/{blob_id}"
