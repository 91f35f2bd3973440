"""Publishing with DOIs (NDS_DOI_PROVIDER=datacite) against the DataCite stand-in:
a draft DOI inside the publish transaction, findable after it by the doi.publish job,
and nothing published while DataCite does not answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from neurodatashare.archive import Archive, processing
from neurodatashare.archive.doi import DOI_PUBLISH
from neurodatashare.config import Settings
from neurodatashare.db.models import Job, Version, utcnow
from neurodatashare.jobs import Worker
from neurodatashare.metadata.schema import schema_errors
from neurodatashare.storage import unavailable
from neurodatashare.testing.datacite import FakeDataCite, run_datacite
from neurodatashare.testing.live import Live, database_url, free_port, serve_in_thread


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Live, FakeDataCite]]:
    """An archive whose jobs this test runs itself (worker_threads=0), with DOIs on."""
    with run_datacite(prefix="10.80507") as dc:
        url, pg = database_url(request.param, tmp_path)
        port = free_port()
        settings = Settings(
            home=tmp_path,
            database_url=url,
            port=port,
            worker_threads=0,
            doi_provider="datacite",
            **dc.settings(),
        )
        archive = Archive.open(settings)
        try:
            with serve_in_thread(archive, port) as base:
                yield Live(url=base, archive=archive, backend=request.param), dc
        finally:
            archive.close()
            if pg is not None:
                pg.drop()


def _run_jobs(archive: Archive) -> None:
    Worker(archive.db, processing.handlers(archive), transient=unavailable).drain()


def _published(archive: Archive, ident: str) -> int:
    with archive.db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Version)
                .where(Version.dataset_id == int(ident), Version.version != "draft")
            )
            or 0
        )


def _doc(caller: Any, ident: str, version: str) -> dict[str, Any]:
    r = caller.get(f"/api/dandisets/{ident}/versions/{version}/")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_a_published_version_gets_a_doi_and_the_dataset_one_that_follows(
    site: tuple[Live, FakeDataCite],
) -> None:
    live, dc = site
    alice = live.user("alice")
    ident = alice.create_dataset("Place cells")
    alice.add_file(ident, "notes.txt", b"first")
    _run_jobs(live.archive)
    v1 = alice.publish(ident)["version"]
    version_doi = f"10.80507/nds.{ident}/{v1}"
    document = _doc(alice, ident, v1)
    assert document["doi"] == version_doi
    assert schema_errors(document, kind="Dandiset") == []  # published rules: it has datePublished
    assert dc.state(version_doi) == "draft"  # findable only once the version is committed
    _run_jobs(live.archive)
    assert dc.state(version_doi) == "findable"
    record = dc.dois[version_doi]
    assert record["url"].endswith(f"/dandiset/{ident}/{v1}")
    assert record["titles"] == [{"title": "Place cells"}] and record["version"] == v1
    assert record["creators"][0]["name"] == "Doe, Jane"
    assert record["publisher"]["name"] == "NDS archive"
    concept = f"10.80507/nds.{ident}"
    assert dc.state(concept) == "findable" and record["url"] != dc.dois[concept]["url"]
    assert dc.dois[concept]["url"].endswith(f"/dandiset/{ident}")

    alice.add_file(ident, "more.txt", b"second")
    _run_jobs(live.archive)
    v2 = alice.publish(ident)["version"]
    _run_jobs(live.archive)
    related = dc.dois[concept]["relatedIdentifiers"]
    assert {
        "relatedIdentifier": f"10.80507/nds.{ident}/{v2}",
        "relatedIdentifierType": "DOI",
        "relationType": "HasVersion",
    } in related
    assert dc.state(f"10.80507/nds.{ident}/{v1}") == "findable"


def test_nothing_is_published_while_datacite_is_down_and_a_retry_works(
    site: tuple[Live, FakeDataCite],
) -> None:
    live, dc = site
    alice = live.user("alice")
    ident = alice.create_dataset("Outage")
    alice.add_file(ident, "notes.txt", b"bytes")
    _run_jobs(live.archive)
    dc.down = True
    r = alice.post(f"/api/dandisets/{ident}/versions/draft/publish/")
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert "nothing was published" in r.json()["detail"] and "Traceback" not in r.text
    assert _published(live.archive, ident) == 0
    info = alice.get(f"/api/dandisets/{ident}/versions/draft/info/").json()
    assert info["status"] != "Published" and not dc.dois
    dc.down = False
    version = alice.publish(ident)["version"]
    assert _published(live.archive, ident) == 1
    doi = f"10.80507/nds.{ident}/{version}"
    assert dc.state(doi) == "draft"

    dc.down = True  # down again after the commit: the job waits, keeps its attempts
    _run_jobs(live.archive)
    with live.archive.db.read() as s:
        job = s.scalar(select(Job).where(Job.kind == DOI_PUBLISH))
        assert job is not None and job.state == "queued" and job.attempts == 0
    dc.down = False
    with live.archive.db.write() as s:
        s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
    _run_jobs(live.archive)
    assert dc.state(doi) == "findable"


def test_a_prefix_datacite_refuses_is_a_503_naming_the_setting(
    site: tuple[Live, FakeDataCite],
) -> None:
    live, dc = site
    alice = live.user("alice")
    ident = alice.create_dataset("Refused")
    alice.add_file(ident, "notes.txt", b"bytes")
    _run_jobs(live.archive)
    dc.prefix = "10.99999"  # the repository's prefix is not the archive's
    r = alice.post(f"/api/dandisets/{ident}/versions/draft/publish/")
    assert r.status_code == 503 and "NDS_DATACITE_PREFIX" in r.json()["detail"]
    assert _published(live.archive, ident) == 0
