"""Downloads of assets to local files: resumable, verified by the dandi-etag.

**Downloads** write `<name>.ndspart` beside the destination, resume it with `Range`,
hash while writing, compare the whole file's dandi-etag with the archive's, and only
then rename it into place. A file whose digest does not match is deleted.

`Downloader.iter_download` yields the status dicts of `neurodatashare.client.engine`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import httpx

from neurodatashare.client.digests import DigestCache, file_etag
from neurodatashare.client.engine import CHUNK, PART_SUFFIX, Cancelled, Engine, Event
from neurodatashare.client.errors import ClientError, NetworkError, VerificationError
from neurodatashare.client.http import RETRY_STATUSES, describe_transport_error
from neurodatashare.client.zarr import download_zarr
from neurodatashare.storage.digests import EtagHasher

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

    def iter_download(self, items: Sequence[DownloadItem]) -> Iterator[Event]:
        dests = [i.dest.resolve() for i in items]
        if len(set(dests)) != len(dests):
            raise ClientError("Two files would be written to the same local path.")
        yield from self._run(items, self._download_one, lambda i: i.path)

    def _finish(self) -> None:
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
            have = self.digests.get(dest, st) or file_etag(
                dest,
                size=st.st_size,
                cancel=self.cancel,
                on_bytes=lambda n: self.emit("progress", path=item.path, phase="hash", bytes=n),
            )
            self.digests.put(dest, have)
            if have == expected:
                self.emit("file-done", path=item.path, status="skipped", local=str(dest))
                return
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + PART_SUFFIX)
        resumed = partial.is_file() and partial.stat().st_size > 0
        hasher = self._fetch(item, partial)
        actual = hasher.hexdigest()
        if actual != expected:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise VerificationError(
                f"{item.path}: the downloaded bytes do not match the archive's digest "
                f"(expected {expected}, got {actual}); the partial file was deleted, "
                "run the download again."
            )
        os.replace(partial, dest)
        self.digests.put(dest, actual)
        self.emit(
            "file-done",
            path=item.path,
            status="resumed" if resumed else "downloaded",
            local=str(dest),
        )

    def _rehash(self, item: DownloadItem, partial: Path, have: int) -> EtagHasher:
        hasher = EtagHasher(item.size)
        with open(partial, "rb") as f:
            left = have
            while left:
                if self.cancel.is_set():
                    raise Cancelled
                block = f.read(min(8 * CHUNK, left))
                if not block:
                    break
                hasher.update(block)
                left -= len(block)
        self.emit("progress", path=item.path, phase="transfer", bytes=have, resumed=True)
        return hasher

    def _fetch(self, item: DownloadItem, partial: Path) -> EtagHasher:
        """Bring `partial` to the full size, resuming with Range; hash it on the way."""
        have = partial.stat().st_size if partial.is_file() else 0
        if have > item.size:
            partial.unlink()
            have = 0
        hasher = self._rehash(item, partial, have) if have else EtagHasher(item.size)
        url = self.client.url_for(f"assets/{item.asset_id}/download/")
        failures = 0
        while hasher.fed < item.size or not partial.exists():
            headers = {"Range": f"bytes={hasher.fed}-"} if hasher.fed else {}
            problem: str | None = None
            try:
                with self.client.http.stream("GET", url, headers=headers) as r:
                    if r.status_code == 416 or (hasher.fed and r.status_code == 200):
                        # The archive ignored or refused the range: start over.
                        if r.status_code == 416:
                            r.read()
                        self.emit("progress", path=item.path, phase="transfer", bytes=-hasher.fed)
                        hasher = EtagHasher(item.size)
                        partial.write_bytes(b"")
                        if r.status_code == 416:
                            continue
                    if r.status_code in RETRY_STATUSES:
                        r.read()
                        problem = f"the archive answered {r.status_code}"
                    elif r.status_code >= 400:
                        r.read()
                        raise self.client.error_from(r)
                    else:
                        self._check_range(item, r, hasher.fed)
                        with open(partial, "ab" if hasher.fed else "wb") as f:
                            for chunk in r.iter_bytes(CHUNK):
                                if self.cancel.is_set():
                                    raise Cancelled
                                if hasher.fed + len(chunk) > item.size:
                                    raise VerificationError(
                                        f"{item.path}: the archive sent more than the "
                                        f"{item.size} bytes it announced."
                                    )
                                f.write(chunk)
                                hasher.update(chunk)
                                failures = 0
                                self.emit(
                                    "progress", path=item.path, phase="transfer", bytes=len(chunk)
                                )
                        if hasher.fed < item.size:
                            problem = "the connection ended early"
            except httpx.TransportError as exc:
                problem = describe_transport_error(exc, url)
            if problem is None:
                continue
            failures += 1
            if failures > self.client.retries:
                raise NetworkError(
                    f"{item.path}: the download stopped after {hasher.fed} of {item.size} bytes "
                    f"({problem}). Run the same command again to resume."
                )
            self._sleep(self.client.retry_delay(failures - 1))
        return hasher

    @staticmethod
    def _check_range(item: DownloadItem, r: httpx.Response, start: int) -> None:
        if not start:
            return
        content_range = r.headers.get("Content-Range", "")
        if not content_range.startswith(f"bytes {start}-"):
            raise ClientError(
                f"{item.path}: asked for bytes from {start} but got {content_range or 'no range'}."
            )
