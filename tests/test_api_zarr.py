"""DANDI's Zarr API: create, upload files, list, download, delete, finalize, checksum;
Zarr assets; publish freezing a Zarr; and every way a client can get it wrong."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


def write_zarr(path: Path) -> dict[str, bytes]:
    """A zarr-python 2 group: arrays at the root and in nested groups; its files."""
    import numpy as np
    import zarr

    root = zarr.open_group(str(path), mode="w")
    root.attrs["title"] = "test volume"
    root.create_dataset("raw", data=np.arange(64, dtype="u2").reshape(8, 8), chunks=(4, 4))
    labels = root.create_group("labels").create_group("cells")
    labels.create_dataset("mask", data=np.eye(6, dtype="u1"), chunks=(3, 3))
    root.create_dataset("empty", shape=(0,), dtype="f4")
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def local_checksum(files: dict[str, bytes]) -> str:
    from zarr_checksum.tree import ZarrChecksumTree

    tree = ZarrChecksumTree()
    for p, data in files.items():
        tree.add_leaf(Path(p), len(data), hashlib.md5(data).hexdigest())
    return str(tree.process())


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def listing(caller: Caller, zarr_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry, following the cursor `next` links (no count, as S3 listings)."""
    out: list[dict[str, Any]] = []
    r = caller.get(f"/api/zarr/{zarr_id}/files", params=params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        assert "count" not in body
        out += body["results"]
        if not body["next"]:
            return out
        r = caller.get(body["next"])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    return write_zarr(tmp_path / "vol.zarr")


def test_zarr_round_trip(live: Live, files: dict[str, bytes]) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    asset = alice.add_zarr(ds, "sub-1/vol.zarr", files)
    assert asset["zarr"] and asset["blob"] is None
    z = alice.get(f"/api/zarr/{asset['zarr']}/").json()
    assert z["status"] == "Complete"
    assert z["checksum"] == local_checksum(files)
    assert z["file_count"] == len(files) and z["size"] == sum(map(len, files.values()))
    assert z["name"] == "sub-1/vol.zarr" and z["dandiset"] == ds
    entries = listing(alice, asset["zarr"])
    assert [e["Key"] for e in entries] == sorted(files)
    assert {".zattrs", ".zgroup", "raw/.zarray", "labels/cells/mask/.zarray"} <= set(files)
    for e in entries:
        assert e["ETag"] == hashlib.md5(files[e["Key"]]).hexdigest()
        assert e["Size"] == len(files[e["Key"]])
        assert e["LastModified"].endswith("+00:00")
    # the asset: listed with `zarr`, metadata with the Zarr checksum and size
    items = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["results"]
    assert items[0]["zarr"] == asset["zarr"] and items[0]["blob"] is None
    assert items[0]["size"] == z["size"]
    md = alice.get(f"/api/assets/{asset['asset_id']}/").json()
    assert md["digest"] == {"dandi:dandi-zarr-checksum": z["checksum"]}
    assert md["contentSize"] == z["size"]
    assert md["encodingFormat"] == "application/x-zarr" and md["nds:format"] == "zarr"
    # a whole-asset download is refused, as dandi-archive does
    r = alice.get(f"/api/assets/{asset['asset_id']}/download/")
    assert r.status_code == 400 and "Zarr" in r.json()["detail"]
    # each file downloads byte for byte through the redirect, with Range
    r = alice.get(
        f"/api/zarr/{asset['zarr']}/files/",
        params={"prefix": "raw/0.0", "download": "true"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and r.content == files["raw/0.0"]
    r = alice.get(
        f"/api/zarr/{asset['zarr']}/files/",
        params={"prefix": "raw/0.0", "download": "true"},
        headers={"Range": "bytes=5-"},
        follow_redirects=True,
    )
    assert r.status_code == 206 and r.content == files["raw/0.0"][5:]
    # zarr-python reads it through the archive's store seam
    import zarr

    from neurodatashare.archive.zarrs import open_zarr_store

    store = open_zarr_store(live.archive, asset["zarr"])
    assert set(store) == set(files) and len(store) == len(files)
    group = zarr.open_group(store, mode="r")
    assert group.attrs["title"] == "test volume"
    assert group["labels/cells/mask"][2, 2] == 1
    assert int(group["raw"][7, 7]) == 63


def test_listing_pages_by_cursor_and_prefix(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    many = {f"a/{i:04d}": bytes([i % 256]) for i in range(30)} | {".zgroup": b"{}"}
    asset = alice.add_zarr(ds, "many.zarr", many)
    zid = asset["zarr"]
    page = alice.get(f"/api/zarr/{zid}/files/", params={"limit": 7}).json()
    assert len(page["results"]) == 7 and "after=" in page["next"]
    assert [e["Key"] for e in listing(alice, zid, limit=7)] == sorted(many)
    assert [e["Key"] for e in listing(alice, zid, prefix="a/001")] == [
        f"a/{i:04d}" for i in range(10, 20)
    ]
    assert listing(alice, zid, prefix="nothing") == []
    assert alice.get(f"/api/zarr/{zid}/files/", params={"prefix": "../x"}).status_code == 400
    assert alice.get(f"/api/zarr/{zid}/files/", params={"limit": 0}).status_code == 400
    r = alice.get(f"/api/zarr/{zid}/files/", params={"prefix": "a/9999", "download": "true"})
    assert r.status_code == 404


def test_duplicate_name_and_lookup(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    first = alice.post("/api/zarr/", json={"name": "x.zarr", "dandiset": ds})
    assert first.status_code == 200
    again = alice.post("/api/zarr/", json={"name": "x.zarr", "dandiset": ds})
    assert again.status_code == 409 and "Zarr already exists" in again.text
    found = alice.get("/api/zarr/", params={"dandiset": ds, "name": "x.zarr"}).json()
    assert found["count"] == 1 and found["results"][0]["zarr_id"] == first.json()["zarr_id"]
    assert found["results"][0]["status"] == "Pending"
    assert alice.post("/api/zarr/", json={"name": "../x.zarr", "dandiset": ds}).status_code == 400
    assert alice.post("/api/zarr/", json={"name": "x.zarr"}).status_code == 400


def test_reupload_replaces_changed_files_and_deletes(live: Live, files: dict[str, bytes]) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    asset = alice.add_zarr(ds, "vol.zarr", files)
    zid = asset["zarr"]
    keys = dict(_entry_keys(live, zid))
    changed = {**files, "raw/0.0": b"changed bytes"}
    del changed["empty/.zarray"]
    alice.put_zarr_files(zid, {"raw/0.0": changed["raw/0.0"]})
    assert alice.get(f"/api/zarr/{zid}/").json()["status"] == "Pending"
    assert alice.get(f"/api/zarr/{zid}/").json()["checksum"] is None
    r = alice.delete(f"/api/zarr/{zid}/files/", json=[{"path": "empty/.zarray"}])
    assert r.status_code == 204
    z = alice.finalize_zarr(zid)
    assert z["checksum"] == local_checksum(changed)
    after = dict(_entry_keys(live, zid))
    # a changed file got a new storage key; the others kept theirs; the old object is gone
    assert after["raw/0.0"] != keys["raw/0.0"]
    assert all(after[p] == keys[p] for p in after if p != "raw/0.0")
    assert not live.archive.store.exists(keys["raw/0.0"])
    assert not live.archive.store.exists(keys["empty/.zarray"])
    # finalizing twice is refused as dandi-archive does
    r = alice.post(f"/api/zarr/{zid}/finalize/")
    assert r.status_code == 400 and "ingest" in r.json()["detail"]


def _entry_keys(live: Live, zarr_id: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from neurodatashare.db.models import ZarrEntry

    with live.archive.db.read() as s:
        return [
            (p, k)
            for p, k in s.execute(
                select(ZarrEntry.path, ZarrEntry.storage_key).where(ZarrEntry.zarr_id == zarr_id)
            )
        ]


@pytest.mark.parametrize(
    "path",
    ["../escape", "/abs", "a//b", "a/./b", "a/../b", "a/", "", "a\\b", "a\nb"],
)
def test_bad_entry_paths_are_400(live: Live, path: str) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    zid = alice.post("/api/zarr/", json={"name": "x.zarr", "dandiset": ds}).json()["zarr_id"]
    r = alice.post(f"/api/zarr/{zid}/files/", json=[{"path": path, "base64md5": b64md5(b"x")}])
    assert r.status_code == 400, r.text
    assert "path" in r.json()["detail"].lower()
    r = alice.delete(f"/api/zarr/{zid}/files/", json=[{"path": path}])
    assert r.status_code == 400


def test_hostile_uploads(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    zid = alice.post("/api/zarr/", json={"name": "x.zarr", "dandiset": ds}).json()["zarr_id"]
    # batches over the limits
    big = [{"path": f"f{i}", "base64md5": b64md5(b"x")} for i in range(256)]
    r = alice.post(f"/api/zarr/{zid}/files/", json=big)
    assert r.status_code == 400 and "255" in r.json()["detail"]
    r = alice.delete(f"/api/zarr/{zid}/files/", json=[{"path": f"f{i}"} for i in range(101)])
    assert r.status_code == 400 and "100" in r.json()["detail"]
    # not an MD5
    r = alice.post(f"/api/zarr/{zid}/files/", json=[{"path": "a", "base64md5": "nope"}])
    assert r.status_code == 400 and "base64md5" in r.json()["detail"]
    assert alice.post(f"/api/zarr/{zid}/files/", json={"path": "a"}).status_code == 400
    # bytes that do not match their MD5 are refused and stored nowhere
    (url,) = alice.post(
        f"/api/zarr/{zid}/files/", json=[{"path": "a", "base64md5": b64md5(b"good")}]
    ).json()
    r = alice.storage.put(url, content=b"evil", headers={"Content-MD5": b64md5(b"good")})
    assert r.status_code == 400 and "Content-MD5" in r.json()["detail"]
    # a PUT without the signed Content-MD5, or with another, is refused like S3 does
    assert alice.storage.put(url, content=b"good").status_code == 403
    r = alice.storage.put(url, content=b"evil", headers={"Content-MD5": b64md5(b"evil")})
    assert r.status_code == 403
    # a forged URL
    forged = url.replace("path=a", "path=b")
    r = alice.storage.put(forged, content=b"good", headers={"Content-MD5": b64md5(b"good")})
    assert r.status_code == 403
    assert listing(alice, zid) == []
    # deleting a file that is not there
    r = alice.delete(f"/api/zarr/{zid}/files/", json=[{"path": "missing"}])
    assert r.status_code == 400 and "does not exist" in r.json()["detail"]
    # uploads while the checksum is being computed are refused as DANDI does
    r = alice.storage.put(url, content=b"good", headers={"Content-MD5": b64md5(b"good")})
    assert r.status_code == 200
    alice.finalize_zarr(zid)
    # an asset needs exactly one of blob_id and zarr_id
    r = alice.post(
        f"/api/dandisets/{ds}/versions/draft/assets/", json={"metadata": {"path": "x.zarr"}}
    )
    assert r.status_code == 400
    blob = alice.upload_blob(ds, b"bytes")
    r = alice.post(
        f"/api/dandisets/{ds}/versions/draft/assets/",
        json={"metadata": {"path": "x.zarr"}, "zarr_id": zid, "blob_id": blob},
    )
    assert r.status_code == 400


def test_other_users_and_hidden_datasets(live: Live) -> None:
    alice, bob, anon = live.user("alice"), live.user("bob"), live.anonymous()
    open_ds = alice.create_dataset("open")
    asset = alice.add_zarr(open_ds, "x.zarr", {".zgroup": b"{}"})
    zid = asset["zarr"]
    # bob may read an open dataset's Zarr but not change it
    assert bob.get(f"/api/zarr/{zid}/").status_code == 200
    assert listing(bob, zid)[0]["Key"] == ".zgroup"
    r = bob.post(f"/api/zarr/{zid}/files/", json=[{"path": "a", "base64md5": b64md5(b"a")}])
    assert r.status_code == 403
    assert bob.delete(f"/api/zarr/{zid}/files/", json=[{"path": ".zgroup"}]).status_code == 403
    assert bob.post(f"/api/zarr/{zid}/finalize/").status_code == 403
    assert bob.post("/api/zarr/", json={"name": "y.zarr", "dandiset": open_ds}).status_code == 403
    assert anon.post("/api/zarr/", json={"name": "y.zarr", "dandiset": open_ds}).status_code == 401
    # bob cannot attach alice's Zarr to his own dataset
    bob_ds = bob.create_dataset("bob's")
    r = bob.post(
        f"/api/dandisets/{bob_ds}/versions/draft/assets/",
        json={"metadata": {"path": "x.zarr"}, "zarr_id": zid},
    )
    assert r.status_code == 400
    # a private dataset's Zarr is absent to bob: the same 404 as an unknown id
    private = alice.create_dataset("private", access="private")
    hidden = alice.add_zarr(private, "h.zarr", {".zgroup": b"{}"})["zarr"]
    unknown = "00000000-0000-4000-8000-000000000000"
    for zarr_id in (hidden, unknown):
        for call in (
            lambda z: bob.get(f"/api/zarr/{z}/"),
            lambda z: bob.get(f"/api/zarr/{z}/files"),
            lambda z: bob.get(f"/api/zarr/{z}/files/", params={"prefix": ".zgroup", "download": 1}),
            lambda z: bob.post(f"/api/zarr/{z}/finalize/"),
            lambda z: bob.delete(f"/api/zarr/{z}/files/", json=[{"path": ".zgroup"}]),
        ):
            r = call(zarr_id)
            assert r.status_code == 404, (zarr_id, r.text)
            assert r.json()["detail"] == f"Zarr {zarr_id} was not found."
        assert anon.get(f"/api/zarr/{zarr_id}/").status_code == 401
    listed = bob.get("/api/zarr/").json()["results"]
    assert [z["zarr_id"] for z in listed] == [zid]
    assert {z["zarr_id"] for z in alice.get("/api/zarr/").json()["results"]} == {zid, hidden}
    # a download link made for alice stops working once bob... is not needed: the link is
    # revoked when the dataset's access changes
    r = alice.get(f"/api/zarr/{hidden}/files/", params={"prefix": ".zgroup", "download": "true"})
    assert r.status_code == 302
    link = r.headers["location"]
    assert anon.get(link, follow_redirects=True).status_code == 200
    assert (
        alice.put(f"/api/dandisets/{private}/access/", json={"access": "open"}).status_code == 200
    )
    assert anon.get(link).status_code == 403


def test_publish_freezes_the_zarr(live: Live, files: dict[str, bytes]) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    asset = alice.add_zarr(ds, "vol.zarr", files)
    zid = asset["zarr"]
    alice.wait_for_status(ds)
    published = alice.publish(ds)["version"]
    pub_assets = alice.get(f"/api/dandisets/{ds}/versions/{published}/assets/").json()["results"]
    (frozen,) = pub_assets
    assert frozen["zarr"] != zid and frozen["path"] == "vol.zarr"
    before = alice.get(f"/api/zarr/{frozen['zarr']}/").json()
    # change the draft's Zarr: a file replaced, one deleted, one added
    alice.put_zarr_files(zid, {"raw/0.0": b"new", "extra": b"more"})
    alice.delete(f"/api/zarr/{zid}/files/", json=[{"path": "raw/.zarray"}])
    # the draft waits for the new checksum before it may be published again
    assert alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()["status"] == "Pending"
    alice.finalize_zarr(zid)
    assert alice.get(f"/api/zarr/{zid}/").json()["checksum"] != before["checksum"]
    # the published version still lists, checksums and downloads what was published
    assert alice.get(f"/api/zarr/{frozen['zarr']}/").json() == before
    assert before["checksum"] == local_checksum(files)
    assert [e["Key"] for e in listing(alice, frozen["zarr"])] == sorted(files)
    for path in ("raw/0.0", "raw/.zarray"):
        r = alice.get(
            f"/api/zarr/{frozen['zarr']}/files/",
            params={"prefix": path, "download": "true"},
            follow_redirects=True,
        )
        assert r.status_code == 200 and r.content == files[path]
    md = alice.get(f"/api/dandisets/{ds}/versions/{published}/assets/{frozen['asset_id']}/")
    assert md.json()["digest"]["dandi:dandi-zarr-checksum"] == before["checksum"]
    # and the frozen copy cannot be changed
    r = alice.post(
        f"/api/zarr/{frozen['zarr']}/files/", json=[{"path": "x", "base64md5": b64md5(b"x")}]
    )
    assert r.status_code == 400 and "published" in r.json()["detail"]
    # only the draft's Zarr is found by name (dandi upload expects exactly one)
    found = alice.get("/api/zarr/", params={"dandiset": ds, "name": "vol.zarr"}).json()
    assert [z["zarr_id"] for z in found["results"]] == [zid]
    # the changed draft publishes as a second version with its own frozen copy
    assert alice.wait_for_status(ds)["status"] == "Valid"
    second = alice.publish(ds)["version"]
    (again,) = alice.get(f"/api/dandisets/{ds}/versions/{second}/assets/").json()["results"]
    assert again["zarr"] not in (zid, frozen["zarr"])
    draft_checksum = alice.get(f"/api/zarr/{zid}/").json()["checksum"]
    assert alice.get(f"/api/zarr/{again['zarr']}/").json()["checksum"] == draft_checksum


def test_draft_waits_for_the_checksum(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    zid = alice.post("/api/zarr/", json={"name": "p.zarr", "dandiset": ds}).json()["zarr_id"]
    r = alice.post(
        f"/api/dandisets/{ds}/versions/draft/assets/",
        json={"metadata": {"path": "p.zarr"}, "zarr_id": zid},
    )
    assert r.status_code == 200
    info = alice.get(f"/api/dandisets/{ds}/versions/draft/info/").json()
    assert info["status"] == "Pending"
    r = alice.post(f"/api/dandisets/{ds}/versions/draft/publish/")
    assert r.status_code == 409
    alice.put_zarr_files(zid, {".zgroup": b'{"zarr_format": 2}'})
    alice.finalize_zarr(zid)
    assert alice.wait_for_status(ds)["status"] == "Valid"
    listing_ = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
    assert listing_["assetsSummary"]["numberOfBytes"] == len(b'{"zarr_format": 2}')


class ToyVolume:
    """A toy Zarr format: reads the root attributes and one array with zarr-python through
    the archive's store seam; a missing 'title' is an error."""

    name = "toy-volume"
    media_type = "application/x-toy-volume+zarr"
    suffixes = (".toy.zarr",)
    version = "toy-1"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def claims(self, path: str, head: bytes = b"") -> bool:
        return path.lower().endswith(self.suffixes)

    def process_store(self, store: Any, *, path: str) -> Any:
        import zarr

        from neurodatashare.formats import Processed
        from neurodatashare.formats.common import finding
        from neurodatashare.validation.types import Severity

        self.calls.append(path)
        group = zarr.open_group(store, mode="r")
        results = []
        if "title" not in group.attrs:
            results.append(finding(Severity.ERROR, "toy_title", "The volume has no title."))
        raw = group["raw"]
        summary = {"shape": list(raw.shape), "dtype": str(raw.dtype), "max": int(raw[:].max())}
        return Processed(metadata={"nds:summary": summary}, results=results)

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["summary"]


@pytest.fixture
def toy() -> Any:
    from neurodatashare.formats import register_store_format, unregister_store_format

    fmt = ToyVolume()
    register_store_format(fmt)
    yield fmt
    unregister_store_format(fmt.name)


@pytest.mark.in_process(
    "registers a toy format in this process; the stack's workers do not have it"
)
def test_store_format_seam(live: Live, files: dict[str, bytes], toy: ToyVolume) -> None:
    from neurodatashare.formats import store_format_for

    assert store_format_for("a/b.TOY.zarr") is toy and store_format_for("a/b.zarr") is None
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    good = alice.add_zarr(ds, "good.toy.zarr", files)
    report = alice.wait_for_checks(good["asset_id"])
    assert report["status"] == "done" and report["results"] == []
    assert report["metadata"]["nds:summary"] == {"shape": [8, 8], "dtype": "uint16", "max": 63}
    md = alice.get(f"/api/assets/{good['asset_id']}/").json()
    assert md["nds:format"] == "toy-volume"
    assert md["encodingFormat"] == "application/x-zarr"  # dandischema: a Zarr checksum needs it
    assert md["nds:summary"]["max"] == 63
    # the asset page offers the format's views, and the summary it extracted
    page = alice.get(f"/asset/{good['asset_id']}.json").json()
    assert page["format"] == "toy-volume" and page["views"] == ["summary"]
    html = alice.get(f"/asset/{good['asset_id']}")
    assert html.status_code == 200 and "uint16" in html.text
    # a Zarr without a title: an error finding, and the draft cannot be published
    untitled = {k: v for k, v in files.items() if k != ".zattrs"}
    bad = alice.add_zarr(ds, "bad.toy.zarr", untitled)
    report = alice.wait_for_checks(bad["asset_id"])
    assert [r["check"] for r in report["results"]] == ["toy_title"]
    assert report["results"][0]["file"] == "bad.toy.zarr"
    info = alice.wait_for_status(ds)
    assert info["status"] == "Invalid"
    assert any(e["path"] == "bad.toy.zarr" for e in info["asset_validation_errors"])
    # results are per Zarr checksum: the same content under another Zarr is not redone
    calls = len(toy.calls)
    again = alice.add_zarr(ds, "again.toy.zarr", files)
    assert alice.wait_for_checks(again["asset_id"])["status"] == "done"
    assert len(toy.calls) == calls
    # changing the Zarr makes a new checksum, processed afresh
    alice.put_zarr_files(good["zarr"], {".zattrs": b'{"title": "renamed"}'})
    alice.finalize_zarr(good["zarr"])
    poll_done = alice.wait_for_checks(good["asset_id"])
    assert poll_done["status"] == "done" and len(toy.calls) == calls + 1


@pytest.mark.in_process(
    "registers a crashing format in this process; the stack's workers do not have it"
)
def test_a_format_that_crashes_reports_it(live: Live, toy: ToyVolume) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    asset = alice.add_zarr(ds, "broken.toy.zarr", {".zgroup": b"not json"})
    report = alice.wait_for_checks(asset["asset_id"])
    assert report["status"] == "done"
    assert [r["check"] for r in report["results"]] == ["unreadable"]
    assert "toy-volume" in report["results"][0]["message"]


def test_every_asset_route_answers_a_zarr_asset_without_500(live: Live) -> None:
    """Views that read one file say a Zarr is not one (4xx); none answers 500."""
    import re

    from fastapi.routing import APIRoute, iter_route_contexts

    from neurodatashare.app import create_app

    alice = live.user("alice")
    ds = alice.create_dataset("z")
    asset = alice.add_zarr(ds, "sub-1/vol.zarr", {".zgroup": b'{"zarr_format": 2}'})
    aid = asset["asset_id"]
    fill = {
        "asset_id": aid,
        "dataset_id": ds,
        "version": "draft",
        "subject_id": "1",
        "cell_id": "c",
        "index": "0",
    }
    query = {"path": "/units", "start": "0", "end": "1", "index": "0", "genes": "Gad1"}
    app = create_app(archive=live.archive)
    seen = 0
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path or ""
        if not isinstance(route, APIRoute) or "{asset_id}" not in path:
            continue
        if not (route.methods or set()) & {"GET"}:
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(n not in fill for n in names):
            continue
        url = path
        for n in names:
            url = url.replace("{" + n + "}", fill[n])
        r = alice.get(url, params=query)
        seen += 1
        assert r.status_code < 500, (url, r.status_code, r.text[:300])
        if "/explore/" in url or url.endswith(("lindi.json", "/download/")):
            assert 400 <= r.status_code < 500, (url, r.status_code)
    print(f"{seen} asset routes checked")
    assert seen > 10
    page = alice.get(f"/asset/{aid}")
    assert page.status_code == 200 and f"/api/zarr/{asset['zarr']}/files/" in page.text
    listing_page = alice.get(f"/dandiset/{ds}/draft", params={"location": "sub-1"})
    assert (
        listing_page.status_code == 200 and f"/api/zarr/{asset['zarr']}/files/" in listing_page.text
    )


def test_deleting_a_dataset_deletes_its_zarrs(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("z")
    asset = alice.add_zarr(ds, "x.zarr", {".zgroup": b"{}", "0/0": b"bytes"})
    loose = alice.post("/api/zarr/", json={"name": "loose.zarr", "dandiset": ds}).json()
    alice.put_zarr_files(loose["zarr_id"], {"a": b"a"})
    keys = [k for _p, k in _entry_keys(live, asset["zarr"]) + _entry_keys(live, loose["zarr_id"])]
    assert len(keys) == 3 and all(live.archive.store.exists(k) for k in keys)
    assert alice.delete(f"/api/dandisets/{ds}/").status_code == 204
    assert alice.get(f"/api/zarr/{asset['zarr']}/").status_code == 404
    assert not any(live.archive.store.exists(k) for k in keys)


@pytest.mark.local_store("counts the files in the local blob folder")
def test_the_same_file_sent_twice_at_once(live: Live) -> None:
    """Concurrent PUTs of one new path: both succeed, one entry remains, no 500."""
    from concurrent.futures import ThreadPoolExecutor

    alice = live.user("alice")
    ds = alice.create_dataset("z")
    zid = alice.post("/api/zarr/", json={"name": "x.zarr", "dandiset": ds}).json()["zarr_id"]
    bodies = [f"version {i}".encode() for i in range(8)]
    urls = alice.post(
        f"/api/zarr/{zid}/files/", json=[{"path": "same", "base64md5": b64md5(b)} for b in bodies]
    ).json()

    def put(i: int) -> int:
        r = alice.storage.put(
            urls[i], content=bodies[i], headers={"Content-MD5": b64md5(bodies[i])}
        )
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(put, range(8))) == {200}
    (entry,) = listing(alice, zid)
    assert entry["Key"] == "same"
    assert entry["ETag"] in {hashlib.md5(b).hexdigest() for b in bodies}
    keys = [k for _p, k in _entry_keys(live, zid)]
    objects = list((live.archive.settings.resolved_blob_dir / "zarrs").rglob("*"))
    assert [p for p in objects if p.is_file()] == [live.archive.store.local_path(keys[0])]


def test_an_ome_zarr_asset_is_checked_and_viewed(live: Live, tmp_path: Path) -> None:
    """The OME-Zarr plugin through the seam: uploaded as a Zarr asset, described and
    checked after finalize, drawn by the slice viewer from the stored files."""
    from neurodatashare.testing.volumes import break_volume, write_volume

    alice = live.user("alice")
    ds = alice.create_dataset("z")
    vol = tmp_path / "cells.ome.zarr"
    write_volume(vol, shape=(2, 8, 64, 64), axes="czyx", levels=2, chunks=(1, 4, 32, 32))
    files = {p.relative_to(vol).as_posix(): p.read_bytes() for p in vol.rglob("*") if p.is_file()}
    asset = alice.add_zarr(ds, "sub-1/cells.ome.zarr", files)
    report = alice.wait_for_checks(asset["asset_id"])
    assert report["status"] == "done", report
    assert not [r for r in report["results"] if r["severity"] in ("ERROR", "CRITICAL")]
    md = alice.get(f"/api/assets/{asset['asset_id']}/").json()
    assert md["nds:format"] == "ome-zarr"
    assert md["nds:summary"]["shape"] == [2, 8, 64, 64] and md["nds:summary"]["levels"] == 2
    api = f"/api/assets/{asset['asset_id']}/explore/volume"
    layout = alice.get(api)
    assert layout.status_code == 200, layout.text
    assert len(layout.json()["levels"]) == 2
    png = alice.get(f"{api}/slice.png", params={"plane": "xy"})
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    page = alice.get(f"/asset/{asset['asset_id']}.json").json()
    assert "volume" in page["views"]
    # broken NGFF metadata: a finding, and the draft is not publishable
    broken = tmp_path / "broken.ome.zarr"
    write_volume(broken, shape=(1, 4, 32, 32), axes="czyx", levels=1)
    break_volume(broken, "no_multiscales")
    bad_files = {
        p.relative_to(broken).as_posix(): p.read_bytes() for p in broken.rglob("*") if p.is_file()
    }
    bad = alice.add_zarr(ds, "sub-1/broken.ome.zarr", bad_files)
    report = alice.wait_for_checks(bad["asset_id"])
    assert any(r["severity"] in ("ERROR", "CRITICAL") for r in report["results"]), report
    assert alice.wait_for_status(ds)["status"] == "Invalid"
    # a plain Zarr is not a volume
    plain = alice.add_zarr(ds, "plain.zarr", {".zgroup": b'{"zarr_format": 2}'})
    r = alice.get(f"/api/assets/{plain['asset_id']}/explore/volume")
    assert r.status_code == 400 and "not an OME-Zarr" in r.json()["detail"]


def test_a_one_level_large_volume_gets_a_pyramid(live: Live, tmp_path: Path) -> None:
    """A one-level OME-Zarr too large to show whole gets a derived pyramid (job
    zarr.pyramid), stored per checksum, and the viewer then draws the whole plane."""
    from neurodatashare.testing.factories import poll
    from neurodatashare.testing.volumes import write_sparse

    alice = live.user("alice")
    ds = alice.create_dataset("z")
    vol = tmp_path / "flat.ome.zarr"
    write_sparse(vol, shape=(8, 4096, 4096), chunks=(8, 256, 256), levels=1)
    files = {p.relative_to(vol).as_posix(): p.read_bytes() for p in vol.rglob("*") if p.is_file()}
    asset = alice.add_zarr(ds, "flat.ome.zarr", files)
    assert alice.wait_for_checks(asset["asset_id"])["status"] == "done"
    api = f"/api/assets/{asset['asset_id']}/explore/volume"
    poll(
        lambda: len(alice.get(api).json()["levels"]) > 1,
        timeout=120,
        what="the derived pyramid",
    )
    layout = alice.get(api).json()
    assert len(layout["levels"]) >= 3  # 4096 -> 2048 -> 1024 -> 512
    png = alice.get(f"{api}/slice.png", params={"plane": "xy", "z": "4"})
    assert png.status_code == 200, png.text
    assert int(png.headers["X-Volume-Level"]) > 0
