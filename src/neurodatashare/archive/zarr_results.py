"""What the archive knows about a Zarr asset: its format, extracted metadata and findings.

Results of a Zarr format (formats/base.py, `StoreFormat`) are `Derived` rows keyed by the
Zarr's DANDI checksum instead of a blob id: the checksum names a Zarr's content as the
dandi-etag names a blob's, so the frozen copy a published version holds (same checksum)
and a Zarr uploaded again unchanged reuse them, and any change of content (a new
checksum) is processed afresh. A Zarr no format claims is a plain Zarr: nothing to check.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.db.models import Asset, Derived, Version, VersionAsset, Zarr, ZarrEntry
from neurodatashare.formats import (
    ZARR_FORMAT_NAME,
    ZARR_MEDIA_TYPE,
    StoreFormat,
    store_format_for,
)

ERROR_LEVEL = 40  # validation.types.Severity.ERROR


def checksum_of(rows: Iterable[tuple[str, int, str]]) -> Any:
    """DANDI's Zarr checksum of (path, size, md5) entries (a ZarrDirectoryDigest)."""
    from zarr_checksum.tree import ZarrChecksumTree

    tree = ZarrChecksumTree()
    for path, size, md5 in rows:
        tree.add_leaf(Path(path), int(size), md5)
    return tree.process()


def content_json(s: Session, *, api_url: str, asset: Asset) -> dict[str, Any]:
    """A Zarr asset's `contentSize`, `digest` and `contentUrl` (its API download URL,
    then where its files are listed, as dandi-archive). Before the Zarr is finalized, the
    checksum and size are those of the files it holds at the moment."""
    z = asset.zarr
    if z is not None and z.status == "Complete" and z.checksum:
        checksum, size = z.checksum, int(z.size)
    else:
        rows = s.execute(
            select(ZarrEntry.path, ZarrEntry.size, ZarrEntry.md5).where(
                ZarrEntry.zarr_id == asset.zarr_id
            )
        )
        digest = checksum_of((p, size, md5) for p, size, md5 in rows)
        checksum, size = str(digest), int(digest.size)
    return {
        "contentSize": size,
        "digest": {"dandi:dandi-zarr-checksum": checksum},
        "contentUrl": [
            f"{api_url}/assets/{asset.id}/download/",
            f"{api_url}/zarr/{asset.zarr_id}/files/",
        ],
    }


def format_name(path: str) -> str:
    fmt = store_format_for(path)
    return fmt.name if fmt is not None else ZARR_FORMAT_NAME


def media_type(path: str) -> str:
    fmt = store_format_for(path)
    return fmt.media_type if fmt is not None else ZARR_MEDIA_TYPE


def results(s: Session, *, checksum: str | None) -> dict[str, Derived]:
    if checksum is None:
        return {}
    rows = s.scalars(
        select(Derived).where(
            Derived.zarr_checksum == checksum, Derived.kind.in_(["metadata", "validation"])
        )
    )
    return {d.kind: d for d in rows}


def up_to_date(s: Session, *, checksum: str | None, fmt: StoreFormat) -> bool:
    done = results(s, checksum=checksum)
    return all(k in done and done[k].producer == fmt.version for k in ("metadata", "validation"))


def extracted_metadata(s: Session, *, zarr: Zarr | None, path: str) -> dict[str, Any]:
    """What the asset's Zarr format extracted, or {} (plain Zarr, or not yet)."""
    fmt = store_format_for(path)
    if fmt is None or zarr is None:
        return {}
    payload = results(s, checksum=zarr.checksum).get("metadata")
    return dict(payload.payload) if payload and isinstance(payload.payload, dict) else {}


def report(s: Session, *, zarr: Zarr | None, path: str) -> dict[str, Any]:
    """A Zarr asset's validation report, shaped as processing.asset_report's."""
    fmt = store_format_for(path)
    if fmt is None or zarr is None:
        return {"status": "not-applicable", "results": [], "metadata": None}
    rows = results(s, checksum=zarr.checksum)
    validation = rows.get("validation")
    if zarr.status != "Complete" or validation is None or validation.producer != fmt.version:
        from neurodatashare.jobs import job_states

        states = job_states(s, key=zarr.id)
        failed = "failed" in (states.get("zarr.ingest"), states.get("zarr.pipeline"))
        return {"status": "failed" if failed else "pending", "results": [], "metadata": None}
    meta = rows.get("metadata")
    return {
        "status": "done",
        "results": [{**r, "file": path} for r in validation.payload or []],
        "metadata": meta.payload if meta else None,
        "metadata_error": meta.error if meta else None,
    }


def _zarr_assets(s: Session, version: Version) -> list[tuple[Asset, Zarr]]:
    rows = s.execute(
        select(Asset, Zarr)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .join(Zarr, Zarr.id == Asset.zarr_id)
        .where(VersionAsset.version_id == version.id)
        .order_by(Asset.path)
    ).all()
    return [(a, z) for a, z in rows]


def pending_count(s: Session, version: Version) -> int:
    """Zarr assets of the version without a checksum yet, or whose format's results by
    today's producer are missing."""
    count = 0
    for asset, z in _zarr_assets(s, version):
        fmt = store_format_for(asset.path)
        if z.status != "Complete" or (
            fmt is not None and not up_to_date(s, checksum=z.checksum, fmt=fmt)
        ):
            count += 1
    return count


def asset_errors(s: Session, version: Version) -> list[dict[str, Any]]:
    """Blocking findings of the version's Zarr assets, as version_status.asset_errors."""
    from neurodatashare.archive.derived import _severity_number

    errors = []
    for asset, z in _zarr_assets(s, version):
        fmt = store_format_for(asset.path)
        if fmt is None:
            continue
        validation = results(s, checksum=z.checksum).get("validation")
        if validation is None or validation.producer != fmt.version:
            continue
        for r in validation.payload or []:
            if _severity_number(r["severity"]) >= ERROR_LEVEL:
                errors.append(
                    {
                        "field": r.get("object_path") or "",
                        "message": r["message"],
                        "path": asset.path,
                        "severity": r["severity"],
                        "how_to_fix": r.get("how_to_fix"),
                    }
                )
    return errors
