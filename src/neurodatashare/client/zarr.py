"""Zarr folders (`*.zarr`, `*.ngff`) as single assets, through DANDI's Zarr API.

A Zarr folder is one asset, never loose files: every file in it travels, dot-files such
as `.zattrs`, `.zgroup` and `.zarray` included. Uploading compares each local file's MD5
with the archive's listing of the Zarr and sends only what changed (in batches of 255
signed PUTs with `Content-MD5`), deletes what is gone (batches of 100), then finalizes
and checks the archive's DANDI Zarr checksum against the local one. Downloading lists
the Zarr's files, fetches only those missing or different locally (each verified by its
MD5), removes local files the Zarr no longer has, and checks the checksum too.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import httpx

from neurodatashare.client.engine import CHUNK, PART_SUFFIX, Cancelled
from neurodatashare.client.errors import (
    BadRequestError,
    ClientError,
    ConflictError,
    NetworkError,
    VerificationError,
)
from neurodatashare.client.http import RETRY_STATUSES, describe_transport_error

if TYPE_CHECKING:
    from neurodatashare.client.engine import Engine

ZARR_SUFFIXES = (".zarr", ".ngff")  # as dandi's ZARR_EXTENSIONS
UPLOAD_BATCH, DELETE_BATCH = 255, 100
CHECKSUM_TIMEOUT = 3600.0
# the archive's answer to a finalize (or change) of a Zarr that is no longer Pending
INGESTING = "currently ingesting or has already ingested"


def is_zarr_dir(path: Path) -> bool:
    return path.is_dir() and path.name.lower().endswith(ZARR_SUFFIXES)


def local_files(root: Path) -> dict[str, Path]:
    """Every file of a Zarr folder by its path inside it (dot-files included; partial
    downloads left out)."""
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(PART_SUFFIX)
    }


def md5_file(path: Path, cancel: Any = None) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(8 * CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled
            h.update(block)
    return h.hexdigest()


def checksum(entries: dict[str, tuple[int, str]]) -> str:
    """DANDI's Zarr checksum of {path: (size, md5)}."""
    from zarr_checksum.tree import ZarrChecksumTree

    tree = ZarrChecksumTree()
    for path, (size, md5) in entries.items():
        tree.add_leaf(Path(path), size, md5)
    return str(tree.process())


def remote_files(engine: Engine, zarr_id: str) -> dict[str, dict[str, Any]]:
    """The Zarr's files by path (its listing follows the cursor `next` links)."""
    return {e["Key"]: e for e in engine.client.paginate(f"zarr/{zarr_id}/files/")}


def _map(engine: Engine, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=engine.jobs, thread_name_prefix="nds-zarr") as pool:
        return list(pool.map(work, items))


# -- upload --------------------------------------------------------------------------------


def _zarr_for(engine: Engine, dataset_id: str, path: str, remote: dict[str, Any] | None) -> str:
    """The Zarr the asset at `path` keeps (re-uploads change it in place), or a new one."""
    if remote and remote.get("zarr"):
        return str(remote["zarr"])
    try:
        # repeated through a restart: the archive then answers 409, handled below
        made = engine.client.post(
            "zarr/", json={"name": path, "dandiset": dataset_id}, idempotent=True
        ).json()
        return str(made["zarr_id"])
    except ConflictError as exc:
        if "Zarr already exists" not in exc.message:
            raise
    # an earlier run made it (and was stopped before the asset): carry on with it
    (found,) = engine.client.paginate("zarr/", params={"dandiset": dataset_id, "name": path})
    return str(found["zarr_id"])


