"""Uploads into a dataset's draft: parallel, resumable, verified by the dandi-etag.

**Uploads** hash each file once (per-part MD5s give the dandi-etag), skip files that
the draft already holds at the same path with the same etag, let the archive
deduplicate by digest (409 with `Location`), send the parts in parallel to the signed
part URLs, then complete and validate, and create or replace the asset. The upload id,
part URLs and finished parts are saved after every part in the user's state folder,
keyed by (archive, dataset, etag), so a rerun after a kill sends only what is missing.

`Uploader.iter_upload` yields the status dicts of `neurodatashare.client.engine`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from neurodatashare.client.config import state_dir, write_private_json
from neurodatashare.client.digests import DigestCache, file_part_md5s
from neurodatashare.client.engine import (
    CHUNK,
    PART_SUFFIX,
    Cancelled,
    Engine,
    Event,
    run_parts,
)
from neurodatashare.client.errors import (
    BadRequestError,
    ClientError,
    ConflictError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    VerificationError,
)
from neurodatashare.client.http import RETRY_STATUSES, describe_transport_error
from neurodatashare.client.zarr import is_zarr_dir, upload_zarr
from neurodatashare.client.zarr import local_files as zarr_files
from neurodatashare.storage.digests import etag_from_part_md5s, part_plan

if TYPE_CHECKING:
    from neurodatashare.client.http import RestClient

STATE_MAX_AGE = 30 * 86400  # upload states older than this are forgotten


@dataclass(frozen=True)
class UploadItem:
    local: Path
    path: str  # where it goes in the dataset
    size: int
    zarr: bool = False  # a Zarr folder, uploaded as one asset (client/zarr.py)


def _walk(root: Path) -> list[tuple[Path, str, bool]]:
    """(local, relative path, is a Zarr folder) under a folder; Zarr folders are not
    entered, hidden files and folders outside them are left out."""
    out = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        for d in sorted(dirs):
            if not d.startswith(".") and is_zarr_dir(here / d):
                out.append((here / d, (here / d).relative_to(root).as_posix(), True))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_zarr_dir(here / d))
        for name in sorted(names):
            if not name.startswith(".") and not name.endswith(PART_SUFFIX):
                out.append((here / name, (here / name).relative_to(root).as_posix(), False))
    return sorted(out, key=lambda x: x[1])


def collect_uploads(paths: Iterable[str | Path], *, path_prefix: str = "") -> list[UploadItem]:
    """Files to upload: each file as `prefix/name`, each folder's contents as `prefix/rel`.

    A Zarr folder (`*.zarr`, `*.ngff`) is one asset with all of its files, dot-files such
    as `.zattrs` included. Elsewhere hidden files and folders (a name starting with `.`)
    and partial downloads are left out.
    """
    prefix = path_prefix.strip("/")
    found: dict[str, UploadItem] = {}
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise ClientError(f"{root} does not exist.")
        if is_zarr_dir(root):
            pairs = [(root, root.name, True)]
        elif root.is_dir():
            pairs = _walk(root)
        else:
            pairs = [(root, root.name, False)]
        for local, rel, zarr in pairs:
            remote = f"{prefix}/{rel}" if prefix else rel
            if remote in found and found[remote].local.resolve() != local.resolve():
                raise ClientError(f"{local} and {found[remote].local} would both go to {remote}.")
            size = (
                sum(p.stat().st_size for p in zarr_files(local).values())
                if zarr
                else local.stat().st_size
            )
            found[remote] = UploadItem(local=local, path=remote, size=size, zarr=zarr)
    return list(found.values())


class Uploader(Engine):
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
        # path -> each part's MD5, when this run hashed the file or the cache had them: the
        # parts are then sent without hashing them again, and the archive's part ETags are
        # checked against these
        self._part_md5s: dict[str, list[str]] = {}

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
        if item.zarr:
            self._upload_zarr(item)
            return
        self.emit("file-start", path=item.path, size=item.size)
        st = item.local.stat()
        etag = self.digests.get(item.local, st)
        if etag is None:
            md5s = file_part_md5s(
                item.local,
                size=st.st_size,
                cancel=self.cancel,
                on_bytes=lambda n: self.emit("progress", path=item.path, phase="hash", bytes=n),
            )
            etag = etag_from_part_md5s(md5s)
            self._part_md5s[item.path] = md5s
            self.digests.put(item.local, etag, md5s)
        elif (cached := self.digests.part_md5s(item.local, st)) is not None:
            self._part_md5s[item.path] = cached  # the parts are sent without hashing
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

    def _upload_zarr(self, item: UploadItem) -> None:
        """A Zarr folder: only changed files are sent (client/zarr.py); then the asset."""
        remote = self._remote.get(item.path)
        done = upload_zarr(
            self, dataset_id=self.dataset_id, local=item.local, path=item.path, remote=remote
        )
        if remote is not None and remote.get("zarr") == done["zarr_id"]:
            asset_id, how = remote["asset_id"], "uploaded" if done["changed"] else "skipped"
        else:
            asset_id = self._place(item, None, remote, zarr_id=done["zarr_id"])["asset_id"]
            how = "uploaded"
        self.emit(
            "file-done",
            path=item.path,
            status=how,
            asset_id=asset_id,
            replaced=remote is not None,
            sent=done["sent"],
            deleted=done["deleted"],
        )

    def _send(self, item: UploadItem, etag: str, st: os.stat_result) -> tuple[str, str]:
        """Get the bytes into the archive; return (blob id, how)."""
        state_path = self.state_file(etag)
        state = self._load_state(state_path, etag=etag, size=item.size)
        ask = state is not None  # a resumed upload asks the archive which parts it holds
        for attempt in range(2):
            how = "resumed" if state is not None else "uploaded"
            if state is None:
                # idempotent: the archive answers the same caller's unfinished upload of
                # these bytes, so a retry after a lost answer starts nothing new
                r = self.client.post(
                    "uploads/initialize/",
                    json={
                        "contentSize": item.size,
                        "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
                        "dandiset": self.dataset_id,
                    },
                    ok_statuses=(409,),
                    idempotent=True,
                )
                if r.status_code == 409:
                    location = r.headers.get("Location")
                    if not location:
                        raise self.client.error_from(r)
                    return location.rstrip("/").rsplit("/", 1)[-1], "deduplicated"
                init = r.json()
                if init.get("resumed"):
                    how, ask = "resumed", True
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
                if ask:
                    self._ask_parts(item, state, state_path)
                blob_id = self._finish_upload(item, state, state_path)
            except (NotFoundError, PermissionDeniedError, BadRequestError):
                if attempt:
                    raise
                # The archive forgot the upload (expired, or completed: a validate whose
                # answer was lost), so start afresh once: initialize then finds the blob.
                with contextlib.suppress(OSError):
                    state_path.unlink()
                state, ask = None, False
                continue
            with contextlib.suppress(OSError):
                state_path.unlink()
            return blob_id, how
        raise ClientError(f"{item.path}: the upload could not be restarted.")  # pragma: no cover

    def _ask_parts(self, item: UploadItem, state: dict[str, Any], state_path: Path) -> None:
        """Take the archive's word for which parts it holds (GET uploads/ID/parts/): one
        it acknowledged before this client could record it is not sent again, and one
        recorded here that the archive lost is."""
        held = self.client.get_json(f"uploads/{state['upload_id']}/parts/")
        sizes = {int(p["part_number"]): int(p["size"]) for p in state["parts"]}
        done = {
            str(p["part_number"]): str(p["etag"])
            for p in held.get("parts", [])
            if sizes.get(int(p["part_number"])) == int(p["size"])
        }
        with self._state_lock:
            state["done"] = done
            write_private_json(state_path, state)

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
        r = self.client.post(
            f"uploads/{upload_id}/complete/", json={"parts": parts}, idempotent=True
        )
        completion = r.json()
        try:
            r = self.client.post(
                completion["complete_url"],
                content=completion["body"],
                storage=True,
                idempotent=True,
            )
        except NotFoundError:
            pass  # joined already (a repeat whose first answer was lost): validate checks
        else:
            if "<Error>" in r.text and "NoSuchUpload" not in r.text:
                raise ClientError(
                    f"{item.path}: storage refused to complete the upload: {r.text[:300]}"
                )
        r = self.client.post(f"uploads/{upload_id}/validate/", idempotent=True)
        blob_id: str = r.json()["blob_id"]
        return blob_id

    def _send_parts(
        self,
        item: UploadItem,
        parts: list[dict[str, Any]],
        state: dict[str, Any],
        state_path: Path,
    ) -> None:
        """Send parts through the shared part pool; the first failure stops the others."""
        assert self._parts is not None
        stop = threading.Event()
        run_parts(
            self._parts,
            lambda part: self._send_part(item, part, state, state_path, stop),
            parts,
            stop=stop,
        )
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
        known = self._part_md5s.get(item.path)
        expected = known[number - 1] if known else None
        attempt = 0
        stalled_since = time.monotonic()
        while True:
            if self.cancel.is_set() or stop.is_set():
                raise Cancelled
            # MD5 the part while sending it only when its MD5 is not known (an etag cached
            # without its parts): hashing every byte twice cost a core-second per GiB.
            md5 = hashlib.md5() if expected is None else None
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
                        if md5 is not None:
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
                attempt += 1
                delay = self.client.transfer_delay(
                    attempt, stalled_since, f"part {number} of {item.path}", retryable
                )
                if delay is None:
                    raise NetworkError(f"{item.path}: part {number} failed: {retryable}")
                self._sleep(delay)
                continue
            etag = r.headers.get("ETag", "").strip('"')
            local_md5 = expected if md5 is None else md5.hexdigest()
            if len(etag) == 32 and etag != local_md5:
                when = "while uploading" if md5 is not None else "since it was hashed"
                raise VerificationError(
                    f"{item.path}: part {number} arrived with MD5 {etag}, but the file's part "
                    f"has MD5 {local_md5}; the file may have changed {when}."
                )
            with self._state_lock:
                state["done"][str(number)] = etag or local_md5
                write_private_json(state_path, state)
            self.emit("part-done", path=item.path, part=number)
            return

    def _place(
        self,
        item: UploadItem,
        blob_id: str | None,
        remote: dict[str, Any] | None,
        *,
        zarr_id: str | None = None,
    ) -> dict[str, Any]:
        """Create the asset, or replace the one at the same path."""
        base = f"dandisets/{self.dataset_id}/versions/draft/assets/"
        body: dict[str, Any] = {"metadata": {"path": item.path}}
        body.update({"zarr_id": zarr_id} if zarr_id else {"blob_id": blob_id})
        if remote is None:
            try:
                # idempotent: the same path, blob and metadata again answers the asset
                created: dict[str, Any] = self.client.post(base, json=body, idempotent=True).json()
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
