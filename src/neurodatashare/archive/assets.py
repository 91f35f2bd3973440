"""Assets: a path in a version plus metadata, pointing at a content-addressed blob."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from neurodatashare.archive import blobs, derived, processing, zarr_pipeline, zarr_results
from neurodatashare.archive.access import (
    UUID_RE,
    check_uuid,
    datasets_holding,
    load_dataset,
    visible_asset,
)
from neurodatashare.archive.context import Archive
from neurodatashare.archive.paths import MAX_PATH as MAX_PATH
from neurodatashare.archive.paths import validate_path as validate_path
from neurodatashare.archive.search_index import mark_version_asset
from neurodatashare.archive.versions import load_version, touch_draft
from neurodatashare.db.models import (
    Asset,
    Blob,
    Dataset,
    User,
    Version,
    VersionAsset,
    Zarr,
    utcnow,
)
from neurodatashare.errors import BadRequest, Conflict, MethodNotAllowed, NotFound
from neurodatashare.formats import ZARR_MEDIA_TYPE, format_for, media_type

Ids = tuple[str | None, str | None]  # an asset's (blob id, Zarr id)
# Keys the server computes from the blob and the asset row; never stored.
COMPUTED_KEYS = (
    "id",
    "identifier",
    "path",
    "contentUrl",
    "contentSize",
    "digest",
    "access",
    "nds:format",
    "datePublished",
    "publishedBy",
)


@dataclass(frozen=True)
class Download:
    """Where the bytes of an asset are: a local file, or a URL to redirect to."""

    blob: Blob
    filename: str
    local_path: Any
    url: str | None


def asset_item_json(
    s: Session,
    asset: Asset,
    *,
    with_metadata: bool = False,
    archive: Archive | None = None,
    dataset: Dataset | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "asset_id": asset.id,
        "blob": asset.blob_id,
        "zarr": asset.zarr_id,
        "path": asset.path,
        "size": asset.size,
        "created": asset.created.isoformat(),
        "modified": asset.modified.isoformat(),
    }
    if with_metadata and archive is not None:
        data["metadata"] = asset_metadata_json(s, archive, asset, dataset=dataset)
    return data


def asset_metadata_json(
    s: Session, archive: Archive, asset: Asset, *, dataset: Dataset | None = None
) -> dict[str, Any]:
    """The asset's document: what the client sent, what the archive extracted from the
    file, and the computed fields; it validates against dandischema's Asset model."""
    from dandischema.consts import DANDI_SCHEMA_VERSION

    from neurodatashare.archive import documents

    # What the archive extracted from the file fills in what the client did not send.
    if asset.blob_id is not None:
        extracted = derived.extracted_metadata(s, blob_id=asset.blob_id, path=asset.path)
        encoding = guess_encoding(asset.path)
        # a format can find that a file is not its own (an `.asc` that is not Neurolucida)
        fmt_name = extracted.get("nds:format") or format_for(asset.path).name
    else:  # a Zarr: its Zarr format's results (archive/zarr_results.py)
        extracted = zarr_results.extracted_metadata(s, zarr=asset.zarr, path=asset.path)
        # dandischema accepts a Zarr checksum only with DANDI's Zarr media type
        encoding = ZARR_MEDIA_TYPE
        fmt_name = zarr_results.format_name(asset.path)
    meta = {**extracted, **asset.meta}
    schema_version = meta.get("schemaVersion") or DANDI_SCHEMA_VERSION
    meta.update(
        {
            "@context": documents.context_url(schema_version),
            "schemaKey": "Asset",
            "schemaVersion": schema_version,
            "id": f"dandiasset:{asset.id}",
            "identifier": asset.id,
            "path": asset.path,
            **asset_content_json(archive, asset, s=s),
            "encodingFormat": meta.get("encodingFormat") or encoding,
            "nds:format": fmt_name,
            "access": documents.access_requirements(dataset),
            **documents.asset_publication(archive, s, asset),
        }
    )
    return meta


def asset_content_json(archive: Archive, asset: Asset, *, s: Session) -> dict[str, Any]:
    """`contentSize`, `digest` and `contentUrl` of the asset's bytes (a blob, or a Zarr)."""
    from neurodatashare.archive import documents

    blob = asset.blob
    if blob is None:
        return zarr_results.content_json(s, api_url=archive.api_url, asset=asset)
    digest = {"dandi:dandi-etag": blob.etag}
    if blob.sha256:
        digest["dandi:sha2-256"] = blob.sha256
    return {
        "contentSize": blob.size,
        "digest": digest,
        "contentUrl": documents.content_urls(archive, asset),
    }


