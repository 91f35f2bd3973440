"""Zarr archives, as DANDI's Zarr API has them: a folder of entries uploaded file by file.

A Zarr belongs to a dataset and is named by the asset path it is made for. Its entries
are uploaded through signed PUT URLs (our own endpoint on the local store) in batches,
deleted in batches, and then the Zarr is finalized: a `zarr.ingest` job computes DANDI's
Zarr checksum (`zarr_checksum`, `<md5>-<files>--<bytes>`) from the entries' MD5s and
sizes and the status goes `Pending` -> `Uploaded` -> `Ingesting` -> `Complete`. Any
change puts it back to `Pending` with no checksum, as in dandi-archive.

Every uploaded entry is stored under a new storage key, never over an existing object,
so a published version freezes a Zarr by copying its entry rows (`freeze`): the copies
share the storage objects, and an object is deleted only when no row names it any more.

Access is the dataset's: owners change a Zarr, others see it exactly when they may see
the dataset, and a hidden Zarr answers like one that does not exist.

`open_zarr_store` is the seam for Zarr formats (formats/base.py, `StoreFormat`): a
read-only mapping from entry paths to bytes, read from storage on access.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from neurodatashare.archive.access import (
    absent,
    can_edit,
    can_view,
    check_uuid,
    load_dataset,
    require_user,
    visible_clause,
)
from neurodatashare.archive.context import Archive
from neurodatashare.archive.paths import validate_entry_path, validate_path
from neurodatashare.archive.version_status import refresh_drafts_holding
from neurodatashare.archive.zarr_results import checksum_of as checksum_of
from neurodatashare.db.models import (
    Asset,
    Dataset,
    User,
    Zarr,
    ZarrEntry,
    utcnow,
)
from neurodatashare.errors import BadRequest, Conflict, Forbidden, NotAuthenticated, NotFound
from neurodatashare.jobs import enqueue
from neurodatashare.storage.signing import signature_matches

UPLOAD_BATCH = 255  # dandi's ZARR_UPLOAD_BATCH_SIZE, dandi-archive's limit
DELETE_BATCH = 100  # dandi's ZARR_DELETE_BATCH_SIZE
MAX_LISTING = 1000  # entries per page of GET /zarr/{id}/files
UPLOAD_URL_LIFETIME = 7 * 24 * 3600
DOWNLOAD_URL_LIFETIME = 3600
INGEST = "zarr.ingest"
INGEST_ERROR = "Zarr archive is currently ingesting or has already ingested"  # DANDI's text
STATUSES = ("Pending", "Uploaded", "Ingesting", "Complete")


def zarr_json(z: Zarr) -> dict[str, Any]:
    """DANDI's ZarrArchive serializer."""
    return {
        "name": z.name,
        "dandiset": f"{z.dataset_id:06d}",
        "zarr_id": z.id,
        "status": z.status,
        "checksum": z.checksum,
        "file_count": z.file_count,
        "size": z.size,
    }


def entry_json(e: ZarrEntry) -> dict[str, Any]:
    """One item of a files listing, as S3's ListObjectsV2 names its fields."""
    return {"Key": e.path, "LastModified": e.modified.isoformat(), "ETag": e.md5, "Size": e.size}


def _dataset_of(s: Session, z: Zarr) -> Dataset:
    dataset = s.get(Dataset, z.dataset_id)
    assert dataset is not None  # zarrs cascade with their dataset
    return dataset


def load_zarr(
    s: Session, *, zarr_id: str, user: User | None, edit: bool = False
) -> tuple[Zarr, Dataset]:
    """A Zarr the caller may see (and with edit, change); hidden answers as absent."""
    check_uuid(zarr_id, what="Zarr")
    z = s.get(Zarr, zarr_id)
    if z is None or not can_view(_dataset_of(s, z), user):
        raise absent(f"Zarr {zarr_id}", user)
    dataset = _dataset_of(s, z)
    if edit:
        if user is None:
            raise NotAuthenticated("Send your API key to change a Zarr.")
        if not can_edit(dataset, user):
            raise Forbidden(f"Only the owners of dataset {dataset.id:06d} may change its Zarrs.")
        if z.frozen:
            raise BadRequest(
                "This Zarr belongs to a published version and cannot change; change the "
                "draft's Zarr instead."
            )
    return z, dataset


