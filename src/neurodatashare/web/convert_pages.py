"""The conversion wizard: `/convert`, NWB GUIDE's steps on one page (web/static/convert.js)
over the /api/convert/ routes, for signed-in users of an archive whose administrator set
NDS_CONVERT_ROOTS.

The page itself carries only the roots and the API's address; the script calls the JSON
API with the browser's session cookie (SameSite=lax, and every POST has a JSON body, which
a form on another site cannot send), as the metadata editor does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from neurodatashare.archive import conversion_files, conversions
from neurodatashare.archive.convert_paths import NOT_ENABLED
from neurodatashare.errors import NDSError, NotAuthenticated, NotFound
from neurodatashare.web.edit_pages import page_json
from neurodatashare.web.views import (
    EXPLORER_VIEW,
    ViewerDep,
    _archive,
    error_page,
    render,
    templates,
)

router = APIRouter(include_in_schema=False)


def convert_enabled(request: Request) -> bool:
    """Whether the administrator listed server folders to convert (NDS_CONVERT_ROOTS)."""
    return bool(_archive(request).settings.resolved_convert_roots)


# the site's navigation shows "Convert" to signed-in users when conversion is on
templates.env.globals["convert_enabled"] = convert_enabled


@router.get("/convert", response_class=HTMLResponse)
@router.get("/convert/", response_class=HTMLResponse)
def convert_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    archive = _archive(request)
    roots = archive.settings.resolved_convert_roots
    if not roots:
        return error_page(request, viewer, NotFound(NOT_ENABLED))
    if viewer is None:
        return error_page(
            request, viewer, NotAuthenticated("Log in to convert data on this server to NWB.")
        )
    return render(
        request,
        "convert.html",
        viewer,
        page_data=page_json({"api": archive.api_url, "roots": [str(r) for r in roots]}),
    )


@router.get("/convert/jobs/{job_id}", response_class=HTMLResponse)
def conversion_page(request: Request, job_id: str, viewer: ViewerDep) -> Response:
    """A finished preview's or conversion's file in the explorer, before it is uploaded
    (NWB GUIDE opens its previews in Neurosift). `/convert/jobs/ID.json` is its data."""
    as_json = job_id.endswith(".json")
    job_id = job_id.removesuffix(".json")
    archive = _archive(request)
    try:
        if viewer is None:
            raise NotAuthenticated("Log in to open the files you converted on this server.")
        path, name = conversion_files.output_file(archive, user=viewer, conversion_id=job_id)
        job = conversions.get(archive, user=viewer, conversion_id=job_id)
    except NDSError as exc:
        if as_json:
            return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
        return error_page(request, viewer, exc)
    file_id = conversion_files.explorer_id(job_id)
    api = f"/api/assets/{file_id}"
    data: dict[str, Any] = {
        "asset_id": file_id,
        "path": name,
        "size": path.stat().st_size,
        "format": "nwb",
        "zarr": None,
        "views": [EXPLORER_VIEW],
        "nwb": True,
        "scripted_views": [],
        "dataset": None,
        "conversion": {"id": job_id, "kind": job["kind"]},
        "links": {
            "page": f"/convert/jobs/{job_id}",
            "download": f"/api/convert/jobs/{job_id}/file",
            "metadata": f"/api/convert/jobs/{job_id}/",
            "validation": f"/api/convert/jobs/{job_id}/",
            "tree": f"{api}/explore/tree",
            "explore_api": f"{api}/explore/",
        },
        "related": {"built_from": [], "models": [], "models_truncated": False},
    }
    if as_json:
        return JSONResponse(data)
    asset = {"path": name, "size": data["size"], "metadata": {}}
    return render(request, "asset.html", viewer, asset=asset, page=data, summary=[])
