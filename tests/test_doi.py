"""archive/doi.py against the DataCite stand-in (testing/datacite.py)."""

from __future__ import annotations

from typing import Any

import pytest

from neurodatashare.archive.doi import DataCite, dataset_doi, provider_for, version_doi
from neurodatashare.config import Settings
from neurodatashare.errors import BadRequest, Unavailable
from neurodatashare.testing.datacite import PASSWORD, REPOSITORY_ID, FakeDataCite, run_datacite

ATTRIBUTES: dict[str, Any] = {
    "titles": [{"title": "Place cells"}],
    "creators": [{"name": "Doe, Jane", "nameType": "Personal"}],
    "publisher": "NDS",
    "publicationYear": 2026,
    "types": {"resourceTypeGeneral": "Dataset"},
}


def _provider(dc: FakeDataCite, **change: str) -> DataCite:
    return DataCite(
        api_url=change.get("url", dc.url),
        prefix=dc.prefix,
        repository_id=REPOSITORY_ID,
        password=change.get("password", PASSWORD),
        timeout=3,
    )


def test_a_draft_doi_becomes_findable_and_stays_so() -> None:
    with run_datacite() as dc:
        doi = version_doi(dc.prefix, "NDS", 1, "0.261203.0001")
        assert doi == "10.80507/nds.000001/0.261203.0001"
        provider = _provider(dc)
        provider.register(doi, attributes=ATTRIBUTES, url="http://x/1", findable=False)
        assert dc.state(doi) == "draft" and dc.calls[:2] == [("PUT", doi), ("POST", "")]
        provider.register(doi, attributes=ATTRIBUTES, url="http://x/1", findable=True)
        assert dc.state(doi) == "findable" and dc.dois[doi]["url"] == "http://x/1"
        provider.register(doi, attributes=ATTRIBUTES, url="http://x/2", findable=False)
        assert dc.state(doi) == "findable"  # as at DataCite: never back to draft
        assert dataset_doi(dc.prefix, "NDS", 1) == "10.80507/nds.000001"


def test_refusals_and_outages_are_told_apart() -> None:
    with run_datacite() as dc:
        provider = _provider(dc)
        doi = f"{dc.prefix}/nds.000002/0.261203.0001"
        with pytest.raises(BadRequest, match="creators can't be blank"):
            provider.register(
                doi, attributes={**ATTRIBUTES, "creators": []}, url="http://x", findable=True
            )
        with pytest.raises(Unavailable, match="credentials"):
            _provider(dc, password="wrong").register(
                doi, attributes=ATTRIBUTES, url="http://x", findable=False
            )
        with pytest.raises(Unavailable, match="credentials or prefix"):
            provider.register(
                "10.9999/nds.000002", attributes=ATTRIBUTES, url="http://x", findable=False
            )
        dc.down = True
        with pytest.raises(Unavailable, match="answered 503") as raised:
            provider.register(doi, attributes=ATTRIBUTES, url="http://x", findable=False)
        assert raised.value.headers["Retry-After"] == "5"
        url = dc.url
    with pytest.raises(Unavailable, match="cannot be reached"):  # the server is gone
        _provider(dc, url=url).register(doi, attributes=ATTRIBUTES, url="http://x", findable=False)


def test_the_provider_comes_from_settings(tmp_path: Any) -> None:
    assert provider_for(Settings(home=tmp_path)) is None
    with pytest.raises(ValueError, match="NDS_DATACITE_PREFIX"):
        provider_for(Settings(home=tmp_path, doi_provider="datacite"))
    made = provider_for(
        Settings(
            home=tmp_path,
            doi_provider="datacite",
            datacite_prefix="10.1",
            datacite_repository_id="R",
            datacite_password="p",
        )
    )
    assert isinstance(made, DataCite) and made.prefix == "10.1"
