"""The computed parts of DANDI metadata documents, one small function per field.

Version documents (`GET .../versions/{v}/`) and asset documents (`GET .../assets/{aid}/`)
are the stored metadata plus what the server computes; every such document validates
against dandischema's `Dandiset` and `Asset` models (tests/conftest.py checks each one the
test suite sees). A document is *published* when it has `datePublished`: then it also has
`publishedBy` (a PublishActivity), and a published asset has its sha256.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurodatashare import __version__
from neurodatashare.archive.access import effective_access
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Asset, Dataset, Version, VersionAsset

# A private dataset (our extension) has no end date, but dandischema requires one for
# embargoed access; its documents say "embargoed until this date" and describe why.
PRIVATE_UNTIL = date(9999, 12, 31)
PRIVATE_NOTE = "Private dataset: only its owners may read it, with no planned end date."
# Namespace of the stable identifiers of publish activities (uuid5 of dataset/version).
_PUBLISH_NS = uuid.UUID("6f1c2b8e-4d3a-5e9f-8a7b-0c1d2e3f4a5b")


def context_url(schema_version: str) -> str:
    """The JSON-LD `@context` of a schema version, as the DANDI Archive names it."""
    return (
        "https://raw.githubusercontent.com/dandi/schema/master/releases/"
        f"{schema_version}/context.json"
    )


def access_requirements(dataset: Dataset | None) -> list[dict[str, Any]]:
    """`access`: open, or embargoed with its end date (as DANDI, `embargoedUntil`)."""
    level = "open" if dataset is None else effective_access(dataset)
    if level == "open":
        return [{"schemaKey": "AccessRequirements", "status": "dandi:OpenAccess"}]
    item: dict[str, Any] = {"schemaKey": "AccessRequirements", "status": "dandi:EmbargoedAccess"}
    assert dataset is not None
    if level == "embargoed" and dataset.embargo_end is not None:
        item["embargoedUntil"] = dataset.embargo_end.isoformat()
    else:
        item["embargoedUntil"] = PRIVATE_UNTIL.isoformat()
        item["description"] = PRIVATE_NOTE
    return [item]


def manifest_location(archive: Archive, *, dataset: Dataset, version: Version) -> list[str]:
    """Where the version's list of assets is: for the draft DANDI names its asset listing;
    for published versions (DANDI: an assets.yaml on S3) we name the same frozen listing."""
    return [f"{archive.api_url}/dandisets/{dataset.id:06d}/versions/{version.version}/assets/"]


def published_by(archive: Archive, *, key: str, when: datetime) -> dict[str, Any]:
    """A PublishActivity, stable for `key` (the same document every time it is served)."""
    stamp = when.isoformat()
    return {
        "schemaKey": "PublishActivity",
        "id": uuid.uuid5(_PUBLISH_NS, key).urn,
        "name": f"{archive.settings.instance_name} publish",
        "startDate": stamp,
        "endDate": stamp,
        "wasAssociatedWith": [
            {
                "schemaKey": "Software",
                "id": uuid.uuid5(_PUBLISH_NS, f"software:{__version__}").urn,
                "name": f"{archive.settings.instance_name} API (neurodatashare)",
                "version": __version__,
            }
        ],
    }


def version_publication(archive: Archive, *, dataset: Dataset, version: Version) -> dict[str, Any]:
    """`datePublished` and `publishedBy` of a published version; {} for the draft."""
    if version.version == "draft":
        return {}
    return {
        "datePublished": version.created.isoformat(),
        "publishedBy": published_by(
            archive, key=f"{dataset.id:06d}/{version.version}", when=version.created
        ),
    }


def content_urls(archive: Archive, asset: Asset) -> list[str]:
    """`contentUrl`: the API download URL and a direct URL of the bytes outside /api/:
    this server's blob route on every store. DANDI lists its bucket's object URL there,
    but a private bucket refuses unsigned reads, so `as_readable()` of dandi would fail;
    on S3 the route checks access and redirects to a presigned GET."""
    if asset.blob is None:  # a Zarr: where its files are listed (archive/zarr_results.py)
        return [
            f"{archive.api_url}/assets/{asset.id}/download/",
            f"{archive.api_url}/zarr/{asset.zarr_id}/files/",
        ]
    direct = f"{archive.settings.resolved_public_url}/blobs/{asset.blob_id}"
    return [f"{archive.api_url}/assets/{asset.id}/download/", direct]


def asset_publication(archive: Archive, s: Session, asset: Asset) -> dict[str, Any]:
    """As in DANDI, an asset that is in a published version is published (from the first
    such version on), wherever it is served from, the draft included."""
    first = s.scalar(
        select(func.min(Version.created))
        .join(VersionAsset, VersionAsset.version_id == Version.id)
        .where(VersionAsset.asset_id == asset.id, Version.version != "draft")
    )
    if first is None:
        return {}
    return {
        "datePublished": first.isoformat(),
        "publishedBy": published_by(archive, key=f"asset:{asset.id}", when=first),
    }