def guess_encoding(path: str) -> str:
    """The media type of the asset's format (formats/)."""
    return media_type(path)


def asset_info_json(
    s: Session, archive: Archive, asset: Asset, *, dataset: Dataset | None
) -> dict[str, Any]:
    return asset_item_json(s, asset, with_metadata=True, archive=archive, dataset=dataset)


# -- reading -----------------------------------------------------------------------------


def _version_for(
    s: Session, *, dataset_id: str, version: str, user: User | None, edit: bool = False
) -> tuple[Dataset, Version]:
    dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=edit)
    if edit and version != "draft":
        raise MethodNotAllowed("Published versions cannot change; change the draft instead.")
    return dataset, load_version(s, dataset=dataset, version=version)


def _assets_of(version: Version) -> Any:
    """SELECT the assets of a version (joined to their paths in it)."""
    return (
        select(Asset)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .where(VersionAsset.version_id == version.id)
    )


ASSET_ORDERS = {"created": Asset.created, "modified": Asset.modified, "path": VersionAsset.path}


def list_assets(
    archive: Archive,
    *,
    dataset_id: str,
    version: str,
    user: User | None,
    path: str | None = None,
    glob: str | None = None,
    order: str = "path",
    offset: int = 0,
    limit: int = 100,
    with_metadata: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    column = ASSET_ORDERS.get(order.lstrip("-"))
    if column is None:
        raise BadRequest("order must be created, modified or path, optionally with a leading -.")
    with archive.db.read() as s:
        dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user)
        query = _assets_of(ver)
        if path:
            path = unicodedata.normalize("NFC", path)  # stored paths are NFC
            query = query.where(VersionAsset.path.startswith(path, autoescape=True))
        sort = column.desc() if order.startswith("-") else column.asc()
        query = query.order_by(sort, VersionAsset.path)
        if glob:
            glob = unicodedata.normalize("NFC", glob)
            # Narrow by the literal prefix in SQL (ASCII: SQLite lowers only ASCII), then
            # match the pattern exactly in Python.
            literal = glob.split("*", 1)[0]
            if literal and literal.isascii():
                query = query.where(
                    func.lower(VersionAsset.path).startswith(literal.lower(), autoescape=True)
                )
            pattern = glob_pattern(glob)
            matched = [a for a in s.scalars(query) if pattern.fullmatch(a.path)]
            page = matched[offset : offset + limit]
            total = len(matched)
        else:
            total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
            page = list(s.scalars(query.offset(offset).limit(limit)))
        return total, [
            asset_item_json(s, a, with_metadata=with_metadata, archive=archive, dataset=dataset)
            for a in page
        ]


def glob_pattern(glob: str) -> re.Pattern[str]:
    """DANDI's `glob=`: `*` matches any run of characters, `/` included; everything else
    (`?` and `[` too) is literal; case is ignored."""
    return re.compile(".*".join(map(re.escape, glob.split("*"))), re.IGNORECASE | re.DOTALL)


def list_paths(
    archive: Archive,
    *,
    dataset_id: str,
    version: str,
    user: User | None,
    path_prefix: str = "",
) -> list[dict[str, Any]]:
    """One level of the folder tree under `path_prefix`, with sizes and file counts."""
    prefix = unicodedata.normalize("NFC", path_prefix.strip("/"))
    with archive.db.read() as s:
        _dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user)
        query = _assets_of(ver)
        if prefix:
            query = query.where(VersionAsset.path.startswith(prefix + "/", autoescape=True))
        entries: dict[str, dict[str, Any]] = {}
        for asset in s.scalars(query):
            rest = asset.path[len(prefix) + 1 :] if prefix else asset.path
            head, sep, _ = rest.partition("/")
            full = f"{prefix}/{head}" if prefix else head
            entry = entries.setdefault(
                full,
                {
                    "path": full,
                    "version": ver.id,
                    "aggregate_files": 0,
                    "aggregate_size": 0,
                    "asset": None,
                },
            )
            entry["aggregate_files"] += 1
            entry["aggregate_size"] += asset.size
            if not sep:
                entry["asset"] = {
                    "asset_id": asset.id,
                    "blob": asset.blob_id,
                    "zarr": asset.zarr_id,
                }
        if prefix and not entries:
            raise NotFound(f"There is no folder {prefix!r} in this version.")
        return [entries[k] for k in sorted(entries)]


def _load_asset_in_version(s: Session, *, version: Version, asset_id: str) -> Asset:
    check_uuid(asset_id, what="Asset")
    asset = s.scalar(
        select(Asset)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .where(VersionAsset.version_id == version.id, Asset.id == asset_id)
    )
    if asset is None:
        raise NotFound(f"Asset {asset_id} is not in this version.")
    return asset


