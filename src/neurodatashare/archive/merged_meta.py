"""Each asset's merged metadata: what its format extracted from the bytes, overlaid by
what the client sent (the rule asset documents follow, archive/assets.py), for many
assets in a few queries. Subject links and the search index read assets this way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurodatashare.archive import derived, zarr_results
from neurodatashare.db.models import Asset, Derived
from neurodatashare.formats import format_for


def _extracted(s: Session, blob_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    unique = sorted(set(blob_ids))
    for start in range(0, len(unique), 500):
        rows = s.execute(
            select(Derived.blob_id, Derived.payload).where(
                Derived.kind == "metadata", Derived.blob_id.in_(unique[start : start + 500])
            )
        )
        out.update((b, dict(p)) for b, p in rows if isinstance(p, dict))
    return out


def merged_metadata(s: Session, assets: Sequence[Asset]) -> list[tuple[str, dict[str, Any]]]:
    """(format name, merged metadata) for each asset, in the order given."""
    extracted = _extracted(s, [a.blob_id for a in assets if a.blob_id])
    out = []
    for asset in assets:
        if asset.blob_id is None:  # a Zarr asset: its Zarr format's extracted metadata
            own = zarr_results.extracted_metadata(s, zarr=asset.zarr, path=asset.path)
            fmt = str(own.get("nds:format") or zarr_results.format_name(asset.path))
        else:
            checked = derived.checked_format(asset.path)
            own = extracted.get(asset.blob_id, {}) if checked else {}
            # a format can find that a file is not its own (an `.asc` not Neurolucida)
            fmt = str(own.get("nds:format") or format_for(asset.path).name)
        out.append((fmt, {**own, **(asset.meta or {})}))
    return out