def mark_pending(z: Zarr) -> None:
    """Entries changed: the checksum, count and size are unknown until finalized again."""
    z.status, z.checksum, z.file_count, z.size = "Pending", None, 0, 0
    z.modified = utcnow()


def refresh_drafts(s: Session, z: Zarr) -> None:
    """Every draft holding the Zarr gets its status recomputed (and its summary queued)."""
    refresh_drafts_holding(s, Asset.zarr_id == z.id)


def _writable(z: Zarr) -> None:
    if z.status in ("Uploaded", "Ingesting"):
        raise BadRequest(INGEST_ERROR)


# -- the Zarr itself ---------------------------------------------------------------------


def create_zarr(archive: Archive, *, user: User | None, name: Any, dataset_id: Any) -> dict:
    user = require_user(user, action="create a Zarr")
    if not isinstance(dataset_id, str | int) or not isinstance(name, str):
        raise BadRequest("Send {'name': <asset path>, 'dandiset': <six-digit id>}.")
    path = validate_path(name)
    with archive.db.write() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        taken = s.scalar(
            select(Zarr.id).where(
                Zarr.dataset_id == dataset.id, Zarr.name == path, Zarr.frozen.is_(False)
            )
        )
        if taken is not None:
            # dandi's upload looks for this text and then reuses the Zarr (GET /zarr/?name=)
            raise Conflict(f"Zarr already exists: {path!r} in dataset {dataset.id:06d}.")
        z = Zarr(id=str(uuid.uuid4()), dataset_id=dataset.id, name=path)
        s.add(z)
        s.flush()
        return zarr_json(z)


def list_zarrs(
    archive: Archive,
    *,
    user: User | None,
    dataset_id: str | None = None,
    name: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[dict[str, Any]]]:
    """The live (not frozen) Zarrs of the datasets the caller may see, oldest first."""
    query = (
        select(Zarr)
        .join(Dataset, Dataset.id == Zarr.dataset_id)
        .where(visible_clause(user), Zarr.frozen.is_(False))
    )
    if dataset_id is not None:
        if not dataset_id.isdigit() or len(dataset_id) != 6:
            raise BadRequest("dandiset must be a six-digit dataset identifier, like 000001.")
        query = query.where(Zarr.dataset_id == int(dataset_id))
    if name is not None:
        query = query.where(Zarr.name == name)
    with archive.db.read() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(Zarr.created, Zarr.id).offset(offset).limit(limit))
        return int(total), [zarr_json(z) for z in rows]


def get_zarr(archive: Archive, *, zarr_id: str, user: User | None) -> dict[str, Any]:
    with archive.db.read() as s:
        z, _dataset = load_zarr(s, zarr_id=zarr_id, user=user)
        return zarr_json(z)


# -- listing and reading entries ---------------------------------------------------------


def list_files(
    archive: Archive,
    *,
    zarr_id: str,
    user: User | None,
    prefix: str = "",
    after: str = "",
    limit: int = MAX_LISTING,
) -> tuple[list[dict[str, Any]], bool]:
    """Entries whose path starts with `prefix`, after `after`, in path order; and whether
    more follow (the route then links the next page with `after=<last key>`)."""
    if not 1 <= limit <= MAX_LISTING:
        raise BadRequest(f"limit must be between 1 and {MAX_LISTING}.")
    prefix = prefix.lstrip("/")
    if any(part == ".." for part in prefix.split("/")):
        raise BadRequest('A Zarr prefix cannot contain ".." components.')
    with archive.db.read() as s:
        z, _dataset = load_zarr(s, zarr_id=zarr_id, user=user)
        query = select(ZarrEntry).where(ZarrEntry.zarr_id == z.id)
        if prefix:
            query = query.where(ZarrEntry.path.startswith(prefix, autoescape=True))
        if after:
            query = query.where(ZarrEntry.path > after.lstrip("/"))
        rows = list(s.scalars(query.order_by(ZarrEntry.path).limit(limit + 1)))
    return [entry_json(e) for e in rows[:limit]], len(rows) > limit


def _sign(archive: Archive, *fields: object) -> str:
    secret = archive.settings.resolved_secret_key.encode()
    return hmac.new(secret, "\n".join(map(str, fields)).encode(), hashlib.sha256).hexdigest()


