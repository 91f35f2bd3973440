"""Extensions: a version's subjects and cells, with the assets of every scale tied to them
(archive/subjects.py has the link rules)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from neurodatashare.archive import subjects
from neurodatashare.server.deps import ArchiveDep, PagingDep, UserDep

router = APIRouter(prefix="/api/dandisets/{dataset_id}/versions/{version}", tags=["subjects"])


@router.get("/subjects/")
def list_subjects(
    dataset_id: str, version: str, archive: ArchiveDep, user: UserDep, paging: PagingDep
) -> dict[str, Any]:
    """The version's subjects, each with its assets by format and modality."""
    rows = subjects.list_subjects(archive, dataset_id=dataset_id, version=version, user=user)
    return paging.respond(len(rows), rows[paging.offset : paging.offset + paging.page_size])


@router.get("/subjects/{subject_id}/")
def get_subject(
    dataset_id: str, version: str, subject_id: str, archive: ArchiveDep, user: UserDep
) -> dict[str, Any]:
    """One subject: its assets by format and modality, and its cells."""
    return subjects.get_subject(
        archive, dataset_id=dataset_id, version=version, subject_id=subject_id, user=user
    )


@router.get("/cells/{cell_id}/")
def get_cell(
    dataset_id: str, version: str, cell_id: str, archive: ArchiveDep, user: UserDep
) -> dict[str, Any]:
    """One cell: its assets by format and modality, its subject and its NWB sweeps."""
    return subjects.get_cell(
        archive, dataset_id=dataset_id, version=version, cell_id=cell_id, user=user
    )
