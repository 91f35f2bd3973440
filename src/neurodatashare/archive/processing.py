"""What the archive learns from each file: metadata and validation, once per blob.

Which checks apply is decided by the asset's format (formats/: NWB, any registered
plugin, plain files with nothing to check). An asset whose format processes files
queues its blob's pipeline (archive/pipeline.py, one `blob.pipeline` job) in the same
transaction. The job opens the file once, extracts dandischema-shaped metadata, runs
every validator and builds the format's artifacts, and stores each as a `Derived` row
keyed by the blob (blobs are content-addressed, so a second asset with the same bytes
reuses them at no cost). Then every draft holding the blob gets its status refreshed
and one summary job queued (archive/version_status.py).

This module keeps the per-version views: the summary job and an asset's report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive import conversions, doi, pipeline, zarr_pipeline
from neurodatashare.archive.context import Archive
from neurodatashare.archive.derived import checked_format, producers
from neurodatashare.archive.pipeline import PIPELINE, PROCESS, PROCESS_NWB
from neurodatashare.archive.pipeline import schedule as schedule
from neurodatashare.archive.version_status import SUMMARIZE, assets_summary
from neurodatashare.db.models import Derived, Version

# -- per-version views ---------------------------------------------------------------------


def summarize_version(archive: Archive, payload: dict[str, Any]) -> None:
    """The `version.summarize` job (run again if PostgreSQL breaks a deadlock with it)."""

    def summarize(s: Session) -> None:
        # Locked: a metadata edit committing meanwhile must not be overwritten by the copy
        # of the metadata read here (a lost update; PostgreSQL reads committed rows).
        version = s.get(Version, payload["version_id"], with_for_update=True)
        if version is None:
            return
        meta = dict(version.meta)
        meta["assetsSummary"] = assets_summary(s, version)
        version.meta = meta

    archive.db.transact(summarize)


def asset_report(s: Session, *, blob_id: str, path: str) -> dict[str, Any]:
    """Validation and extraction results of one asset, as the API shows them."""
    rows = {
        d.kind: d
        for d in s.scalars(
            select(Derived).where(
                Derived.blob_id == blob_id, Derived.kind.in_(["metadata", "validation"])
            )
        )
    }
    fmt = checked_format(path)
    if fmt is None:
        return {"status": "not-applicable", "results": [], "metadata": None}
    validation = rows.get("validation")
    if validation is None or validation.producer != producers(fmt)["validation"]:
        from neurodatashare.jobs import job_states

        # the blob's pipeline, or a process job an older version queued
        states = job_states(s, key=blob_id)
        legacy = PROCESS_NWB if fmt.name == "nwb" else PROCESS
        state = states.get(PIPELINE, states.get(legacy, "queued"))
        return {
            "status": "failed" if state == "failed" else "pending",
            "results": [],
            "metadata": None,
        }
    results = [{**r, "file": path} for r in validation.payload or []]
    meta = rows.get("metadata")
    return {
        "status": "done",
        "results": results,
        "metadata": meta.payload if meta else None,
        "metadata_error": meta.error if meta else None,
    }


def handlers(archive: Archive) -> dict[str, Any]:
    """Job kind -> handler, for the worker."""
    return {
        **pipeline.handlers(archive),
        **zarr_pipeline.handlers(archive),
        **conversions.handlers(archive),
        SUMMARIZE: lambda payload: summarize_version(archive, payload),
        doi.DOI_PUBLISH: lambda payload: doi.publish_dois(archive, payload),
    }
