"""Extensions: validation reports per asset and per version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from neurodatashare.archive import validation_reports
from neurodatashare.server.deps import ArchiveDep, UserDep

router = APIRouter(tags=["validation"])


@router.get("/api/assets/{asset_id}/validation/")
def asset_validation(asset_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    """Findings for one file (status `pending` until the archive has checked it)."""
    return validation_reports.asset_validation(archive, asset_id=asset_id, user=user)


@router.get("/api/dandisets/{dataset_id}/versions/{version}/validation/")
def version_validation(
    dataset_id: str, version: str, archive: ArchiveDep, user: UserDep
) -> dict[str, Any]:
    """Findings for every file of a version, counted by severity."""
    return validation_reports.version_validation(
        archive, dataset_id=dataset_id, version=version, user=user
    )
