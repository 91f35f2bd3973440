"""A finished conversion's file before it is uploaded: opened in the explorer, downloaded,
deleted (the runs themselves are in archive/conversions.py).

NWB GUIDE opens its stub previews in Neurosift before anything is shared; here the same
explorer that shows archived files shows a conversion's output. The explorer's routes
are keyed by asset id, so a conversion's file answers to the id `conversion-<job id>`;
only the job's owner can open it, and anyone else gets the answer of an absent asset.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neurodatashare.archive.access import absent
from neurodatashare.archive.blob_files import HDF5Blob, Opened
from neurodatashare.archive.context import Archive
from neurodatashare.archive.conversions import _own, convert_roots, output_dir
from neurodatashare.db.models import User
from neurodatashare.errors import Conflict, NotFound, Unreadable

EXPLORER_PREFIX = "conversion-"


def explorer_id(conversion_id: str) -> str:
    """The id under which the explorer's routes (/api/assets/{id}/explore/) show the file."""
    return EXPLORER_PREFIX + conversion_id


def conversion_of(asset_id: str) -> str | None:
    """The conversion job an explorer id names, or None for an ordinary asset id."""
    return asset_id.removeprefix(EXPLORER_PREFIX) if asset_id.startswith(EXPLORER_PREFIX) else None


def output_file(archive: Archive, *, user: User, conversion_id: str) -> tuple[Path, str]:
    """The finished job's file on the server's disk and its name, for its owner only."""
    convert_roots(archive)
    with archive.db.read() as s:
        row = _own(s, user=user, conversion_id=conversion_id)
        state, result, folder = row.state, dict(row.result or {}), output_dir(archive, row)
    if state != "done" or not result.get("file"):
        raise Conflict(f"The {row.kind} is {state}; its file can be opened when it is done.")
    path = folder / str(result["file"])
    if not path.is_file():
        raise NotFound(f"The file of {row.kind} {conversion_id} is no longer on the server.")
    return path, str(result["file"])


def _explorer_file(archive: Archive, *, user: User | None, asset_id: str) -> tuple[Path, str]:
    """`output_file` for an explorer id: a job that is not the caller's (or none) gets the
    answer of an absent asset, as visible_asset gives it."""
    if user is None:
        raise absent(f"Asset {asset_id}", user)
    try:
        return output_file(archive, user=user, conversion_id=conversion_of(asset_id) or "")
    except NotFound:
        raise absent(f"Asset {asset_id}", user) from None


@contextmanager
def opened_output(archive: Archive, *, user: User | None, asset_id: str) -> Iterator[Opened]:
    """The conversion's file opened for the explorer, as explorer.opened opens an asset.

    Not cached: a preview is opened by one person for a few minutes, and each request
    opens a small local file in milliseconds.
    """
    path, name = _explorer_file(archive, user=user, asset_id=asset_id)
    try:
        entry = Opened(blob_id="", file=HDF5Blob.at(path))
    except OSError as exc:
        raise Unreadable(f"{name} cannot be read as an HDF5/NWB file ({exc}).") from None
    try:
        yield entry
    finally:
        entry.close()


def cache_key(archive: Archive, *, user: User | None, asset_id: str) -> str:
    """What the tree's page cache keys the file by: the job and the file's bytes on disk."""
    path, _name = _explorer_file(archive, user=user, asset_id=asset_id)
    stat = path.stat()
    return f"{asset_id}:{stat.st_size}:{stat.st_mtime_ns}"


def delete(archive: Archive, *, user: User, conversion_id: str) -> None:
    """Forget the job and remove its file (an uploaded copy in a dataset stays)."""
    convert_roots(archive)
    with archive.db.write() as s:
        row = _own(s, user=user, conversion_id=conversion_id)
        if row.state in ("queued", "running"):
            raise Conflict(f"The {row.kind} is {row.state}; delete it when it has finished.")
        folder = output_dir(archive, row)
        s.delete(row)
    shutil.rmtree(folder, ignore_errors=True)
