"""schema.org `Dataset` JSON-LD for the landing page of a published version.

The fields are those Google Dataset Search documents: name and description (required;
the description is 50 to 5000 characters), then url, identifier, license, creator,
keywords, version, datePublished, isAccessibleForFree, includedInDataCatalog and
distribution. Only published versions of open datasets get it (archive/harvest.py).
"""

from __future__ import annotations

from typing import Any

from neurodatashare.archive.citation import authors
from neurodatashare.archive.context import Archive
from neurodatashare.formatting import script_json

DESCRIPTION_MIN, DESCRIPTION_MAX = 50, 5000


def description(doc: dict[str, Any], instance: str) -> str:
    """The description, made long enough by a sentence of facts and cut to Google's limit."""
    text = " ".join(str(doc.get("description") or "").split())
    if len(text) < DESCRIPTION_MIN:
        where = f"Dataset {doc['identifier']}, version {doc['version']}, in the {instance} archive."
        text = f"{text} {where}".strip()
    if len(text) > DESCRIPTION_MAX:
        text = text[: DESCRIPTION_MAX - 1].rstrip() + "…"
    return text


def creator(contributor: dict[str, Any]) -> dict[str, Any]:
    person = contributor.get("schemaKey") == "Person"
    item: dict[str, Any] = {"@type": "Person" if person else "Organization"}
    name = str(contributor["name"])
    if person and "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        item.update({"name": f"{given} {family}".strip(), "givenName": given, "familyName": family})
    else:
        item["name"] = name
    ident = contributor.get("identifier")
    if ident:
        item["identifier"] = f"https://orcid.org/{ident}" if person else str(ident)
    return item


def dataset_jsonld(archive: Archive, doc: dict[str, Any]) -> dict[str, Any]:
    instance = archive.settings.instance_name
    public = archive.settings.resolved_public_url
    identifiers = [doc["url"], doc["id"]]
    if doc.get("doi"):
        identifiers.insert(0, f"https://doi.org/{doc['doi']}")
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": doc["name"],
        "description": description(doc, instance),
        "url": doc["url"],
        "identifier": identifiers,
        "license": [
            f"https://spdx.org/licenses/{str(lic).removeprefix('spdx:')}.html"
            for lic in doc.get("license") or []
        ],
        "creator": [creator(c) for c in authors(doc)],
        "keywords": [str(k) for k in doc.get("keywords") or []],
        "version": doc["version"],
        "datePublished": doc["datePublished"],
        "isAccessibleForFree": True,
        "creditText": doc.get("citation", ""),
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": f"{instance} archive",
            "url": public,
        },
        "distribution": [
            {
                "@type": "DataDownload",
                "encodingFormat": "application/json",
                "contentUrl": doc["manifestLocation"][0],
                "description": "The list of the version's files, with a download URL for each.",
            }
        ],
    }
    summary = doc.get("assetsSummary") or {}
    techniques = [t["name"] for t in summary.get("measurementTechnique") or [] if t.get("name")]
    if techniques:
        data["measurementTechnique"] = techniques
    variables = [
        v if isinstance(v, str) else v.get("value") for v in summary.get("variableMeasured") or []
    ]
    if any(variables):
        data["variableMeasured"] = [v for v in variables if v]
    return {k: v for k, v in data.items() if v not in ([], "")}


def script_tag(data: dict[str, Any]) -> str:
    """The `<script type="application/ld+json">` element; `<` is escaped so no text in the
    metadata can end the element."""
    text = script_json(data, ensure_ascii=False, indent=1)
    return f'<script type="application/ld+json">{text}</script>'
