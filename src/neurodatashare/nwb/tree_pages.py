"""The file's object tree a page at a time: breadth-first below a group, cut at a limit.

`describe_tree` (nwb/explore.py) describes every object of a file in one answer; for a file
with tens of thousands of objects that is megabytes and seconds. Here only the objects of
the requested page are described (their attributes, views, shapes), breadth-first, so the
first page of any file holds its top levels and a group's further children are asked for
when it is opened. Each group entry says how many children it has (``child_count``), so a
reader knows whether it holds them all.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import h5py

from neurodatashare.errors import BadRequest, NotFound
from neurodatashare.nwb.explore import _entry, _Types

MAX_PAGE = 5_000
DEFAULT_PAGE = 1_000


def _norm_group(h5: h5py.File, path: str) -> str:
    path = "/" + path.strip("/") if path.strip("/") else "/"
    obj = h5.get(path)
    if obj is None:
        raise NotFound(f"There is no object {path} in this file.")
    if not isinstance(obj, h5py.Group):
        raise BadRequest(f"{path} is a dataset, not a group; it has no children.")
    return path


def _child(path: str, name: str) -> str:
    return f"/{name}" if path == "/" else f"{path}/{name}"


def tree_page(
    h5: h5py.File,
    *,
    path: str = "/",
    depth: int | None = None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> dict[str, Any]:
    """Entries below group `path`, breadth-first, `depth` levels deep (None: all).

    Returns ``{"path", "depth", "offset", "limit", "nodes", "next_offset"}``. On the first
    page (offset 0) the group itself comes first. ``next_offset`` is None when the page
    holds everything that was asked for. Entries are those of ``describe_tree`` plus
    ``child_count`` on groups; soft and external links are listed in their group's
    ``links``, not as entries.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"'limit' must be between 1 and {MAX_PAGE}.")
    root = _norm_group(h5, path)
    types = _Types(h5)
    nodes: list[dict[str, Any]] = []
    seen = 0  # positions walked, including skipped ones
    queue: deque[tuple[str, int]] = deque([(root, 0)])
    more = False
    expanded: set[Any] = set()  # groups hard-linked twice are walked once (no cycles)

    def add(obj: Any, obj_path: str) -> None:
        entry = _entry(obj, obj_path, types, h5)
        if isinstance(obj, h5py.Group):
            links: dict[str, str] = {}
            count = 0
            for name in obj:
                link = obj.get(name, getlink=True)
                if isinstance(link, h5py.SoftLink):
                    links[name] = link.path
                elif isinstance(link, h5py.ExternalLink):
                    links[name] = f"{link.filename}:{link.path}"
                else:
                    count += 1
            entry["links"] = links
            entry["child_count"] = count
        nodes.append(entry)

    expanded.add(h5[root].id)
    if offset == 0:
        add(h5[root], root)
    while queue and not more:
        group_path, level = queue.popleft()
        if depth is not None and level >= depth:
            continue
        group = h5[group_path]
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
                continue
            child_path = _child(group_path, name)
            try:
                obj = group[name]
            except (KeyError, OSError, RuntimeError):
                continue
            if isinstance(obj, h5py.Group) and obj.id not in expanded:
                expanded.add(obj.id)
                queue.append((child_path, level + 1))
            seen += 1
            if seen <= offset:
                continue
            if len(nodes) >= limit + (1 if offset == 0 else 0):
                more = True
                break
            add(obj, child_path)
    return {
        "path": root,
        "depth": depth,
        "offset": offset,
        "limit": limit,
        "nodes": nodes,
        "next_offset": seen - 1 if more else None,
    }
