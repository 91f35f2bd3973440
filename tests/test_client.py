"""The Python client against a real server: config, pagination, access, and the transfer
engines (dedupe, skip, parallel multipart, resume after a kill, verified resumable
downloads, network failures)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import neurodatashare
from neurodatashare.client import config, http
from neurodatashare.client.digests import DigestCache, file_etag, file_part_md5s
from neurodatashare.client.download import Downloader
from neurodatashare.client.engine import drain
from neurodatashare.client.errors import (
    EXIT_NETWORK,
    EXIT_VERIFY,
    AuthenticationError,
    ClientError,
    ConfigurationError,
    NetworkError,
    NotFoundError,
    ServerError,
    TransferError,
    VerificationError,
)
from neurodatashare.client.remote import Client, parse_target
from neurodatashare.client.upload import Uploader, collect_uploads
from neurodatashare.storage.digests import EMPTY_ETAG, EtagHasher, file_digests
from neurodatashare.testing.factories import dandi_etag
from neurodatashare.testing.live import Live
from neurodatashare.testing.proxy import CountingProxy

MiB = 1 << 20


@pytest.fixture(autouse=True)
def isolated_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Config and state in tmp_path, no NDS_URL/NDS_API_KEY, and quick retries."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv(config.ENV_URL, raising=False)
    monkeypatch.delenv(config.ENV_KEY, raising=False)
    monkeypatch.setattr(http, "DEFAULT_BACKOFF", 0.01)
    monkeypatch.setenv(http.ENV_RETRY_SECONDS, "3")  # a lost network is given up soon


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two full 64 MiB parts and a 1 MiB tail: three parts."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    path.write_bytes(random.Random(7).randbytes(2 * 64 * MiB + MiB))
    return path


def test_etag_hasher_agrees_with_the_server_digest(tmp_path: Path, big_file: Path) -> None:
    assert file_etag(big_file) == file_digests(str(big_file))[1]
    for size in (0, 1, 5 * MiB + 3):
        data = random.Random(size).randbytes(size)
        hasher = EtagHasher(size)
        for i in range(0, size, 777_777):
            hasher.update(data[i : i + 777_777])
        assert hasher.hexdigest() == dandi_etag(data)


def test_parts_hashed_side_by_side_are_each_parts_md5(tmp_path: Path, big_file: Path) -> None:
    data = big_file.read_bytes()
    want = [hashlib.md5(data[i : i + 64 * MiB]).hexdigest() for i in range(0, len(data), 64 * MiB)]
    assert file_part_md5s(big_file, threads=3) == want == file_part_md5s(big_file, threads=1)
    empty = tmp_path / "empty"
    empty.touch()
    assert file_part_md5s(empty) == [] and file_etag(empty) == EMPTY_ETAG
    short = tmp_path / "short.bin"
    short.write_bytes(data[: 65 * MiB])  # shorter than the size it is hashed for
    with pytest.raises(ClientError, match="became shorter"):
        file_part_md5s(short, size=len(data))


def test_targets_and_the_lazy_top_level_import() -> None:
    assert parse_target("1") == ("000001", None, None)
    assert parse_target("000001@0.251123.0001/sub-1/") == ("000001", "0.251123.0001", "sub-1/")
    assert parse_target("DANDI:000002/a/b.nwb") == ("000002", None, "a/b.nwb")
    assert neurodatashare.Client is Client


def test_config_file_and_environment(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = live.user("alice")
    with pytest.raises(ConfigurationError, match="nds login"):
        Client()
    path = config.save(url=live.url + "/", token=alice.key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": live.url, "api_key": alice.key}
    with Client() as client:
        assert (client.url, client.token) == (live.url, alice.key)
        assert client.me()["username"] == "alice"
    # the saved key is never sent to another URL
    with Client(url="http://127.0.0.1:9") as other:
        assert other.token is None
    # a URL from the environment does not get the key saved for another URL
    monkeypatch.setenv("NDS_URL", "http://127.0.0.1:9/")
    with Client() as other:
        assert (other.url, other.token) == ("http://127.0.0.1:9", None)
    monkeypatch.delenv("NDS_URL")
    # the environment wins over the file
    bob = live.user("bob")
    monkeypatch.setenv("NDS_API_KEY", str(bob.key))
    with Client() as client:
        assert client.me()["username"] == "bob"
    monkeypatch.setenv("NDS_API_KEY", "0" * 40)
    with Client() as client, pytest.raises(AuthenticationError):
        client.me()


def test_listings_are_lazy_and_follow_pages(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("paged")
    for i in range(5):
        alice.add_file(ds, f"sub-{i}/f.txt", f"file {i}".encode())
    with Client(live.url, alice.key) as client:
        sent: list[str] = []
        client.http.event_hooks["request"].append(lambda r: sent.append(str(r.url)))
        assets = client.dataset(ds).draft.assets(page_size=2)
        sent.clear()
        first = next(assets)
        assert first.path == "sub-0/f.txt" and first.size == 6
        assert len(sent) == 1  # one page, not the whole listing
        rest = [a.path for a in assets]
        assert rest == [f"sub-{i}/f.txt" for i in range(1, 5)]
        assert len(sent) == 3
        # metadata is fetched on first use, then cached
        sent.clear()
        assert first.metadata["digest"]["dandi:dandi-etag"] == dandi_etag(b"file 0")
        assert first.etag == dandi_etag(b"file 0")
        assert len(sent) == 1
        # DANDI's glob: only `*` is special, and case does not matter
        assert [a.path for a in client.dataset(ds).assets(glob="SUB-*2/*")] == ["sub-2/f.txt"]
        assert [a.path for a in client.dataset(ds).assets(glob="sub-[12]/*")] == []
        assert [d.identifier for d in client.datasets(page_size=1)] == [ds]


def test_private_datasets_of_others_are_not_found(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("secret", access="private")
    with Client(live.url, bob.key) as client:
        with pytest.raises(NotFoundError) as info:
            client.dataset(ds)
        assert info.value.exit_code == 2 and ds in info.value.message
        assert list(client.datasets()) == []
    with Client(live.url) as anonymous, pytest.raises(AuthenticationError, match="nds login"):
        anonymous.dataset(ds)
    with Client(live.url, alice.key) as client:
        assert client.dataset(ds).access == "private"


def test_create_upload_skip_dedupe_replace(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    folder = tmp_path / "data"
    (folder / "sub-1").mkdir(parents=True)
    (folder / "sub-1" / "a.txt").write_bytes(b"alpha" * 1000)
    (folder / "sub-1" / "b.txt").write_bytes(b"beta" * 1000)
    (folder / ".hidden").write_bytes(b"not uploaded")
    with Client(live.url, alice.key) as client:
        ds = client.create_dataset("uploads", {"description": "d"}, access="private")
        assert ds.access == "private" and ds.name == "uploads"
        first = ds.upload(folder)
        assert first.done == {"sub-1/a.txt": "uploaded", "sub-1/b.txt": "uploaded"}
        assert [a.path for a in ds.draft.assets()] == ["sub-1/a.txt", "sub-1/b.txt"]
        # unchanged files are skipped without sending a byte
        puts: list[str] = []
        client.storage.event_hooks["request"].append(lambda r: puts.append(r.method))
        again = ds.upload(folder)
        assert set(again.done.values()) == {"skipped"} and not puts and again.bytes == 0
        # the same bytes under another path: the archive already has them
        copy = tmp_path / "copy.txt"
        copy.write_bytes(b"alpha" * 1000)
        dedupe = ds.upload(copy, path_prefix="other")
        assert dedupe.done == {"other/copy.txt": "deduplicated"} and not puts
        # changed content replaces the asset at that path
        old_id = ds.draft.asset("sub-1/a.txt").id
        (folder / "sub-1" / "a.txt").write_bytes(b"ALPHA!" * 1000)
        changed = ds.upload(folder)
        assert changed.done == {"sub-1/a.txt": "uploaded", "sub-1/b.txt": "skipped"}
        new = ds.draft.asset("sub-1/a.txt")
        assert new.id != old_id and new.etag == dandi_etag(b"ALPHA!" * 1000)
        assert ds.draft.info()["asset_count"] == 3
        # an empty file has no parts, and still travels both ways
        empty = tmp_path / "empty.dat"
        empty.write_bytes(b"")
        assert ds.upload(empty).done == {"empty.dat": "uploaded"}
        back = ds.draft.asset("empty.dat").download(tmp_path / "back" / "empty.dat")
        assert back.read_bytes() == b""


@pytest.mark.local_store("watches part PUTs to the archive's /parts/ route (S3: to the bucket)")
def test_multipart_upload_in_parallel_resumes_after_a_kill(live: Live, big_file: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("big")
    items = collect_uploads([big_file], path_prefix="raw")
    with Client(live.url, alice.key) as client:
        # First run, one part at a time: "killed" (the consumer stops) after part 1.
        engine = Uploader(client, ds, jobs=1)
        events = engine.iter_upload(items)
        for event in events:
            if event["event"] == "part-done":
                break
        events.close()
        states = list((config.state_dir() / "uploads").glob("*.json"))
        assert len(states) == 1
        state = json.loads(states[0].read_text())
        assert stat.S_IMODE(states[0].stat().st_mode) == 0o600
        assert list(state["done"]) == ["1"] and len(state["parts"]) == 3
        assert state["size"] == big_file.stat().st_size and state["dataset"] == ds
        assert not list(client.dataset(ds).draft.assets())

        # Second run, three at a time: only parts 2 and 3 travel, side by side.
        inflight, peak, sent = [0], [0], []
        lock = threading.Lock()

        def on_request(request: httpx.Request) -> None:
            if request.method == "PUT":
                with lock:
                    sent.append(str(request.url).split("/parts/")[1].split("/")[0])
                    inflight[0] += 1
                    peak[0] = max(peak[0], inflight[0])

        def on_response(response: httpx.Response) -> None:
            if response.request.method == "PUT":
                with lock:
                    inflight[0] -= 1

        client.storage.event_hooks = {"request": [on_request], "response": [on_response]}
        summary = drain(Uploader(client, ds, jobs=3).iter_upload(items))
        assert summary.done == {"raw/big.bin": "resumed"} and not summary.failed
        assert sorted(sent) == ["2", "3"]
        assert peak[0] == 2
        assert summary.bytes == 64 * MiB + MiB
        asset = client.dataset(ds).draft.asset("raw/big.bin")
        assert asset.size == big_file.stat().st_size
        assert asset.etag == file_etag(big_file)
        assert not list((config.state_dir() / "uploads").glob("*.json"))


def test_a_file_changed_after_hashing_fails_at_its_part(live: Live, big_file: Path) -> None:
    """Parts are not hashed again while sent: the archive's part ETag is checked against
    the MD5 taken when the file was hashed, so bytes that changed in between are caught
    at the part, before anything is completed."""
    alice = live.user("alice")
    ds = alice.create_dataset("changed")
    copy = big_file.parent / "changing.bin"
    copy.write_bytes(big_file.read_bytes())
    changed = [False]

    def change_once(request: httpx.Request) -> None:
        if request.method == "PUT" and not changed[0]:
            changed[0] = True
            with open(copy, "r+b") as f:  # same size, other bytes, in every part
                for offset in (0, 64 * MiB, 128 * MiB):
                    f.seek(offset)
                    f.write(b"changed!")

    with Client(live.url, alice.key) as client:
        client.storage.event_hooks = {"request": [change_once]}
        summary = drain(Uploader(client, ds, jobs=1).iter_upload(collect_uploads([copy])))
        assert changed[0] and not summary.done
        error = summary.failed["changing.bin"]
        assert isinstance(error, VerificationError)
        assert "part 1 arrived with MD5" in error.message and "since it was hashed" in error.message
        assert not list(client.dataset(ds).draft.assets())


def test_upload_restarts_when_the_archive_forgot_the_upload(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("stale")
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 1000)
    with Client(live.url, alice.key) as client:
        uploader = Uploader(client, ds)
        uploader.state_file(file_etag(f)).write_text(
            json.dumps(
                {
                    "server": client.api_url,
                    "dataset": ds,
                    "etag": file_etag(f),
                    "size": 1000,
                    "upload_id": "8c1c3a4e-0000-4000-8000-000000000000",
                    "parts": [{"part_number": 1, "size": 1000, "upload_url": live.url + "/x"}],
                    "done": {"1": "0" * 32},
                }
            )
        )
        summary = drain(uploader.iter_upload(collect_uploads([f])))
        assert summary.done == {"f.bin": "uploaded"}, summary.failed


def _upload(caller: Any, ds: str, path: str, data: bytes) -> dict[str, Any]:
    asset: dict[str, Any] = caller.add_file(ds, path, data)
    return asset


def test_download_resumes_from_a_partial_file_with_range(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("dl")
    data = random.Random(1).randbytes(3 * MiB + 5)
    _upload(alice, ds, "sub-1/rec.bin", data)
    with Client(live.url, alice.key) as client:
        asset = client.dataset(ds).draft.asset("sub-1/rec.bin")
        (tmp_path / "rec.bin.ndspart").write_bytes(data[:MiB])
        ranges: list[str | None] = []
        client.http.event_hooks["request"].append(
            lambda r: ranges.append(r.headers.get("Range")) if "/download/" in str(r.url) else None
        )
        local = asset.download(tmp_path)
        assert local == tmp_path / "rec.bin" and local.read_bytes() == data
        assert ranges == [f"bytes={MiB}-"]
        assert not (tmp_path / "rec.bin.ndspart").exists()
        # an unchanged file is not fetched again
        ranges.clear()
        asset.download(tmp_path)
        assert ranges == []
        # a folder of a version, into dest/<folder>
        summary = client.dataset(ds).draft.download(tmp_path / "out", path="sub-1/")
        assert summary.done == {"sub-1/rec.bin": "downloaded"}
        # every byte is counted once, in steps of about a MiB (not one event per chunk)
        assert summary.bytes == len(data)
        items = client.dataset(ds).draft.download_items(tmp_path / "again", path="sub-1/")
        events = Downloader(client, digests=DigestCache(None)).iter_download(items)
        steps = [e["bytes"] for e in events if e.get("phase") == "transfer"]
        assert sum(steps) == len(data) and 2 <= len(steps) <= 5
        assert (tmp_path / "out" / "sub-1" / "rec.bin").read_bytes() == data


def test_a_corrupt_partial_fails_verification_and_leaves_nothing(
    live: Live, tmp_path: Path
) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("dl")
    data = random.Random(2).randbytes(2 * MiB)
    _upload(alice, ds, "rec.bin", data)
    with Client(live.url, alice.key) as client:
        asset = client.dataset(ds).draft.asset("rec.bin")
        (tmp_path / "rec.bin.ndspart").write_bytes(b"\0" * MiB)
        with pytest.raises(TransferError, match="do not match") as info:
            asset.download(tmp_path)
        assert info.value.exit_code == EXIT_VERIFY
        assert not (tmp_path / "rec.bin").exists()
        assert not (tmp_path / "rec.bin.ndspart").exists()
        assert asset.download(tmp_path).read_bytes() == data  # a rerun succeeds


class FlakyProxy(CountingProxy):
    """Cuts a connection once it has carried `cut_after` bytes to the client; then either
    behaves, or (`refuse_after_cut`) closes every new connection at once."""

    def __init__(self, port: int, *, cut_after: int, refuse_after_cut: bool) -> None:
        super().__init__(port)
        self.cut_after = cut_after
        self.refuse_after_cut = refuse_after_cut
        self.cuts = 0

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool
    ) -> None:
        if upstream:
            return await super()._pipe(reader, writer, upstream)
        carried = 0
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
                carried += len(data)
                if self.cuts == 0 and carried > self.cut_after:
                    self.cuts += 1
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.cuts and self.refuse_after_cut:
            client_w.transport.abort()
            return
        await super()._handle(client_r, client_w)


@contextlib.contextmanager
def flaky(live: Live, *, refuse_after_cut: bool) -> Iterator[FlakyProxy]:
    port = int(live.url.rsplit(":", 1)[1])
    # 1.5 MiB: the client has written at least one whole 1 MiB chunk before the cut, however
    # many bytes of JSON the connection carried before the download began
    cut = MiB + MiB // 2
    proxy = FlakyProxy(port, cut_after=cut, refuse_after_cut=refuse_after_cut).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.mark.local_store("cuts a proxy in front of the API, which the bytes do not cross with S3")
def test_a_dropped_connection_is_resumed_within_the_run(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("net")
    data = random.Random(3).randbytes(4 * MiB)
    _upload(alice, ds, "rec.bin", data)
    with flaky(live, refuse_after_cut=False) as proxy, Client(proxy.url, alice.key) as client:
        local = client.dataset(ds).draft.asset("rec.bin").download(tmp_path)
        assert proxy.cuts == 1 and local.read_bytes() == data


@pytest.mark.local_store("cuts a proxy in front of the API, which the bytes do not cross with S3")
def test_a_lost_network_gives_a_clear_error_and_no_file(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("net")
    data = random.Random(4).randbytes(4 * MiB)
    _upload(alice, ds, "rec.bin", data)
    with flaky(live, refuse_after_cut=True) as proxy, Client(proxy.url, alice.key) as client:
        asset = client.dataset(ds).draft.asset("rec.bin")
        started = time.monotonic()
        with pytest.raises(TransferError, match="Run the same command again") as info:
            asset.download(tmp_path)
        assert time.monotonic() - started < 10
        assert info.value.exit_code == EXIT_NETWORK
        assert not (tmp_path / "rec.bin").exists()
        kept = (tmp_path / "rec.bin.ndspart").stat().st_size
        assert 0 < kept < len(data)
    with Client(live.url, alice.key) as client:  # the network is back: resume
        assert client.dataset(ds).draft.asset("rec.bin").download(tmp_path).read_bytes() == data


def test_retries_honour_retry_after_and_map_errors() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.2"}, json={"detail": "slow"})
        if len(calls) == 2:
            return httpx.Response(503, json={"detail": "busy"})
        return httpx.Response(200, json={"count": 0, "next": None, "results": []})

    client = Client("http://archive.invalid", "k")
    client.http = httpx.Client(transport=httpx.MockTransport(handler))
    assert list(client.paginate("dandisets/")) == []
    assert calls[1] - calls[0] >= 0.2 and len(calls) == 3

    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"detail": "The server hit an unexpected error."})

    def small_pages(request: httpx.Request) -> httpx.Response:
        if "page_size=1000" in str(request.url):
            return httpx.Response(400, json={"detail": "page_size must be between 1 and 100."})
        return httpx.Response(200, json={"count": 1, "next": None, "results": [{"x": 1}]})

    client.http = httpx.Client(transport=httpx.MockTransport(small_pages))
    assert list(client.paginate("dandisets/", page_size=1000)) == [{"x": 1}]

    client.http = httpx.Client(transport=httpx.MockTransport(refused))
    with pytest.raises(ServerError, match="unexpected error") as info:
        client.get("dandisets/")
    assert info.value.exit_code == EXIT_NETWORK and info.value.status_code == 500


def test_idempotent_posts_ride_through_a_restart_and_others_do_not() -> None:
    calls: list[str] = []
    waits: list[str] = []

    def restarting(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) <= 2:  # the server died while it answered, then was still down
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"ok": True})

    client = Client("http://archive.invalid", "k", retry_seconds=30, on_wait=waits.append)
    client.http = httpx.Client(transport=httpx.MockTransport(restarting))
    assert client.post("uploads/initialize/", json={}, idempotent=True).json() == {"ok": True}
    assert len(calls) == 3
    assert "Waiting for the archive to come back" in waits[0]
    assert "POST /api/uploads/initialize/" in waits[0] and "NDS_RETRY_SECONDS" in waits[0]
    calls.clear()
    with pytest.raises(NetworkError, match=r"connection .* was lost"):
        client.post("dandisets/", json={})  # not idempotent: once only
    assert calls == ["POST"]
    # the budget: an archive that stays away is given up after retry_seconds
    calls.clear()
    client.retry_seconds = 0.3

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("Connection refused")

    client.http = httpx.Client(transport=httpx.MockTransport(down))
    started = time.monotonic()
    with pytest.raises(NetworkError, match="Cannot connect"):
        client.get("info/")
    assert time.monotonic() - started < 2 and len(calls) >= 2


def test_the_retry_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDS_RETRY_SECONDS", "42")
    assert Client("http://archive.invalid", "k").retry_seconds == 42
    monkeypatch.setenv("NDS_RETRY_SECONDS", "soon")
    with pytest.raises(ConfigurationError, match=r"NDS_RETRY_SECONDS=.soon."):
        Client("http://archive.invalid", "k")


def test_wait_until_checked_names_the_files_and_waits_while_they_progress() -> None:
    pending = ["a.nwb", "b.nwb", "c.nwb"]

    def archive(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/validation/"):
            files = [{"path": p, "status": "pending"} for p in pending]
            if pending:
                pending.pop()  # one file checked per look: progress
            return httpx.Response(200, json={"files": files})
        if path.endswith("/info/"):
            return httpx.Response(200, json={"status": "Pending" if pending else "Valid"})
        return httpx.Response(200, json={"identifier": "000001"})

    client = Client("http://archive.invalid", "k")
    client.http = httpx.Client(transport=httpx.MockTransport(archive))
    told: list[str] = []
    ds = client.dataset("000001")
    assert ds.wait_until_checked(timeout=0.5, interval=0.3, on_wait=told.append) == "Valid"
    assert told[0] == "Waiting for the archive to check 3 file(s): a.nwb, b.nwb, c.nwb."
    assert "1 file(s): a.nwb" in told[-1]

    def stuck(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/validation/"):
            return httpx.Response(200, json={"files": [{"path": "held.nwb", "status": "pending"}]})
        return httpx.Response(200, json={"status": "Pending", "identifier": "000001"})

    client.http = httpx.Client(transport=httpx.MockTransport(stuck))
    with pytest.raises(ClientError, match=r"no file was checked in the last 0 s.*held\.nwb"):
        ds.wait_until_checked(timeout=0.2, interval=0.05)


def test_uploads_keep_the_client_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, neurodatashare.client, neurodatashare.client.upload;"
        "import neurodatashare.client.download;"
        "heavy = {'dandi', 'pynwb', 'h5py', 'fastapi', 'sqlalchemy', 'numpy'} & "
        "{m.split('.')[0] for m in sys.modules}; print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
