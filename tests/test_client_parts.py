"""Transfers part by part. Downloads in parallel ranges (client/ranged.py): one ranged GET
per dandi-etag part, resumed part by part, every byte checked against the archive's
digest at the end. Uploads of a file whose part MD5s are cached: sent without reading it
first, each part still checked.

Most download tests serve a file of three parts (64 + 64 + 1 MiB) from an in-memory
archive (`httpx.MockTransport`), which can cut or corrupt any range; the others run
against the live archive, on each store.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from neurodatashare.client import upload
from neurodatashare.client.digests import DigestCache
from neurodatashare.client.download import Downloader, DownloadItem
from neurodatashare.client.engine import drain
from neurodatashare.client.errors import ClientError, VerificationError
from neurodatashare.client.ranged import sidecar_for
from neurodatashare.client.remote import Client
from neurodatashare.client.upload import Uploader, collect_uploads
from neurodatashare.testing.factories import dandi_etag
from neurodatashare.testing.live import Live
from test_cli_client import isolated_client  # noqa: F401 - the autouse fixture, by name

MiB = 1 << 20
PART = 64 * MiB


@pytest.fixture(scope="module")
def three_parts() -> bytes:
    return random.Random(11).randbytes(2 * PART + MiB)


class CutStream(httpx.SyncByteStream):
    """A body that breaks after `cut` bytes, as a dropped connection does."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, self.cut, MiB):
            yield self.data[i : min(i + MiB, self.cut)]
        raise httpx.ReadError("connection reset by peer")


