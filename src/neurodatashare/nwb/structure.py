"""A survey of an NWB file's HDF5 structure, made with h5py before pynwb reads it.

pynwb hides or trips over what this finds: it does not say that an external link points
at a file that is not there, silently drops objects of types it does not know, and runs
into a RecursionError on soft-link cycles and very deep nesting. The survey names each
of these so validation can report it and extraction can carry on without it.

The walk is written here (not h5py's `visititems`) because h5py's visitors resolve every
name from the root, which takes minutes on a file nested a few thousand groups deep; this
one opens each child relative to its parent, stops at MAX_DEPTH and MAX_LINKS, and never
follows soft or external links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h5py

# NWB files are rarely more than ten groups deep; pynwb reads recursively and fails at
# about 1000 (Python's recursion limit), so anything past this is reported and not read.
MAX_DEPTH = 100
MAX_LINKS = 200_000
# A dataset that needs this much memory read whole, from at least this many times fewer
# bytes on disk, is reported as a possible compression bomb.
BOMB_MIN_BYTES = 2**30
BOMB_MIN_RATIO = 100

VERSION_RE = re.compile(r"(?:NWB-)?(\d+)\.(\d+)\.(\d+)(?:[.-].*)?")


@dataclass(frozen=True)
class Link:
    """A soft or external link at `path`; `file` is set for external links."""

    path: str
    target: str
    file: str | None = None


@dataclass(frozen=True)
class Bomb:
    path: str
    stored_bytes: int
    nominal_bytes: int


@dataclass
class Survey:
    nwb_version: str | None = None
    external_links: list[Link] = field(default_factory=list)
    soft_links: list[Link] = field(default_factory=list)
    dangling_links: list[Link] = field(default_factory=list)
    too_deep: str | None = None  # the first group found deeper than MAX_DEPTH
    depth: int = 0
    incomplete: bool = False  # MAX_LINKS reached; the rest was not surveyed
    typed: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (ns, type)
    bombs: list[Bomb] = field(default_factory=list)

    @property
    def cycles(self) -> list[Link]:
        return soft_link_cycles(self.soft_links)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _bomb(path: str, ds: h5py.Dataset) -> Bomb | None:
    try:
        nominal = int(ds.size) * int(ds.dtype.itemsize)
        if nominal < BOMB_MIN_BYTES:
            return None
        stored = int(ds.id.get_storage_size())
    except Exception:
        return None
    if nominal >= BOMB_MIN_RATIO * max(stored, 1):
        return Bomb(path, stored, nominal)
    return None


def survey(h5: h5py.File) -> Survey:
    """Walk the file once, depth first, without following soft or external links."""
    import h5py

    out = Survey(nwb_version=_text(h5.attrs.get("nwb_version")))
    seen: set[tuple[int, int]] = set()  # hard links can loop too: visit each group once
    stack: list[tuple[h5py.Group, str, int]] = [(h5, "", 0)]
    links = 0
    while stack:
        group, path, depth = stack.pop()
        out.depth = max(out.depth, depth)
        if depth > MAX_DEPTH:
            out.too_deep = out.too_deep or path
            continue
        try:
            names = list(group)
        except Exception:
            continue
        for name in names:
            links += 1
            if links > MAX_LINKS:
                out.incomplete = True
                return out
            child_path = f"{path}/{name}"
            try:
                link = group.get(name, getlink=True)
            except Exception:
                continue
            if isinstance(link, h5py.ExternalLink):
                out.external_links.append(Link(child_path, link.path, file=link.filename))
                continue
            if isinstance(link, h5py.SoftLink):
                target = "/" + link.path.strip("/")
                out.soft_links.append(Link(child_path, target))
                if group.file.get(target, getlink=True) is None:
                    out.dangling_links.append(Link(child_path, target))
                continue
            try:
                obj = group.get(name)
            except Exception:
                continue
            if obj is None:
                continue
            ndtype = _text(obj.attrs.get("neurodata_type"))
            if ndtype:
                out.typed[child_path] = (_text(obj.attrs.get("namespace")) or "", ndtype)
            if isinstance(obj, h5py.Dataset):
                if (bomb := _bomb(child_path, obj)) is not None:
                    out.bombs.append(bomb)
            elif isinstance(obj, h5py.Group):
                info = h5py.h5o.get_info(obj.id)
                key = (int(info.fileno), int(info.addr))
                if key not in seen:
                    seen.add(key)
                    stack.append((obj, child_path, depth + 1))
    return out


def _within(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def soft_link_cycles(links: list[Link]) -> list[Link]:
    """The soft links a reader that follows links would go round in circles on.

    Following a link to T reads everything under T, including the links there; a link
    is on a cycle if following links from it leads back to a place that contains it.
    """
    cycles = []
    for start in links:
        frontier, visited = [start], {start}
        while frontier:
            link = frontier.pop()
            if _within(start.path, link.target):
                cycles.append(start)
                break
            for nxt in links:
                if nxt not in visited and _within(nxt.path, link.target):
                    visited.add(nxt)
                    frontier.append(nxt)
    return cycles


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of an nwb_version attribute, or None if it is not one."""
    m = VERSION_RE.fullmatch((text or "").strip())
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def unknown_types(found: Survey, type_map: Any) -> list[tuple[str, str, str]]:
    """(path, namespace, type) of every typed object the type map cannot build."""
    catalog = type_map.namespace_catalog
    known_namespaces = set(catalog.namespaces)
    out = []
    for path, (namespace, ndtype) in sorted(found.typed.items()):
        if namespace not in known_namespaces:
            out.append((path, namespace, ndtype))
            continue
        try:
            catalog.get_spec(namespace, ndtype)
        except Exception:
            out.append((path, namespace, ndtype))
    return out


# ------------------------------------------------------------------- split HDF5 files

_DRIVERS = {b"NCSAfami": "family", b"NCSAmult": "multi"}


def split_driver(head: bytes) -> tuple[str, int | None] | None:
    """('family', member size) or ('multi', None) if the superblock names such a driver.

    Read from the superblock's driver information block (HDF5 file format spec, version
    0/1 superblocks): h5py offers no way to ask without opening the file with the right
    driver, which needs every part.
    """
    for signature, driver in _DRIVERS.items():
        at = head.find(signature)
        if 0 <= at < 2048:
            size = None
            if driver == "family" and len(head) >= at + 16:
                size = int.from_bytes(head[at + 8 : at + 16], "little") or None
            return driver, size
    return None
