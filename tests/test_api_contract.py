"""The rest of the DANDI contract (issue 12, item 4): embargo defaults, list filters,
blob URLs in `contentUrl`, case-insensitive `glob=`, and dandischema-valid documents."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dandischema.models import Asset, Dandiset

from neurodatashare.testing.factories import publishable_metadata
from neurodatashare.testing.live import Live

MISSING_BLOB = "7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8"


def _ids(page: dict) -> list[str]:
    return [d["identifier"] for d in page["results"]]


# -- 1. embargo without an end date ------------------------------------------------------


def test_embargo_without_an_end_date_lasts_two_years(live: Live) -> None:
    alice = live.user("alice")
    r = alice.post(
        "/api/dandisets/",
        params={"embargo": "true"},
        json={"name": "x", "metadata": publishable_metadata()},
    )
    assert r.status_code == 200, r.text
    two_years = (date.today() + timedelta(days=730)).isoformat()
    assert r.json()["embargo_status"] == "EMBARGOED" and r.json()["embargo_end"] == two_years
    meta = alice.get(f"/api/dandisets/{r.json()['identifier']}/versions/draft/").json()
    assert meta["access"] == [
        {
            "schemaKey": "AccessRequirements",
            "status": "dandi:EmbargoedAccess",
            "embargoedUntil": two_years,
        }
    ]
    # as in DANDI, a funding source with its award number becomes a Funder contributor
    r = alice.post(
        "/api/dandisets/",
        params={"embargo": "true", "funding_source": "NIH", "award_number": "R01-123"},
        json={"name": "funded", "metadata": publishable_metadata()},
    )
    assert r.status_code == 200, r.text
    meta = alice.get(f"/api/dandisets/{r.json()['identifier']}/versions/draft/").json()
    funder = meta["contributor"][-1]
    assert funder["roleName"] == ["dcite:Funder"] and funder["awardNumber"] == "R01-123"
    r = alice.post(
        "/api/dandisets/",
        params={"embargo": "true", "funding_source": "NIH"},
        json={"name": "half"},
    )
    assert r.status_code == 400 and "award_number" in r.json()["detail"]
    # an explicit date still wins, and a past one is still refused
    r = alice.post(
        "/api/dandisets/",
        params={"embargo": "true", "embargo_end_date": "2001-01-01"},
        json={"name": "past"},
    )
    assert r.status_code == 400


# -- 2. list filters ---------------------------------------------------------------------


def test_list_filters_as_the_dandi_client_sends_them(live: Live) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    empty = bob.create_dataset("Zebra empty draft")  # bob's; no files, never published
    pub = alice.create_dataset("apple published", metadata=publishable_metadata(keywords=["V1"]))
    alice.add_file(pub, "sub-1/big.bin", b"x" * 500)
    alice.publish(pub)
    small = alice.create_dataset("Mango draft")
    alice.add_file(small, "sub-1/small.bin", b"y" * 10)
    until = (date.today() + timedelta(days=30)).isoformat()
    emb = alice.create_dataset("embargoed one", access="embargoed", embargo_end=until)
    priv = alice.create_dataset("private one", access="private")

    def listing(caller, **params):  # the dandi client sends Python's True/False
        r = caller.get("/api/dandisets/", params=params)
        assert r.status_code == 200, r.text
        return _ids(r.json())

    # DANDI's default leaves embargoed datasets out, even for their owners
    assert listing(alice) == [empty, pub, small]
    assert listing(alice, embargoed="True") == [empty, pub, small, emb, priv]
    assert listing(bob, embargoed="True") == [empty, pub, small]  # hidden stays absent
    assert listing(anon, embargoed="true") == [empty, pub, small]
    assert listing(alice, draft="False", embargoed="True") == [pub]
    assert listing(alice, empty="False") == [pub, small]
    assert listing(alice, user="me", embargoed="True") == [pub, small, emb, priv]
    assert listing(anon, user="me") == []
    # ordering: DANDI's fields, by the most recent version; - for descending
    assert listing(alice, ordering="-id") == [small, pub, empty]
    assert listing(alice, ordering="name") == [pub, small, empty]
    assert listing(alice, ordering="-name") == [empty, small, pub]
    assert listing(alice, ordering="size") == [empty, small, pub]
    assert listing(alice, ordering="-size") == [pub, small, empty]
    assert listing(alice, ordering="stars") == [empty, pub, small]
    assert listing(alice, ordering="-modified")[0] == small
    # search: every word, in any version's metadata or name
    assert listing(alice, search="apple") == [pub]
    assert listing(alice, search="APPLE v1") == [pub]
    assert listing(alice, search="apple zebra") == []
    assert listing(alice, search="test recordings") == [empty, pub, small]  # description
    assert listing(bob, search="private", embargoed="true") == []
    assert listing(alice, search="private", embargoed="true") == [priv]
    # bad values get a 400 that names the parameter
    for params, word in (
        ({"ordering": "popularity"}, "ordering"),
        ({"draft": "maybe"}, "draft"),
        ({"empty": "2"}, "empty"),
        ({"user": "bob"}, "user"),
    ):
        r = alice.get("/api/dandisets/", params=params)
        assert r.status_code == 400 and word in r.json()["detail"], (params, r.text)
    r = anon.get("/api/dandisets/", params={"starred": "true"})
    assert r.status_code == 401
    assert listing(alice, starred="true") == []


# -- 4. contentUrl: the API URL and a direct blob URL ------------------------------------


@pytest.mark.local_store("the blob route serves the bytes itself (S3: a redirect, HEAD too)")
def test_content_url_has_a_direct_blob_url_with_range(live: Live) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    ds = alice.create_dataset("blobs")
    data = bytes(range(256)) * 4
    asset = alice.add_file(ds, "sub-1/a.bin", data)
    urls = asset["metadata"]["contentUrl"]
    assert urls[0] == f"{live.url}/api/assets/{asset['asset_id']}/download/"
    assert urls[1] == f"{live.url}/blobs/{asset['blob']}" and "/api/" not in urls[1]
    assert anon.get(urls[1]).content == data
    r = anon.get(urls[1], headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    head = anon.http.head(urls[1])
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)
    # a private dataset's blob: hidden is absent (401 anonymous, 404 signed in)
    secret = alice.create_dataset("secret", access="private")
    hidden = alice.add_file(secret, "sub-1/s.bin", b"secret bytes" * 10)
    url = hidden["metadata"]["contentUrl"][1]
    assert alice.get(url).content == b"secret bytes" * 10
    missing = f"{live.url}/blobs/{MISSING_BLOB}"
    for caller, status in ((anon, 401), (bob, 404)):
        got, none = caller.get(url), caller.get(missing)
        assert got.status_code == none.status_code == status
        assert got.json()["detail"].replace(hidden["blob"], "X") == none.json()["detail"].replace(
            MISSING_BLOB, "X"
        )
    assert anon.get(f"{live.url}/blobs/not-a-uuid").status_code == 404  # as for asset ids


# -- 5. glob ------------------------------------------------------------------------------


def test_glob_is_case_insensitive_and_only_star_is_special(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("globs")
    for i, path in enumerate(
        ("sub-A/sub-A_ses-1.NWB", "sub-b/sub-b_ses-1.nwb", "sub-b/notes[1].txt", "Raw?.dat")
    ):
        alice.add_file(ds, path, f"file {i}".encode())
    url = f"/api/dandisets/{ds}/versions/draft/assets/"

    def paths(glob: str) -> set[str]:
        r = alice.get(url, params={"glob": glob})
        assert r.status_code == 200, r.text
        return {a["path"] for a in r.json()["results"]}

    assert paths("*.nwb") == {"sub-A/sub-A_ses-1.NWB", "sub-b/sub-b_ses-1.nwb"}
    assert paths("SUB-*") == {
        "sub-A/sub-A_ses-1.NWB",
        "sub-b/sub-b_ses-1.nwb",
        "sub-b/notes[1].txt",
    }
    assert paths("sub-a*") == {"sub-A/sub-A_ses-1.NWB"}  # `*` crosses `/`
    assert paths("*notes[1].txt") == {"sub-b/notes[1].txt"}  # `[` is literal
    assert paths("*notes[0-9].txt") == set()
    assert paths("raw?.dat") == {"Raw?.dat"}  # `?` is literal
    assert paths("raw_.dat") == set()
    assert paths("*ses-1*") == {"sub-A/sub-A_ses-1.NWB", "sub-b/sub-b_ses-1.nwb"}


# -- 3. documents valid for dandischema ---------------------------------------------------


def test_published_documents_validate_as_published(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("published docs")
    first = alice.add_file(ds, "sub-1/a.bin", b"a" * 100)
    version = alice.publish(ds)["version"]
    doc = alice.get(f"/api/dandisets/{ds}/versions/{version}/").json()
    model = Dandiset.model_validate(doc)
    assert model.datePublished is not None and model.publishedBy is not None
    assert doc["manifestLocation"] == [f"{live.url}/api/dandisets/{ds}/versions/{version}/assets/"]
    assert "doi" not in doc  # no DOI is minted; dandischema allows that without a prefix
    again = alice.get(f"/api/dandisets/{ds}/versions/{version}/").json()
    assert again["publishedBy"] == doc["publishedBy"]  # stable, not made up per request
    # the published asset, even seen through the draft, is published (as in DANDI)
    for url in (
        f"/api/assets/{first['asset_id']}/",
        f"/api/dandisets/{ds}/versions/draft/assets/{first['asset_id']}/",
    ):
        asset_doc = alice.get(url).json()
        assert Asset.model_validate(asset_doc).datePublished is not None
        assert asset_doc["digest"]["dandi:sha2-256"]
    # a file added after publishing is not, and the draft's document says so
    later = alice.add_file(ds, "sub-1/b.bin", b"b" * 100)
    asset_doc = alice.get(f"/api/assets/{later['asset_id']}/").json()
    assert "datePublished" not in asset_doc and "publishedBy" not in asset_doc
    Asset.model_validate(asset_doc)
    draft = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
    assert "datePublished" not in draft
    Dandiset.model_validate(draft)
    assert draft["manifestLocation"] == [f"{live.url}/api/dandisets/{ds}/versions/draft/assets/"]


def test_contact_person_without_email_blocks_publishing(live: Live) -> None:
    alice = live.user("alice")
    meta = publishable_metadata()
    del meta["contributor"][0]["email"]
    ds = alice.create_dataset("no email", metadata=meta)
    alice.add_file(ds, "a.bin", b"a")
    info = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert info["status"] == "Invalid"
    assert [e["field"] for e in info["version_validation_errors"]] == ["contributor"]
    assert "email" in info["version_validation_errors"][0]["message"]
    r = alice.post(f"/api/dandisets/{ds}/versions/draft/publish/")
    assert r.status_code == 400 and "email" in r.json()["detail"]
    # a value dandischema refuses is reported with its field
    r = alice.put(
        f"/api/dandisets/{ds}/versions/draft/",
        json={"metadata": publishable_metadata(keywords="not a list")},
    )
    errors = r.json()["version_validation_errors"]
    assert r.status_code == 200 and [e["field"] for e in errors] == ["keywords"]


def test_private_dataset_documents_say_private(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("private", access="private")
    asset = alice.add_file(ds, "a.bin", b"p")
    for doc in (
        alice.get(f"/api/dandisets/{ds}/versions/draft/").json(),
        asset["metadata"],
    ):
        (access,) = doc["access"]
        assert access["status"] == "dandi:EmbargoedAccess"
        assert access["embargoedUntil"] == "9999-12-31" and "Private" in access["description"]


def test_publishing_refuses_asset_metadata_dandischema_refuses(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("bad asset")
    alice.add_file(ds, "sub-1/good.bin", b"good")
    alice.add_file(ds, "sub-1/bad.bin", b"bad", wasAttributedTo="mouse 1")
    r = alice.post(f"/api/dandisets/{ds}/versions/draft/publish/")
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "sub-1/bad.bin: wasAttributedTo" in detail and "good.bin" not in detail
    assert alice.get(f"/api/dandisets/{ds}/versions/").json()["count"] == 1  # nothing made
    info = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert info["status"] != "Published"
