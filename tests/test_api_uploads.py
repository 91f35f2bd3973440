"""The upload protocol, and every way a client can get it wrong."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from neurodatashare.testing.factories import Caller, dandi_etag, poll
from neurodatashare.testing.live import Live


def _init(caller: Caller, ds: str, size: int, etag: str) -> object:
    return caller.post(
        "/api/uploads/initialize/",
        json={
            "contentSize": size,
            "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
            "dandiset": ds,
        },
    )


def _started(live: Live, data: bytes) -> tuple[Caller, str, dict]:  # type: ignore[type-arg]
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    r = _init(alice, ds, len(data), dandi_etag(data))
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    return alice, ds, r.json()  # type: ignore[attr-defined]


def _blob_files(live: Live) -> list[Path]:
    root = live.archive.settings.resolved_blob_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()]


def test_round_trip_and_dedupe(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    data = b"0123456789" * 1000
    blob = alice.upload_blob(ds, data)
    r = _init(alice, ds, len(data), dandi_etag(data))
    assert r.status_code == 409  # type: ignore[attr-defined]
    assert r.headers["Location"] == blob  # type: ignore[attr-defined]
    sha = {"algorithm": "dandi:sha2-256", "value": hashlib.sha256(data).hexdigest()}
    got = poll(
        lambda: (r := alice.post("/api/blobs/digest/", json=sha)).status_code == 200 and r,
        what="sha256 job",
    )
    assert got.status_code == 200 and got.json()["blob_id"] == blob


def test_zero_byte_files_are_accepted(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    asset = alice.add_file(ds, "empty.txt", b"")
    assert asset["size"] == 0
    r = live.anonymous().get(f"/api/assets/{asset['asset_id']}/download/", follow_redirects=True)
    assert r.status_code == 200 and r.content == b""


@pytest.mark.parametrize(
    ("body", "word"),
    [
        (
            {
                "contentSize": -1,
                "digest": {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-1"},
            },
            "contentSize",
        ),
        (
            {
                "contentSize": "big",
                "digest": {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-1"},
            },
            "contentSize",
        ),
        ({"contentSize": 10, "digest": {"algorithm": "md5", "value": "x"}}, "dandi-etag"),
        (
            {"contentSize": 10, "digest": {"algorithm": "dandi:dandi-etag", "value": "zz"}},
            "not a dandi-etag",
        ),
        (
            {
                "contentSize": 10,
                "digest": {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-3"},
            },
            "parts",
        ),
        ({"digest": {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-1"}}, "contentSize"),
    ],
)
def test_initialize_rejects_bad_requests(live: Live, body: dict, word: str) -> None:  # type: ignore[type-arg]
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    r = alice.post("/api/uploads/initialize/", json={**body, "dandiset": ds})
    assert r.status_code == 400, r.text
    assert word in r.json()["detail"]


def test_initialize_needs_owner(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("x")
    assert _init(bob, ds, 3, dandi_etag(b"abc")).status_code == 403  # type: ignore[attr-defined]
    anon = live.anonymous()
    assert _init(anon, ds, 3, dandi_etag(b"abc")).status_code == 401  # type: ignore[attr-defined]


@pytest.mark.local_store("the local store joins parts itself and names the mismatch")
def test_wrong_bytes_fail_validation_and_leave_nothing(live: Live) -> None:
    data = b"right bytes!" * 100
    alice, ds, init = _started(live, data)
    wrong = b"WRONG bytes!" * 100
    part = init["parts"][0]
    pr = alice.storage.put(part["upload_url"], content=wrong)
    assert pr.status_code == 200
    etag = pr.headers["ETag"].strip('"')
    r = alice.post(
        f"/api/uploads/{init['upload_id']}/complete/",
        json={"parts": [{"part_number": 1, "size": len(wrong), "etag": etag}]},
    )
    assert r.status_code == 200
    r = alice.post(f"/api/uploads/{init['upload_id']}/validate/")
    assert r.status_code == 400 and "etag does not match" in r.json()["detail"]
    assert _blob_files(live) == []
    assert alice.post(f"/api/uploads/{init['upload_id']}/validate/").status_code == 404
    # the upload can simply be started again and succeeds with the right bytes
    blob = alice.upload_blob(ds, data)
    assert (
        alice.post(
            "/api/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)}
        ).json()["blob_id"]
        == blob
    )


@pytest.mark.local_store("the archive's own part route answers 400 (S3 refuses the signature: 403)")
def test_part_of_wrong_size_is_refused(live: Live) -> None:
    data = b"x" * 1000
    alice, _ds, init = _started(live, data)
    url = init["parts"][0]["upload_url"]
    short = alice.storage.put(url, content=data[:500])
    assert short.status_code == 400 and "500 bytes long" in short.json()["detail"]
    long = alice.storage.put(url, content=data + b"extra")
    assert long.status_code == 400 and "longer" in long.json()["detail"]


@pytest.mark.local_store("tampers with the archive's own part signatures")
def test_part_urls_are_signed(live: Live) -> None:
    data = b"x" * 1000
    alice, _ds, init = _started(live, data)
    url = init["parts"][0]["upload_url"]
    tampered = url.replace("signature=", "signature=0")
    assert alice.storage.put(tampered, content=data).status_code == 403
    other_part = url.replace("/parts/1/", "/parts/2/")
    assert alice.storage.put(other_part, content=data).status_code == 403
    bigger = url.replace("total=1000", "total=2000")
    assert alice.storage.put(bigger, content=data).status_code == 403


def test_complete_checks_parts(live: Live) -> None:
    data = b"x" * 1000
    alice, _ds, init = _started(live, data)
    uid = init["upload_id"]
    url = f"/api/uploads/{uid}/complete/"
    r = alice.post(url, json={"parts": [{"part_number": 1, "size": 1000, "etag": "abc"}]})
    assert r.status_code == 400 and "never received" in r.json()["detail"]
    pr = alice.storage.put(init["parts"][0]["upload_url"], content=data)
    etag = pr.headers["ETag"].strip('"')
    cases = [
        ([], "missing"),
        (
            [
                {"part_number": 1, "size": 1000, "etag": etag},
                {"part_number": 2, "size": 1000, "etag": etag},
            ],
            "out of range",
        ),
        ([{"part_number": 0, "size": 1000, "etag": etag}], "out of range"),
        ([{"part_number": 1, "size": 1000, "etag": etag}] * 2, "more than once"),
        ([{"part_number": 1, "size": 999, "etag": etag}], "should be 1000 bytes"),
        ([{"part_number": 1, "size": 1000, "etag": "0" * 32}], "does not match"),
        ("not a list", "list"),
    ]
    for parts, word in cases:
        r = alice.post(url, json={"parts": parts})
        assert r.status_code == 400, (parts, r.text)
        assert word in r.json()["detail"], (parts, r.text)
    ok = alice.post(url, json={"parts": [{"part_number": 1, "size": 1000, "etag": etag}]})
    assert ok.status_code == 200


def test_another_users_upload_is_not_found(live: Live) -> None:
    data = b"x" * 10
    _alice, _ds, init = _started(live, data)
    bob = live.user("bob")
    assert bob.post(f"/api/uploads/{init['upload_id']}/validate/").status_code == 404
    assert (
        bob.post(f"/api/uploads/{init['upload_id']}/complete/", json={"parts": []}).status_code
        == 404
    )


def test_unfinished_upload_leaves_no_asset_and_no_blob(live: Live) -> None:
    data = b"never finished" * 50
    alice, ds, init = _started(live, data)
    alice.storage.put(init["parts"][0]["upload_url"], content=data)
    assert _blob_files(live) == []
    r = live.anonymous().post(
        "/api/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)}
    )
    assert r.status_code == 404
    assert alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["count"] == 0
    # initialize again works: nothing is stuck
    assert _init(alice, ds, len(data), dandi_etag(data)).status_code == 200  # type: ignore[attr-defined]


def test_multipart_upload_over_64_mib(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    data = bytes(range(256)) * (70 * 4096)  # 70 MiB: two parts of 64 MiB + 6 MiB
    asset = alice.add_file(ds, "big.bin", data)
    meta = alice.get(f"/api/assets/{asset['asset_id']}/").json()
    assert meta["digest"]["dandi:dandi-etag"].endswith("-2")
    sha = poll(
        lambda: (
            alice.get(f"/api/assets/{asset['asset_id']}/").json()["digest"].get("dandi:sha2-256")
        ),
        what="sha256 job",
    )
    assert sha == hashlib.sha256(data).hexdigest()
    got = live.anonymous().get(
        f"/api/assets/{asset['asset_id']}/download/",
        headers={"Range": f"bytes={64 * 2**20 - 5}-{64 * 2**20 + 4}"},
        follow_redirects=True,  # S3 (the deployed stack) redirects to the bucket
    )
    assert got.content == data[64 * 2**20 - 5 : 64 * 2**20 + 5]


def test_stale_and_orphaned_uploads_are_discarded(live: Live) -> None:
    from datetime import timedelta

    from sqlalchemy import select, update

    from neurodatashare.archive.uploads import discard_stale_uploads
    from neurodatashare.db.models import Upload, utcnow

    data = b"x" * 100
    alice, _ds, init = _started(live, data)
    alice.storage.put(init["parts"][0]["upload_url"], content=data)
    orphan = "00000000-0000-4000-8000-00000000beef"  # bytes left behind by a crash
    live.archive.store.begin_upload(upload_id=orphan, size=10)
    assert discard_stale_uploads(live.archive) == 1  # only the orphan; the upload is fresh
    assert set(live.archive.store.stale_uploads()) == {init["upload_id"]}
    with live.archive.db.write() as s:
        s.execute(update(Upload).values(created=utcnow() - timedelta(days=30)))
    assert discard_stale_uploads(live.archive) == 1
    assert live.archive.store.stale_uploads() == []
    with live.archive.db.read() as s:
        assert s.scalars(select(Upload)).all() == []


def test_initialize_again_is_the_same_upload_and_parts_says_what_arrived(live: Live) -> None:
    data = bytes(range(256)) * (70 * 4096)  # 70 MiB: two parts
    alice, ds, init = _started(live, data)
    first = init["parts"][0]
    put = alice.storage.put(first["upload_url"], content=data[: first["size"]])
    assert put.status_code == 200
    parts_url = f"/api/uploads/{init['upload_id']}/parts/"
    got = alice.get(parts_url).json()
    assert got["part_count"] == 2
    assert got["parts"] == [
        {"part_number": 1, "size": first["size"], "etag": put.headers["ETag"].strip('"')}
    ]
    # the same caller, file and dataset: the same upload, with part URLs that work
    again = _init(alice, ds, len(data), dandi_etag(data))
    assert again.status_code == 200  # type: ignore[attr-defined]
    assert again.json()["upload_id"] == init["upload_id"]  # type: ignore[attr-defined]
    second = again.json()["parts"][1]  # type: ignore[attr-defined]
    assert alice.storage.put(second["upload_url"], content=data[first["size"] :]).status_code == 200
    assert [p["part_number"] for p in alice.get(parts_url).json()["parts"]] == [1, 2]
    # another user asking about it learns nothing; another user's same file is its own upload
    bob = live.user("bob")
    assert bob.get(parts_url).status_code == 404
    bob_ds = bob.create_dataset("b")
    theirs = _init(bob, bob_ds, len(data), dandi_etag(data))
    assert theirs.json()["upload_id"] != init["upload_id"]  # type: ignore[attr-defined]
    assert live.anonymous().get(parts_url).status_code == 401


def test_parts_of_an_upload_that_is_gone_is_404(live: Live) -> None:
    alice = live.user("alice")
    r = alice.get("/api/uploads/00000000-0000-4000-8000-000000000000/parts/")
    assert r.status_code == 404
    assert alice.get("/api/uploads/not-a-uuid/parts/").status_code in (400, 404)
