"""Digests and the local blob store."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from dandischema.digests.dandietag import DandiETag

from neurodatashare.errors import BadRequest, Forbidden, NotFound
from neurodatashare.storage.digests import EMPTY_ETAG, file_digests, part_plan
from neurodatashare.storage.local import LocalBlobStore
from neurodatashare.testing.factories import dandi_etag


@pytest.mark.parametrize("size", [0, 1, 5 * 2**20, 64 * 2**20, 64 * 2**20 + 1])
def test_our_digests_agree_with_dandischema(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.bin"
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(0)
        f.write(os.urandom(min(size, 4096)))
    sha, etag = file_digests(str(path))
    assert etag == DandiETag.from_file(path).as_str()
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    if size == 0:
        assert etag == EMPTY_ETAG


def _store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(root=tmp_path, public_url="http://x", secret="s3cret")


def _query(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlparse

    return dict(parse_qsl(urlparse(url).query))


def test_parts_written_out_of_order_assemble_correctly(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = os.urandom(1000)
    uid = "00000000-0000-4000-8000-000000000001"
    plans = store.begin_upload(upload_id=uid, size=len(data))
    q = _query(plans[0].upload_url)
    writer = store.part_writer(
        upload_id=uid,
        part_number=1,
        total=len(data),
        expires=int(q["expires"]),
        signature=q["signature"],
    )
    writer.write(data[:400])
    writer.write(data[400:])
    writer.finish()
    facts = store.assemble(upload_id=uid, part_count=1, size=len(data))
    assert facts.size == 1000 and facts.sha256 is None  # computed later, by a job
    assert facts.etag == dandi_etag(data)
    store.commit(upload_id=uid, key="blobs/abc/def/x")
    assert (tmp_path / "blobs/abc/def/x").read_bytes() == data
    assert store.stale_uploads() == []


def test_a_part_hashed_in_batches_from_other_threads_records_the_md5_of_its_bytes(
    tmp_path: Path,
) -> None:
    """The part route writes chunks in the event loop and hashes each batch in a worker
    thread; `finish` hashes what is left. The recorded MD5 must be that of all the bytes
    in order, and the file must hold them at the part's offset."""
    from concurrent.futures import ThreadPoolExecutor

    store = _store(tmp_path)
    size = 64 * 2**20 + 3000  # two parts: 64 MiB + 3000 bytes
    data = os.urandom(size)
    uid = "00000000-0000-4000-8000-000000000003"
    plans = store.begin_upload(upload_id=uid, size=size)
    md5s = []
    with ThreadPoolExecutor(1) as pool:
        for plan, start in ((plans[1], 64 * 2**20), (plans[0], 0)):  # out of order
            q = _query(plan.upload_url)
            writer = store.part_writer(
                upload_id=uid,
                part_number=plan.part_number,
                total=size,
                expires=int(q["expires"]),
                signature=q["signature"],
            )
            body = data[start : start + plan.size]
            for i in range(0, len(body), 1_000_000):
                writer.write(body[i : i + 1_000_000])
                if writer.queued_bytes >= 3_000_000:  # not every chunk: batches
                    pool.submit(writer.hash_chunks, writer.take_queued()).result()
            assert writer.queued_bytes > 0  # the last chunk(s) are left to finish()
            md5s.append(writer.finish())
            assert md5s[-1] == hashlib.md5(body).hexdigest()
    assert store.recorded_parts(upload_id=uid) == {2: md5s[0], 1: md5s[1]}
    facts = store.assemble(upload_id=uid, part_count=2, size=size)
    assert facts.etag == dandi_etag(data)
    store.commit(upload_id=uid, key="blobs/x")
    assert (tmp_path / "blobs/x").read_bytes() == data


def test_part_urls_expire_and_ids_cannot_escape(tmp_path: Path) -> None:
    store = _store(tmp_path)
    uid = "00000000-0000-4000-8000-000000000002"
    store.begin_upload(upload_id=uid, size=10)
    expired = int(time.time()) - 1
    sig = store._sign(uid, 1, 10, expired)  # a correctly signed, but expired, URL
    with pytest.raises(Forbidden, match="expired"):
        store.part_writer(upload_id=uid, part_number=1, total=10, expires=expired, signature=sig)
    with pytest.raises(NotFound):
        store.recorded_parts(upload_id="../../etc")
    with pytest.raises(BadRequest, match="out of range"):
        exp = int(time.time()) + 60
        store.part_writer(
            upload_id=uid,
            part_number=2,
            total=10,
            expires=exp,
            signature=store._sign(uid, 2, 10, exp),
        )


def test_part_plan_matches_dandischema_limits() -> None:
    assert part_plan(0) == []
    assert [p.size for p in part_plan(140 * 2**20)] == [64 * 2**20, 64 * 2**20, 12 * 2**20]
