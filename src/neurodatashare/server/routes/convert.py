"""/api/convert/: what the archive can convert (NeuroConv's registry and its own formats),
and, when NDS_CONVERT_ROOTS allows it, conversions of server folders for signed-in users
(browse, sessions, metadata, preview and conversion jobs, upload into a dataset)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from neurodatashare.archive import conversion_files, conversion_uploads, conversions
from neurodatashare.archive.access import require_user
from neurodatashare.archive.convert_paths import browse as browse_folder
from neurodatashare.archive.convert_paths import convert_roots
from neurodatashare.archive.requests import (
    ConvertJob,
    ConvertMetadata,
    ConvertSessions,
    ConvertUpload,
)
from neurodatashare.server.bodies import JsonBodyRoute
from neurodatashare.server.deps import ArchiveDep, UserDep

router = APIRouter(prefix="/api/convert", tags=["convert"], route_class=JsonBodyRoute)
ACTION = "convert data on the server"


def _streams(streams: list[Any]) -> list[dict[str, Any]]:
    return [{"format": s.format, "source": dict(s.source)} for s in streams]


@router.get("/formats/")
async def list_formats() -> dict[str, Any]:
    """Every NeuroConv interface with `name`, `modality`, `reads`, `installed`, `install`
    (the pip line when not installed) and `source_schema` (its source options as JSON
    schema), and the formats `nds convert` reads itself."""
    from neurodatashare.nwb.convert.formats import FORMATS
    from neurodatashare.nwb.convert.registry import (
        INSTALL_NEUROCONV,
        neuroconv_formats,
        neuroconv_installed,
    )

    def collect() -> dict[str, Any]:  # the first call imports NeuroConv's interfaces (~1 s)
        results = [f.json(schema=True) for f in neuroconv_formats()]
        built_in = [
            {"name": s.name, "title": s.title, "modality": s.modality, "source": s.source}
            for s in FORMATS.values()
        ]
        installed = neuroconv_installed()
        return {
            "count": len(results),
            "results": results,
            "built_in": built_in,
            "neuroconv": {
                "installed": installed,
                "install": None if installed else INSTALL_NEUROCONV,
            },
        }

    return await run_in_threadpool(collect)


@router.get("/browse/")
async def browse(
    archive: ArchiveDep,
    user: UserDep,
    path: Annotated[str | None, Query(max_length=2048, description="A server folder.")] = None,
) -> dict[str, Any]:
    """A folder under NDS_CONVERT_ROOTS (`path`), or the roots themselves."""
    require_user(user, action=ACTION)
    convert_roots(archive)
    return await run_in_threadpool(browse_folder, archive, path=path)


@router.post("/sessions/")
async def sessions(
    archive: ArchiveDep, user: UserDep, body: Annotated[ConvertSessions, Body()]
) -> dict[str, Any]:
    """The sessions under `root` matching every stream's path pattern."""
    require_user(user, action=ACTION)
    convert_roots(archive)
    return await run_in_threadpool(
        conversions.expand, archive, root=body.root, streams=_streams(body.streams)
    )


@router.post("/metadata/")
async def metadata(
    archive: ArchiveDep, user: UserDep, body: Annotated[ConvertMetadata, Body()]
) -> dict[str, Any]:
    """The metadata form's JSON schema and the metadata the source files give."""
    require_user(user, action=ACTION)
    convert_roots(archive)
    return await run_in_threadpool(
        conversions.metadata_form, archive, streams=_streams(body.streams)
    )


@router.post("/jobs/", status_code=201)
async def create_job(
    archive: ArchiveDep, user: UserDep, body: Annotated[ConvertJob, Body()]
) -> dict[str, Any]:
    """Queue a preview (stub conversion) or a conversion."""
    who = require_user(user, action=ACTION)
    convert_roots(archive)
    return await run_in_threadpool(
        lambda: conversions.start(
            archive,
            user=who,
            kind=body.kind,
            streams=_streams(body.streams),
            metadata=body.metadata,
            hardware=body.hardware,
            output_name=body.output_name,
        )
    )


@router.get("/jobs/")
def list_jobs(archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    """The caller's conversion jobs, newest first (the last 50)."""
    return conversions.list_jobs(archive, user=require_user(user, action=ACTION))


@router.get("/jobs/{job_id}/")
def get_job(job_id: str, archive: ArchiveDep, user: UserDep) -> dict[str, Any]:
    """One of the caller's jobs: state, stage, progress, result."""
    return conversions.get(archive, user=require_user(user, action=ACTION), conversion_id=job_id)


@router.delete("/jobs/{job_id}/", status_code=204)
def delete_job(job_id: str, archive: ArchiveDep, user: UserDep) -> Response:
    """Forget a finished job and remove its file from the server (uploads stay)."""
    conversion_files.delete(archive, user=require_user(user, action=ACTION), conversion_id=job_id)
    return Response(status_code=204)


@router.get("/jobs/{job_id}/file")
def download_file(job_id: str, archive: ArchiveDep, user: UserDep) -> FileResponse:
    """The finished job's NWB file, to keep or to open elsewhere before uploading."""
    path, name = conversion_files.output_file(
        archive, user=require_user(user, action=ACTION), conversion_id=job_id
    )
    return FileResponse(path, media_type="application/x-hdf5", filename=name)


@router.post("/jobs/{job_id}/upload/", status_code=201)
async def upload(
    job_id: str, archive: ArchiveDep, user: UserDep, body: Annotated[ConvertUpload, Body()]
) -> dict[str, Any]:
    """Add a finished conversion's file to the draft of one of the caller's datasets."""
    who = require_user(user, action=ACTION)
    return await run_in_threadpool(
        lambda: conversion_uploads.upload(
            archive, user=who, conversion_id=job_id, dataset_id=body.dataset_id, path=body.path
        )
    )
