"""OAI-PMH (`/oai`), `/sitemap.xml` and the landing pages' JSON-LD: published versions of
open datasets only. OAI answers are validated against the OAI-PMH 2.0 XSD (tests/schemas)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from neurodatashare.archive import oai
from neurodatashare.testing.factories import publishable_metadata
from neurodatashare.testing.live import Live

SCHEMAS = Path(__file__).parent / "schemas"
NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "od": "http://schema.datacite.org/oai/oai-1.1/",
    "d": "http://datacite.org/schema/kernel-4",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
}
OAI_SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMAS / "OAI-PMH.xsd")))


def _oai(live: Live, **params: str) -> Any:
    r = live.anonymous().get("/oai", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml"), r.text
    root = etree.fromstring(r.content)
    assert OAI_SCHEMA.validate(root), (OAI_SCHEMA.error_log, r.text[:2000])
    return root


def _error(root: Any) -> str | None:
    error = root.find("o:error", NS)
    return None if error is None else str(error.get("code"))


def _world(live: Live) -> dict[str, Any]:
    alice = live.user("alice", password="alice-password")
    made: dict[str, Any] = {"alice": alice}
    for state in ("open", "embargoed", "private", "made-private", "draft-only"):
        meta = publishable_metadata(description=f"{state} recordings q5z", keywords=["ephys"])
        access = {"embargoed": "embargoed", "private": "private"}.get(state)
        ds = alice.create_dataset(
            f"OAI {state} q5z",
            metadata=meta,
            access=access,
            embargo_end="2099-01-01" if state == "embargoed" else None,
        )
        alice.add_file(ds, "a.bin", state.encode())
        if state != "draft-only":
            made[state] = (ds, alice.publish(ds)["version"])
        if state == "made-private":
            assert alice.put(f"/api/dandisets/{ds}/access/", json={"access": "private"}).is_success
    ds, _ = made["open"]
    alice.add_file(ds, "b.bin", b"second")
    made["open2"] = (ds, alice.publish(ds)["version"])
    return made


def test_oai_lists_only_published_open_versions(live: Live) -> None:
    world = _world(live)
    host = "127.0.0.1"
    ident = root = _oai(live, verb="Identify")
    ident = root.find("o:Identify", NS)
    assert ident.findtext("o:baseURL", namespaces=NS).endswith("/oai")
    assert ident.findtext("o:protocolVersion", namespaces=NS) == "2.0"

    root = _oai(live, verb="ListIdentifiers", metadataPrefix="oai_dc")
    got = [h.findtext("o:identifier", namespaces=NS) for h in root.iterfind(".//o:header", NS)]
    expected = [f"oai:{host}:{ds}/{v}" for ds, v in (world["open"], world["open2"])]
    assert got == expected

    for prefix in ("oai_dc", "oai_datacite"):
        root = _oai(live, verb="ListRecords", metadataPrefix=prefix)
        assert len(root.findall(".//o:record", NS)) == 2
    text = etree.tostring(root).decode()
    for hidden in ("embargoed", "private", "draft-only"):
        assert f"{hidden} recordings" not in text

    ds, version = world["open"]
    root = _oai(
        live, verb="GetRecord", identifier=f"oai:{host}:{ds}/{version}", metadataPrefix="oai_dc"
    )
    dc = root.find(".//oai_dc:dc", NS)
    assert dc.findtext("dc:title", namespaces=NS) == "OAI open q5z"
    assert dc.findtext("dc:creator", namespaces=NS) == "Doe, Jane"
    assert dc.findtext("dc:type", namespaces=NS) == "Dataset"
    allowed = {
        "title",
        "creator",
        "subject",
        "description",
        "publisher",
        "contributor",
        "date",
        "type",
        "format",
        "identifier",
        "source",
        "language",
        "relation",
        "coverage",
        "rights",
    }  # the 15 elements of simple Dublin Core (oai_dc)
    assert {etree.QName(el).localname for el in dc} <= allowed
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", dc.findtext("dc:date", namespaces=NS))

    root = _oai(
        live,
        verb="GetRecord",
        identifier=f"oai:{host}:{ds}/{version}",
        metadataPrefix="oai_datacite",
    )
    resource = root.find(".//od:payload/d:resource", NS)
    assert resource.findtext("d:titles/d:title", namespaces=NS) == "OAI open q5z"
    assert resource.findtext("d:version", namespaces=NS) == version

    for state in ("embargoed", "private", "made-private"):
        ds, version = world[state]
        root = _oai(
            live, verb="GetRecord", identifier=f"oai:{host}:{ds}/{version}", metadataPrefix="oai_dc"
        )
        assert _error(root) == "idDoesNotExist"
        root = _oai(live, verb="ListIdentifiers", metadataPrefix="oai_dc", set=f"dandiset:{ds}")
        assert _error(root) == "noRecordsMatch"

    root = _oai(live, verb="ListSets")
    specs = [s.findtext("o:setSpec", namespaces=NS) for s in root.iterfind(".//o:set", NS)]
    assert specs == [f"dandiset:{world['open'][0]}"]
    root = _oai(live, verb="ListMetadataFormats")
    prefixes = [
        f.findtext("o:metadataPrefix", namespaces=NS)
        for f in root.iterfind(".//o:metadataFormat", NS)
    ]
    assert prefixes == ["oai_dc", "oai_datacite"]

    # dates: everything today, nothing before 2000 or after 2090
    assert (
        _error(_oai(live, verb="ListIdentifiers", metadataPrefix="oai_dc", until="2000-01-01"))
        == "noRecordsMatch"
    )
    assert (
        _error(
            _oai(live, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2090-01-01"})
        )
        == "noRecordsMatch"
    )
    root = _oai(
        live,
        verb="ListIdentifiers",
        metadataPrefix="oai_dc",
        **{"from": "2000-01-01T00:00:00Z", "until": "2090-01-01T00:00:00Z"},
    )
    assert len(root.findall(".//o:header", NS)) == 2


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Frobnicate"}, "badVerb"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "Identify", "extra": "1"}, "badArgument"),
        ({"verb": "GetRecord", "identifier": "oai:x:1/2"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        (
            {
                "verb": "GetRecord",
                "identifier": "oai:127.0.0.1:000042/0.250101.0001",
                "metadataPrefix": "oai_dc",
            },
            "idDoesNotExist",
        ),
        ({"verb": "ListMetadataFormats", "identifier": "nope"}, "idDoesNotExist"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc"}, "noRecordsMatch"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2020-01-01",
                "until": "2020-01-01T00:00:00Z",
            },
            "badArgument",
        ),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2021-01-01",
                "until": "2020-01-01",
            },
            "badArgument",
        ),
        ({"verb": "ListRecords", "resumptionToken": "junk"}, "badResumptionToken"),
        (
            {"verb": "ListRecords", "resumptionToken": "junk", "metadataPrefix": "oai_dc"},
            "badArgument",
        ),
        ({"verb": "ListSets"}, "noSetHierarchy"),
    ],
)
def test_oai_errors(live: Live, params: dict[str, str], code: str) -> None:
    root = _oai(live, **params)
    assert _error(root) == code
    if code in ("badVerb", "badArgument"):
        assert not root.find("o:request", NS).attrib  # no arguments echoed


def test_oai_repeated_arguments_and_post(live: Live) -> None:
    r = live.anonymous().get("/oai?verb=Identify&verb=Identify")
    assert b'code="badVerb"' in r.content
    r = live.anonymous().post("/oai", data={"verb": "Identify"})
    root = etree.fromstring(r.content)
    assert OAI_SCHEMA.validate(root) and root.find("o:Identify", NS) is not None


def test_resumption_tokens_page_and_refuse_tampering(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world(live)
    monkeypatch.setattr(oai, "PAGE", 1)  # pages of one record (the server runs in this process)
    root = _oai(live, verb="ListRecords", metadataPrefix="oai_dc")
    seen = [h.findtext("o:identifier", namespaces=NS) for h in root.iterfind(".//o:header", NS)]
    token = root.find(".//o:resumptionToken", NS)
    assert token is not None and token.text and token.get("cursor") == "0"
    tampered = token.text[:-2] + ("AA" if not token.text.endswith("AA") else "BB")
    assert _error(_oai(live, verb="ListRecords", resumptionToken=tampered)) == "badResumptionToken"
    # a ListRecords token is not a ListIdentifiers token
    assert (
        _error(_oai(live, verb="ListIdentifiers", resumptionToken=token.text))
        == "badResumptionToken"
    )
    root = _oai(live, verb="ListRecords", resumptionToken=token.text)
    seen += [h.findtext("o:identifier", namespaces=NS) for h in root.iterfind(".//o:header", NS)]
    last = root.find(".//o:resumptionToken", NS)
    assert last is not None and not last.text and last.get("cursor") == "1"  # the list is done
    assert len(seen) == 2 and len(set(seen)) == 2
    assert seen[1].endswith(world["open2"][1])


def test_sitemap_lists_published_open_versions(live: Live) -> None:
    world = _world(live)
    r = live.anonymous().get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{NS['sm']}}}urlset"
    base = live.archive.settings.resolved_public_url
    locs = [u.findtext("sm:loc", namespaces=NS) for u in root.iterfind("sm:url", NS)]
    assert locs == [f"{base}/dandiset/{ds}/{v}" for ds, v in (world["open"], world["open2"])]
    for url in root.iterfind("sm:url", NS):  # the sitemaps.org shape: loc, then lastmod
        assert [etree.QName(c).localname for c in url] == ["loc", "lastmod"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", url.findtext("sm:lastmod", namespaces=NS))
    robots = live.anonymous().get("/robots.txt")
    assert robots.status_code == 200 and f"Sitemap: {base}/sitemap.xml" in robots.text
    # the owner's sitemap is the same: it is for crawlers
    assert world["alice"].get("/sitemap.xml").content == r.content


def _jsonld(html: str) -> list[dict[str, Any]]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


def test_jsonld_on_published_open_landing_pages_only(live: Live) -> None:
    world = _world(live)
    anon = live.anonymous()
    ds, version = world["open"]
    (data,) = _jsonld(anon.get(f"/dandiset/{ds}/{version}").text)
    # Google Dataset Search: name and description required (description 50-5000 chars)
    assert data["@context"] == "https://schema.org/" and data["@type"] == "Dataset"
    assert isinstance(data["name"], str) and data["name"] == "OAI open q5z"
    assert isinstance(data["description"], str) and 50 <= len(data["description"]) <= 5000
    assert data["description"].startswith("open recordings q5z")
    # recommended fields, with the types Google documents
    assert data["url"].endswith(f"/dandiset/{ds}/{version}")
    assert isinstance(data["identifier"], list) and all(
        isinstance(i, str) for i in data["identifier"]
    )
    assert data["license"] == ["https://spdx.org/licenses/CC-BY-4.0.html"]
    assert data["creator"] == [
        {"@type": "Person", "name": "Jane Doe", "givenName": "Jane", "familyName": "Doe"}
    ]
    assert data["keywords"] == ["ephys"] and data["version"] == version
    assert re.match(r"\d{4}-\d{2}-\d{2}T", data["datePublished"])
    assert data["isAccessibleForFree"] is True
    assert data["includedInDataCatalog"]["@type"] == "DataCatalog"
    assert data["includedInDataCatalog"]["name"] == "NDS archive"
    (dist,) = data["distribution"]
    assert dist["@type"] == "DataDownload" and dist["contentUrl"].startswith("http")
    # no JSON-LD for drafts (which change) or for anything not open, even for its owner
    alice = httpx.Client(base_url=live.url)
    r = alice.post("/login", data={"username": "alice", "password": "alice-password"})
    assert r.status_code == 303
    page = alice.get(f"/dandiset/{ds}/draft").text
    assert not _jsonld(page) and 'name="robots" content="noindex"' in page
    for state in ("embargoed", "private", "made-private"):
        ds, version = world[state]
        r = alice.get(f"/dandiset/{ds}/{version}")
        assert r.status_code == 200 and not _jsonld(r.text)
        assert anon.get(f"/dandiset/{ds}/{version}").status_code in (401, 404)
    alice.close()


def test_jsonld_escapes_markup() -> None:
    from neurodatashare.archive.jsonld import script_tag

    text = "</script><script>alert(1)</script>"
    tag = script_tag({"description": text})
    assert tag.count("</script>") == 1 and "\\u003c/script\\u003e" in tag
    body = tag.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert json.loads(body)["description"] == text  # the escapes are JSON's own
