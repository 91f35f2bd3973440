"""Server folders conversion may read (NDS_CONVERT_ROOTS), and nothing else.

A path from a request is a full server path. It is refused unless it is under one of
the roots as written (no '.' or '..' folders, no '//', no control or invisible
characters, no backslashes) and no folder on the way down from the root, nor the file
itself, is a symbolic link: a link could point anywhere, so it is never followed.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path
from typing import Any

from neurodatashare.archive.context import Archive
from neurodatashare.archive.paths import _INVISIBLE, MAX_PATH, _describe_char
from neurodatashare.errors import BadRequest, Forbidden, NotFound

NOT_ENABLED = (
    "Conversion is not enabled on this archive: the administrator lists the server folders "
    "it may read in NDS_CONVERT_ROOTS (docs/settings.md)."
)
MAX_ENTRIES = 2000  # a folder listing stops here (and says it was cut)


def convert_roots(archive: Archive) -> list[Path]:
    """The roots, or a 403 saying conversion is off."""
    roots = archive.settings.resolved_convert_roots
    if not roots:
        raise Forbidden(NOT_ENABLED)
    return roots


def server_path(archive: Archive, path: Any, *, what: str = "path", exists: bool = True) -> Path:
    """`path` as a Path under a root, checked as described above; else a 4xx naming it."""
    roots = convert_roots(archive)
    listed = ", ".join(str(r) for r in roots)
    if not isinstance(path, str) or not path.strip():
        raise BadRequest(f"{what}: give a full server path under one of: {listed}.")
    path = unicodedata.normalize("NFC", path)
    for ch in path:
        if unicodedata.category(ch) in _INVISIBLE:
            raise BadRequest(
                f"{what} {path!r} contains the invisible character {_describe_char(ch)}."
            )
    if len(path) > MAX_PATH * 2:
        raise BadRequest(f"{what}: paths may be at most {MAX_PATH * 2} characters.")
    if "\\" in path:
        raise BadRequest(f"{what} {path!r} contains a backslash; separate folders with '/'.")
    if not path.startswith("/"):
        raise BadRequest(f"{what} {path!r} is relative; give the full server path under: {listed}.")
    trimmed = path.rstrip("/") or "/"
    parts = trimmed.split("/")[1:]
    if any(p == "" for p in parts):
        raise BadRequest(f"{what} {path!r} has an empty folder name ('//').")
    if any(p in (".", "..") for p in parts):
        raise BadRequest(f"{what} {path!r} may not contain '.' or '..' folders.")
    candidate = Path(trimmed)
    root = next((r for r in roots if candidate == r or r in candidate.parents), None)
    if root is None:
        raise Forbidden(
            f"{what} {path!r} is outside the folders conversion may read on this server: {listed}."
        )
    here = root
    for part in candidate.relative_to(root).parts:
        here = here / part
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            if not exists:
                return candidate
            raise NotFound(
                f"{what} {path!r}: no such file or folder ({here} is missing)."
            ) from None
        except OSError as exc:
            raise Forbidden(f"{what} {path!r}: cannot be read ({exc.strerror}).") from None
        if stat.S_ISLNK(info.st_mode):
            raise Forbidden(
                f"{what} {path!r}: {here} is a symbolic link; conversion does not follow links "
                "(give the real folder, under the roots)."
            )
    return candidate


def browse(archive: Archive, *, path: str | None) -> dict[str, Any]:
    """A folder's entries (folders first), or the roots when no path is given."""
    roots = convert_roots(archive)
    if not path:
        entries = [_entry(r, name=str(r)) for r in roots if r.is_dir()]
        return {
            "path": None,
            "parent": None,
            "roots": [str(r) for r in roots],
            "entries": entries,
            "truncated": False,
        }
    folder = server_path(archive, path)
    if not folder.is_dir():
        raise BadRequest(f"path {path!r} is a file, not a folder.")
    entries = []
    truncated = False
    with os.scandir(folder) as it:
        for entry in sorted(it, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name)):
            if len(entries) >= MAX_ENTRIES:
                truncated = True
                break
            entries.append(_entry(Path(entry.path), name=entry.name))
    parent = None if folder in roots else str(folder.parent)
    return {
        "path": str(folder),
        "parent": parent,
        "roots": [str(r) for r in roots],
        "entries": entries,
        "truncated": truncated,
    }


def _entry(path: Path, *, name: str) -> dict[str, Any]:
    info = os.lstat(path)
    kind = (
        "symlink"
        if stat.S_ISLNK(info.st_mode)
        else "folder"
        if stat.S_ISDIR(info.st_mode)
        else "file"
    )
    return {
        "name": name,
        "path": str(path),
        "type": kind,
        "size": info.st_size if kind == "file" else None,
    }
