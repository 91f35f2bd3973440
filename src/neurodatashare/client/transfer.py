"""Upload and download engines: parallel, resumable, verified by the dandi-etag.

Both engines are generators of status dicts (the CLI draws them as progress bars, the
Python API just drains them), run their work in threads, and stop cleanly when the
consumer stops iterating (Ctrl-C, or an exception in the consumer):

* `{"event": "file-start", "path", "size"}`
* `{"event": "progress", "path", "phase", "bytes"}`: `phase` is `hash` (reading the local
  file), `check` (re-reading a partial download) or `transfer` (bytes sent or received;
  negative when a failed attempt is rolled back)
* `{"event": "part-done", "path", "part"}` (uploads)
* `{"event": "file-done", "path", "status", ...}`: `status` is `uploaded`, `resumed`,
  `deduplicated` (the archive already had the bytes), `skipped` (unchanged) or
  `downloaded`
* `{"event": "file-error", "path", "error", "message"}`

**Uploads** hash each file once (per-part MD5s give the dandi-etag), skip files that
the draft already holds at the same path with the same etag, let the archive
deduplicate by digest (409 with `Location`), send the parts in parallel to the signed
part URLs, then complete and validate, and create or replace the asset. The upload id,
part URLs and finished parts are saved after every part in the user's state folder,
keyed by (archive, dataset, etag), so a rerun after a kill sends only what is missing.

**Downloads** write `<name>.ndspart` beside the destination, resume it with `Range`,
hash while writing, compare the whole file's dandi-etag with the archive's, and only
then rename it into place. A file whose digest does not match is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from neurodatashare.client.config import state_dir, write_private_json
from neurodatashare.client.errors import (
    BadRequestError,
    ClientError,
    ConflictError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    TransferError,
    VerificationError,
)
from neurodatashare.client.http import RETRY_STATUSES, describe_transport_error
from neurodatashare.storage.digests import EtagHasher, part_plan

if TYPE_CHECKING:
    from neurodatashare.client.http import RestClient

CHUNK = 1 << 20  # bytes per read, write and progress event
PART_SUFFIX = ".ndspart"
STATE_MAX_AGE = 30 * 86400  # upload states older than this are forgotten
Event = dict[str, Any]
T = TypeVar("T")


class Cancelled(Exception):
    """The consumer stopped iterating; workers stop at the next chunk."""


# -- digests ------------------------------------------------------------------------------


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


# -- the threaded runner ------------------------------------------------------------------


class _Engine:
    """Runs one work function per file in threads and yields the events they emit."""

    def __init__(self, client: RestClient, *, jobs: int = 4) -> None:
        self.client = client
        self.jobs = max(1, int(jobs))
        self.cancel = threading.Event()
        self._events: queue.Queue[Event] = queue.Queue()

    def emit(self, event: str, **fields: Any) -> None:
        self._events.put({"event": event, **fields})

    def _guard(self, work: Callable[[T], None], item: T, name: str) -> None:
        if self.cancel.is_set():
            return
        try:
            work(item)
        except Cancelled:
            return
        except ClientError as exc:
            self.emit("file-error", path=name, error=exc, message=exc.message)
        except OSError as exc:
            err = ClientError(f"{exc.filename or name}: {exc.strerror or exc}")
            self.emit("file-error", path=name, error=err, message=err.message)
        except Exception as exc:  # a bug must not become a traceback in the CLI
            err = ClientError(f"{name}: unexpected error: {exc!r}")
            self.emit("file-error", path=name, error=err, message=err.message)

    def _run(
        self, items: Sequence[T], work: Callable[[T], None], name: Callable[[T], str]
    ) -> Iterator[Event]:
        if not items:
            return
        self.cancel.clear()
        pool = ThreadPoolExecutor(
            max_workers=min(self.jobs, len(items)), thread_name_prefix="nds-file"
        )
        try:
            pending = {pool.submit(self._guard, work, item, name(item)) for item in items}
            while True:
                try:
                    event = self._events.get(timeout=0.05)
                except queue.Empty:
                    pending = {f for f in pending if not f.done()}
                    if not pending and self._events.empty():
                        return
                    continue
                yield event
        finally:
            self.cancel.set()
            self._stop_helpers()
            pool.shutdown(wait=True, cancel_futures=True)
            self._finish()

    def _stop_helpers(self) -> None:
        """Subclasses stop their own helper pools here (without waiting)."""

    def _finish(self) -> None:
        """Subclasses save caches here."""

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Cancelled


@dataclass
class TransferSummary:
    """What a finished upload or download did, file by file."""

    done: dict[str, str] = field(default_factory=dict)  # path -> status
    failed: dict[str, ClientError] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)  # path -> asset id (uploads)
    local: dict[str, Path] = field(default_factory=dict)  # path -> local file (downloads)
    bytes: int = 0

    def add(self, event: Event) -> None:
        kind = event["event"]
        if kind == "file-done":
            self.done[event["path"]] = event["status"]
            if event.get("asset_id"):
                self.assets[event["path"]] = event["asset_id"]
            if event.get("local"):
                self.local[event["path"]] = Path(event["local"])
        elif kind == "file-error":
            self.failed[event["path"]] = event["error"]
        elif kind == "progress" and event.get("phase") == "transfer" and not event.get("resumed"):
            self.bytes += int(event["bytes"])

    def raise_for_failures(self, what: str) -> None:
        if not self.failed:
            return
        first_path, first = next(iter(self.failed.items()))
        more = f" (and {len(self.failed) - 1} more)" if len(self.failed) > 1 else ""
        raise TransferError(
            f"{len(self.failed)} of {len(self.failed) + len(self.done)} file(s) failed to "
            f"{what}. {first_path}: {first.message}{more}",
            failures=dict(self.failed),
        )


def drain(events: Iterable[Event]) -> TransferSummary:
    """Run an engine to the end without drawing anything."""
    summary = TransferSummary()
    for event in events:
        summary.add(event)
    return summary


# -- uploads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadItem:
    local: Path
    path: str  # where it goes in the dataset
    size: int


def collect_uploads(paths: Iterable[str | Path], *, path_prefix: str = "") -> list[UploadItem]:
    """Files to upload: each file as `prefix/name`, each folder's contents as `prefix/rel`.

    Hidden files and folders (a name starting with `.`) and partial downloads are left out.
    """
    prefix = path_prefix.strip("/")
    found: dict[str, UploadItem] = {}
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise ClientError(f"{root} does not exist.")
        if root.is_dir():
            pairs = [
                (f, f.relative_to(root).as_posix())
                for f in sorted(root.rglob("*"))
                if f.is_file()
                and not f.name.endswith(PART_SUFFIX)
                and not any(p.startswith(".") for p in f.relative_to(root).parts)
            ]
        else:
            pairs = [(root, root.name)]
        for local, rel in pairs:
            remote = f"{prefix}/{rel}" if prefix else rel
            if remote in found and found[remote].local.resolve() != local.resolve():
                raise ClientError(f"{local} and {found[remote].local} would both go to {remote}.")
            found[remote] = UploadItem(local=local, path=remote, size=local.stat().st_size)
    return list(found.values())


class Uploader(_Engine):
    """Upload files into a dataset's draft (see the module docstring)."""

    def __init__(
        self,
        client: RestClient,
        dataset_id: str,
        *,
        jobs: int = 4,
        state_root: Path | None = None,
        digests: DigestCache | None = None,
    ) -> None:
        super().__init__(client, jobs=jobs)
        self.dataset_id = dataset_id
        self._state_root = state_root
        self.digests = digests if digests is not None else DigestCache.default()
        self._parts: ThreadPoolExecutor | None = None
        self._remote: dict[str, dict[str, Any]] = {}
        self._state_lock = threading.Lock()

    # state files
    @property
    def state_root(self) -> Path:
        if self._state_root is None:
            self._state_root = state_dir() / "uploads"
        self._state_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._state_root

    def state_file(self, etag: str) -> Path:
        key = hashlib.sha256(f"{self.client.api_url}|{self.dataset_id}|{etag}".encode()).hexdigest()
        return self.state_root / f"{key[:40]}.json"

    def _forget_old_states(self) -> None:
        cutoff = time.time() - STATE_MAX_AGE
        for path in self.state_root.glob("*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def _save_state(self, path: Path, state: dict[str, Any]) -> None:
        with self._state_lock:
            write_private_json(path, state)

    def _load_state(self, path: Path, *, etag: str, size: int) -> dict[str, Any] | None:
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if (
            not isinstance(state, dict)
            or state.get("server") != self.client.api_url
            or state.get("dataset") != self.dataset_id
            or state.get("etag") != etag
            or state.get("size") != size
            or not isinstance(state.get("parts"), list)
            or not isinstance(state.get("done"), dict)
        ):
            return None
        return state

    # the run
    def iter_upload(self, items: Sequence[UploadItem]) -> Iterator[Event]:
        """Upload `items`, yielding status dicts; see `collect_uploads`."""
        if not items:
            return
        self._forget_old_states()
        query: dict[str, Any] = {"metadata": "true", "order": "path"}
        # the archive's `path` filter is a string prefix, so a string prefix is what we want
        common = os.path.commonprefix([i.path for i in items]) if items else ""  # noqa: RUF071
        if common:
            query["path"] = common
        listing = self.client.paginate(
            f"dandisets/{self.dataset_id}/versions/draft/assets/", params=query, page_size=1000
        )
        wanted = {i.path for i in items}
        self._remote = {a["path"]: a for a in listing if a["path"] in wanted}
        self._parts = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="nds-part")
        yield from self._run(items, self._upload_one, lambda i: i.path)

    def _stop_helpers(self) -> None:
        if self._parts is not None:
            self._parts.shutdown(wait=False, cancel_futures=True)

    def _finish(self) -> None:
        if self._parts is not None:
            self._parts.shutdown(wait=True, cancel_futures=True)
        self.digests.save()

    def _upload_one(self, item: UploadItem) -> None:
        self.emit("file-start", path=item.path, size=item.size)
        st = item.local.stat()
        etag = self.digests.get(item.local, st)
        if etag is None:
            etag = file_etag(
                item.local,
                size=st.st_size,
                cancel=self.cancel,
                on_bytes=lambda n: self.emit("progress", path=item.path, phase="hash", bytes=n),
            )
            self.digests.put(item.local, etag)
        remote = self._remote.get(item.path)
        remote_etag = (
            ((remote or {}).get("metadata") or {}).get("digest", {}).get("dandi:dandi-etag")
        )
        if remote is not None and remote_etag == etag:
            self.emit("file-done", path=item.path, status="skipped", asset_id=remote["asset_id"])
            return
        blob_id, how = self._send(item, etag, st)
        asset = self._place(item, blob_id, remote)
        self.emit(
            "file-done",
            path=item.path,
            status=how,
            asset_id=asset["asset_id"],
            replaced=remote is not None,
        )

    def _send(self, item: UploadItem, etag: str, st: os.stat_result) -> tuple[str, str]:
        """Get the bytes into the archive; return (blob id, how)."""
        state_path = self.state_file(etag)
        state = self._load_state(state_path, etag=etag, size=item.size)
        for _attempt in range(2):
            how = "resumed" if state is not None else "uploaded"
            if state is None:
                r = self.client.post(
                    "uploads/initialize/",
                    json={
                        "contentSize": item.size,
                        "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
                        "dandiset": self.dataset_id,
                    },
                    ok_statuses=(409,),
                )
                if r.status_code == 409:
                    location = r.headers.get("Location")
                    if not location:
                        raise self.client.error_from(r)
                    return location.rstrip("/").rsplit("/", 1)[-1], "deduplicated"
                init = r.json()
                state = {
                    "server": self.client.api_url,
                    "dataset": self.dataset_id,
                    "etag": etag,
                    "size": item.size,
                    "mtime_ns": st.st_mtime_ns,
                    "local": str(item.local.resolve()),
                    "upload_id": init["upload_id"],
                    "parts": init["parts"],
                    "done": {},
                    "created": time.time(),
                }
                self._save_state(state_path, state)
            try:
                blob_id = self._finish_upload(item, state, state_path)
            except (NotFoundError, PermissionDeniedError, BadRequestError):
                if how != "resumed":
                    raise
                # The archive forgot the upload (expired or completed): start afresh once.
                with contextlib.suppress(OSError):
                    state_path.unlink()
                state = None
                continue
            with contextlib.suppress(OSError):
                state_path.unlink()
            return blob_id, how
        raise ClientError(f"{item.path}: the upload could not be restarted.")  # pragma: no cover

    def _finish_upload(self, item: UploadItem, state: dict[str, Any], state_path: Path) -> str:
        done: dict[str, str] = state["done"]
        if done:
            resumed = sum(p["size"] for p in state["parts"] if str(p["part_number"]) in done)
            self.emit("progress", path=item.path, phase="transfer", bytes=resumed, resumed=True)
        missing = [p for p in state["parts"] if str(p["part_number"]) not in done]
        if missing:
            self._send_parts(item, missing, state, state_path)
        upload_id = state["upload_id"]
        parts = [
            {
                "part_number": p["part_number"],
                "size": p["size"],
                "etag": done[str(p["part_number"])],
            }
            for p in state["parts"]
        ]
        r = self.client.post(f"uploads/{upload_id}/complete/", json={"parts": parts})
        completion = r.json()
        r = self.client.post(completion["complete_url"], content=completion["body"], storage=True)
        if "<Error>" in r.text:
            raise ClientError(
                f"{item.path}: storage refused to complete the upload: {r.text[:300]}"
            )
        r = self.client.post(f"uploads/{upload_id}/validate/")
        blob_id: str = r.json()["blob_id"]
        return blob_id

    def _send_parts(
        self,
        item: UploadItem,
        parts: list[dict[str, Any]],
        state: dict[str, Any],
        state_path: Path,
    ) -> None:
        """Send parts through the shared part pool; the first failure stops the others.

        Results are collected with `Future.result()`, not `concurrent.futures.wait`: a
        future cancelled by `shutdown(cancel_futures=True)` never notifies waiters.
        """
        assert self._parts is not None
        stop = threading.Event()

        def on_done(future: Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                stop.set()

        futures: list[Future[None]] = []
        for part in parts:
            future = self._parts.submit(self._send_part, item, part, state, state_path, stop)
            future.add_done_callback(on_done)
            futures.append(future)
        errors: list[BaseException] = []
        for future in futures:
            try:
                future.result()
            except CancelledError:
                continue
            except Exception as exc:
                stop.set()
                for other in futures:
                    other.cancel()
                errors.append(exc)
        real = [e for e in errors if not isinstance(e, Cancelled)]
        if real or errors:
            raise (real or errors)[0]
        if self.cancel.is_set():
            raise Cancelled

    def _send_part(
        self,
        item: UploadItem,
        part: dict[str, Any],
        state: dict[str, Any],
        state_path: Path,
        stop: threading.Event,
    ) -> None:
        number = int(part["part_number"])
        plan = part_plan(item.size)[number - 1]
        if plan.size != part["size"]:
            raise ClientError(
                f"{item.path}: the archive planned part {number} as {part['size']} bytes, "
                f"the client as {plan.size}."
            )
        attempt = 0
        while True:
            if self.cancel.is_set() or stop.is_set():
                raise Cancelled
            md5 = hashlib.md5()
            sent = [0]

            def body(md5: Any = md5, sent: list[int] = sent) -> Iterator[bytes]:
                with open(item.local, "rb") as f:
                    f.seek(plan.offset)
                    left = plan.size
                    while left:
                        if self.cancel.is_set() or stop.is_set():
                            raise Cancelled
                        chunk = f.read(min(CHUNK, left))
                        if not chunk:
                            raise ClientError(f"{item.local} became shorter while uploading.")
                        md5.update(chunk)
                        left -= len(chunk)
                        sent[0] += len(chunk)
                        self.emit("progress", path=item.path, phase="transfer", bytes=len(chunk))
                        yield chunk

            retryable: str | None = None
            try:
                r = self.client.storage.put(
                    part["upload_url"],
                    content=body(),
                    headers={"Content-Length": str(plan.size)},
                )
                if r.status_code in RETRY_STATUSES:
                    retryable = f"the storage answered {r.status_code}"
                elif r.status_code >= 400:
                    raise self.client.error_from(r)
            except httpx.TransportError as exc:
                retryable = describe_transport_error(exc, part["upload_url"])
            if retryable is not None:
                if sent[0]:
                    self.emit("progress", path=item.path, phase="transfer", bytes=-sent[0])
                if attempt >= self.client.retries:
                    raise NetworkError(f"{item.path}: part {number} failed: {retryable}")
                self._sleep(self.client.retry_delay(attempt))
                attempt += 1
                continue
            etag = r.headers.get("ETag", "").strip('"')
            local_md5 = md5.hexdigest()
            if len(etag) == 32 and etag != local_md5:
                raise VerificationError(
                    f"{item.path}: part {number} arrived with MD5 {etag}, but {local_md5} was "
                    "sent; the file may have changed while uploading."
                )
            with self._state_lock:
                state["done"][str(number)] = etag or local_md5
                write_private_json(state_path, state)
            self.emit("part-done", path=item.path, part=number)
            return

    def _place(
        self, item: UploadItem, blob_id: str, remote: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Create the asset, or replace the one at the same path."""
        base = f"dandisets/{self.dataset_id}/versions/draft/assets/"
        body = {"metadata": {"path": item.path}, "blob_id": blob_id}
        if remote is None:
            try:
                created: dict[str, Any] = self.client.post(base, json=body).json()
                return created
            except ConflictError:
                # Someone added the path since we looked: replace what is there now.
                found = [
                    a
                    for a in self.client.paginate(base, params={"path": item.path})
                    if a["path"] == item.path
                ]
                if not found:
                    raise
                remote = found[0]
        replaced: dict[str, Any] = self.client.put(f"{base}{remote['asset_id']}/", json=body).json()
        return replaced


# -- downloads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadItem:
    asset_id: str
    path: str  # in the dataset
    size: int
    etag: str | None
    dest: Path  # the local file it becomes


def safe_destination(root: Path, relative: str) -> Path:
    """`root/relative`, refusing paths that would leave `root`."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or any(p in ("", ".", "..") for p in rel.parts) or not rel.parts:
        raise ClientError(f"Refusing to write the unsafe path {relative!r}.")
    return root.joinpath(*rel.parts)


class Downloader(_Engine):
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
