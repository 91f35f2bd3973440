"""Assets on the draft: create, list, folders, replace, delete, download with Range."""

from __future__ import annotations

import hashlib

import pytest

from neurodatashare.testing.factories import poll
from neurodatashare.testing.live import Live


def _setup(live: Live) -> tuple:  # type: ignore[type-arg]
    alice = live.user("alice")
    ds = alice.create_dataset("files")
    files = {
        "sub-1/sub-1_ses-1.nwb": b"a" * 1000,
        "sub-1/sub-1_ses-2.nwb": b"b" * 2000,
        "sub-2/sub-2_ses-1.nwb": b"c" * 3000,
        "README.txt": b"hello",
    }
    assets = {p: alice.add_file(ds, p, data) for p, data in files.items()}
    return alice, ds, files, assets


def test_list_filter_order_and_count(live: Live) -> None:
    alice, ds, files, _ = _setup(live)
    url = f"/api/dandisets/{ds}/versions/draft/assets/"
    page = alice.get(url).json()
    assert page["count"] == 4
    assert [a["path"] for a in page["results"]] == sorted(files)
    assert {a["size"] for a in page["results"]} == {len(d) for d in files.values()}
    by_prefix = alice.get(url, params={"path": "sub-1/"}).json()
    assert [a["path"] for a in by_prefix["results"]] == [
        "sub-1/sub-1_ses-1.nwb",
        "sub-1/sub-1_ses-2.nwb",
    ]
    globbed = alice.get(url, params={"glob": "*ses-1.nwb"}).json()
    assert globbed["count"] == 2
    assert {a["path"] for a in globbed["results"]} == {
        "sub-1/sub-1_ses-1.nwb",
        "sub-2/sub-2_ses-1.nwb",
    }
    desc = alice.get(url, params={"order": "-path"}).json()
    assert [a["path"] for a in desc["results"]] == sorted(files, reverse=True)
    paged = alice.get(url, params={"page_size": 3}).json()
    assert paged["count"] == 4 and len(paged["results"]) == 3 and paged["next"]
    assert alice.get(url, params={"order": "size"}).status_code == 400
    with_meta = alice.get(url, params={"metadata": "true", "path": "README"}).json()
    assert with_meta["results"][0]["metadata"]["contentSize"] == 5