def upload_zarr(
    engine: Engine,
    *,
    dataset_id: str,
    local: Path,
    path: str,
    remote: dict[str, Any] | None,
) -> dict[str, Any]:
    """Upload the Zarr folder `local` to the asset `path`; return what was done."""
    files = local_files(local)
    if not files:
        raise ClientError(f"{local} is an empty Zarr folder; there is nothing to upload.")
    engine.emit("file-start", path=path, size=sum(p.stat().st_size for p in files.values()))
    zarr_id = _zarr_for(engine, dataset_id, path, remote)

    def digest(item: tuple[str, Path]) -> tuple[str, int, str]:
        rel, p = item
        md5 = md5_file(p, engine.cancel)
        engine.emit("progress", path=path, phase="hash", bytes=p.stat().st_size)
        return rel, p.stat().st_size, md5

    mine = {rel: (size, md5) for rel, size, md5 in _map(engine, digest, list(files.items()))}
    theirs = remote_files(engine, zarr_id)
    send = [rel for rel, (_s, md5) in mine.items() if theirs.get(rel, {}).get("ETag") != md5]
    gone = [rel for rel in theirs if rel not in mine]
    for start in range(0, len(gone), DELETE_BATCH):
        _delete(engine, zarr_id, gone[start : start + DELETE_BATCH])
    for start in range(0, len(send), UPLOAD_BATCH):
        batch = send[start : start + UPLOAD_BATCH]
        md5s = {rel: base64.b64encode(bytes.fromhex(mine[rel][1])).decode() for rel in batch}
        # idempotent: the same batch again answers new URLs for the same files
        urls = engine.client.post(
            f"zarr/{zarr_id}/files/",
            json=[{"path": p, "base64md5": md5s[p]} for p in batch],
            idempotent=True,
        ).json()

        def put(pair: tuple[str, str], md5s: dict[str, str] = md5s) -> None:
            rel, url = pair
            if engine.cancel.is_set():
                raise Cancelled
            data = files[rel].read_bytes()
            engine.client.request(
                "PUT", url, content=data, headers={"Content-MD5": md5s[rel]}, storage=True
            )
            engine.emit("progress", path=path, phase="transfer", bytes=len(data))

        _map(engine, put, list(zip(batch, urls, strict=True)))
    status = engine.client.get_json(f"zarr/{zarr_id}/")
    if send or gone or status["status"] != "Complete":
        if status["status"] == "Pending":
            _finalize(engine, zarr_id)
        status = wait_for_checksum(engine, zarr_id)
    expected = checksum(mine)
    if status["checksum"] != expected:
        raise VerificationError(
            f"{path}: the archive's Zarr checksum {status['checksum']} differs from the "
            f"local {expected}; run the upload again."
        )
    changed = bool(send or gone)
    return {"zarr_id": zarr_id, "sent": len(send), "deleted": len(gone), "changed": changed}


def _delete(engine: Engine, zarr_id: str, batch: list[str]) -> None:
    """Delete a batch of the Zarr's files. A DELETE repeated through a restart, after the
    archive had deleted them, is refused (a path it no longer has): then only the files
    it still has are deleted."""
    try:
        engine.client.delete(f"zarr/{zarr_id}/files/", json=[{"path": p} for p in batch])
    except BadRequestError as exc:
        if "does not exist in this Zarr" not in exc.message:
            raise
        left = [p for p in batch if p in remote_files(engine, zarr_id)]
        if left:
            engine.client.delete(f"zarr/{zarr_id}/files/", json=[{"path": p} for p in left])


def _finalize(engine: Engine, zarr_id: str) -> None:
    """Ask for the checksum. Repeated through a restart after the archive had acted, it is
    refused as already ingesting: that is the state asked for."""
    try:
        engine.client.post(f"zarr/{zarr_id}/finalize/", idempotent=True)
    except BadRequestError as exc:
        if INGESTING not in exc.message:
            raise
        if engine.client.get_json(f"zarr/{zarr_id}/")["status"] == "Pending":
            raise


def wait_for_checksum(engine: Engine, zarr_id: str) -> dict[str, Any]:
    deadline, delay = time.monotonic() + CHECKSUM_TIMEOUT, 0.05
    while True:
        status: dict[str, Any] = engine.client.get_json(f"zarr/{zarr_id}/")
        if status["status"] == "Complete":
            return status
        if time.monotonic() > deadline:
            raise ClientError(f"The archive did not finish the checksum of Zarr {zarr_id}.")
        engine._sleep(delay)
        delay = min(delay * 2, 1.0)


