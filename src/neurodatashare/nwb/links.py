"""HDF5 external links: found without following them, followed only into sibling assets.

An HDF5 external link names another file and an object in it. HDF5 follows such a link
by itself, opening that file by name: an absolute path as it is, a relative one beside
the file or in the working directory. On a server that would let an uploaded file make
the archive read any HDF5 file it can reach, so :func:`isolate` makes HDF5 open no
other file on its own (h5py has no per-file switch for this, hence the small hook
below). The explorer and the streaming index then follow a link themselves when its
target is a file of the same dataset version (a relative path from the linking file's
folder), and show every other link as missing, with :func:`missing_message`.

While the explorer reads a file, :data:`FOLLOW` holds the links it may follow;
:func:`follow` (used when a path is not in the file) goes through them.
"""

from __future__ import annotations

import io
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import h5py

#: External links listed per file at most (a file with more is listed up to here).
MAX_LINKS = 1000
#: A streaming index's own record of the links it left out (first key of the document).
INDEX_LINKS_KEY = "nds_external_links"


@dataclass(frozen=True)
class ExternalLink:
    path: str  # where the link is in this file, like /acquisition/raw
    file: str  # the file name stored in the link
    target: str  # the object path in that file


@dataclass
class Followed:
    """A link as the explorer sees it: into an open sibling file, or missing."""

    link: ExternalLink
    h5: h5py.File | None  # the sibling file, open; None when the link is missing
    asset_id: str | None
    asset_path: str | None
    message: str | None  # why it is missing


FOLLOW: ContextVar[list[Followed] | None] = ContextVar("nds_external_links", default=None)

_isolated = False


def isolate() -> None:
    """Make HDF5 open no file by itself when a link points into another one (idempotent).

    h5py reads every link with its default link-access property list, which is None
    (HDF5's default: open the linked file by name). Setting it to a list whose external-
    file access goes to an empty in-memory file makes every such open fail, so a link
    reads as absent (`get` gives None), everywhere in this process.
    """
    global _isolated
    if _isolated:
        return
    from h5py import h5fd, h5p
    from h5py._hl import base

    fapl = h5p.create(h5p.FILE_ACCESS)
    fapl.set_fileobj_driver(h5fd.fileobj_driver, io.BytesIO())
    lapl = h5p.create(h5p.LINK_ACCESS)
    lapl.set_elink_fapl(fapl)
    base.dlapl = lapl
    _isolated = True


def external_links(h5: h5py.File, *, limit: int = MAX_LINKS) -> list[ExternalLink]:
    """Every external link in the file, without following any."""
    found: list[ExternalLink] = []

    def visit(name: str, link: Any) -> bool | None:
        if isinstance(link, h5py.ExternalLink):
            found.append(ExternalLink(path="/" + name, file=link.filename, target=link.path))
            if len(found) >= limit:
                return True
        return None

    with suppress(OSError, RuntimeError, KeyError, ValueError):
        h5.visititems_links(visit)
    return found


def sibling_path(asset_path: str, link_file: str) -> str | None:
    """The dataset path a link's file names, relative to the linking asset's folder; None
    when it is absolute, leaves the dataset, or is otherwise not a plain relative path."""
    if not link_file or "\\" in link_file or ":" in link_file or link_file.startswith("/"):
        return None
    parts = list(PurePosixPath(asset_path).parent.parts)
    for part in PurePosixPath(link_file).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or None


def missing_message(link: ExternalLink, *, sibling: str | None) -> str:
    where = f"{link.target} in {link.file}"
    if sibling is None:
        return (
            f"{link.path} is an external link to {where}, outside this dataset; "
            "the archive shows it as missing."
        )
    return (
        f"{link.path} is an external link to {where}, which is not a file of this dataset "
        f"version (looked for {sibling}); the archive shows it as missing."
    )


def _split(path: str, links: list[Followed]) -> tuple[Followed, str] | None:
    """The link a path goes through, and the rest of the path below it."""
    best: tuple[Followed, str] | None = None
    for f in links:
        base = f.link.path
        inside = path == base or path.startswith(base + "/")
        if inside and (best is None or len(base) > len(best[0].link.path)):
            best = (f, path[len(base) :])
    return best


def follow(path: str) -> tuple[Any, str | None]:
    """(object, None) through a followed link, (None, message) through a missing one,
    (None, None) when the path goes through no external link."""
    links = FOLLOW.get()
    if not links:
        return None, None
    hit = _split(path, links)
    if hit is None:
        return None, None
    f, rest = hit
    if f.h5 is None:
        return None, f.message
    target = (f.link.target.rstrip("/") + rest) or "/"
    try:
        obj = f.h5.get(target)
    except (KeyError, ValueError, RuntimeError, OSError):
        obj = None
    if obj is None:
        return None, f"{f.link.file} has no object {target} (linked from {f.link.path})."
    return obj, None


def _is_external(group: h5py.Group, name: str) -> bool:
    try:
        return isinstance(group.get(name, getlink=True), h5py.ExternalLink)
    except (KeyError, OSError, RuntimeError):
        return False


class _Hidden:
    """h5py groups that list no external link (for readers such as lindi's index builder,
    which would otherwise stop at the first link it cannot follow)."""

    def keys(self) -> list[str]:
        group: Any = self
        return [k for k in h5py.Group.__iter__(group) if not _is_external(group, k)]

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __getitem__(self, name: Any) -> Any:
        obj = h5py.Group.__getitem__(self, name)
        if isinstance(obj, h5py.Group) and not isinstance(obj, _Hidden):
            return _HiddenGroup(obj.id)
        return obj


class _HiddenGroup(_Hidden, h5py.Group):
    pass


class _HiddenFile(_Hidden, h5py.File):
    pass


def without_external_links(h5: h5py.File) -> h5py.File:
    """The same open file, seen without its external links."""
    return _HiddenFile(h5.id)