def entry_download_url(archive: Archive, *, zarr_id: str, user: User | None, path: str) -> str:
    """`files?prefix=<path>&download=true`: a signed, short-lived URL of the entry's bytes.

    The link names the storage object and the dataset's access generation, so a change
    of access revokes it, and it keeps serving the bytes it was made for.
    """
    path = validate_entry_path(path.lstrip("/"))
    with archive.db.read() as s:
        z, dataset = load_zarr(s, zarr_id=zarr_id, user=user)
        entry = s.scalar(select(ZarrEntry).where(ZarrEntry.zarr_id == z.id, ZarrEntry.path == path))
        if entry is None:
            raise NotFound(f"There is no file {path!r} in Zarr {zarr_id}.")
        generation = dataset.access_generation
        key = entry.storage_key
    expires = int(time.time()) + DOWNLOAD_URL_LIFETIME
    query = urlencode(
        {
            "key": key,
            "expires": expires,
            "signature": _sign(archive, "zarr-get", zarr_id, key, expires, generation),
        }
    )
    name = quote(path.rsplit("/", 1)[-1])
    return f"{archive.api_url}/zarr/{zarr_id}/entry/{name}?{query}"


def signed_entry(
    archive: Archive, *, zarr_id: str, key: str, expires: int, signature: str, name: str
) -> Path | str:
    """Check a download link of `entry_download_url` and return the object's file, or the
    store's presigned URL of it."""
    with archive.db.read() as s:  # one query: the file is still the Zarr's, and its access
        found = s.scalar(
            select(Dataset.access_generation)
            .join(Zarr, Zarr.dataset_id == Dataset.id)
            .join(ZarrEntry, ZarrEntry.zarr_id == Zarr.id)
            .where(ZarrEntry.storage_key == key, Zarr.id == zarr_id)
            .limit(1)
        )
    known = found is not None
    generation = found if found is not None else -1
    good = _sign(archive, "zarr-get", zarr_id, key, expires, generation)
    if not known or not signature_matches(good, signature):
        raise Forbidden("This download link's signature is not valid; ask for a new one.")
    if expires < time.time():
        raise Forbidden("This download link has expired; ask the archive for a new one.")
    local = archive.store.local_path(key)
    if local is None:  # a store that signs its own URLs (S3): the route redirects there
        url = archive.store.download_url(key, filename=name)
        if url is not None:
            return url
    if local is None or not local.is_file():
        raise NotFound("The bytes of this Zarr file are missing from storage.")
    return local


# -- uploading and deleting entries ------------------------------------------------------


