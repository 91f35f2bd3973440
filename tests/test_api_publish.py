"""Publishing: refused with reasons until ready; frozen, immutable, citable versions."""

from __future__ import annotations

import re

from neurodatashare.testing.live import Live


def test_publish_refuses_and_says_what_is_missing(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("bare", metadata={})
    alice.add_file(ds, "a.bin", b"1")
    r = alice.post(f"/api/dandisets/{ds}/versions/draft/publish/")
    assert r.status_code == 400
    detail = r.json()["detail"]
    for word in ("description", "license", "contact person"):
        assert word in detail, detail
    info = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert info["status"] == "Invalid"


def test_publish_needs_files_and_an_owner(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("empty")
    r = alice.post(f"/api/dandisets/{ds}/versions/draft/publish/")
    assert r.status_code == 400 and "no files" in r.json()["detail"]
    alice.add_file(ds, "a.bin", b"1")
    assert bob.post(f"/api/dandisets/{ds}/versions/draft/publish/").status_code == 403


def test_publish_freezes_assets_and_leaves_draft_editable(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("ready")
    first = alice.add_file(ds, "sub-1/a.bin", b"first")
    published = alice.publish(ds)
    version = published["version"]
    assert re.fullmatch(r"0\.\d{6}\.0001", version)
    assert published["status"] == "Published" and published["asset_count"] == 1
    draft = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert draft["status"] == "Published"
    # publishing again with no change is refused
    assert alice.post(f"/api/dandisets/{ds}/versions/draft/publish/").status_code == 409
    # the draft still changes; the published version does not
    alice.add_file(ds, "sub-1/b.bin", b"second")
    alice.delete(f"/api/dandisets/{ds}/versions/draft/assets/{first['asset_id']}/")
    draft = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert draft["status"] == "Valid"
    frozen = alice.get(f"/api/dandisets/{ds}/versions/{version}/assets/").json()
    assert [a["path"] for a in frozen["results"]] == ["sub-1/a.bin"]
    # the published asset keeps its bytes even though the draft dropped it
    got = live.anonymous().get(
        f"/api/assets/{first['asset_id']}/download/",
        follow_redirects=True,  # S3: a redirect
    )
    assert got.status_code == 200 and got.content == b"first"
    second = alice.publish(ds)["version"]
    assert second.endswith(".0002")
    listing = alice.get(f"/api/dandisets/{ds}/versions/", params={"order": "-created"}).json()
    assert [v["version"] for v in listing["results"]] == [second, version, "draft"]
    meta = alice.get(f"/api/dandisets/{ds}/").json()
    assert meta["most_recent_published_version"]["version"] == second
    pub = alice.get(f"/api/dandisets/{ds}/versions/{version}/").json()
    assert pub["version"] == version and "datePublished" in pub
    assert f"Version {version}" in pub["citation"]


def test_published_versions_are_immutable(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("ready")
    a = alice.add_file(ds, "a.bin", b"1")
    version = alice.publish(ds)["version"]
    base = f"/api/dandisets/{ds}/versions/{version}"
    blob = a["blob"]
    checks = [
        alice.put(f"{base}/", json={"metadata": {"name": "changed"}}),
        alice.post(f"{base}/assets/", json={"metadata": {"path": "b.nwb"}, "blob_id": blob}),
        alice.put(
            f"{base}/assets/{a['asset_id']}/", json={"metadata": {"path": "c.nwb"}, "blob_id": blob}
        ),
        alice.delete(f"{base}/assets/{a['asset_id']}/"),
    ]
    assert [r.status_code for r in checks] == [405, 405, 405, 405]
    assert "Published versions cannot change" in checks[0].json()["detail"]
    # a dataset with a published version cannot be deleted
    r = alice.delete(f"/api/dandisets/{ds}/")
    assert r.status_code == 403 and "published" in r.json()["detail"]


def test_dandi_style_publish_polling_works(live: Live) -> None:
    """RemoteDandiset.publish() polls the draft's info until it says Published."""
    alice = live.user("alice")
    ds = alice.create_dataset("ready")
    alice.add_file(ds, "a.bin", b"1")
    alice.publish(ds)
    info = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert info["status"] == "Published"
    assert info["asset_validation_errors"] == [] and info["version_validation_errors"] == []
