"""Validation reports through the API: one asset's, and a version's files counted by
severity (the checks themselves run in the pipeline: archive/pipeline.py, processing.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from neurodatashare.archive import processing, zarr_results
from neurodatashare.archive.access import visible_asset
from neurodatashare.archive.assets import _version_for
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, User, VersionAsset


def _report(s: Any, asset: Asset) -> dict[str, Any]:
    if asset.blob_id is None:
        return zarr_results.report(s, zarr=asset.zarr, path=asset.path)
    return processing.asset_report(s, blob_id=asset.blob_id, path=asset.path)


def asset_validation(archive: Archive, *, asset_id: str, user: User | None) -> dict[str, Any]:
    """Extension: the asset's validation report and what was extracted from it."""
    with archive.db.read() as s:
        asset, _dataset = visible_asset(s, asset_id=asset_id, user=user)
        report = _report(s, asset)
    return {"asset_id": asset.id, "path": asset.path, **report}


def version_validation(
    archive: Archive, *, dataset_id: str, version: str, user: User | None
) -> dict[str, Any]:
    """Extension: every asset's findings counted by severity, most troubled files first."""
    with archive.db.read() as s:
        _dataset, ver = _version_for(s, dataset_id=dataset_id, version=version, user=user)
        rows = s.scalars(
            select(Asset)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(VersionAsset.version_id == ver.id)
            .order_by(VersionAsset.path)
        ).all()
        files = []
        totals: dict[str, int] = {}
        for asset in rows:
            asset_id, path = asset.id, asset.path
            report = _report(s, asset)
            counts: dict[str, int] = {}
            for r in report["results"]:
                counts[r["severity"]] = counts.get(r["severity"], 0) + 1
                totals[r["severity"]] = totals.get(r["severity"], 0) + 1
            files.append(
                {
                    "asset_id": asset_id,
                    "path": path,
                    "status": report["status"],
                    "counts": counts,
                    "results": report["results"],
                }
            )
        status = ver.status
    return {"version": version, "status": status, "counts": totals, "files": files}
