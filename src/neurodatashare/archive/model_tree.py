"""The elements view's service: a NeuroML file's element tree (formats/neuroml_tree.py)
with the asset's validation findings on the elements they name, and each `<include>`
resolved to the asset of the same dataset version it names.

Access is checked first (visible_asset). Parsed files are kept in a small cache by blob id
(blobs never change), so opening a node of a big network reads nothing again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from neurodatashare.archive.access import blob_of, visible_asset
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.errors import BadRequest, NotFound

CAPACITY = 4  # parsed documents kept (an lxml tree takes about 10x its file in memory)
MAX_BYTES = 128 * 1024 * 1024
MAX_LIMIT = 500
_cache: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _document(archive: Archive, *, blob_id: str, key: str, path: str) -> Any:
    from neurodatashare.formats import neuroml_tree

    with _lock:
        if blob_id in _cache:
            _cache.move_to_end(blob_id)
            return _cache[blob_id]
    with archive.store.open(key) as f:
        data = f.read()
    try:
        doc = neuroml_tree.parse(data)
    except ValueError as exc:
        raise BadRequest(f"{path} cannot be read: {exc}") from None
    with _lock:
        _cache[blob_id] = doc
        while len(_cache) > CAPACITY:
            _cache.popitem(last=False)
    return doc


def _walk(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("children") or []:
        yield from _walk(child)


def elements(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    path: str = "/",
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """The element at `path` with a page of its children and as much below them as the
    node budget allows, plus the document's state (`partial`, `message`)."""
    from neurodatashare.archive import processing
    from neurodatashare.archive.model_links import asset_at, home_version
    from neurodatashare.formats import format_for, neuroml_tree
    from neurodatashare.formats.neuroml import CORE_INCLUDES
    from neurodatashare.formats.neuroml_links import resolve_href

    with archive.db.read() as s:
        asset, dataset = visible_asset(s, asset_id=asset_id, user=user)
        blob = blob_of(asset)
        apath, blob_id, key, size = asset.path, blob.id, blob.key, blob.size
        if format_for(apath).name != "neuroml":
            raise BadRequest(f"{apath} is not a NeuroML file, so it has no element tree.")
        if size > MAX_BYTES:
            raise BadRequest(
                f"{apath} is {size:,} bytes; the element tree reads files up to {MAX_BYTES:,}."
            )
        report = processing.asset_report(s, blob_id=blob_id, path=apath)
        doc = _document(archive, blob_id=blob_id, key=key, path=apath)
        placed = neuroml_tree.place(doc, report["results"])
        try:
            root = neuroml_tree.subtree(
                doc, path=path, offset=offset, limit=min(max(limit, 1), MAX_LIMIT), placed=placed
            )
        except LookupError as exc:
            raise NotFound(str(exc)) from None
        version = home_version(s, asset_id=asset.id, dataset=dataset)
        for node in _walk(root):
            if node["kind"] != "include" or "href" not in node["attrs"]:
                continue
            href = node["attrs"]["href"]
            if href.rsplit("/", 1)[-1] in CORE_INCLUDES:
                node["include"] = {"core": True, "path": None, "asset_id": None}
                continue
            target = resolve_href(href, apath)
            found = asset_at(s, version=version, path=target) if target and version else None
            node["include"] = {
                "path": target,
                "asset_id": None if found is None else found.id,
            }
    return {
        "asset_id": asset_id,
        "path": path,
        "offset": offset,
        "elements": doc.count,
        "partial": doc.partial,
        "message": doc.message,
        "report": report["status"],
        "findings": len(report["results"]),
        "root": root,
    }