# -- download ------------------------------------------------------------------------------


def safe_entry(root: Path, key: str) -> Path:
    rel = PurePosixPath(key)
    if rel.is_absolute() or not rel.parts or any(p in ("", ".", "..") for p in rel.parts):
        raise ClientError(f"Refusing to write the unsafe Zarr path {key!r}.")
    return root.joinpath(*rel.parts)


def download_zarr(
    engine: Engine, *, zarr_id: str, dest: Path, path: str, expected: str | None
) -> str:
    """Bring the local folder `dest` to the Zarr's content; return how (a file-done status)."""
    theirs = remote_files(engine, zarr_id)
    engine.emit("file-start", path=path, size=sum(int(e["Size"]) for e in theirs.values()))
    if dest.exists() and not dest.is_dir():
        raise ClientError(f"{dest} is a file; cannot write the Zarr {path} there.")
    dest.mkdir(parents=True, exist_ok=True)
    fetched: list[str] = []

    def one(entry: dict[str, Any]) -> None:
        target = safe_entry(dest, entry["Key"])
        same_size = target.is_file() and target.stat().st_size == int(entry["Size"])
        if same_size and md5_file(target, engine.cancel) == entry["ETag"]:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + PART_SUFFIX)
        h = _fetch_entry(engine, zarr_id, entry["Key"], partial, path)
        if h.hexdigest() != entry["ETag"]:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise VerificationError(
                f"{path}: {entry['Key']} does not match the archive's MD5; run the download again."
            )
        os.replace(partial, target)
        fetched.append(entry["Key"])

    _map(engine, one, list(theirs.values()))
    for rel, p in local_files(dest).items():  # what the Zarr no longer has
        if rel not in theirs:
            p.unlink()
    for folder in sorted(_folders(dest), key=lambda d: len(d.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only empty ones go
    if expected:
        got = checksum({k: (int(e["Size"]), str(e["ETag"])) for k, e in theirs.items()})
        if got != expected:
            raise VerificationError(
                f"{path}: the Zarr's files give the checksum {got}, not the archive's "
                f"{expected}; run the download again."
            )
    return "downloaded" if fetched else "skipped"


def _fetch_entry(engine: Engine, zarr_id: str, key: str, partial: Path, path: str) -> Any:
    """Write one Zarr file to `partial`; its MD5. A broken connection or an archive that
    is away (restarting) is retried as file downloads are, from the file's start (Zarr
    files are small)."""
    url = engine.client.url_for(f"zarr/{zarr_id}/files/")
    failures, stalled_since = 0, time.monotonic()
    while True:
        h, got, problem = hashlib.md5(), 0, None
        try:
            with engine.client.http.stream(
                "GET", url, params={"prefix": key, "download": "true"}
            ) as r:
                if r.status_code in RETRY_STATUSES:
                    r.read()
                    problem = f"the archive answered {r.status_code}"
                elif r.status_code >= 400:
                    r.read()
                    raise engine.client.error_from(r)
                else:
                    with open(partial, "wb") as f:
                        for chunk in r.iter_bytes(CHUNK):
                            if engine.cancel.is_set():
                                raise Cancelled
                            f.write(chunk)
                            h.update(chunk)
                            got += len(chunk)
                            engine.emit("progress", path=path, phase="transfer", bytes=len(chunk))
        except httpx.TransportError as exc:
            problem = describe_transport_error(exc, url)
        if problem is None:
            return h
        if got:  # fetched again from the start
            engine.emit("progress", path=path, phase="transfer", bytes=-got)
        failures += 1
        delay = engine.client.transfer_delay(failures, stalled_since, f"{key} of {path}", problem)
        if delay is None:
            raise NetworkError(f"{path}: {key} could not be downloaded ({problem}).")
        engine._sleep(delay)


def _folders(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_dir())
