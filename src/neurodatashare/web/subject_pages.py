"""Web pages of the cross-scale links: a subject's files by format, and one cell's sweeps,
reconstruction and expression side by side (archive/subjects.py, archive/cell_profile.py)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from neurodatashare.archive import subjects
from neurodatashare.archive.cell_profile import cell_profile
from neurodatashare.errors import NDSError
from neurodatashare.web.views import ViewerDep, _archive, error_page, render, templates

router = APIRouter(include_in_schema=False)
log = logging.getLogger("neurodatashare.web")


def version_subject_count(request: Request, dataset_id: str, version: str, viewer: Any) -> int:
    """For the landing page's "Subjects" link (templates/dataset.html)."""
    return subjects.subject_count(
        _archive(request), dataset_id=dataset_id, version=version, user=viewer
    )


templates.env.globals["version_subject_count"] = version_subject_count


@router.get("/dandiset/{dataset_id}/{version}/subjects", response_class=HTMLResponse)
def subjects_page(
    request: Request, dataset_id: str, version: str, viewer: ViewerDep
) -> HTMLResponse:
    try:
        rows = subjects.list_subjects(
            _archive(request), dataset_id=dataset_id, version=version, user=viewer
        )
    except NDSError as exc:
        return error_page(request, viewer, exc)
    return render(
        request, "subjects.html", viewer, subjects=rows, dataset_id=dataset_id, version=version
    )


@router.get("/dandiset/{dataset_id}/{version}/subjects/{subject_id}", response_class=HTMLResponse)
def subject_page(
    request: Request, dataset_id: str, version: str, subject_id: str, viewer: ViewerDep
) -> HTMLResponse:
    try:
        subject = subjects.get_subject(
            _archive(request),
            dataset_id=dataset_id,
            version=version,
            subject_id=subject_id,
            user=viewer,
        )
    except NDSError as exc:
        return error_page(request, viewer, exc)
    return render(
        request, "subject.html", viewer, subject=subject, dataset_id=dataset_id, version=version
    )


def _assets(cell: dict[str, Any], fmt: str) -> list[dict[str, Any]]:
    return [a for group in cell["formats"].get(fmt, {}).values() for a in group]


@router.get("/dandiset/{dataset_id}/{version}/cells/{cell_id}", response_class=HTMLResponse)
def cell_page(
    request: Request, dataset_id: str, version: str, cell_id: str, viewer: ViewerDep
) -> HTMLResponse:
    archive = _archive(request)
    try:
        cell = subjects.get_cell(
            archive, dataset_id=dataset_id, version=version, cell_id=cell_id, user=viewer
        )
    except NDSError as exc:
        return error_page(request, viewer, exc)
    profiles, missing = [], []
    for asset in _assets(cell, "anndata"):
        try:
            profiles.append(
                cell_profile(archive, asset_id=asset["asset_id"], cell_id=cell_id, user=viewer)
            )
        except (NDSError, OSError, KeyError, ValueError) as exc:
            log.info("no profile of %s in %s: %s", cell_id, asset["path"], exc)
            missing.append({"path": asset["path"], "asset_id": asset["asset_id"]})
    sweep = next((s for s in cell["sweeps"] if s["series"]), None)
    return render(
        request,
        "cell.html",
        viewer,
        cell=cell,
        dataset_id=dataset_id,
        version=version,
        sweep=sweep,
        morphologies=_assets(cell, "swc"),
        models=_assets(cell, "neuroml"),
        profiles=profiles,
        unread=missing,
    )
