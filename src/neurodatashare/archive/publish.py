"""Publishing: freeze the draft's asset list into an immutable, citable version."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurodatashare.archive import doi
from neurodatashare.archive.access import load_dataset
from neurodatashare.archive.context import Archive
from neurodatashare.archive.version_status import asset_errors, assets_summary, pending_count
from neurodatashare.archive.versions import draft_of, metadata_problems, version_info_json
from neurodatashare.archive.zarrs import freeze
from neurodatashare.db.models import Asset, Blob, Dataset, User, Version, VersionAsset, utcnow
from neurodatashare.errors import BadRequest, Conflict
from neurodatashare.jobs import enqueue


def _missing_digests(archive: Archive, *, dataset_id: str, user: User | None) -> None:
    """A published asset carries its sha256 (dandischema requires it); the pipeline
    computes it soon after an upload, and here for any blob it has not reached yet."""
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        rows = s.execute(
            select(Blob.id, Blob.key)
            .join(Asset, Asset.blob_id == Blob.id)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(VersionAsset.version_id == draft_of(s, dataset).id, Blob.sha256.is_(None))
            .distinct()
        ).all()
    for blob_id, key in rows:
        sha = hashlib.sha256()
        with archive.store.open(key) as reader:
            while block := reader.read(8 * 2**20):
                sha.update(block)
        with archive.db.write() as s:
            blob = s.get(Blob, blob_id)
            if blob is not None and blob.sha256 is None:
                blob.sha256 = sha.hexdigest()


def publish(archive: Archive, *, dataset_id: str, user: User | None) -> dict[str, Any]:
    _missing_digests(archive, dataset_id=dataset_id, user=user)
    with archive.db.write() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        draft = draft_of(s, dataset)
        problems = metadata_problems(draft.meta, draft.name)
        if problems:
            listing = "; ".join(f"{p['field']}: {p['message']}" for p in problems).rstrip(".")
            raise BadRequest(
                f"The dataset cannot be published yet. Missing: {listing}. Add them with "
                f"`nds meta set {dataset.id:06d} FIELD VALUE` or `nds meta edit "
                f"{dataset.id:06d}`."
            )
        if draft.status == "Published":
            raise Conflict("Nothing changed since the last published version.")
        waiting = pending_count(s, draft)
        if waiting:
            raise Conflict(
                f"{waiting} file(s) are still being checked; publish again in a moment "
                "(GET .../versions/draft/info/ shows status Valid when ready)."
            )
        errors = asset_errors(s, draft)
        if errors:
            by_file: dict[str, list[str]] = {}
            for e in errors:
                fix = f" Fix: {e['how_to_fix']}" if e.get("how_to_fix") else ""
                by_file.setdefault(e["path"], []).append(f"{e['message']}{fix}")
            listing = " ".join(
                f"{path}: {' / '.join(problems)}" for path, problems in by_file.items()
            )
            raise BadRequest(
                f"The dataset cannot be published: {len(by_file)} file(s) have errors. {listing}"
            )
        assets = s.execute(
            select(VersionAsset.asset_id, VersionAsset.path).where(
                VersionAsset.version_id == draft.id
            )
        ).all()
        if not assets:
            raise BadRequest("The dataset has no files; upload some before publishing.")
        _check_assets(archive, s, dataset=dataset, version=draft)
        now = utcnow()
        day = now.strftime("%y%m%d")
        same_day = s.scalar(
            select(func.count())
            .select_from(Version)
            .where(Version.dataset_id == dataset.id, Version.version.like(f"0.{day}.%"))
        )
        number = f"0.{day}.{(same_day or 0) + 1:04d}"
        meta = dict(draft.meta)
        meta["assetsSummary"] = assets_summary(s, draft)
        provider = doi.provider_for(archive.settings)
        if provider is not None:
            meta["doi"] = doi.version_doi(
                provider.prefix, archive.settings.instance_name, dataset.id, number
            )
        published = Version(
            dataset_id=dataset.id,
            version=number,
            name=draft.name,
            meta=meta,
            status="Published",
            created=now,
            modified=now,
        )
        s.add(published)
        s.flush()
        for asset_id, path in assets:
            asset = s.get(Asset, asset_id)
            if asset is not None and asset.zarr is not None:
                asset_id = _frozen_zarr_asset(s, asset).id
            s.add(VersionAsset(version_id=published.id, asset_id=asset_id, path=path))
        draft.status = "Published"
        s.flush()
        if provider is not None:
            # a draft DOI now (DataCite down: this transaction rolls back, nothing is
            # published); findable by the job once the version is committed
            doi.reserve_version_doi(archive, s, dataset=dataset, version=published)
            enqueue(
                s,
                kind=doi.DOI_PUBLISH,
                key=f"{dataset.id:06d}/{number}",
                payload={"dataset_id": dataset.id, "version": number},
            )
        return version_info_json(archive, s, dataset=dataset, version=published)


def _check_assets(archive: Archive, s: Session, *, dataset: Dataset, version: Version) -> None:
    """As DANDI, publish only assets whose documents dandischema accepts as published
    (what a client sent for an asset is checked here; the owners' dataset metadata is
    checked by the draft's status, and what the server computes by the test suite)."""
    from neurodatashare.archive.assets import asset_metadata_json
    from neurodatashare.archive.documents import published_by
    from neurodatashare.metadata.schema import schema_errors

    now = utcnow()
    stamp = {
        "datePublished": now.isoformat(),
        "publishedBy": published_by(archive, key="check", when=now),
    }
    problems: dict[str, list[str]] = {}
    for asset in s.scalars(
        select(Asset)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .where(VersionAsset.version_id == version.id)
        .order_by(VersionAsset.path)
    ):
        document = {**asset_metadata_json(s, archive, asset, dataset=dataset), **stamp}
        for e in schema_errors(document, kind="Asset"):
            problems.setdefault(asset.path, []).append(f"{e['field']}: {e['message']}")
    if problems:
        shown = list(problems.items())[:10]
        listing = " ".join(f"{path}: {' / '.join(found[:3])}." for path, found in shown)
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise BadRequest(
            f"The dataset cannot be published: dandischema refuses the metadata of "
            f"{len(problems)} file(s){more}. {listing}"
        )


def _frozen_zarr_asset(s: Session, asset: Asset) -> Asset:
    """A Zarr changes in place (its files are uploaded one by one into the same Zarr, and
    the draft keeps it), so the published version gets its own asset on a frozen copy of
    the Zarr: the entry rows are copied, the stored bytes shared (archive/zarrs.py)."""
    assert asset.zarr is not None
    frozen = freeze(s, asset.zarr)
    copy = Asset(
        id=str(uuid.uuid4()),
        path=asset.path,
        zarr_id=frozen.id,
        meta=dict(asset.meta),
        created=asset.created,
        modified=asset.modified,
    )
    s.add(copy)
    s.flush()
    return copy