def _md5_hex(value: Any, *, path: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise BadRequest(
            f"base64md5 of {path!r} must be the file's MD5 digest in base64 (24 characters)."
        )
    return raw.hex()


def request_uploads(archive: Archive, *, zarr_id: str, user: User | None, files: Any) -> list[str]:
    """`POST /zarr/{id}/files/`: one signed PUT URL per `{path, base64md5}`, in order."""
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise BadRequest("Send a list of {'path': ..., 'base64md5': ...} objects.")
    if len(files) > UPLOAD_BATCH:
        raise BadRequest(
            f"At most {UPLOAD_BATCH} files per request (got {len(files)}); send them in batches."
        )
    wanted = []
    for f in files:
        path = validate_entry_path(f.get("path"))
        wanted.append((path, _md5_hex(f.get("base64md5"), path=path)))
    with archive.db.write() as s:
        z, _dataset = load_zarr(s, zarr_id=zarr_id, user=user, edit=True)
        _writable(z)
        mark_pending(z)  # with these URLs the Zarr may change
        refresh_drafts(s, z)  # its drafts wait for the new checksum
    expires = int(time.time()) + UPLOAD_URL_LIFETIME
    urls = []
    for path, md5 in wanted:
        signature = _sign(archive, "zarr-put", zarr_id, path, md5, expires)
        query = urlencode({"path": path, "md5": md5, "expires": expires, "signature": signature})
        urls.append(f"{archive.api_url}/zarr/{zarr_id}/upload/?{query}")
    return urls


def check_upload_url(
    archive: Archive,
    *,
    zarr_id: str,
    path: str,
    md5: str,
    expires: int,
    signature: str,
    content_md5: str | None,
) -> None:
    """A PUT to a URL of `request_uploads`: signed, unexpired, and with the Content-MD5
    header it was signed for (as S3 checks a presigned PUT)."""
    good = _sign(archive, "zarr-put", zarr_id, path, md5, expires)
    if not signature_matches(good, signature):
        raise Forbidden("This upload URL's signature is not valid.")
    if expires < time.time():
        raise Forbidden("This upload URL has expired; ask for new URLs.")
    try:
        given = base64.b64decode(content_md5 or "", validate=True).hex()
    except (binascii.Error, ValueError):
        given = ""
    if given != md5:
        raise Forbidden(
            "Send the Content-MD5 header this upload URL was made for (the base64 MD5 "
            "given to POST /zarr/{id}/files/)."
        )


def store_entry(
    archive: Archive, *, zarr_id: str, path: str, md5: str, size: int, source: Path
) -> None:
    """Make the received file `source` the entry `path`, under a new storage key (the
    store takes the file over)."""
    key = f"zarrs/{zarr_id[:3]}/{zarr_id}/{uuid.uuid4()}"
    archive.store.adopt_file(key, source)
    released: list[str] = []
    try:
        with archive.db.write() as s:
            # the Zarr's row locked (PostgreSQL; SQLite writes one at a time anyway), so
            # two PUTs of the same new path cannot both insert it
            z = s.get(Zarr, zarr_id, with_for_update=True)
            if z is None or z.frozen:
                raise NotFound(f"Zarr {zarr_id} does not exist.")
            _writable(z)
            row = s.scalar(
                select(ZarrEntry).where(ZarrEntry.zarr_id == zarr_id, ZarrEntry.path == path)
            )
            if row is None:
                row = ZarrEntry(zarr_id=zarr_id, path=path)
                s.add(row)
            else:
                released.append(row.storage_key)
            row.storage_key, row.md5, row.size, row.modified = key, md5, size, utcnow()
            mark_pending(z)
    except Exception:
        archive.store.delete(key)
        raise
    _release(archive, released)


def drop_zarrs(s: Session, *, dataset_id: int) -> list[str]:
    """Delete a dataset's Zarrs and their entry rows; return the storage keys they named
    (for `release_keys` after the commit)."""
    ids = list(s.scalars(select(Zarr.id).where(Zarr.dataset_id == dataset_id)))
    if not ids:
        return []
    keys = list(s.scalars(select(ZarrEntry.storage_key).where(ZarrEntry.zarr_id.in_(ids))))
    s.execute(delete(ZarrEntry).where(ZarrEntry.zarr_id.in_(ids)))
    s.execute(delete(Zarr).where(Zarr.id.in_(ids)))
    return keys


def release_keys(archive: Archive, keys: list[str]) -> None:
    _release(archive, keys)


def _release(archive: Archive, keys: list[str]) -> None:
    """Delete the storage objects no entry row names any more (frozen copies keep theirs)."""
    if not keys:
        return
    with archive.db.read() as s:
        kept = set(s.scalars(select(ZarrEntry.storage_key).where(ZarrEntry.storage_key.in_(keys))))
    for key in set(keys) - kept:
        archive.store.delete(key)


def delete_files(archive: Archive, *, zarr_id: str, user: User | None, files: Any) -> None:
    """`DELETE /zarr/{id}/files/` with `[{path}]`: every path must exist, or none goes."""
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise BadRequest("Send a list of {'path': ...} objects.")
    if len(files) > DELETE_BATCH:
        raise BadRequest(
            f"At most {DELETE_BATCH} files per request (got {len(files)}); send them in batches."
        )
    paths = [validate_entry_path(f.get("path")) for f in files]
    with archive.db.write() as s:
        z, _dataset = load_zarr(s, zarr_id=zarr_id, user=user, edit=True)
        _writable(z)
        rows = {
            e.path: e.storage_key
            for e in s.scalars(
                select(ZarrEntry).where(ZarrEntry.zarr_id == z.id, ZarrEntry.path.in_(paths))
            )
        }
        missing = [p for p in paths if p not in rows]
        if missing:
            raise BadRequest(f"File {missing[0]!r} does not exist in this Zarr.")
        s.execute(delete(ZarrEntry).where(ZarrEntry.zarr_id == z.id, ZarrEntry.path.in_(paths)))
        mark_pending(z)
        refresh_drafts(s, z)
    _release(archive, list(rows.values()))


# -- finalizing: DANDI's Zarr checksum ---------------------------------------------------


def finalize(archive: Archive, *, zarr_id: str, user: User | None) -> None:
    """`POST /zarr/{id}/finalize/`: queue the checksum (archive/zarr_pipeline.py)."""
    with archive.db.write() as s:
        z, _dataset = load_zarr(s, zarr_id=zarr_id, user=user, edit=True)
        if z.status != "Pending":
            raise BadRequest(INGEST_ERROR)
        z.status = "Uploaded"
        enqueue(s, kind=INGEST, key=z.id, payload={"zarr_id": z.id}, priority=50)


def freeze(s: Session, z: Zarr) -> Zarr:
    """A frozen copy of a Complete Zarr for a published version: its own row, with copies
    of the entry rows that share their storage objects."""
    copy = Zarr(
        id=str(uuid.uuid4()),
        dataset_id=z.dataset_id,
        name=z.name,
        status=z.status,
        checksum=z.checksum,
        file_count=z.file_count,
        size=z.size,
        frozen=True,
        created=z.created,
        modified=z.modified,
    )
    s.add(copy)
    s.flush()
    columns = [ZarrEntry.path, ZarrEntry.storage_key, ZarrEntry.md5, ZarrEntry.size]
    source = select(literal(copy.id), *columns, ZarrEntry.modified).where(ZarrEntry.zarr_id == z.id)
    s.execute(
        insert(ZarrEntry).from_select(
            ["zarr_id", "path", "storage_key", "md5", "size", "modified"], source
        )
    )
    return copy


# -- the seam for Zarr formats ------------------------------------------------------------


class ZarrStore(Mapping[str, bytes]):
    """A Zarr's entries as a read-only mapping of relative paths to bytes.

    Nothing is read up front: a key's storage object is looked up (one indexed query)
    and read when it is asked for, so opening a Zarr of a million files costs nothing.
    zarr-python 2 opens it directly: `zarr.open_group(store, mode="r")`.
    """

    def __init__(self, archive: Archive, zarr_id: str, cache_key: str | None = None) -> None:
        self._archive = archive
        self.zarr_id = zarr_id
        # names the content (the DANDI checksum of a Complete Zarr): readers may cache by it
        self.cache_key = cache_key

    def _key(self, path: str) -> str | None:
        with self._archive.db.read() as s:
            return s.scalar(
                select(ZarrEntry.storage_key).where(
                    ZarrEntry.zarr_id == self.zarr_id, ZarrEntry.path == path
                )
            )

    def __getitem__(self, path: str) -> bytes:
        key = self._key(path) if isinstance(path, str) else None
        if key is None:
            raise KeyError(path)
        try:
            return self._archive.store.read(key)
        except NotFound:
            raise KeyError(path) from None

    # zarr-python 2 wraps a store only if it has these too; it never calls them in "r" mode
    def __setitem__(self, path: str, value: bytes) -> None:
        raise TypeError("A Zarr of the archive is read-only here.")

    def __delitem__(self, path: str) -> None:
        raise TypeError("A Zarr of the archive is read-only here.")

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self._key(path) is not None

    def __iter__(self) -> Iterator[str]:
        after = ""
        while True:
            with self._archive.db.read() as s:
                page = list(
                    s.scalars(
                        select(ZarrEntry.path)
                        .where(ZarrEntry.zarr_id == self.zarr_id, ZarrEntry.path > after)
                        .order_by(ZarrEntry.path)
                        .limit(MAX_LISTING)
                    )
                )
            yield from page
            if len(page) < MAX_LISTING:
                return
            after = page[-1]

    def __len__(self) -> int:
        with self._archive.db.read() as s:
            count = s.scalar(
                select(func.count()).select_from(ZarrEntry).where(ZarrEntry.zarr_id == self.zarr_id)
            )
        return int(count or 0)


def open_zarr_store(archive: Archive, zarr_id: str) -> Mapping[str, bytes]:
    """The Zarr `zarr_id` as a lazy, read-only `Mapping[str, bytes]` (see ZarrStore)."""
    check_uuid(zarr_id, what="Zarr")
    with archive.db.read() as s:
        z = s.get(Zarr, zarr_id)
        if z is None:
            raise NotFound(f"Zarr {zarr_id} was not found.")
        key = f"zarr:{z.checksum}" if z.status == "Complete" and z.checksum else None
    return ZarrStore(archive, zarr_id, cache_key=key)
