"""Models and the data they were built from, linked both ways.

A NeuroML model names its data in RDF annotations; formats/neuroml_links.py extracts them
into the asset's metadata (`nds:builtFrom`, and `relatedResource` with relation
`dcite:IsDerivedFrom`). Here they are resolved against the archive each time they are
asked for, like archive/subjects.py's links (no table to keep in step):

- a path: a file of the model's own dataset version (relative to the model's folder);
- an asset of this archive by id (its page or API URL on this server's host);
- a dataset of this archive (`<instance>:000001`, `dandi://<instance>/000001@draft/path`,
  or a page or API URL on this server's host), with a version and a path when given;
- anything else is `external` (DANDI Archive references get a link to DANDI).

Hidden is absent: a reference to data the caller may not see resolves exactly like one to
data that does not exist (`not_found`, no link), and a model the caller may not see is
never listed as built from anything.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.orm import Session

from neurodatashare.archive import derived
from neurodatashare.archive.access import (
    DATASET_ID_RE,
    load_dataset,
    visible_asset,
    visible_clause,
)
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, Dataset, Derived, User, Version, VersionAsset
from neurodatashare.errors import NDSError
from neurodatashare.formats import format_for

MAX_SCAN = 2000  # models with references read to answer "models built from this"
DANDI_WEB = "https://dandiarchive.org"


def home_version(s: Session, *, asset_id: str, dataset: Dataset) -> Version | None:
    """The version an asset is read in when no version is named: the dataset's draft if
    it holds the asset, else the newest published version that does."""
    held = list(
        s.scalars(
            select(Version)
            .join(VersionAsset, VersionAsset.version_id == Version.id)
            .where(VersionAsset.asset_id == asset_id, Version.dataset_id == dataset.id)
        )
    )
    draft = next((v for v in held if v.version == "draft"), None)
    return draft or max(held, key=lambda v: (v.created, v.id), default=None)


def asset_at(s: Session, *, version: Version, path: str) -> Asset | None:
    return s.scalar(
        select(Asset)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .where(VersionAsset.version_id == version.id, VersionAsset.path == path)
    )


def _holds(s: Session, version: Version, asset_id: str) -> bool:
    found = s.scalar(
        select(VersionAsset.asset_id).where(
            VersionAsset.version_id == version.id, VersionAsset.asset_id == asset_id
        )
    )
    return found is not None


def _ours(archive: Archive, ref: dict[str, Any]) -> bool:
    if "instance" in ref:
        return str(ref["instance"]).upper() == archive.settings.instance_name.upper()
    if "host" in ref:
        return str(ref["host"]) == urlsplit(archive.settings.resolved_public_url).netloc.lower()
    return ref.get("kind") == "path"


def _dandi_url(ref: dict[str, Any]) -> str | None:
    """Where a reference to the DANDI Archive points, for a link."""
    raw = str(ref.get("reference") or "")
    if raw.startswith(("http://", "https://")):
        return raw
    if ref.get("instance") != "DANDI" or not ref.get("dataset"):
        return None
    url = f"{DANDI_WEB}/dandiset/{ref['dataset']}/{ref.get('version') or 'draft'}"
    if ref.get("path"):
        url += f"/files?location={quote(posixpath.dirname(str(ref['path'])))}"
    return url


def _asset_target(asset: Asset, dataset: Dataset, version: Version) -> dict[str, Any]:
    ds = f"{dataset.id:06d}"
    return {
        "type": "asset",
        "asset_id": asset.id,
        "path": asset.path,
        "nds:format": format_for(asset.path).name,
        "dataset": ds,
        "version": version.version,
        "page": f"/asset/{asset.id}?dataset={ds}&version={version.version}",
    }


def _dataset_target(dataset: Dataset, version: Version) -> dict[str, Any]:
    ds = f"{dataset.id:06d}"
    return {
        "type": "dataset",
        "dataset": ds,
        "version": version.version,
        "name": version.name,
        "page": f"/dandiset/{ds}/{version.version}",
    }


def _version_of(s: Session, dataset: Dataset, name: str | None) -> Version | None:
    if name:
        return next((v for v in dataset.versions if v.version == name), None)
    published = [v for v in dataset.versions if v.version != "draft"]
    if published:
        return max(published, key=lambda v: (v.created, v.id))
    return next((v for v in dataset.versions if v.version == "draft"), None)


def _target(
    s: Session, archive: Archive, ref: dict[str, Any], *, model_version: Version, user: User | None
) -> dict[str, Any] | None:
    """What a reference of ours names, if the caller may see it (else None)."""
    kind = ref.get("kind")
    try:
        if kind == "path":
            found = asset_at(s, version=model_version, path=str(ref.get("path")))
            if found is None:
                return None
            return _asset_target(found, model_version.dataset, model_version)
        if kind == "asset":
            asset, dataset = visible_asset(s, asset_id=str(ref["asset_id"]), user=user)
            version = None
            if ref.get("dataset") and int(ref["dataset"]) == dataset.id:
                version = _version_of(s, dataset, ref.get("version"))
            if version is None or not _holds(s, version, asset.id):
                version = home_version(s, asset_id=asset.id, dataset=dataset)
            return None if version is None else _asset_target(asset, dataset, version)
        if kind in ("dataset", "dataset_path"):
            dataset = load_dataset(s, dataset_id=str(ref["dataset"]), user=user)
            version = _version_of(s, dataset, ref.get("version"))
            if version is None:
                return None
            if kind == "dataset":
                return _dataset_target(dataset, version)
            found = asset_at(s, version=version, path=str(ref.get("path")))
            return None if found is None else _asset_target(found, dataset, version)
    except NDSError:
        return None  # hidden or absent alike
    return None


def resolve(
    s: Session, archive: Archive, ref: dict[str, Any], *, model_version: Version, user: User | None
) -> dict[str, Any]:
    """One reference with `status` (`resolved`, `not_found`, `external`), and `target`
    (resolved) or `url` (external, where there is one to link)."""
    out = {k: ref.get(k) for k in ("reference", "predicate", "element")}
    if not _ours(archive, ref):
        return out | {"status": "external", "url": _dandi_url(ref) or _web(ref)}
    target = _target(s, archive, ref, model_version=model_version, user=user)
    if target is None:
        return out | {"status": "not_found"}
    return out | {"status": "resolved", "target": target}


def _web(ref: dict[str, Any]) -> str | None:
    raw = str(ref.get("reference") or "")
    return raw if raw.startswith(("http://", "https://")) else None


def built_from(
    s: Session, archive: Archive, *, asset: Asset, version: Version | None, user: User | None
) -> list[dict[str, Any]]:
    """The model's references, resolved in `version` (the one it is read in)."""
    if asset.blob_id is None:  # a Zarr asset builds on nothing
        return []
    meta = derived.extracted_metadata(s, blob_id=asset.blob_id, path=asset.path)
    refs = meta.get("nds:builtFrom") or []
    if version is None or not isinstance(refs, list):
        return []
    mine = [r for r in refs if isinstance(r, dict)]
    return [resolve(s, archive, r, model_version=version, user=user) for r in mine]


