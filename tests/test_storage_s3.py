"""The S3 blob store on a real S3 server (SeaweedFS, signatures enforced), and the
archive over it: uploads straight to S3, downloads by presigned redirect, the pipeline
and the explorer reading ranged, access rules on every URL."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pytest

from neurodatashare.archive import uploads
from neurodatashare.storage.base import blob_key
from neurodatashare.storage.digests import part_plan
from neurodatashare.storage.ranged import RangedReader
from neurodatashare.storage.s3 import S3BlobStore
from neurodatashare.testing.factories import dandi_etag, poll
from neurodatashare.testing.live import Live
from neurodatashare.testing.seaweed import SeaweedHandle, empty_bucket

MiB = 1024 * 1024
TWO_PARTS = 70 * MiB  # over 64 MiB: two parts in dandischema's plan


def _store(seaweed: SeaweedHandle, bucket: str, public: str | None = None) -> S3BlobStore:
    return S3BlobStore(
        bucket=bucket,  # created by the store: it does not exist yet
        endpoint_url=seaweed.endpoint_url,
        public_endpoint_url=public,
        access_key_id=seaweed.settings()["s3_access_key_id"],
        secret_access_key=seaweed.settings()["s3_secret_access_key"],
        region="us-east-1",
        public_url="http://127.0.0.1:1",
        secret="test-secret",
    )


@pytest.fixture
def store(seaweed: SeaweedHandle) -> Iterator[S3BlobStore]:
    s = _store(seaweed, "nds-contract")
    yield s
    empty_bucket(s.client, s.bucket)


@pytest.fixture(scope="module")
def big_data() -> bytes:
    return os.urandom(TWO_PARTS)


def _send_parts(store: S3BlobStore, upload_id: str, data: bytes) -> list[str]:
    """PUT every part with plain httpx, as the dandi client does; return their ETags."""
    etags = []
    plans = store.begin_upload(upload_id=upload_id, size=len(data))
    with httpx.Client(timeout=60) as http:
        for plan, part in zip(plans, part_plan(len(data)), strict=True):
            r = http.put(plan.upload_url, content=data[part.offset : part.offset + part.size])
            assert r.status_code == 200, r.text
            etags.append(r.headers["ETag"].strip('"'))
    return etags


def _complete(store: S3BlobStore, upload_id: str, etags: list[str]) -> httpx.Response:
    xml = "".join(
        f'<Part><PartNumber>{n}</PartNumber><ETag>"{e}"</ETag></Part>'
        for n, e in enumerate(etags, 1)
    )
    return httpx.post(
        store.complete_url(upload_id=upload_id),
        content=f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>",
        timeout=60,
    )


# -- the store's contract -----------------------------------------------------------------
def test_multipart_upload_through_presigned_urls(store: S3BlobStore, big_data: bytes) -> None:
    upload_id = str(uuid.uuid4())
    etags = _send_parts(store, upload_id, big_data)
    plan = part_plan(len(big_data))
    assert len(etags) == 2
    assert store.recorded_parts(upload_id=upload_id) == {
        p.number: hashlib.md5(big_data[p.offset : p.offset + p.size]).hexdigest() for p in plan
    }
    assert upload_id in store.stale_uploads()
    with pytest.raises(Exception, match="never joined"):
        store.assemble(upload_id=upload_id, part_count=2, size=len(big_data))
    done = _complete(store, upload_id, etags)
    assert done.status_code == 200 and dandi_etag(big_data) in done.text, done.text
    facts = store.assemble(upload_id=upload_id, part_count=2, size=len(big_data))
    assert facts.size == len(big_data) and facts.etag == dandi_etag(big_data)
    key = blob_key(upload_id)
    store.commit(upload_id=upload_id, key=key)
    assert upload_id not in store.stale_uploads()
    assert store.size(key) == len(big_data)
    start = 64 * MiB - 10  # across the part boundary
    assert store.read_range(key, start, 20) == big_data[start : start + 20]
    assert store.read_range(key, len(big_data) - 5, 100) == big_data[-5:]
    assert store.read_range(key, len(big_data), 10) == b""


def test_urls_for_clients_are_signed_for_the_public_endpoint(seaweed: SeaweedHandle) -> None:
    public = seaweed.endpoint_url.replace("127.0.0.1", "localhost")  # the same S3, renamed
    s = _store(seaweed, "nds-public", public)
    try:
        data = os.urandom(2000)
        upload_id = str(uuid.uuid4())
        [plan] = s.begin_upload(upload_id=upload_id, size=len(data))
        assert plan.upload_url.startswith(public + "/")
        assert httpx.put(plan.upload_url, content=data).status_code == 200
        # the signature covers the host: the same URL under the server's own name fails
        renamed = plan.upload_url.replace(public, seaweed.endpoint_url)
        assert httpx.put(renamed, content=data).status_code == 403
        assert s.complete_url(upload_id=upload_id).startswith(public + "/")
        s.put("derived/x", b"abc")
        url = s.download_url("derived/x", filename="x")
        assert url is not None and url.startswith(public + "/")
        assert httpx.get(url).content == b"abc"
        assert s.object_url("derived/x") == f"{public}/nds-public/derived/x"
    finally:
        empty_bucket(s.client, s.bucket)


def test_a_truncated_or_forged_part_is_refused_by_s3(store: S3BlobStore) -> None:
    upload_id = str(uuid.uuid4())
    data = os.urandom(1000)
    [plan] = store.begin_upload(upload_id=upload_id, size=len(data))
    short = httpx.put(plan.upload_url, content=data[:900])
    assert short.status_code == 403, short.text  # the part size is signed
    forged = httpx.put(
        plan.upload_url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), content=data
    )
    assert forged.status_code == 403, forged.text
    assert store.recorded_parts(upload_id=upload_id) == {}


def test_downloads_are_presigned_ranged_and_expire(
    store: S3BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * MiB)
    source = tmp_path / "f.bin"
    source.write_bytes(data)
    store.put_file("blobs/aaa/bbb/x", source)
    url = store.download_url("blobs/aaa/bbb/x", filename="trial 1.nwb")
    assert url is not None and url.startswith(store.client.meta.endpoint_url)
    r = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert "trial%201.nwb" in r.headers["Content-Disposition"]
    assert httpx.get(url).content == data
    # the bare object URL and a forged signature: refused, as are anonymous
    bare = store.object_url("blobs/aaa/bbb/x")
    assert bare is not None and httpx.get(bare).status_code == 403
    assert httpx.get(url[:-4] + "0000").status_code == 403
    # an expired URL
    from neurodatashare.storage import s3

    monkeypatch.setattr(s3, "DOWNLOAD_URL_LIFETIME", 1)
    short = store.download_url("blobs/aaa/bbb/x", filename="f")
    assert short is not None
    time.sleep(2.1)
    assert httpx.get(short).status_code == 403


def test_ranged_reader_opens_nwb_with_h5py(store: S3BlobStore, demo_file: Path) -> None:
    key = "blobs/nwb/demo/1"
    store.put_file(key, demo_file)
    reader = store.open(key)
    assert isinstance(reader, RangedReader)
    path = "/acquisition/ElectricalSeries/data"
    with h5py.File(reader, "r") as f, h5py.File(demo_file, "r") as local:
        assert np.array_equal(f[path][1000:1100, :4], local[path][1000:1100, :4])
        assert f["identifier"][()] == local["identifier"][()]
    blocks = -(-demo_file.stat().st_size // MiB)
    assert 0 < reader.fetches < blocks  # ranged reads, never the whole file


def test_abort_stale_uploads_delete_and_small_objects(store: S3BlobStore) -> None:
    upload_id = str(uuid.uuid4())
    store.begin_upload(upload_id=upload_id, size=100)
    assert upload_id in store.stale_uploads()
    store.abort(upload_id=upload_id)
    assert upload_id not in store.stale_uploads()
    with pytest.raises(Exception, match="does not exist"):
        store.recorded_parts(upload_id=upload_id)
    store.put("derived/a/b.json", b'{"x": 1}')
    assert store.read("derived/a/b.json") == b'{"x": 1}' and store.exists("derived/a/b.json")
    store.delete("derived/a/b.json")
    assert not store.exists("derived/a/b.json")
    with pytest.raises(Exception, match="missing from storage"):
        store.read("derived/a/b.json")
    # local-store part routes do not apply
    with pytest.raises(Exception, match="sent to S3"):
        store.part_writer(upload_id=upload_id, part_number=1, total=1, expires=0, signature="")


# -- the archive over S3 ------------------------------------------------------------------
def _initialize(caller: Any, ds: str, data: bytes, etag: str | None = None) -> dict[str, Any]:
    r = caller.post(
        "/api/uploads/initialize/",
        json={
            "contentSize": len(data),
            "digest": {"algorithm": "dandi:dandi-etag", "value": etag or dandi_etag(data)},
            "dandiset": ds,
        },
    )
    assert r.status_code == 200, r.text
    init: dict[str, Any] = r.json()
    return init


def _put_and_complete(caller: Any, init: dict[str, Any], data: bytes) -> None:
    done = []
    for part, plan in zip(init["parts"], part_plan(len(data)), strict=True):
        pr = caller.storage.put(
            part["upload_url"], content=data[plan.offset : plan.offset + plan.size]
        )
        assert pr.status_code == 200, pr.text
        done.append(
            {"part_number": part["part_number"], "size": part["size"], "etag": pr.headers["ETag"]}
        )
    r = caller.post(f"/api/uploads/{init['upload_id']}/complete/", json={"parts": done})
    assert r.status_code == 200, r.text
    xml = caller.storage.post(r.json()["complete_url"], content=r.json()["body"])
    assert xml.status_code == 200, xml.text


def test_upload_goes_to_s3_and_is_hidden_until_validated(
    live_s3: Live, seaweed: SeaweedHandle
) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("S3")
    data = os.urandom(5000)
    init = _initialize(alice, ds, data)
    # the bytes never pass through the API: every part URL is S3's, signed
    assert all(p["upload_url"].startswith(seaweed.endpoint_url + "/") for p in init["parts"])
    assert all("X-Amz-Signature=" in p["upload_url"] for p in init["parts"])
    _put_and_complete(alice, init, data)
    # completed at S3 but not validated: not downloadable anywhere
    upload_id = init["upload_id"]
    assert alice.get(f"/blobs/{upload_id}").status_code == 404
    assert (
        alice.post(
            "/api/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)}
        ).status_code
        == 404
    )
    bare = live_s3.archive.store.object_url(blob_key(upload_id))
    assert bare is not None and httpx.get(bare).status_code == 403
    r = alice.post(f"/api/uploads/{upload_id}/validate/")
    assert r.status_code == 200, r.text
    assert r.json()["etag"] == dandi_etag(data)
    blob_id = r.json()["blob_id"]
    got = alice.get(f"/blobs/{blob_id}", follow_redirects=False)
    assert got.status_code == 302 and got.headers["Location"].startswith(seaweed.endpoint_url)
    ranged = httpx.get(got.headers["Location"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == data[10:20]


def test_validate_rejects_bytes_whose_etag_is_not_the_announced_one(live_s3: Live) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("S3")
    data, other = os.urandom(3000), os.urandom(3000)
    init = _initialize(alice, ds, data, etag=dandi_etag(other))
    _put_and_complete(alice, init, data)
    r = alice.post(f"/api/uploads/{init['upload_id']}/validate/")
    assert r.status_code == 400 and "does not match" in r.json()["detail"], r.text
    assert not live_s3.archive.store.exists(blob_key(init["upload_id"]))  # discarded


def test_empty_file_upload(live_s3: Live) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("S3")
    asset = alice.add_file(ds, "empty.txt", b"")
    got = alice.get(f"/api/assets/{asset['asset_id']}/download/", follow_redirects=True)
    assert got.status_code == 200 and got.content == b""


def test_expired_uploads_are_aborted_and_their_bytes_removed(live_s3: Live) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("S3")
    parts_only = _initialize(alice, ds, os.urandom(2000))  # parts never joined
    done = os.urandom(2000)
    completed = _initialize(alice, ds, done)  # joined at S3, never validated
    _put_and_complete(alice, completed, done)
    store = live_s3.archive.store
    assert parts_only["upload_id"] in store.stale_uploads()
    assert store.exists(blob_key(completed["upload_id"]))
    live_s3.archive.settings.upload_expiry_hours = 0
    try:
        uploads.discard_stale_uploads(live_s3.archive)
    finally:
        live_s3.archive.settings.upload_expiry_hours = 168
    assert store.stale_uploads() == []
    assert not store.exists(blob_key(completed["upload_id"]))


def test_nwb_on_s3_is_validated_explored_and_downloaded(
    live_s3: Live, seaweed: SeaweedHandle, demo_file: Path
) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("S3 NWB")
    data = demo_file.read_bytes()
    asset = alice.add_file(ds, "sub-mouse01/sub-mouse01_ses-day1.nwb", data)
    aid = asset["asset_id"]
    report = alice.wait_for_checks(aid)
    assert report["status"] == "done", report
    assert not [x for x in report["results"] if x["severity"] in ("ERROR", "CRITICAL")]
    meta = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/{aid}/").json()
    # the direct URL is the archive's blob route, which signs a GET (the bucket is private)
    direct = meta["contentUrl"][1]
    assert direct == f"{live_s3.url}/blobs/{asset['blob']}", meta["contentUrl"]
    assert alice.get(direct, follow_redirects=True).content == data
    nodes = alice.get(f"/api/assets/{aid}/explore/tree").json()["nodes"]
    assert any(n["path"] == "/acquisition/ElectricalSeries" for n in nodes)
    window = alice.get(
        f"/api/assets/{aid}/explore/window",
        params={
            "path": "/acquisition/ElectricalSeries",
            "start": 1.0,
            "end": 1.01,
            "width": 1000,
            "channels": "0-3",
        },
    )
    assert window.status_code == 200, window.text
    dl = alice.get(f"/api/assets/{aid}/download/", follow_redirects=False)
    assert dl.status_code == 302 and dl.headers["Location"].startswith(seaweed.endpoint_url)
    tail = httpx.get(dl.headers["Location"], headers={"Range": f"bytes={len(data) - 100}-"})
    assert tail.status_code == 206 and tail.content == data[-100:]


def test_private_blob_has_no_url_for_others(live_s3: Live) -> None:
    alice, bob = live_s3.user("alice"), live_s3.user("bob")
    anonymous = live_s3.anonymous()
    ds = alice.create_dataset("Hidden", access="private")
    asset = alice.add_file(ds, "secret.bin", os.urandom(4000))
    aid, blob_id = asset["asset_id"], asset["blob"]
    assert alice.get(f"/api/assets/{aid}/download/", follow_redirects=False).status_code == 302
    missing = str(uuid.uuid4())
    for caller in (bob, anonymous):
        for url in (f"/api/assets/{aid}/download/", f"/blobs/{blob_id}"):
            r = caller.get(url, follow_redirects=False)
            absent = caller.get(url.replace(aid, missing).replace(blob_id, missing))
            assert r.status_code == absent.status_code and r.status_code in (401, 404), url
            detail = r.json()["detail"].replace(aid, missing).replace(blob_id, missing)
            assert detail == absent.json()["detail"] and "Location" not in r.headers


def test_index_chunk_urls_follow_access(live_s3: Live, demo_file: Path) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("Hidden NWB", access="private")
    asset = alice.add_file(ds, "sub-m/sub-m_ses-1.nwb", demo_file.read_bytes())
    aid = asset["asset_id"]
    poll(
        lambda: alice.get(f"/api/assets/{aid}/lindi.json").status_code == 200,
        what="index",
        timeout=120,
    )
    index = alice.get(f"/api/assets/{aid}/lindi.json").json()
    url = index["templates"]["u"]
    assert "signature=" in url  # private: the chunk URL is a signed link of the archive
    assert any(isinstance(v, list) and v[0] == "{{u}}" for v in index["refs"].values())
    # signed link of the archive -> redirect to a presigned S3 URL -> the chunk's bytes
    r = httpx.get(url, follow_redirects=True, headers={"Range": "bytes=0-7"})
    assert r.status_code == 206 and r.content == demo_file.read_bytes()[:8]
    tampered = httpx.get(url.replace("signature=", "signature=0"), follow_redirects=False)
    assert tampered.status_code in (403, 404) and "Location" not in tampered.headers
    # asset.open() through the index: S3 answers one range per request, and reads the
    # slices of several chunks right (client/chunk_store.py asks range by range there)
    from types import SimpleNamespace

    from neurodatashare.client.streaming import open_asset

    client = SimpleNamespace(http=alice.http, api_url=f"{live_s3.url}/api")
    nwb = open_asset(SimpleNamespace(client=client, id=aid, path="x.nwb"))
    data = nwb.acquisition["ElectricalSeries"].data
    with h5py.File(demo_file, "r") as f:
        want = f["acquisition/ElectricalSeries/data"]
        step = want.chunks[0] if want.chunks else 1000
        rows = [1, 2 * step + 1]  # two chunks apart: two ranges in one read
        assert rows[-1] < want.shape[0]
        assert np.array_equal(data[rows, :3], want[rows, :3])
        assert np.array_equal(data[: step + 5, :3], want[: step + 5, :3])


def test_zarr_files_are_objects_in_the_bucket(
    live_s3: Live, seaweed: SeaweedHandle, tmp_path: Path
) -> None:
    import zarr

    from neurodatashare.archive.zarrs import open_zarr_store

    root = zarr.open_group(str(tmp_path / "v.zarr"), mode="w")
    root.create_dataset("raw", data=np.arange(64, dtype="u2").reshape(8, 8), chunks=(4, 4))
    files = {
        p.relative_to(tmp_path / "v.zarr").as_posix(): p.read_bytes()
        for p in (tmp_path / "v.zarr").rglob("*")
        if p.is_file()
    }
    alice = live_s3.user("alice")
    ds = alice.create_dataset("Zarr on S3")
    asset = alice.add_zarr(ds, "sub-1/vol.zarr", files)
    zid = asset["zarr"]
    store = live_s3.archive.store
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=f"zarrs/{zid[:3]}/{zid}/")
    assert listed["KeyCount"] == len(files)
    r = alice.get(f"/api/zarr/{zid}/files/", params={"prefix": "raw/0.0", "download": "true"})
    assert r.status_code == 302  # to the archive's signed entry link
    entry = alice.get(r.headers["Location"])
    assert entry.status_code == 302 and entry.headers["Location"].startswith(seaweed.endpoint_url)
    ranged = httpx.get(entry.headers["Location"], headers={"Range": "bytes=5-"})
    assert ranged.status_code == 206 and ranged.content == files["raw/0.0"][5:]
    group = zarr.open_group(open_zarr_store(live_s3.archive, zid), mode="r")
    assert int(group["raw"][7, 7]) == 63


def test_the_python_client_uploads_to_s3_and_downloads_back(
    live_s3: Live, seaweed: SeaweedHandle, tmp_path: Path
) -> None:
    from neurodatashare.client.remote import Client

    alice = live_s3.user("alice")
    folder = tmp_path / "data"
    folder.mkdir()
    data = os.urandom(TWO_PARTS)
    (folder / "big.bin").write_bytes(data)
    (folder / "empty.dat").write_bytes(b"")
    with Client(live_s3.url, alice.key) as client:
        sent: list[str] = []
        client.storage.event_hooks["request"].append(lambda r: sent.append(str(r.url)))
        ds = client.create_dataset("client", {"description": "d"}, access="private")
        done = ds.upload(folder)
        assert done.done == {"big.bin": "uploaded", "empty.dat": "uploaded"}
        parts = [u for u in sent if "partNumber=" in u]
        assert len(parts) == 2 and all(u.startswith(seaweed.endpoint_url) for u in parts)
        back = ds.draft.asset("big.bin").download(tmp_path / "back" / "big.bin")
        assert back.read_bytes() == data
        empty = ds.draft.asset("empty.dat").download(tmp_path / "back" / "empty.dat")
        assert empty.read_bytes() == b""


def test_storage_down_is_a_503_with_retry_after_and_changes_nothing(tmp_path: Path) -> None:
    import signal

    from sqlalchemy import func, select

    from neurodatashare.archive import Archive
    from neurodatashare.config import Settings
    from neurodatashare.db.models import Upload
    from neurodatashare.testing.live import free_port, serve_in_thread
    from neurodatashare.testing.seaweed import run_seaweed

    with run_seaweed(tmp_path / "s3") as s3:
        port = free_port()
        settings = Settings(home=tmp_path / "home", port=port, blob_store="s3", **s3.settings())
        archive = Archive.open(settings)
        try:
            with serve_in_thread(archive, port) as url:
                live = Live(url=url, archive=archive, backend="sqlite")
                alice = live.user("alice")
                ds = alice.create_dataset("Storage outage")
                _initialize(alice, ds, b"first bytes")  # S3 answers
                os.killpg(s3.process.pid, signal.SIGKILL)
                s3.process.wait(10)
                r = alice.post(
                    "/api/uploads/initialize/",
                    json={
                        "contentSize": 11,
                        "digest": {"algorithm": "dandi:dandi-etag", "value": dandi_etag(b"x" * 11)},
                        "dandiset": ds,
                    },
                )
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "5"
                assert "storage is not answering" in r.json()["detail"]
                with archive.db.read() as s:
                    assert s.scalar(select(func.count()).select_from(Upload)) == 1
                alice.close()
        finally:
            archive.close()


def test_initialize_again_resumes_at_s3_and_parts_come_from_list_parts(live_s3: Live) -> None:
    alice = live_s3.user("alice")
    ds = alice.create_dataset("S3")
    data = os.urandom(TWO_PARTS)
    init = _initialize(alice, ds, data)
    first = init["parts"][0]
    put = alice.storage.put(first["upload_url"], content=data[: first["size"]])
    assert put.status_code == 200, put.text
    held = alice.get(f"/api/uploads/{init['upload_id']}/parts/").json()["parts"]
    assert held == [
        {"part_number": 1, "size": first["size"], "etag": put.headers["ETag"].strip('"')}
    ]
    again = _initialize(alice, ds, data)
    assert again["upload_id"] == init["upload_id"] and again["resumed"] is True
    _put_and_complete(alice, again, data)  # the fresh URLs of the same S3 upload work
    # completed at S3 (the server was not told): initialize again starts a new upload
    third = _initialize(alice, ds, data)
    assert third["upload_id"] != init["upload_id"] and "resumed" not in third
    r = alice.post(f"/api/uploads/{init['upload_id']}/validate/")
    assert r.status_code == 200, r.text
