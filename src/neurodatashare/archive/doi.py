"""DOIs for published versions: a small provider interface and DataCite's REST API.

Each published version gets its own DOI (`PREFIX/nds.000001/0.231201.0001`, DANDI's
pattern with the instance name), and the dataset one DOI (`PREFIX/nds.000001`) that is
moved to the latest version at every publish. Publishing registers the version's DOI as
a DataCite *draft* inside its database transaction: when DataCite does not answer, the
transaction rolls back and nothing is published (a 503 says to try again). After the
commit the `doi.publish` job makes both DOIs findable, with retries, so a DataCite outage
between the two steps delays findability but never loses it. Draft DOIs can be deleted
at DataCite; findable ones cannot, which is why nothing is findable before the commit.

The HTTP calls are hand-written with httpx: DataCite's REST API is a handful of JSON:API
calls (https://support.datacite.org/docs/api-create-dois), and the Python clients on
PyPI wrap the older MDS API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from neurodatashare.config import Settings
from neurodatashare.errors import BadRequest, Unavailable

log = logging.getLogger("neurodatashare.doi")
TIMEOUT = 15.0  # seconds per DataCite request; publishing waits for the first one
JSONAPI = "application/vnd.api+json"


class DoiProvider(Protocol):
    prefix: str

    def register(self, doi: str, *, attributes: dict[str, Any], url: str, findable: bool) -> None:
        """Create or update `doi` pointing at `url` with DataCite-shaped `attributes`,
        as a draft or findable; raises Unavailable (retry) or BadRequest (refused)."""
        ...


def version_doi(prefix: str, instance: str, dataset_id: int, version: str) -> str:
    return f"{prefix}/{instance.lower()}.{dataset_id:06d}/{version}"


def dataset_doi(prefix: str, instance: str, dataset_id: int) -> str:
    return f"{prefix}/{instance.lower()}.{dataset_id:06d}"


@dataclass
class DataCite:
    """DataCite's REST API with a repository's credentials."""

    api_url: str
    prefix: str
    repository_id: str
    password: str
    timeout: float = TIMEOUT

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url.rstrip("/"),
            auth=(self.repository_id, self.password),
            headers={"Content-Type": JSONAPI, "Accept": JSONAPI},
            timeout=self.timeout,
        )

    def register(self, doi: str, *, attributes: dict[str, Any], url: str, findable: bool) -> None:
        body: dict[str, Any] = {
            "data": {
                "type": "dois",
                "attributes": {
                    **attributes,
                    "doi": doi,
                    "url": url,
                    **({"event": "publish"} if findable else {}),
                },
            }
        }
        try:
            with self._client() as client:
                r = client.put(f"/dois/{doi}", json=body)
                if r.status_code == 404:  # not there yet: create it
                    r = client.post("/dois", json=body)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"DataCite cannot be reached at {self.api_url} ({type(exc).__name__}), so the "
                "DOI was not registered and nothing was published. Try again in a moment."
            ) from exc
        if r.status_code >= 500 or r.status_code == 429:
            raise Unavailable(
                f"DataCite answered {r.status_code}, so the DOI was not registered and "
                "nothing was published. Try again in a moment."
            )
        if r.status_code in (401, 403):
            raise Unavailable(  # the operator's setting, not the user's data: retry later
                f"DataCite refused the archive's repository credentials or prefix "
                f"({r.status_code}); the archive's administrator must check "
                "NDS_DATACITE_REPOSITORY_ID, NDS_DATACITE_PASSWORD and NDS_DATACITE_PREFIX. "
                "Nothing was published.",
                retry_after=300,
            )
        if r.status_code >= 400:
            raise BadRequest(f"DataCite refused the DOI {doi}: {_titles(r)}")


def _titles(r: httpx.Response) -> str:
    try:
        errors = r.json().get("errors") or []
        found = "; ".join(
            f"{e.get('source', '')}: {e.get('title', '')}".strip(": ") for e in errors
        )
    except ValueError:
        found = ""
    return found or f"HTTP {r.status_code}"


def provider_for(settings: Settings) -> DoiProvider | None:
    """The configured provider, or None when DOIs are off (`NDS_DOI_PROVIDER=none`)."""
    if settings.doi_provider == "none":
        return None
    missing = [
        name
        for name in ("datacite_prefix", "datacite_repository_id", "datacite_password")
        if not getattr(settings, name)
    ]
    if missing:
        names = ", ".join(f"NDS_{m.upper()}" for m in missing)
        raise ValueError(f"NDS_DOI_PROVIDER=datacite needs {names}.")
    return DataCite(
        api_url=settings.datacite_api_url,
        prefix=str(settings.datacite_prefix),
        repository_id=str(settings.datacite_repository_id),
        password=str(settings.datacite_password),
    )


DOI_PUBLISH = "doi.publish"  # the job that makes a published version's DOIs findable


def datacite_attributes(archive: Any, document: dict[str, Any]) -> dict[str, Any]:
    """DataCite attributes of a published version document, by dandischema's own
    conversion, with this archive as the publisher (dandischema names its instance)."""
    from dandischema.datacite import to_datacite

    attributes: dict[str, Any] = dict(to_datacite(document)["data"]["attributes"])
    attributes.pop("event", None)
    attributes["publisher"] = {"name": f"{archive.settings.instance_name} archive", "lang": "en"}
    return attributes


def reserve_version_doi(archive: Any, s: Any, *, dataset: Any, version: Any) -> None:
    """Register the new version's DOI as a draft, inside the publish transaction (the
    caller rolls back on any error)."""
    from neurodatashare.archive.versions import version_metadata_json, version_url

    provider = provider_for(archive.settings)
    if provider is None:
        return
    document = version_metadata_json(archive, s, dataset=dataset, version=version)
    provider.register(
        str(version.meta["doi"]),
        attributes=datacite_attributes(archive, document),
        url=version_url(archive, dataset, version),
        findable=False,
    )


def publish_dois(archive: Any, payload: dict[str, Any]) -> None:
    """The `doi.publish` job: the version's DOI findable, and the dataset's DOI (created
    at its first publish) moved to this version if it is still the latest."""
    from sqlalchemy import select

    from neurodatashare.archive.versions import (
        latest_published,
        version_metadata_json,
        version_url,
    )
    from neurodatashare.db.models import Dataset, Version

    provider = provider_for(archive.settings)
    if provider is None:
        return
    with archive.db.read() as s:
        dataset = s.get(Dataset, int(payload["dataset_id"]))
        if dataset is None:
            return
        version = s.scalar(
            select(Version).where(
                Version.dataset_id == dataset.id, Version.version == payload["version"]
            )
        )
        if version is None or not version.meta.get("doi"):
            return
        document = version_metadata_json(archive, s, dataset=dataset, version=version)
        url = version_url(archive, dataset, version)
        latest = latest_published(s, dataset)
        is_latest = latest is not None and latest.id == version.id
        instance = archive.settings.instance_name
    attributes = datacite_attributes(archive, document)
    provider.register(str(document["doi"]), attributes=attributes, url=url, findable=True)
    if is_latest:
        concept = dataset_doi(provider.prefix, instance, int(payload["dataset_id"]))
        landing = (
            f"{archive.settings.resolved_public_url}/dandiset/{int(payload['dataset_id']):06d}"
        )
        whole = {k: v for k, v in attributes.items() if k != "version"}
        whole["relatedIdentifiers"] = [
            *attributes.get("relatedIdentifiers", []),
            {
                "relatedIdentifier": str(document["doi"]),
                "relatedIdentifierType": "DOI",
                "relationType": "HasVersion",
            },
        ]
        provider.register(concept, attributes=whole, url=landing, findable=True)
