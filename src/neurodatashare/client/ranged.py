"""One file's download as parallel ranged GETs, one per part of the dandi-etag's plan.

Each part (64 MiB for files up to 640 GiB, see `part_plan`) is fetched with its own
`Range` request, written at its offset into `NAME.ndspart` with `os.pwrite` and MD5-hashed
on the way, up to `jobs` parts at once in the downloader's part pool: hashlib releases the
GIL, so parts hash on every core, and the part MD5s give the dandi-etag without a second
read. Every range goes to the archive's download URL, so on S3 each one follows a fresh
redirect to a presigned URL (no expired URL to renew, access checked every time).

Resuming. A file of one part is a plain prefix: `NAME.ndspart` holds its first bytes, they
are hashed again and the rest is fetched with `Range: bytes=N-`. A file of several parts
keeps a sidecar, `.NAME.parts.ndspart` (JSON: size, etag, the part MD5s finished, and a
valid prefix left by an older single-stream client), written before any byte lands out of
order, so a later run trusts only parts that were finished. A part cut off mid-way is
resumed from where it stopped within the run, and from its start in the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from dandischema.digests.dandietag import Part

from neurodatashare.client.config import write_private_json
from neurodatashare.client.engine import CHUNK, PART_SUFFIX, Cancelled, run_parts
from neurodatashare.client.errors import ClientError, NetworkError, VerificationError
from neurodatashare.client.http import RETRY_STATUSES, describe_transport_error
from neurodatashare.storage.digests import part_plan

if TYPE_CHECKING:
    from neurodatashare.client.download import Downloader, DownloadItem

REHASH_BLOCK = 8 * CHUNK


def sidecar_for(partial: Path) -> Path:
    """Where the finished parts of a several-part download are recorded (hidden, and
    ending in `.ndspart` like the partial file, so uploads leave it out)."""
    stem = partial.name.removesuffix(PART_SUFFIX)
    return partial.with_name(f".{stem}.parts{PART_SUFFIX}")


def discard_partial(partial: Path) -> None:
    for path in (partial, sidecar_for(partial)):
        with contextlib.suppress(OSError):
            path.unlink()


class RangedFetch:
    """Bring one item's `partial` file to its full size; `run()` returns its part MD5s
    (they make its dandi-etag)."""

    def __init__(
        self,
        engine: Downloader,
        item: DownloadItem,
        partial: Path,
        *,
        etag: str,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.engine = engine
        self.client = engine.client
        self.item = item
        self.partial = partial
        self.plan = part_plan(item.size)
        self.multi = len(self.plan) > 1
        self.url = self.client.url_for(f"assets/{item.asset_id}/download/")
        self.pool = pool
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.state = self._start_state(etag)
        self.fd = -1

    # -- state ------------------------------------------------------------------------------
    def _start_state(self, etag: str) -> dict[str, Any]:
        """The finished parts and the valid prefix of what a previous run left."""
        size = self.item.size
        side = sidecar_for(self.partial)
        state: Any = None
        if self.multi and self.partial.is_file():
            with contextlib.suppress(OSError, ValueError):
                state = json.loads(side.read_text())
        if (
            isinstance(state, dict)
            and state.get("size") == size
            and state.get("etag") == etag
            and isinstance(state.get("parts"), dict)
            and isinstance(state.get("prefix"), int)
        ):
            return state
        # No usable sidecar: the partial file, if any, is a prefix written in order.
        have = self.partial.stat().st_size if self.partial.is_file() else 0
        if have > size or (self.multi and side.exists()):
            # too long, or a sidecar of other bytes: what the file holds is unknown
            discard_partial(self.partial)
            have = 0
        state = {"size": size, "etag": etag, "prefix": have, "parts": {}}
        if self.multi:
            # before any byte is written out of order, or the file would pass for a prefix
            write_private_json(side, state)
        return state

    def _part_finished(self, part: Part, md5: str) -> None:
        with self.lock:
            self.state["parts"][str(part.number)] = md5
            if self.multi:
                write_private_json(sidecar_for(self.partial), self.state)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> list[str]:
        self.fd = os.open(self.partial, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if self.multi and os.fstat(self.fd).st_size < self.item.size:
                os.ftruncate(self.fd, self.item.size)  # the file's full size from the start
            return self._all_parts()
        finally:
            os.close(self.fd)

    def _all_parts(self) -> list[str]:
        """Each part in the pool; the first failure stops the others."""
        if not self.multi:
            return [self._one_part(part) for part in self.plan]  # none for an empty file
        return run_parts(self.pool, self._one_part, self.plan, stop=self.stop)

    def _one_part(self, part: Part) -> str:
        done = self.state["parts"].get(str(part.number))
        end = part.offset + part.size
        if isinstance(done, str):
            self._progress(part.size, resumed=True)
            return done
        md5 = hashlib.md5()
        covered = min(max(self.state["prefix"] - part.offset, 0), part.size)
        if covered:
            self._rehash(md5, part.offset, part.offset + covered)
        digest = self._fetch(part, part.offset + covered, end, md5).hexdigest()
        self._part_finished(part, digest)
        return digest

    def _check(self) -> None:
        if self.engine.cancel.is_set() or self.stop.is_set():
            raise Cancelled

    def _progress(self, n: int, *, resumed: bool = False) -> None:
        extra = {"resumed": True} if resumed else {}
        self.engine.emit("progress", path=self.item.path, phase="transfer", bytes=n, **extra)

    def _rehash(self, md5: Any, start: int, end: int) -> None:
        """Hash bytes a previous run wrote (they are not fetched again)."""
        pos = start
        while pos < end:
            self._check()
            block = os.pread(self.fd, min(REHASH_BLOCK, end - pos), pos)
            if not block:
                raise ClientError(f"{self.partial} became shorter while it was being read.")
            md5.update(block)
            pos += len(block)
        self._progress(end - start, resumed=True)

    def _fetch(self, part: Part, pos: int, end: int, md5: Any) -> Any:
        """GET bytes [pos, end) of the file into `md5` (returned: a refused range of a
        one-part file starts it afresh); a dropped connection resumes where it stopped."""
        size = self.item.size
        span = _Span(pos, end, md5)
        failures = 0
        stalled_since = time.monotonic()
        while span.pos < end:
            self._check()
            whole = span.pos == 0 and end == size
            headers = {"Accept-Encoding": "identity"}  # ranges of the stored bytes
            if not whole:
                last = "" if end == size else str(end - 1)
                headers["Range"] = f"bytes={span.pos}-{last}"
            start = span.pos
            problem: str | None = None
            try:
                with self.client.http.stream("GET", self.url, headers=headers) as r:
                    if r.status_code in RETRY_STATUSES:
                        r.read()
                        problem = f"the archive answered {r.status_code}"
                    elif not whole and r.status_code in (200, 416):
                        r.read()
                        if part.offset or end != size:
                            raise ClientError(
                                f"{self.item.path}: asked for bytes {span.pos}-{end - 1}, but "
                                f"the archive answered {r.status_code} (it does not honour "
                                "Range)."
                            )
                        # One part and the range was refused or ignored: start over.
                        self._progress(-span.pos)
                        span = _Span(0, end, hashlib.md5())
                        continue
                    elif r.status_code >= 400:
                        r.read()
                        raise self.client.error_from(r)
                    else:
                        self._check_range(r, span.pos, whole)
                        self._receive(r, span)
                        if span.pos < end:
                            problem = "the connection ended early"
            except httpx.TransportError as exc:
                problem = describe_transport_error(exc, self.url)
            if span.pos > start:
                failures = 0  # bytes arrived: only failures in a row count
                stalled_since = time.monotonic()
            if problem is None:
                continue
            failures += 1
            what = f"the download of {self.item.path}"
            delay = self.client.transfer_delay(failures, stalled_since, what, problem)
            if delay is None:
                raise NetworkError(
                    f"{self.item.path}: the download stopped ({problem}) in part "
                    f"{part.number}, at byte {span.pos} of {size}. Run the same command "
                    "again to resume."
                )
            self.engine._sleep(delay)
        return span.md5

    def _check_range(self, r: httpx.Response, pos: int, whole: bool) -> None:
        if whole:
            return
        content_range = r.headers.get("Content-Range", "")
        if r.status_code != 206 or not content_range.startswith(f"bytes {pos}-"):
            raise ClientError(
                f"{self.item.path}: asked for bytes from {pos} but got "
                f"{content_range or 'no range'}."
            )

    def _receive(self, r: httpx.Response, span: _Span) -> None:
        """Write the body at `span.pos` and hash it (`span` moves with every chunk, so a
        cut connection resumes at the right byte); progress about once a MiB. Chunks are
        taken as they arrive (`iter_bytes()` without a size: no re-cutting copy)."""
        unreported = 0
        try:
            for chunk in r.iter_bytes():
                self._check()
                if span.pos + len(chunk) > span.end:
                    raise VerificationError(
                        f"{self.item.path}: the archive sent more than the bytes asked "
                        f"for (up to byte {span.end})."
                    )
                view = memoryview(chunk)
                while view:
                    written = os.pwrite(self.fd, view, span.pos)
                    span.md5.update(view[:written])
                    view = view[written:]
                    span.pos += written
                unreported += len(chunk)
                if unreported >= CHUNK:
                    self._progress(unreported)
                    unreported = 0
        finally:
            if unreported:
                self._progress(unreported)


@dataclass
class _Span:
    """Where one part's fetch stands: the next byte, the end, the MD5 so far."""

    pos: int
    end: int
    md5: Any
