"""Downloads of assets to local files: parallel, resumable, verified by the dandi-etag.

**Downloads** write `<name>.ndspart` beside the destination, one ranged GET per part of
the dandi-etag (several at once, hashed while written: client/ranged.py), resume it with
`Range`, compare the whole file's dandi-etag with the archive's, and only then rename it
into place. A file whose digest does not match is deleted.

`Downloader.iter_download` yields the status dicts of `neurodatashare.client.engine`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from neurodatashare.client.digests import DigestCache, file_part_md5s
from neurodatashare.client.engine import PART_SUFFIX, Engine, Event
from neurodatashare.client.errors import ClientError, VerificationError
from neurodatashare.client.ranged import RangedFetch, discard_partial, sidecar_for
from neurodatashare.client.zarr import download_zarr
from neurodatashare.storage.digests import etag_from_part_md5s

if TYPE_CHECKING:
    from neurodatashare.client.http import RestClient


@dataclass(frozen=True)
class DownloadItem:
    asset_id: str
    path: str  # in the dataset
    size: int
    etag: str | None  # for a Zarr: its DANDI Zarr checksum
    dest: Path  # the local file (or, for a Zarr, folder) it becomes
    zarr_id: str | None = None  # a Zarr asset, downloaded file by file (client/zarr.py)


def safe_destination(root: Path, relative: str) -> Path:
    """`root/relative`, refusing paths that would leave `root`."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or any(p in ("", ".", "..") for p in rel.parts) or not rel.parts:
        raise ClientError(f"Refusing to write the unsafe path {relative!r}.")
    return root.joinpath(*rel.parts)


class Downloader(Engine):
    """Download assets to local files (see the module docstring)."""

    def __init__(
        self, client: RestClient, *, jobs: int = 4, digests: DigestCache | None = None
    ) -> None:
        super().__init__(client, jobs=jobs)
        self.digests = digests if digests is not None else DigestCache.default()
        self._parts: ThreadPoolExecutor | None = None

    def iter_download(self, items: Sequence[DownloadItem]) -> Iterator[Event]:
        dests = [i.dest.resolve() for i in items]
        if len(set(dests)) != len(dests):
            raise ClientError("Two files would be written to the same local path.")
        # the ranges of every file share `jobs` threads (client/ranged.py)
        self._parts = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="nds-range")
        yield from self._run(items, self._download_one, lambda i: i.path)

    def _stop_helpers(self) -> None:
        if self._parts is not None:
            self._parts.shutdown(wait=False, cancel_futures=True)

    def _finish(self) -> None:
        if self._parts is not None:
            self._parts.shutdown(wait=True, cancel_futures=True)
        self.digests.save()

    def _etag_of(self, item: DownloadItem) -> str:
        if item.etag:
            return item.etag
        meta = self.client.get_json(f"assets/{item.asset_id}/")
        etag = (meta.get("digest") or {}).get("dandi:dandi-etag")
        if not etag:
            raise VerificationError(f"{item.path}: the archive did not give its digest.")
        return str(etag)

    def _download_one(self, item: DownloadItem) -> None:
        if item.zarr_id:
            expected = item.etag or (
                self.client.get_json(f"assets/{item.asset_id}/").get("digest") or {}
            ).get("dandi:dandi-zarr-checksum")
            how = download_zarr(
                self, zarr_id=item.zarr_id, dest=item.dest, path=item.path, expected=expected
            )
            self.emit("file-done", path=item.path, status=how, local=str(item.dest))
            return
        self.emit("file-start", path=item.path, size=item.size)
        dest = item.dest
        expected = self._etag_of(item)
        if dest.is_dir():
            raise ClientError(f"{dest} is a folder; cannot write {item.path} there.")
        if dest.is_file() and dest.stat().st_size == item.size:
            st = dest.stat()
            have = self.digests.get(dest, st)
            if have is None:
                md5s = file_part_md5s(
                    dest,
                    size=st.st_size,
                    cancel=self.cancel,
                    on_bytes=lambda n: self.emit("progress", path=item.path, phase="hash", bytes=n),
                )
                have = etag_from_part_md5s(md5s)
                self.digests.put(dest, have, md5s)
            if have == expected:
                self.emit("file-done", path=item.path, status="skipped", local=str(dest))
                return
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + PART_SUFFIX)
        resumed = partial.is_file() and partial.stat().st_size > 0
        assert self._parts is not None
        fetch = RangedFetch(self, item, partial, etag=expected, pool=self._parts)
        md5s = fetch.run()
        actual = etag_from_part_md5s(md5s)
        if actual != expected:
            discard_partial(partial)
            raise VerificationError(
                f"{item.path}: the downloaded bytes do not match the archive's digest "
                f"(expected {expected}, got {actual}); the partial file was deleted, "
                "run the download again."
            )
        os.replace(partial, dest)
        with contextlib.suppress(OSError):
            sidecar_for(partial).unlink()
        self.digests.put(dest, actual, md5s)
        self.emit(
            "file-done",
            path=item.path,
            status="resumed" if resumed else "downloaded",
            local=str(dest),
        )