def test_like_wildcards_in_path_filter_are_literal(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    alice.add_file(ds, "a_b/file.txt", b"1")
    alice.add_file(ds, "axb/file.txt", b"2")
    page = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/", params={"path": "a_b"}).json()
    assert [a["path"] for a in page["results"]] == ["a_b/file.txt"]


def test_folder_listing(live: Live) -> None:
    alice, ds, _, assets = _setup(live)
    url = f"/api/dandisets/{ds}/versions/draft/assets/paths/"
    top = alice.get(url).json()["results"]
    assert [e["path"] for e in top] == ["README.txt", "sub-1", "sub-2"]
    sub1 = next(e for e in top if e["path"] == "sub-1")
    assert sub1["aggregate_files"] == 2 and sub1["aggregate_size"] == 3000
    assert sub1["asset"] is None
    readme = next(e for e in top if e["path"] == "README.txt")
    assert readme["asset"]["asset_id"] == assets["README.txt"]["asset_id"]
    inner = alice.get(url, params={"path_prefix": "sub-1"}).json()["results"]
    assert [e["path"] for e in inner] == ["sub-1/sub-1_ses-1.nwb", "sub-1/sub-1_ses-2.nwb"]
    assert alice.get(url, params={"path_prefix": "nope"}).status_code == 404


def test_asset_metadata_carries_digests_and_urls(live: Live) -> None:
    alice, ds, files, assets = _setup(live)
    a = assets["sub-1/sub-1_ses-1.nwb"]
    meta = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/{a['asset_id']}/").json()
    from neurodatashare.testing.factories import dandi_etag

    assert meta["digest"]["dandi:dandi-etag"] == dandi_etag(files[a["path"]])
    sha = poll(
        lambda: alice.get(f"/api/assets/{a['asset_id']}/").json()["digest"].get("dandi:sha2-256"),
        what="sha256 job",
    )
    assert sha == hashlib.sha256(files[a["path"]]).hexdigest()
    assert meta["contentSize"] == 1000 and meta["path"] == a["path"]
    assert meta["encodingFormat"] == "application/x-nwb"
    assert meta["contentUrl"][0].endswith(f"/api/assets/{a['asset_id']}/download/")
    info = alice.get(f"/api/assets/{a['asset_id']}/info/").json()
    assert info["blob"] == a["blob"] and info["metadata"]["identifier"] == a["asset_id"]


@pytest.mark.local_store(
    "the API serves the bytes itself (S3: a redirect; test_storage_s3.py covers ranges there)"
)
def test_download_whole_and_ranges(live: Live) -> None:
    _alice, _ds, files, assets = _setup(live)
    a = assets["sub-2/sub-2_ses-1.nwb"]
    url = f"/api/assets/{a['asset_id']}/download/"
    anon = live.anonymous()
    whole = anon.get(url)
    assert whole.status_code == 200 and whole.content == files[a["path"]]
    assert "sub-2_ses-1.nwb" in whole.headers["content-disposition"]
    part = anon.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == files[a["path"]][100:200]
    assert part.headers["content-range"] == "bytes 100-199/3000"
    tail = anon.get(url, headers={"Range": "bytes=2990-"})
    assert tail.status_code == 206 and len(tail.content) == 10
    beyond = anon.get(url, headers={"Range": "bytes=5000-6000"})
    assert beyond.status_code == 416
    head = anon.http.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == "3000"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/etc/passwd", "absolute"),
        ("C:/data/x.nwb", "absolute"),
        ("sub-1/../../x.nwb", "'..'"),
        ("./x.nwb", "'.'"),
        ("sub-1//x.nwb", "empty folder"),
        ("sub-1/", "empty folder"),
        ("a\x00b.nwb", "NUL"),
        ("a\nb.nwb", "U+000A LINE FEED"),
        ("a\tb.nwb", "U+0009 CHARACTER TABULATION"),
        ("sub-1/evil\u202egpj.nwb", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("sub-1/a\u200bb.nwb", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffsub-1/a.nwb", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("sub-1/a\u2066b.nwb", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("a\x7fb.nwb", "U+007F DELETE"),
        (" sub-1/a.nwb", "starts with whitespace"),
        ("sub-1 /a.nwb", "ends with whitespace"),
        ("sub-1/a.nwb ", "U+0020 SPACE"),
        ("sub-1/\u00a0a.nwb", "U+00A0 NO-BREAK SPACE"),
        ("a\\b.nwb", "backslash"),
        ("x" * 513, "512"),
        ("", "path"),
    ],
)
def test_bad_asset_paths_get_clear_400s(live: Live, path: str, words: str) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    blob = alice.upload_blob(ds, b"data")
    r = alice.post(
        f"/api/dandisets/{ds}/versions/draft/assets/",
        json={"metadata": {"path": path}, "blob_id": blob},
    )
    assert r.status_code == 400
    assert words in r.json()["detail"]
    assert alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["count"] == 0


def test_odd_but_valid_characters_are_kept(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    path = "sub-Müller/ses 1 (pilot)/data#1+é.nwb"
    a = alice.add_file(ds, path, b"unicode")
    assert a["path"] == path
    got = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/", params={"path": path}).json()
    assert got["results"][0]["asset_id"] == a["asset_id"]


def test_paths_are_stored_in_nfc_so_lookalikes_are_one_path(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    composed, decomposed = "sub-Jos\u00e9/a.nwb", "sub-Jose\u0301/a.nwb"
    assert composed != decomposed
    a = alice.add_file(ds, decomposed, b"first")
    assert a["path"] == composed
    blob = alice.upload_blob(ds, b"second")
    url = f"/api/dandisets/{ds}/versions/draft/assets/"
    again = alice.post(url, json={"metadata": {"path": composed}, "blob_id": blob})
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    for query in (composed, decomposed):
        found = alice.get(url, params={"path": query}).json()
        assert [r["asset_id"] for r in found["results"]] == [a["asset_id"]]
    folders = alice.get(f"{url}paths/", params={"path_prefix": "sub-Jose\u0301"}).json()
    assert [r["path"] for r in folders["results"]] == [composed]


def test_path_collisions_are_409(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    alice.add_file(ds, "sub-1/a.nwb", b"1")
    blob = alice.upload_blob(ds, b"2")
    url = f"/api/dandisets/{ds}/versions/draft/assets/"
    for path, word in (
        ("sub-1/a.nwb", "already exists"),
        ("sub-1", "is a folder"),
        ("sub-1/a.nwb/b.nwb", "is a file"),
    ):
        r = alice.post(url, json={"metadata": {"path": path}, "blob_id": blob})
        assert r.status_code == 409, path
        assert word in r.json()["detail"], path


def test_asset_needs_an_existing_blob(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    url = f"/api/dandisets/{ds}/versions/draft/assets/"
    r = alice.post(url, json={"metadata": {"path": "a.nwb"}, "blob_id": "no-such-blob"})
    assert r.status_code == 400 and "upload" in r.json()["detail"]
    r = alice.post(url, json={"metadata": {"path": "a.nwb"}})
    assert r.status_code == 400 and "blob_id" in r.json()["detail"]


def test_replace_gives_new_id_and_move_keeps_blob(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    a = alice.add_file(ds, "old/a.nwb", b"first")
    url = f"/api/dandisets/{ds}/versions/draft/assets/{a['asset_id']}/"
    r = alice.put(url, json={"metadata": {"path": "new/a.nwb"}, "blob_id": a["blob"]})
    assert r.status_code == 200
    moved = r.json()
    assert moved["asset_id"] != a["asset_id"] and moved["blob"] == a["blob"]
    assert moved["path"] == "new/a.nwb"
    assert alice.get(url).status_code == 404
    listing = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()
    assert [x["path"] for x in listing["results"]] == ["new/a.nwb"]


def test_delete_asset(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("x")
    a = alice.add_file(ds, "a.nwb", b"1")
    url = f"/api/dandisets/{ds}/versions/draft/assets/{a['asset_id']}/"
    assert bob.delete(url).status_code == 403
    assert alice.delete(url).status_code == 204
    assert alice.delete(url).status_code == 404
    assert alice.get(f"/api/assets/{a['asset_id']}/").status_code == 404


def test_creating_the_same_asset_again_answers_it_instead_of_409(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    blob = alice.upload_blob(ds, b"once")
    url = f"/api/dandisets/{ds}/versions/draft/assets/"
    body = {"metadata": {"path": "a/b.bin"}, "blob_id": blob}
    first = alice.post(url, json=body)
    assert first.status_code == 200, first.text
    again = alice.post(url, json=body)  # a retry after the answer was lost
    assert again.status_code == 200 and again.json()["asset_id"] == first.json()["asset_id"]
    assert alice.get(url).json()["count"] == 1
    other = alice.upload_blob(ds, b"other bytes")
    clash = alice.post(url, json={"metadata": {"path": "a/b.bin"}, "blob_id": other})
    assert clash.status_code == 409
    relabelled = alice.post(url, json={"metadata": {"path": "a/b.bin", "x": 1}, "blob_id": blob})
    assert relabelled.status_code == 409
