"""Issue 8, items 1, 2, 3, 5 and 6: dedup, hidden-is-absent, revocable links, ids, checks.

The route-by-route proof that nothing hidden leaks is tests/test_access_matrix.py; these
tests pin each rule down on its own, on both backends.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from neurodatashare.archive import users
from neurodatashare.testing.factories import Caller, dandi_etag, poll
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ephys_file

SECRET = b"alice's unpublished recording " * 64


def _digest(caller: Caller, algorithm: str, value: str) -> httpx.Response:
    return caller.post("/api/blobs/digest/", json={"algorithm": algorithm, "value": value})


def _init(caller: Caller, ds: str, data: bytes) -> httpx.Response:
    return caller.post(
        "/api/uploads/initialize/",
        json={
            "contentSize": len(data),
            "digest": {"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)},
            "dandiset": ds,
        },
    )


def _blob_files(live: Live) -> list[Path]:
    return [
        p for p in (live.archive.settings.resolved_blob_dir / "blobs").rglob("*") if p.is_file()
    ]


def _same_as_missing(caller: Caller, algorithm: str, value: str) -> None:
    """A digest lookup answers exactly as for a digest nobody ever uploaded."""
    unknown = "0" * 64 if algorithm == "dandi:sha2-256" else "0" * 32 + "-1"
    got, missing = _digest(caller, algorithm, value), _digest(caller, algorithm, unknown)
    assert (
        (got.status_code, got.json())
        == (missing.status_code, missing.json())
        == (
            404,
            {"detail": "No blob has that digest."},
        )
    )


# -- item 1: dedup --------------------------------------------------------------------------


def test_digest_lookup_and_blob_id_only_for_readable_blobs(live: Live) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    private = alice.create_dataset("Secret", access="private")
    asset = alice.add_file(private, "secret.bin", SECRET)
    etag, sha = dandi_etag(SECRET), hashlib.sha256(SECRET).hexdigest()
    poll(lambda: _digest(alice, "dandi:sha2-256", sha).status_code == 200, what="sha256 job")
    assert _digest(alice, "dandi:dandi-etag", etag).json()["blob_id"] == asset["blob"]
    for caller in (bob, anon):
        _same_as_missing(caller, "dandi:dandi-etag", etag)
        _same_as_missing(caller, "dandi:sha2-256", sha)
    # bob cannot put alice's blob id into his own dataset: the same 400 as a made-up id
    mine = bob.create_dataset("Bob's")
    made_up = str(uuid.uuid4())
    answers = []
    for blob_id in (asset["blob"], made_up):
        r = bob.post(
            f"/api/dandisets/{mine}/versions/draft/assets/",
            json={"metadata": {"path": "stolen.bin"}, "blob_id": blob_id},
        )
        answers.append((r.status_code, r.json()["detail"].replace(blob_id, "ID")))
    assert answers[0] == answers[1] and answers[0][0] == 400
    assert bob.get(f"/api/dandisets/{mine}/versions/draft/assets/").json()["count"] == 0


def test_same_bytes_upload_normally_and_are_stored_once(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    private = alice.create_dataset("Secret", access="private")
    alice.add_file(private, "secret.bin", SECRET)
    mine = bob.create_dataset("Bob's")
    # initialize answers as for bytes never seen: an upload, not "already stored" (409)
    r = _init(bob, mine, SECRET)
    assert r.status_code == 200 and r.json()["parts"], r.text
    fresh = _init(bob, mine, SECRET[::-1])
    assert r.json().keys() == fresh.json().keys()
    bob_asset = bob.add_file(mine, "copy.bin", SECRET)
    assert bob.get(f"/api/assets/{bob_asset['asset_id']}/download/").content == SECRET
    assert len(_blob_files(live)) == 1  # the archive kept one copy of the bytes
    # now bob may read the blob through his own asset: a re-upload is "already stored"
    assert _init(bob, mine, SECRET).status_code == 409
    # and alice's dataset is still hidden from him
    assert bob.get(f"/api/dandisets/{private}/versions/draft/assets/").status_code == 404


@pytest.mark.parametrize("change", ["private", "embargoed", "deleted"])
def test_dedup_closes_when_the_dataset_is_hidden_or_deleted(live: Live, change: str) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    ds = alice.create_dataset("Open for now")
    asset = alice.add_file(ds, "data.bin", SECRET)
    etag = dandi_etag(SECRET)
    for caller in (bob, anon):
        assert _digest(caller, "dandi:dandi-etag", etag).json()["blob_id"] == asset["blob"]
    if change == "deleted":
        assert alice.delete(f"/api/dandisets/{ds}/").status_code == 204
    else:
        body: dict[str, Any] = {"access": change}
        if change == "embargoed":
            body["embargo_end"] = "2099-01-01"
        assert alice.put(f"/api/dandisets/{ds}/access/", json=body).status_code == 200
    for caller in (bob, anon):
        _same_as_missing(caller, "dandi:dandi-etag", etag)
    mine = bob.create_dataset("Bob's")
    assert _init(bob, mine, SECRET).status_code == 200


def test_a_claim_is_used_up_by_the_asset_it_makes(live: Live) -> None:
    """Uploading bytes lets you make an asset of them; afterwards only assets decide."""
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("Shared", access="private")
    bob_ds = bob.create_dataset("Bob's own")
    assert alice.put(
        f"/api/dandisets/{ds}/users/", json=[{"username": "alice"}, {"username": "bob"}]
    ).json()
    bob.add_file(ds, "bob.bin", SECRET)
    assert _digest(bob, "dandi:dandi-etag", dandi_etag(SECRET)).status_code == 200
    # bob leaves the dataset: the bytes he put there are no longer his to look up
    assert alice.put(f"/api/dandisets/{ds}/users/", json=[{"username": "alice"}]).status_code == 200
    _same_as_missing(bob, "dandi:dandi-etag", dandi_etag(SECRET))
    assert _init(bob, bob_ds, SECRET).status_code == 200


# -- item 2: hidden is absent ---------------------------------------------------------------


def test_hidden_and_missing_datasets_give_the_same_answer(live: Live) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    hidden = alice.create_dataset("Embargoed work", access="embargoed", embargo_end="2099-01-01")
    missing = "999999"
    for caller, status in ((anon, 401), (bob, 404)):
        for tail in ("", "versions/", "versions/draft/", "versions/draft/assets/", "users/"):
            a = caller.get(f"/api/dandisets/{hidden}/{tail}")
            b = caller.get(f"/api/dandisets/{missing}/{tail}")
            assert a.status_code == b.status_code == status, (tail, a.text)
            assert a.json()["detail"].replace(hidden, missing) == b.json()["detail"]
            assert "private" not in a.text and "embargo" not in a.text.lower()


# -- item 3: signed links -------------------------------------------------------------------


def _signed(caller: Caller, asset_id: str) -> str:
    r = caller.get(f"/api/assets/{asset_id}/download-url/")
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 3600
    url: str = r.json()["url"]
    assert "signature=" in url
    return url


def test_signed_links_stop_working_when_access_changes(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Embargoed", access="embargoed", embargo_end="2099-01-01")
    aid = alice.add_file(ds, "data.bin", SECRET)["asset_id"]
    link = _signed(alice, aid)
    assert httpx.get(link).content == SECRET  # no key needed
    r = alice.put(f"/api/dandisets/{ds}/access/", json={"access": "private"})
    assert r.status_code == 200
    revoked = httpx.get(link)
    assert revoked.status_code == 403 and "revoked" in revoked.json()["detail"]
    assert httpx.get(_signed(alice, aid)).content == SECRET  # a new link works
    # setting an embargo again (even the same level) revokes too
    link = _signed(alice, aid)
    body = {"access": "embargoed", "embargo_end": "2099-06-01"}
    assert alice.put(f"/api/dandisets/{ds}/access/", json=body).status_code == 200
    assert httpx.get(link).status_code == 403


def test_removing_an_owner_revokes_their_links(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("Private", access="private")
    aid = alice.add_file(ds, "data.bin", SECRET)["asset_id"]
    owners = [{"username": "alice"}, {"username": "bob"}]
    assert alice.put(f"/api/dandisets/{ds}/users/", json=owners).status_code == 200
    bobs_link = _signed(bob, aid)
    assert httpx.get(bobs_link).content == SECRET
    assert alice.put(f"/api/dandisets/{ds}/users/", json=owners[:1]).status_code == 200
    assert httpx.get(bobs_link).status_code == 403
    assert bob.get(f"/api/assets/{aid}/download-url/").status_code == 404


def test_index_links_are_revoked_too(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Private", access="private")
    nwb = make_ephys_file(tmp_path / "e.nwb", n_channels=4, duration_s=0.5, n_units=2)
    aid = alice.add_file(ds, "e.nwb", nwb.read_bytes())["asset_id"]
    index = poll(
        lambda: (r := alice.get(f"/api/assets/{aid}/lindi.json")).status_code == 200 and r.json(),
        what="lindi index",
    )
    chunk_url = index["templates"]["u"]
    assert httpx.get(chunk_url, headers={"Range": "bytes=0-3"}).status_code == 206
    body = {"access": "embargoed", "embargo_end": "2099-01-01"}
    assert alice.put(f"/api/dandisets/{ds}/access/", json=body).status_code == 200
    assert httpx.get(chunk_url, headers={"Range": "bytes=0-3"}).status_code == 403


def test_forged_links_and_links_to_missing_assets_look_the_same(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Private", access="private")
    aid = alice.add_file(ds, "data.bin", SECRET)["asset_id"]
    expires = int(time.time()) + 600
    answers = set()
    for asset_id in (aid, str(uuid.uuid4())):
        r = httpx.get(
            f"{live.url}/api/assets/{asset_id}/download/",
            params={"expires": expires, "signature": "0" * 64},
        )
        answers.add((r.status_code, r.text))
    assert len(answers) == 1 and next(iter(answers))[0] == 403


# -- item 5: identifiers --------------------------------------------------------------------


def test_deleted_identifiers_are_never_reused(live: Live) -> None:
    alice = live.user("alice")
    admin = live.user("root", admin=True)
    first, second = alice.create_dataset("one"), alice.create_dataset("two")
    assert alice.delete(f"/api/dandisets/{second}/").status_code == 204
    third = alice.create_dataset("three")
    assert int(third) == int(second) + 1 and third != first
    assert alice.delete(f"/api/dandisets/{third}/").status_code == 204
    assert alice.delete(f"/api/dandisets/{first}/").status_code == 204
    fourth = alice.create_dataset("four")
    assert int(fourth) == int(third) + 1
    r = admin.post(
        "/api/dandisets/", json={"name": "again", "metadata": {"identifier": f"NDS:{second}"}}
    )
    assert r.status_code == 400 and "never reused" in r.json()["detail"]


# -- item 6: checks depend on the asset -----------------------------------------------------


NOT_NWB = b"this is plain text, not an HDF5 file\n" * 20


def test_same_bytes_as_text_are_not_judged_as_nwb(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    bob_ds = bob.create_dataset("Bob's notes")
    bob_asset = bob.add_file(bob_ds, "notes.txt", NOT_NWB)
    assert bob.wait_for_status(bob_ds)["status"] == "Valid"
    alice_ds = alice.create_dataset("Alice's broken upload")
    alice_asset = alice.add_file(alice_ds, "sub-1/broken.nwb", NOT_NWB)
    report = alice.wait_for_checks(alice_asset["asset_id"])
    assert any(r["severity"] in ("ERROR", "CRITICAL") for r in report["results"])
    assert alice.wait_for_status(alice_ds)["status"] == "Invalid"
    # bob's draft holds the same bytes, but a .txt is not checked as NWB
    info = bob.get(f"/api/dandisets/{bob_ds}/versions/draft/info/").json()
    assert info["status"] == "Valid" and info["asset_validation_errors"] == []
    mine = bob.get(f"/api/assets/{bob_asset['asset_id']}/validation/").json()
    assert mine["status"] == "not-applicable" and mine["results"] == []
    meta = bob.get(f"/api/assets/{bob_asset['asset_id']}/").json()
    assert meta["encodingFormat"] == "text/plain" and "nds:summary" not in meta
    report = bob.get(f"/api/dandisets/{bob_ds}/versions/draft/validation/").json()
    assert report["counts"] == {} and report["status"] == "Valid"
    # a new .txt with the same bytes, added after the NWB results exist, is Valid at once
    bob.add_file(bob_ds, "copy.txt", NOT_NWB)
    assert bob.get(f"/api/dandisets/{bob_ds}/versions/draft/").status_code == 200
    assert bob.wait_for_status(bob_ds)["status"] == "Valid"


def test_disabling_a_user_revokes_the_links_of_its_datasets(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Private", access="private")
    aid = alice.add_file(ds, "data.bin", SECRET)["asset_id"]
    link = _signed(alice, aid)
    assert httpx.get(link).content == SECRET
    users.set_disabled(live.archive, username="alice", disabled=True)
    assert httpx.get(link).status_code == 403