def get_asset(
    archive: Archive,
    *,
    dataset_id: str,
    version: str,
    asset_id: str,
    user: User | None,
    info: bool = False,
) -> dict[str, Any]:
    with archive.db.read() as s:
        dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user)
        asset = _load_asset_in_version(s, version=ver, asset_id=asset_id)
        if info:
            return asset_info_json(s, archive, asset, dataset=dataset)
        return asset_metadata_json(s, archive, asset, dataset=dataset)


def get_asset_by_id(
    archive: Archive, *, asset_id: str, user: User | None, info: bool = True
) -> dict[str, Any]:
    with archive.db.read() as s:
        asset, dataset = visible_asset(s, asset_id=asset_id, user=user)
        if info:
            return asset_info_json(s, archive, asset, dataset=dataset)
        return asset_metadata_json(s, archive, asset, dataset=dataset)


def download_for(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    expires: int | None = None,
    signature: str | None = None,
) -> Download:
    """Where to read an asset's bytes. A signed link (see streaming.py) stands in for a key."""
    with archive.db.read() as s:
        if signature is not None and expires is not None:
            from neurodatashare.archive.streaming import check_signed

            check_uuid(asset_id, what="Asset")
            found = s.get(Asset, asset_id)
            holders = datasets_holding(s, asset_id=asset_id) if found is not None else []
            # A link for a missing asset fails exactly like a forged one (403).
            check_signed(
                archive,
                asset_id=asset_id,
                expires=expires,
                signature=signature,
                generation=holders[0].access_generation if holders else None,
            )
            assert found is not None  # check_signed refuses links to missing assets
            asset = found
        else:
            asset, _dataset = visible_asset(s, asset_id=asset_id, user=user)
        blob = asset.blob
        if blob is None:  # as dandi-archive: a Zarr is downloaded file by file
            raise BadRequest(
                f"{asset.path} is a Zarr asset; download its files through "
                f"/api/zarr/{asset.zarr_id}/files/ (dandi download does this)."
            )
    filename = asset.path.rsplit("/", 1)[-1]
    return Download(
        blob=blob,
        filename=filename,
        local_path=archive.store.local_path(blob.key),
        url=archive.store.download_url(blob.key, filename=filename),
    )


# -- changing the draft ------------------------------------------------------------------


def _check_collisions(s: Session, *, version: Version, path: str, ignore: str | None) -> None:
    same = s.scalar(
        select(VersionAsset.asset_id).where(
            VersionAsset.version_id == version.id, VersionAsset.path == path
        )
    )
    if same is not None and same != ignore:
        raise Conflict(f"An asset already exists at {path!r} (asset {same}).")
    parts = path.split("/")
    folders = ["/".join(parts[:i]) for i in range(1, len(parts))]
    if folders:
        clash = s.scalar(
            select(VersionAsset.path).where(
                VersionAsset.version_id == version.id, VersionAsset.path.in_(folders)
            )
        )
        if clash is not None:
            raise Conflict(f"{clash!r} is a file, so {path!r} cannot be created inside it.")
    inside = s.scalar(
        select(VersionAsset.path)
        .where(
            VersionAsset.version_id == version.id,
            VersionAsset.path.startswith(path + "/", autoescape=True),
        )
        .limit(1)
    )
    if inside is not None:
        raise Conflict(f"{path!r} is a folder (it holds {inside!r}); choose another path.")


def _same_asset(s: Session, ver: Version, meta: dict[str, Any], ids: Ids) -> Asset | None:
    """The asset this very request made already (same path, blob or Zarr, metadata): a
    repeat answers it, not 409, so a client may repeat a creation whose answer it lost."""
    asset = s.scalar(
        select(Asset)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .where(VersionAsset.version_id == ver.id, VersionAsset.path == str(meta.get("path")))
    )
    if asset is None or (asset.blob_id, asset.zarr_id) != ids:
        return None
    return asset if asset.meta == _submitted(meta) else None


def _submitted(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in COMPUTED_KEYS and k != "@context"}