class SlowStream(httpx.SyncByteStream):
    """A body that arrives a MiB every 10 ms, so that a run can be stopped inside it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.data), MiB):
            time.sleep(0.01)
            yield self.data[i : i + MiB]


class Archive:
    """Serves one asset's bytes with Range; `tamper(start, body)` may change an answer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ranges: list[str | None] = []
        self.lock = threading.Lock()
        self.tamper: Callable[[int, bytes], httpx.Response | None] = lambda start, body: None

    def handler(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Range")
        with self.lock:
            self.ranges.append(header)
        size = len(self.data)
        if header is None:
            return httpx.Response(200, content=self.data)
        first, _, last = header.removeprefix("bytes=").partition("-")
        start, end = int(first), (int(last) + 1 if last else size)
        body = self.data[start:end]
        changed = self.tamper(start, body)
        if changed is not None:
            return changed
        return httpx.Response(
            206, content=body, headers={"Content-Range": f"bytes {start}-{end - 1}/{size}"}
        )

    def client(self) -> Client:
        client = Client("http://archive.invalid", "k")
        client.http = httpx.Client(transport=httpx.MockTransport(self.handler))
        return client

    def item(self, dest: Path) -> DownloadItem:
        return DownloadItem(
            asset_id="a1",
            path="rec.bin",
            size=len(self.data),
            etag=dandi_etag(self.data),
            dest=dest,
        )


def download(archive: Archive, dest: Path, *, jobs: int = 4) -> Downloader:
    downloader = Downloader(archive.client(), jobs=jobs, digests=DigestCache(None))
    drain(downloader.iter_download([archive.item(dest)])).raise_for_failures("download")
    return downloader


def test_each_part_is_one_range_and_the_file_is_whole(tmp_path: Path, three_parts: bytes) -> None:
    archive = Archive(three_parts)
    dest = tmp_path / "rec.bin"
    download(archive, dest)
    assert dest.read_bytes() == three_parts
    assert sorted(archive.ranges, key=str) == [
        f"bytes=0-{PART - 1}",
        f"bytes={2 * PART}-",  # the last part runs to the end
        f"bytes={PART}-{2 * PART - 1}",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["rec.bin"]  # no partial, no sidecar


def test_a_cut_range_resumes_where_it_stopped(tmp_path: Path, three_parts: bytes) -> None:
    archive = Archive(three_parts)
    cuts: list[int] = []

    def cut_part_two_once(start: int, body: bytes) -> httpx.Response | None:
        if start != PART or cuts:
            return None
        cuts.append(start)
        headers = {"Content-Range": f"bytes {PART}-{2 * PART - 1}/{len(three_parts)}"}
        return httpx.Response(206, stream=CutStream(body, 5 * MiB), headers=headers)

    archive.tamper = cut_part_two_once
    dest = tmp_path / "rec.bin"
    download(archive, dest)
    assert dest.read_bytes() == three_parts
    assert f"bytes={PART + 5 * MiB}-{2 * PART - 1}" in archive.ranges
    assert len(archive.ranges) == 4


def test_a_stopped_run_leaves_finished_parts_that_the_next_run_keeps(
    tmp_path: Path, three_parts: bytes
) -> None:
    archive = Archive(three_parts)

    def slow_part_two(start: int, body: bytes) -> httpx.Response | None:
        headers = {"Content-Range": f"bytes {PART}-{2 * PART - 1}/{len(three_parts)}"}
        return (
            httpx.Response(206, stream=SlowStream(body), headers=headers) if start == PART else None
        )

    archive.tamper = slow_part_two
    dest = tmp_path / "rec.bin"
    downloader = Downloader(archive.client(), jobs=1, digests=DigestCache(None))
    got = 0
    for event in downloader.iter_download([archive.item(dest)]):
        if event["event"] == "progress":
            got += event["bytes"]
        if got > PART + 2 * MiB:
            break  # as Ctrl-C does: part 1 is finished, part 2 is half-way
    partial = tmp_path / "rec.bin.ndspart"
    state = json.loads(sidecar_for(partial).read_text())
    assert list(state["parts"]) == ["1"] and not dest.exists()
    assert partial.stat().st_size == len(three_parts)  # sized at the start

    archive.ranges.clear()
    archive.tamper = lambda start, body: None
    download(archive, dest)
    assert dest.read_bytes() == three_parts
    assert sorted(archive.ranges, key=str) == [f"bytes={2 * PART}-", f"bytes={PART}-{2 * PART - 1}"]
    assert not partial.exists() and not sidecar_for(partial).exists()


def test_a_corrupted_range_fails_the_digest_and_leaves_nothing(
    tmp_path: Path, three_parts: bytes
) -> None:
    archive = Archive(three_parts)

    def flip_a_byte(start: int, body: bytes) -> httpx.Response | None:
        if start != PART:
            return None
        bad = bytearray(body)
        bad[12345] ^= 0xFF
        headers = {"Content-Range": f"bytes {PART}-{2 * PART - 1}/{len(three_parts)}"}
        return httpx.Response(206, content=bytes(bad), headers=headers)

    archive.tamper = flip_a_byte
    dest = tmp_path / "rec.bin"
    with pytest.raises(ClientError, match="do not match the archive's digest") as info:
        download(archive, dest)
    assert isinstance(info.value.failures["rec.bin"], VerificationError)  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []  # neither the file, nor the partial, nor the sidecar
    archive.tamper = lambda start, body: None
    download(archive, dest)  # a rerun fetches everything again
    assert dest.read_bytes() == three_parts


def test_a_part_finished_on_disk_is_trusted_only_through_its_sidecar(
    tmp_path: Path, three_parts: bytes
) -> None:
    """A sidecar of other bytes (another etag) is ignored: every part is fetched again."""
    archive = Archive(three_parts)
    partial = tmp_path / "rec.bin.ndspart"
    partial.write_bytes(b"\0" * len(three_parts))
    sidecar_for(partial).write_text(
        json.dumps({"size": len(three_parts), "etag": "0" * 32 + "-3", "prefix": 0, "parts": {}})
    )
    download(archive, tmp_path / "rec.bin")
    assert (tmp_path / "rec.bin").read_bytes() == three_parts
    assert len(archive.ranges) == 3


def test_a_prefix_from_a_single_stream_download_is_kept(tmp_path: Path, three_parts: bytes) -> None:
    """A partial file written in order (by an older client) without a sidecar: its bytes
    are hashed again, not fetched; the part it ends in continues from its end."""
    archive = Archive(three_parts)
    have = PART + 6 * MiB
    (tmp_path / "rec.bin.ndspart").write_bytes(three_parts[:have])
    download(archive, tmp_path / "rec.bin")
    assert (tmp_path / "rec.bin").read_bytes() == three_parts
    assert sorted(archive.ranges, key=str) == sorted(
        [f"bytes={have}-{2 * PART - 1}", f"bytes={2 * PART}-"]
    )


def test_an_archive_that_ignores_range_is_a_clear_error(tmp_path: Path) -> None:
    data = random.Random(12).randbytes(PART + 10)
    archive = Archive(data)
    archive.tamper = lambda start, body: httpx.Response(200, content=data)
    with pytest.raises(ClientError, match="does not honour Range"):
        download(archive, tmp_path / "rec.bin")


@pytest.mark.parametrize("size", [0, 1, MiB + 7])
def test_files_of_one_part_or_none(tmp_path: Path, size: int) -> None:
    data = random.Random(size).randbytes(size)
    archive = Archive(data)
    download(archive, tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == data
    assert archive.ranges == ([] if size == 0 else [None])  # one plain GET, no sidecar
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def _download_from(live: Live, tmp_path: Path, data: bytes) -> list[str | None]:
    """Download `data` from `live` with the client; the Range of each request to the archive."""
    alice = live.user("alice")
    ds = alice.create_dataset("ranges")
    alice.add_file(ds, "rec.bin", data)
    with Client(live.url, alice.key) as client:
        seen: list[str | None] = []
        client.http.event_hooks["request"].append(lambda r: seen.append(r.headers.get("Range")))
        local = client.dataset(ds).draft.asset("rec.bin").download(tmp_path)
        assert local.read_bytes() == data
    return seen


def test_the_local_store_serves_the_ranges(live: Live, tmp_path: Path, three_parts: bytes) -> None:
    seen = _download_from(live, tmp_path, three_parts)
    assert {f"bytes=0-{PART - 1}", f"bytes={PART}-{2 * PART - 1}", f"bytes={2 * PART}-"} <= set(
        seen
    )


def test_s3_ranges_each_follow_the_redirect_to_a_presigned_url(
    live_s3: Live, tmp_path: Path, three_parts: bytes
) -> None:
    seen = _download_from(live_s3, tmp_path, three_parts)
    ranges = [r for r in seen if r]  # the archive's answer (a redirect), then S3's
    assert sorted(set(ranges)) == sorted(
        [f"bytes=0-{PART - 1}", f"bytes={PART}-{2 * PART - 1}", f"bytes={2 * PART}-"]
    )


# -- the digest cache's part MD5s ------------------------------------------------------------
def _no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any client-side hashing of file bytes in an upload fail loudly."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the upload hashed the file")

    monkeypatch.setattr(upload, "file_part_md5s", boom)
    monkeypatch.setattr(upload, "hashlib", SimpleNamespace(sha256=hashlib.sha256, md5=boom))


def test_a_downloaded_file_uploads_without_being_hashed_again(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("parts-cache")
    data = random.Random(21).randbytes(3 * MiB)
    alice.add_file(ds, "rec.bin", data)
    cache = DigestCache(tmp_path / "digests.json")
    with Client(live.url, alice.key) as client:
        items = client.dataset(ds).draft.download_items(tmp_path / "out")
        local = drain(Downloader(client, digests=cache).iter_download(items)).local["rec.bin"]
        assert cache.part_md5s(local, local.stat()) == [hashlib.md5(data).hexdigest()]
        # the same bytes under another path of a new dataset: the archive deduplicates,
        # so change them, and cache what a run that hashed them would have
        other = tmp_path / "changed.bin"
        other.write_bytes(data[::-1])
        cache.put(other, dandi_etag(data[::-1]), [hashlib.md5(data[::-1]).hexdigest()])
        _no_hashing(monkeypatch)
        target = alice.create_dataset("parts-cache-2")
        done = {}
        for path in (local, other):
            uploader = Uploader(client, target, digests=cache)
            summary = drain(uploader.iter_upload(collect_uploads([path])))
            assert not summary.failed, summary.failed
            done.update(summary.done)
        # the downloaded file is known to the archive; the changed one is sent, unhashed
        assert done == {"rec.bin": "deduplicated", "changed.bin": "uploaded"}
        assert client.dataset(target).draft.asset("changed.bin").size == len(data)


def test_cached_part_md5s_are_still_checked_against_the_archive(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache that is wrong about the bytes (here: written for other bytes) fails at the
    first part the archive hashes differently, as a file changed since hashing does."""
    alice = live.user("alice")
    ds = alice.create_dataset("parts-stale")
    f = tmp_path / "f.bin"
    f.write_bytes(random.Random(22).randbytes(MiB))
    wrong = random.Random(23).randbytes(MiB)
    cache = DigestCache(None)
    cache.put(f, dandi_etag(wrong), [hashlib.md5(wrong).hexdigest()])
    _no_hashing(monkeypatch)
    with Client(live.url, alice.key) as client:
        summary = drain(Uploader(client, ds, digests=cache).iter_upload(collect_uploads([f])))
    assert "part 1 arrived with MD5" in summary.failed["f.bin"].message
    assert isinstance(summary.failed["f.bin"], VerificationError)


def test_the_cache_keeps_part_md5s_only_when_they_make_the_etag(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    cache = DigestCache(tmp_path / "d.json")
    md5 = hashlib.md5(b"abc").hexdigest()
    cache.put(f, dandi_etag(b"abc"), [md5])
    cache.save()
    again = DigestCache(tmp_path / "d.json")
    assert again.part_md5s(f, f.stat()) == [md5] and again.get(f, f.stat()) == dandi_etag(b"abc")
    cache.put(f, dandi_etag(b"abc"), ["0" * 32])  # parts of other bytes: not used
    assert cache.part_md5s(f, f.stat()) is None and cache.get(f, f.stat()) == dandi_etag(b"abc")
    cache.put(f, dandi_etag(b"abc"))  # an etag alone, as older clients cached it
    assert cache.part_md5s(f, f.stat()) is None
