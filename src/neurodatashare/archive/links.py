"""External links between the files of one dataset version (split files).

A file may keep part of its content in a sibling file through HDF5 external links. The
archive follows such a link when the linked file is an asset of the same dataset version
at the relative path the link names; every other link is shown as missing. The explorer
gets the followed links as open files (:func:`followed`), the tree shows the linked
objects in place (:func:`graft_tree`), and the streaming index served for the asset
gets the linked objects' entries from the sibling's own index (:func:`graft_index`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, Dataset, Version, VersionAsset
from neurodatashare.nwb.links import (
    INDEX_LINKS_KEY,
    ExternalLink,
    Followed,
    missing_message,
    sibling_path,
)


@dataclass
class Sibling:
    link: ExternalLink
    asset: Asset | None
    message: str | None


def siblings(
    s: Session, *, asset: Asset, dataset: Dataset, links: list[ExternalLink]
) -> list[Sibling]:
    """Each link with the asset it names in a version of `dataset` holding `asset`."""
    versions = s.scalars(
        select(Version.id)
        .join(VersionAsset, VersionAsset.version_id == Version.id)
        .where(Version.dataset_id == dataset.id, VersionAsset.asset_id == asset.id)
        .order_by(Version.id.desc())
    ).all()
    out = []
    for link in links:
        path = sibling_path(asset.path, link.file)
        found = None
        if path is not None and versions:
            found = s.scalars(
                select(Asset)
                .join(VersionAsset, VersionAsset.asset_id == Asset.id)
                .where(VersionAsset.version_id.in_(versions), VersionAsset.path == path)
                .order_by(VersionAsset.version_id.desc())
                .limit(1)
            ).first()
        message = None if found is not None else missing_message(link, sibling=path)
        out.append(Sibling(link=link, asset=found, message=message))
    return out


@contextmanager
def followed(archive: Archive, found: list[Sibling]) -> Iterator[list[Followed]]:
    """The links as the explorer follows them, sibling files open for the block (from
    the archive's cache of open files, archive/blob_files.py)."""
    with ExitStack() as stack:
        out = []
        opened: dict[str, Any] = {}
        for sib in found:
            h5 = None
            message = sib.message
            if sib.asset is not None and sib.asset.blob is None:
                message = f"{sib.link.file} is a Zarr asset; links into it are not followed."
            elif sib.asset is not None and sib.asset.blob is not None:
                blob = sib.asset.blob
                if blob.id not in opened:
                    try:
                        entry = archive.files.acquire(archive.store, blob_id=blob.id, key=blob.key)
                    except OSError:
                        opened[blob.id] = None
                    else:
                        stack.callback(archive.files.release, entry)
                        opened[blob.id] = entry.h5
                h5 = opened[blob.id]
                if h5 is None:
                    message = f"{sib.link.file} cannot be read as an HDF5 file."
            out.append(
                Followed(
                    link=sib.link,
                    h5=h5,
                    asset_id=sib.asset.id if sib.asset is not None else None,
                    asset_path=sib.asset.path if sib.asset is not None else None,
                    message=message,
                )
            )
        yield out


def graft_tree(entries: list[dict[str, Any]], links: list[Followed]) -> list[dict[str, Any]]:
    """The tree with each followed link's objects in place, and the links on the root."""
    from neurodatashare.nwb.explore import describe_tree

    if not links:
        return entries
    entries[0]["external_links"] = [
        {
            "path": f.link.path,
            "file": f.link.file,
            "target": f.link.target,
            "asset_id": f.asset_id if f.h5 is not None else None,
            "asset_path": f.asset_path if f.h5 is not None else None,
            "status": "followed" if f.h5 is not None else "missing",
            "message": f.message,
        }
        for f in links
    ]
    trees: dict[int, list[dict[str, Any]]] = {}
    for f in links:
        if f.h5 is None:
            continue
        tree = trees.setdefault(id(f.h5), describe_tree(f.h5))
        target = f.link.target.rstrip("/") or "/"
        for entry in tree:
            path = entry["path"]
            if path != target and not path.startswith(target.rstrip("/") + "/"):
                continue
            copy = dict(entry)
            copy["path"] = f.link.path + path[len(target) :] if target != "/" else path
            copy["name"] = copy["path"].rsplit("/", 1)[-1]
            copy["external"] = {"file": f.link.file, "asset_id": f.asset_id, "path": path}
            entries.append(copy)
    return entries


def _index_links(body: bytes) -> tuple[dict[str, Any], list[ExternalLink]] | None:
    if not body.startswith(b'{"' + INDEX_LINKS_KEY.encode() + b'"'):
        return None
    rfs = json.loads(body)
    links = [ExternalLink(**x) for x in rfs.pop(INDEX_LINKS_KEY)]
    return rfs, links


def graft_index(
    archive: Archive,
    s: Session,
    *,
    asset: Asset,
    dataset: Dataset,
    body: bytes,
    url_for: Callable[[str], str],
) -> dict[str, Any] | None:
    """The asset's index with its followed links' objects added from the siblings'
    indexes (chunk references to each sibling's own URL, `url_for(asset_id)`), or None
    when it has no links."""
    from neurodatashare.db.models import Derived
    from neurodatashare.formats.nwb import INDEX_KIND

    parsed = _index_links(body)
    if parsed is None:
        return None
    rfs, links = parsed
    templates: dict[str, str] = {}
    for n, sib in enumerate(siblings(s, asset=asset, dataset=dataset, links=links)):
        if sib.asset is None:
            continue
        row = s.scalar(
            select(Derived).where(Derived.blob_id == sib.asset.blob_id, Derived.kind == INDEX_KIND)
        )
        if row is None or row.storage_key is None:
            continue
        other = json.loads(archive.store.read(row.storage_key))
        other.pop(INDEX_LINKS_KEY, None)
        name = f"x{n}"
        source = sib.link.target.strip("/")
        place = sib.link.path.strip("/")
        grafted = 0
        for key, value in other["refs"].items():
            if source and key != source and not key.startswith(source + "/"):
                continue
            new_key = place + key[len(source) :] if source else f"{place}/{key}"
            if isinstance(value, list) and value and value[0] == "{{u}}":
                value = [f"{{{{{name}}}}}", *value[1:]]
            elif isinstance(value, dict) and "_EXTERNAL_ARRAY_LINK" in value:
                # a sibling's dataset with a chunk table (nwb/chunk_tables.py): its table
                # is the sibling's, so readers take lindi's link, to the sibling's bytes
                link = {**value["_EXTERNAL_ARRAY_LINK"], "url": url_for(sib.asset.id)}
                value = {**value, "_EXTERNAL_ARRAY_LINK": link}
            rfs["refs"][new_key] = value
            grafted += 1
        if grafted:
            templates[name] = url_for(sib.asset.id)
    rfs["nds_templates"] = templates
    return rfs


_BLOB_LINKS: dict[str, tuple[ExternalLink, ...]] = {}
_BLOB_LINKS_MAX = 4096


def blob_links(blob_id: str, h5: Any) -> list[ExternalLink]:
    """The file's external links, listed once per blob (blobs never change)."""
    from neurodatashare.nwb.links import external_links

    found = _BLOB_LINKS.get(blob_id)
    if found is None:
        found = tuple(external_links(h5))
        if len(_BLOB_LINKS) >= _BLOB_LINKS_MAX:
            _BLOB_LINKS.clear()
        _BLOB_LINKS[blob_id] = found
    return list(found)