def _new_asset(
    s: Session,
    archive: Archive,
    *,
    user: User | None,
    version: Version,
    metadata: dict[str, Any],
    blob_id: str | None,
    zarr_id: str | None = None,
    replacing: str | None = None,
) -> Asset:
    if bool(blob_id) == bool(zarr_id):
        raise BadRequest(
            "Send exactly one of blob_id (the id the upload's validate step answered) or "
            "zarr_id (the id POST /api/zarr/ answered)."
        )
    path, stored = validate_path(metadata.get("path")), _submitted(metadata)
    if zarr_id:
        zarr = _attachable_zarr(s, version=version, zarr_id=zarr_id)
        _check_collisions(s, version=version, path=path, ignore=replacing)
        asset = Asset(id=str(uuid.uuid4()), path=path, zarr_id=zarr.id, meta=stored)
        s.add(asset)
        s.flush()
        zarr_pipeline.schedule(s, zarr)
        return asset
    blob = blobs.readable_blob(s, archive, user=user, column=Blob.id, value=blob_id)
    if blob is None:  # also for a blob that exists but that the caller may not read
        raise BadRequest(f"Blob {blob_id} does not exist; upload the file first.")
    _check_collisions(s, version=version, path=path, ignore=replacing)
    asset = Asset(id=str(uuid.uuid4()), path=path, blob_id=blob.id, meta=stored)
    s.add(asset)
    s.flush()
    if user is not None:
        blobs.use_claim(s, blob_id=blob.id, user=user)
    processing.schedule(s, blob_id=blob.id, path=path)
    return asset


def _attachable_zarr(s: Session, *, version: Version, zarr_id: str) -> Zarr:
    """A live Zarr of the version's own dataset (the caller may change that dataset)."""
    zarr = s.get(Zarr, zarr_id) if UUID_RE.match(str(zarr_id)) else None
    if zarr is None or zarr.frozen or zarr.dataset_id != version.dataset_id:
        # also for another dataset's Zarr: its existence is not the caller's to learn
        raise BadRequest(
            f"Zarr {str(zarr_id)[:80]} does not exist in this dataset; create it with "
            "POST /api/zarr/ first."
        )
    return zarr


def _unlink(s: Session, *, version: Version, asset_id: str) -> None:
    mark_version_asset(s, version_id=version.id, asset_id=asset_id)  # a bulk delete: no events
    s.execute(
        delete(VersionAsset).where(
            VersionAsset.version_id == version.id, VersionAsset.asset_id == asset_id
        )
    )
    s.flush()
    still_used = s.scalar(
        select(func.count()).select_from(VersionAsset).where(VersionAsset.asset_id == asset_id)
    )
    if not still_used:
        s.execute(delete(Asset).where(Asset.id == asset_id))


def drop_version_assets(s: Session, version: Version) -> None:
    for asset_id in s.scalars(
        select(VersionAsset.asset_id).where(VersionAsset.version_id == version.id)
    ).all():
        _unlink(s, version=version, asset_id=asset_id)


def create_asset(
    archive: Archive,
    *,
    dataset_id: str,
    version: str,
    user: User | None,
    metadata: dict[str, Any],
    blob_id: str | None,
    zarr_id: str | None = None,
) -> dict[str, Any]:
    with archive.db.write() as s:
        dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user, edit=True)
        same = _same_asset(s, ver, metadata, (blob_id, zarr_id))
        if same is not None:
            return asset_info_json(s, archive, same, dataset=dataset)
        asset = _new_asset(
            s,
            archive,
            user=user,
            version=ver,
            metadata=metadata,
            blob_id=blob_id,
            zarr_id=zarr_id,
        )
        s.add(VersionAsset(version_id=ver.id, asset_id=asset.id, path=asset.path))
        touch_draft(s, dataset)
        s.flush()
        s.refresh(asset)
        return asset_info_json(s, archive, asset, dataset=dataset)


def replace_asset(
    archive: Archive,
    *,
    dataset_id: str,
    version: str,
    asset_id: str,
    user: User | None,
    metadata: dict[str, Any],
    blob_id: str | None,
    zarr_id: str | None = None,
) -> dict[str, Any]:
    """Replace an asset (new content, metadata or path); like DANDI, it gets a new id."""
    with archive.db.write() as s:
        dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user, edit=True)
        old = _load_asset_in_version(s, version=ver, asset_id=asset_id)
        asset = _new_asset(
            s,
            archive,
            user=user,
            version=ver,
            metadata=metadata,
            blob_id=blob_id,
            zarr_id=zarr_id,
            replacing=old.id,
        )
        _unlink(s, version=ver, asset_id=old.id)
        s.add(VersionAsset(version_id=ver.id, asset_id=asset.id, path=asset.path))
        asset.created = old.created
        asset.modified = utcnow()
        touch_draft(s, dataset)
        s.flush()
        s.refresh(asset)
        return asset_info_json(s, archive, asset, dataset=dataset)


def delete_asset(
    archive: Archive, *, dataset_id: str, version: str, asset_id: str, user: User | None
) -> None:
    with archive.db.write() as s:
        dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user, edit=True)
        _load_asset_in_version(s, version=ver, asset_id=asset_id)
        _unlink(s, version=ver, asset_id=asset_id)
        touch_draft(s, dataset)
