"""Adding a finished conversion's file to one of its owner's datasets (archive/conversions.py
runs the conversions; this module is apart because ingesting leads to the asset services,
which queue the processing jobs whose registry includes conversions)."""

from __future__ import annotations

from typing import Any

from neurodatashare.archive.context import Archive
from neurodatashare.archive.conversions import _own, convert_roots, output_dir
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.paths import validate_path
from neurodatashare.db.models import Conversion, User
from neurodatashare.errors import BadRequest, Conflict, NotFound


def upload(
    archive: Archive, *, user: User, conversion_id: str, dataset_id: Any, path: Any = None
) -> dict[str, Any]:
    """Add the converted file to the draft of one of the user's datasets (as an upload
    would: stored by content, then extracted, validated and indexed)."""
    convert_roots(archive)
    with archive.db.read() as s:
        row = _own(s, user=user, conversion_id=conversion_id)
        state, kind, result = row.state, row.kind, dict(row.result or {})
        folder = output_dir(archive, row)
    if kind != "conversion":
        raise Conflict("A preview holds only the first samples; run the conversion to upload.")
    if state != "done":
        raise Conflict(f"The conversion is {state}; upload it when it is done.")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise BadRequest("dataset_id: the dataset to add the file to, e.g. '000001'.")
    source = folder / result["file"]
    if not source.is_file():
        raise NotFound("The converted file is no longer on the server; run the conversion again.")
    if path is None:
        subject = result["file"].split("_")[0].removesuffix(".nwb")
        path = f"{subject}/{result['file']}"
    asset = ingest_file(
        archive, user=user, dataset_id=dataset_id, path=validate_path(path), source=source
    )
    entry = {
        "dataset_id": dataset_id,
        "path": asset.get("path", path),
        "asset_id": asset.get("asset_id"),
    }
    with archive.db.write() as s:
        done = s.get(Conversion, conversion_id)
        if done is not None and done.result is not None:
            done.result = {**done.result, "uploads": [*done.result.get("uploads", []), entry]}
    return asset