def models_built_from(
    s: Session, archive: Archive, *, asset: Asset, user: User | None
) -> tuple[list[dict[str, Any]], bool]:
    """The models the caller may see that name `asset` (`via: asset`) or a version of its
    dataset that holds it (`via: dataset`), each once with the versions it is in; and
    whether the scan stopped at MAX_SCAN models."""
    from neurodatashare.formats.neuroml import NEUROML

    holders = {
        v.id: v
        for v in s.scalars(
            select(Version)
            .join(VersionAsset, VersionAsset.version_id == Version.id)
            .where(VersionAsset.asset_id == asset.id)
        )
    }
    datasets = {v.dataset_id for v in holders.values()}
    nml = or_(*(Asset.path.ilike(f"%{suffix}") for suffix in NEUROML.suffixes))
    rows = s.execute(
        select(Asset, Version, Derived.payload)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .join(Version, Version.id == VersionAsset.version_id)
        .join(Dataset, Dataset.id == Version.dataset_id)
        .join(Derived, and_(Derived.blob_id == Asset.blob_id, Derived.kind == "metadata"))
        .where(nml, cast(Derived.payload, Text).like("%nds:builtFrom%"), visible_clause(user))
        .order_by(VersionAsset.path, Version.id)
        .limit(MAX_SCAN + 1)
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for model, version, payload in rows[:MAX_SCAN]:
        if model.id == asset.id or not isinstance(payload, dict):
            continue
        for ref in payload.get("nds:builtFrom") or []:
            if not isinstance(ref, dict) or not _ours(archive, ref):
                continue
            target = _target(s, archive, ref, model_version=version, user=user)
            if target is None:
                continue
            if target["type"] == "asset" and target["asset_id"] == asset.id:
                via = "asset"
            elif (
                target["type"] == "dataset"
                and int(target["dataset"]) in datasets
                and any(
                    v.version == target["version"] and v.dataset_id == int(target["dataset"])
                    for v in holders.values()
                )
            ):
                via = "dataset"
            else:
                continue
            ds = f"{version.dataset_id:06d}"
            item = found.setdefault(
                model.id,
                {
                    "asset_id": model.id,
                    "path": model.path,
                    "dataset": ds,
                    "versions": [],
                    "via": via,
                    "element": ref.get("element"),
                    "predicate": ref.get("predicate"),
                    "page": f"/asset/{model.id}?dataset={ds}&version={version.version}",
                },
            )
            if version.version not in item["versions"]:
                item["versions"].append(version.version)
            break
    return list(found.values()), len(rows) > MAX_SCAN


def related(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    dataset: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Both directions for one asset: what it was built from (a model's references, read
    in the version named, else its home version) and the models built from it."""
    with archive.db.read() as s:
        asset, holder = visible_asset(s, asset_id=asset_id, user=user)
        ver = None
        if dataset and DATASET_ID_RE.match(dataset) and int(dataset) == holder.id and version:
            ver = next((v for v in holder.versions if v.version == version), None)
            if ver is not None and not _holds(s, ver, asset.id):
                ver = None
        ver = ver or home_version(s, asset_id=asset.id, dataset=holder)
        sources = built_from(s, archive, asset=asset, version=ver, user=user)
        models, truncated = models_built_from(s, archive, asset=asset, user=user)
        return {
            "asset_id": asset.id,
            "path": asset.path,
            "version": None if ver is None else ver.version,
            "built_from": sources,
            "models": models,
            "models_truncated": truncated,
        }
