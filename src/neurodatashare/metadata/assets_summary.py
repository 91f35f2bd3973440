"""A version's `assetsSummary` (dandischema AssetsSummary), aggregated over its assets.

dandischema's `aggregate_assets_summary` counts subjects as the distinct (sanitised)
identifiers of the assets' Participants plus the `sub-<id>` of DANDI file names, and then
asserts that there are no more subjects than files. That holds for NWB, one subject a
file, but not for an h5ad of several donors, which lists a Participant per donor. So the
subjects are counted here by the same two rules, over all assets, and dandischema
aggregates everything else from copies whose Participants keep their species but not
their identifiers.

An asset whose metadata dandischema cannot aggregate (a schema version it refuses,
malformed lists) does not stop the summary: it is logged and counted by its path and
size only.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

log = logging.getLogger("neurodatashare.metadata")
DEFAULT_ENCODING = "application/x-nwb"  # nwb/extract.py NWB_ENCODING_FORMAT


def path_subject(path: str) -> str | None:
    """The subject of a DANDI file name (`sub-<id>_...`), as dandischema reads it."""
    for part in PurePosixPath(path).name.split(".")[0].split("_"):
        if part.startswith("sub-"):
            return part.split("sub-", 1)[1]
    return None


def _participants(meta: dict[str, Any]) -> list[dict[str, Any]]:
    people = meta.get("wasAttributedTo")
    if not isinstance(people, list):
        return []
    return [p for p in people if isinstance(p, dict) and p.get("schemaKey") == "Participant"]


def _without_subject_ids(meta: dict[str, Any]) -> dict[str, Any]:
    """The asset as dandischema aggregates it here: Participants without identifiers."""
    people = meta.get("wasAttributedTo")
    if not isinstance(people, list):
        return meta
    kept = [
        {k: v for k, v in p.items() if k != "identifier"}
        if isinstance(p, dict) and p.get("schemaKey") == "Participant"
        else p
        for p in people
    ]
    return {**meta, "wasAttributedTo": kept}


def _bare(meta: dict[str, Any]) -> dict[str, Any]:
    """What is left of an asset whose metadata cannot be aggregated: its file."""
    from dandischema.consts import DANDI_SCHEMA_VERSION

    return {
        "schemaVersion": DANDI_SCHEMA_VERSION,
        "encodingFormat": "application/octet-stream",
        "path": str(meta.get("path") or ""),
        "contentSize": int(meta.get("contentSize") or 0),
    }


def summarize_assets(assets: list[dict[str, Any]], *, sizes: list[int]) -> dict[str, Any]:
    """The version-level `assetsSummary` of a list of assets.

    `sizes[i]` is the size in bytes of `assets[i]`'s blob. Assets without a `path` count
    subjects from their Participants only (DANDI also reads `sub-<id>` from paths).
    """
    from dandischema.consts import DANDI_SCHEMA_VERSION
    from dandischema.metadata import aggregate_assets_summary
    from dandischema.utils import sanitize_value

    if len(assets) != len(sizes):
        raise ValueError(f"got {len(assets)} assets but {len(sizes)} sizes")
    prepared = [
        {
            **asset,
            **_summable(asset),
            "schemaVersion": asset.get("schemaVersion") or DANDI_SCHEMA_VERSION,
            "encodingFormat": str(asset.get("encodingFormat") or DEFAULT_ENCODING),
            "path": str(asset.get("path") or ""),
            "contentSize": int(size),
        }
        for asset, size in zip(assets, sizes, strict=True)
    ]
    copies = [_without_subject_ids(meta) for meta in prepared]
    try:
        summary = aggregate_assets_summary(copies)
    except Exception:
        # find the assets at fault, one by one, and count only their files
        for i, meta in enumerate(copies):
            try:
                aggregate_assets_summary([meta])
            except Exception as exc:
                log.warning(
                    "assetsSummary: skipping the metadata of %s (%s: %s)",
                    meta.get("path") or f"asset {i}",
                    type(exc).__name__,
                    str(exc)[:300],
                )
                copies[i] = prepared[i] = _bare(meta)
        summary = aggregate_assets_summary(copies)
    subjects: set[str] = set()
    for meta in prepared:
        for person in _participants(meta):
            if person.get("identifier"):
                subjects.add(sanitize_value(str(person["identifier"])))
        if (named := path_subject(str(meta["path"]))) is not None:
            subjects.add(named)
    summary.pop("numberOfSubjects", None)
    if subjects:
        summary["numberOfSubjects"] = len(subjects)
    return _valid_summary(summary)


# Asset fields the summary aggregates: lists of objects (variableMeasured: with a value).
_SUMMED = ("approach", "measurementTechnique", "wasAttributedTo", "wasDerivedFrom")


def _summable(asset: dict[str, Any]) -> dict[str, Any]:
    """The aggregated fields of an asset with what cannot be aggregated left out (a client
    may send anything; dandischema's aggregation expects lists of objects)."""
    out: dict[str, Any] = {}
    for key in _SUMMED:
        value = asset.get(key)
        out[key] = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    measured = asset.get("variableMeasured")
    out["variableMeasured"] = (
        [v for v in measured if isinstance(v, dict) and isinstance(v.get("value"), str)]
        if isinstance(measured, list)
        else []
    )
    return out


def _valid_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Drop the summary's lists that dandischema's AssetsSummary refuses (they came from
    assets' metadata that was not valid), keeping the counts and everything else."""
    from dandischema.models import AssetsSummary
    from pydantic import ValidationError

    for _attempt in range(5):
        try:
            AssetsSummary.model_validate(summary)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            bad -= {"numberOfBytes", "numberOfFiles", "schemaKey"}
            if not bad:
                raise
            summary = {k: v for k, v in summary.items() if k not in bad}
        else:
            return summary
    return summary
