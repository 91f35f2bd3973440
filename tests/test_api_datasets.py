"""Datasets: create, list, get, delete, owners, and who may see what."""

from __future__ import annotations

from datetime import date, timedelta

from neurodatashare.testing.live import Live


def test_create_get_list_delete(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Mouse V1 recordings")
    assert ds == "000001"
    got = alice.get(f"/api/dandisets/{ds}/").json()
    assert got["identifier"] == ds
    assert got["draft_version"]["name"] == "Mouse V1 recordings"
    assert got["draft_version"]["status"] == "Valid"
    assert got["contact_person"] == "Doe, Jane"
    assert got["most_recent_published_version"] is None
    assert alice.create_dataset("second") == "000002"
    page = live.anonymous().get("/api/dandisets/").json()
    assert page["count"] == 2 and [d["identifier"] for d in page["results"]] == [ds, "000002"]
    assert alice.delete(f"/api/dandisets/{ds}/").status_code == 204
    assert alice.get(f"/api/dandisets/{ds}/").status_code == 404


def test_dataset_version_metadata_has_computed_fields(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Named")
    meta = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
    assert meta["identifier"] == f"NDS:{ds}"
    assert meta["id"] == f"NDS:{ds}/draft"
    assert meta["name"] == "Named"
    assert meta["assetsSummary"]["numberOfFiles"] == 0
    assert "Doe, Jane" in meta["citation"]


def test_pagination_shape(live: Live) -> None:
    alice = live.user("alice")
    for i in range(5):
        alice.create_dataset(f"d{i}")
    first = alice.get("/api/dandisets/", params={"page_size": 2}).json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["previous"] is None and "page=2" in first["next"]
    last = alice.get("/api/dandisets/", params={"page_size": 2, "page": 3}).json()
    assert last["next"] is None and len(last["results"]) == 1
    assert alice.get("/api/dandisets/", params={"page_size": 0}).status_code == 400
    assert alice.get("/api/dandisets/", params={"page_size": 100000}).status_code == 400


def test_create_needs_a_key_and_a_name(live: Live) -> None:
    anon = live.anonymous()
    r = anon.post("/api/dandisets/", json={"name": "x", "metadata": {}})
    assert r.status_code == 401
    alice = live.user("alice")
    r = alice.post("/api/dandisets/", json={"name": "", "metadata": {}})
    assert r.status_code == 400 and "name" in r.json()["detail"]
    r = alice.post("/api/dandisets/", json={"name": "ok", "metadata": ["not", "a", "dict"]})
    assert r.status_code == 400 and "metadata" in r.json()["detail"]


def test_only_admins_choose_identifiers(live: Live) -> None:
    alice = live.user("alice")
    r = alice.post("/api/dandisets/", json={"name": "x", "metadata": {"identifier": "NDS:000123"}})
    assert r.status_code == 403
    root = live.user("root", admin=True)
    r = root.post("/api/dandisets/", json={"name": "x", "metadata": {"identifier": "NDS:000123"}})
    assert r.status_code == 200 and r.json()["identifier"] == "000123"


def test_private_dataset_is_invisible_to_others(live: Live) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    private = alice.create_dataset("secret", access="private")
    public = alice.create_dataset("public")
    data = b"private bytes" * 100
    asset = alice.add_file(private, "sub-1/a.nwb", data)
    # the owner sees it
    assert alice.get(f"/api/dandisets/{private}/").json()["access"] == "private"
    # another user: 404 everywhere, exactly as for an id that does not exist
    for path in (
        f"/api/dandisets/{private}/",
        f"/api/dandisets/{private}/versions/",
        f"/api/dandisets/{private}/versions/draft/",
        f"/api/dandisets/{private}/versions/draft/info/",
        f"/api/dandisets/{private}/versions/draft/assets/",
        f"/api/dandisets/{private}/versions/draft/assets/paths/",
        f"/api/dandisets/{private}/versions/draft/assets/{asset['asset_id']}/",
        f"/api/assets/{asset['asset_id']}/",
        f"/api/assets/{asset['asset_id']}/info/",
        f"/api/assets/{asset['asset_id']}/download/",
    ):
        assert bob.get(path).status_code == 404, path
        # anonymous callers are asked for a key, so the dandi client retries with one
        assert anon.get(path).status_code == 401, path
    assert bob.get("/api/dandisets/999999/").status_code == 404
    listed = [d["identifier"] for d in bob.get("/api/dandisets/").json()["results"]]
    assert listed == [public]
    listed = [d["identifier"] for d in anon.get("/api/dandisets/").json()["results"]]
    assert listed == [public]
    assert bob.get("/api/dandisets/", params={"search": "secret"}).json()["count"] == 0
    # nor can bob change or delete it
    assert bob.delete(f"/api/dandisets/{private}/").status_code == 404
    assert bob.put(f"/api/dandisets/{private}/access/", json={"access": "open"}).status_code == 404
    # an admin sees everything
    root = live.user("root", admin=True)
    assert root.get(f"/api/dandisets/{private}/").status_code == 200


def test_embargo_hides_until_its_end_date(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    until = (date.today() + timedelta(days=30)).isoformat()
    ds = alice.create_dataset("embargoed", access="embargoed", embargo_end=until)
    got = alice.get(f"/api/dandisets/{ds}/").json()
    assert got["embargo_status"] == "EMBARGOED" and got["embargo_end"] == until
    assert bob.get(f"/api/dandisets/{ds}/").status_code == 404
    # a past end date is refused; opening it makes it visible
    r = alice.put(
        f"/api/dandisets/{ds}/access/", json={"access": "embargoed", "embargo_end": "2001-01-01"}
    )
    assert r.status_code == 400
    r = alice.put(f"/api/dandisets/{ds}/access/", json={"access": "open"})
    assert r.status_code == 200 and r.json()["embargo_status"] == "OPEN"
    assert bob.get(f"/api/dandisets/{ds}/").status_code == 200


def test_only_owners_change_a_dataset(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("mine")
    r = bob.put(f"/api/dandisets/{ds}/versions/draft/", json={"metadata": {"name": "hijack"}})
    assert r.status_code == 403 and "owners" in r.json()["detail"]
    assert bob.delete(f"/api/dandisets/{ds}/").status_code == 403
    # alice adds bob as an owner; now he may
    r = alice.put(f"/api/dandisets/{ds}/users/", json=[{"username": "alice"}, {"username": "bob"}])
    assert r.status_code == 200 and {o["username"] for o in r.json()} == {"alice", "bob"}
    r = bob.put(f"/api/dandisets/{ds}/versions/draft/", json={"metadata": {"name": "ours"}})
    assert r.status_code == 200 and r.json()["name"] == "ours"
    r = alice.put(f"/api/dandisets/{ds}/users/", json=[{"username": "nobody"}])
    assert r.status_code == 404
    r = alice.put(f"/api/dandisets/{ds}/users/", json=[])
    assert r.status_code == 400


def test_metadata_update_keeps_computed_fields_server_side(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    r = alice.put(
        f"/api/dandisets/{ds}/versions/draft/",
        json={"metadata": {"name": "renamed", "identifier": "NDS:999999", "description": "d"}},
    )
    assert r.status_code == 200
    meta = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
    assert meta["identifier"] == f"NDS:{ds}" and meta["name"] == "renamed"
    info = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert info["status"] == "Invalid"  # license and contact person were dropped
    fields = {e["field"] for e in info["version_validation_errors"]}
    assert fields == {"license", "contributor"}


def test_unknown_ids_are_404_with_a_message(live: Live) -> None:
    alice = live.user("alice")
    for path in (
        "/api/dandisets/123456/",
        "/api/dandisets/abc/",
        "/api/dandisets/000001/versions/draft/",
        "/api/assets/00000000-0000-0000-0000-000000000000/",
        "/api/nothing-here/",
    ):
        r = alice.get(path)
        assert r.status_code == 404, path
        assert r.json()["detail"], path
    ds = alice.create_dataset("x")
    r = alice.get(f"/api/dandisets/{ds}/versions/9.9.9/")
    assert r.status_code == 404 and "9.9.9" in r.json()["detail"]


def test_a_metadata_edit_made_while_the_summary_job_runs_is_kept(live: Live) -> None:
    """The summary job rewrites the draft's metadata; it must not write back an old copy over
    an edit that commits while it runs (seen as a renamed dataset found by its old name)."""
    import threading

    from sqlalchemy import select

    from neurodatashare.archive.processing import summarize_version
    from neurodatashare.db.models import Version

    alice = live.user("alice")
    identifier = alice.create_dataset("Hippocampal place cells")
    db = live.archive.db
    with db.write() as s:  # the edit, still uncommitted while the job starts
        draft = s.scalars(
            select(Version).where(Version.dataset_id == int(identifier), Version.version == "draft")
        ).one()
        draft.name = "Entorhinal grid cells"
        draft.meta = {**draft.meta, "name": "Entorhinal grid cells"}
        s.flush()
        job = threading.Thread(
            target=summarize_version, args=(live.archive, {"version_id": draft.id})
        )
        job.start()
        job.join(timeout=1.0)
        assert job.is_alive()  # waiting for the edit: PostgreSQL's row lock, SQLite's writer
    job.join(timeout=60)
    assert not job.is_alive()
    info = alice.get(f"/api/dandisets/{identifier}/versions/draft/").json()
    assert info["name"] == "Entorhinal grid cells"
    assert "assetsSummary" in info
    found = live.anonymous().get("/api/search/", params={"q": "hippocampal"}).json()
    assert found["count"] == 0
