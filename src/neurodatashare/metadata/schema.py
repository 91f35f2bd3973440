"""Checking metadata documents with dandischema's own models (`Dandiset`, `Asset`).

A document is published when it has `datePublished`; dandischema then applies its
published rules (publishedBy, a published id and url, files, a sha256 for assets).
"""

from __future__ import annotations

from typing import Any

# Fields of a version document that the server computes; the owners write the rest.
VERSION_COMPUTED = frozenset(
    {
        "@context",
        "schemaKey",
        "schemaVersion",
        "identifier",
        "id",
        "version",
        "url",
        "repository",
        "dateCreated",
        "citation",
        "assetsSummary",
        "access",
        "manifestLocation",
        "datePublished",
        "publishedBy",
        "doi",
    }
)
# Fields of an asset document that the server computes.
ASSET_COMPUTED = frozenset(
    {
        "@context",
        "schemaKey",
        "schemaVersion",
        "id",
        "identifier",
        "path",
        "contentSize",
        "digest",
        "contentUrl",
        "encodingFormat",
        "access",
        "datePublished",
        "publishedBy",
    }
)


def schema_errors(
    document: dict[str, Any], *, kind: str, missing: bool = True
) -> list[dict[str, str]]:
    """dandischema's complaints about a `Dandiset` or `Asset` document, as DANDI's
    validation errors `{"field": "contributor.0.name", "message": ...}`; [] if valid.
    With `missing=False`, required fields that are absent are not complaints (a draft
    may lack them; publishing may not)."""
    from dandischema import models
    from pydantic import ValidationError

    model: Any = getattr(models, kind)  # Dandiset or Asset
    try:
        model.model_validate(document)
    except ValidationError as exc:
        return [
            {"field": ".".join(str(x) for x in err["loc"]), "message": err["msg"]}
            for err in exc.errors()
            if missing or err["type"] != "missing"
        ]
    return []


def owner_field_problems(
    meta: dict[str, Any], name: str, *, missing: bool = True
) -> list[dict[str, str]]:
    """dandischema's complaints about the fields a dataset's owners write, checked with
    placeholders for the fields the server computes (`missing` as in schema_errors)."""
    placeholders = {
        "schemaKey": "Dandiset",
        "id": "DANDI:000000/draft",
        "identifier": "DANDI:000000",
        "version": "draft",
        "citation": "placeholder",
        "assetsSummary": {"schemaKey": "AssetsSummary", "numberOfBytes": 0, "numberOfFiles": 0},
        "manifestLocation": ["http://localhost/"],
    }
    owned = {k: v for k, v in meta.items() if k not in VERSION_COMPUTED}
    return schema_errors({**owned, "name": name, **placeholders}, kind="Dandiset", missing=missing)
