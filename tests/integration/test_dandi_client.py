"""The real `dandi` 0.81 client, as subprocesses, against a real `nds serve` subprocess.

Every test runs on SQLite and on PostgreSQL. PostgreSQL is required: if it cannot be
reached the tests fail (set NDS_TEST_POSTGRES_URL to point elsewhere). The client finds
the server as a URL instance (`-i http://127.0.0.1:PORT/api`), so the API key goes in
the variable `127.0.0.1:PORT_API_KEY` (see docs/dandi-client.md).

The tests of one backend share one server and one dataset, built by the module-scoped
fixtures below in this order: NWB files uploaded, then a 70 MiB multipart file. The test
that deletes and moves assets runs last and only touches the NWB assets.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

from neurodatashare.testing.server import ServerHandle, create_user, run_server
from neurodatashare.testing.stack import (
    StackServer,
    empty_stack,
    live_backends,
    stack_description,
)

pytestmark = pytest.mark.slow

DANDI = Path(sys.executable).parent / "dandi"
PG_ADMIN_URL = os.environ.get(
    "NDS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MiB = 1024 * 1024
BIG_SIZE = 70 * MiB  # over 64 MiB: two parts in the dandi-etag part plan
METADATA = {
    "description": "Integration test of the real dandi client",
    "license": ["spdx:CC0-1.0"],
    "contributor": [
        {
            "schemaKey": "Person",
            "name": "Doe, Jane",
            "email": "jane.doe@example.org",
            "roleName": ["dcite:ContactPerson", "dcite:Author"],
        }
    ],
}


# -- helpers ------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


def make_nwb(path: Path, subject_id: str) -> None:
    """A small NWB file that passes `dandi upload`'s validation and `dandi organize`."""
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject

    nwb = NWBFile(
        session_description="integration test",
        identifier=f"it-{subject_id}-{uuid.uuid4().hex[:8]}",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
        experimenter=["Doe, Jane"],
        lab="IT",
        institution="IT",
    )
    nwb.subject = Subject(subject_id=subject_id, species="Mus musculus", sex="M", age="P90D")
    nwb.add_acquisition(TimeSeries(name="ts", data=list(range(100)), unit="m", rate=1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _text(out: bytes | str | None) -> str:
    return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")


def local_files(root: Path) -> dict[str, Path]:
    """Files of a local dandiset by asset path (no dandiset.yaml, no hidden folders)."""
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.name != "dandiset.yaml"
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


class PostgresDatabase:
    """A fresh database on the local PostgreSQL, dropped at the end."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"nds_it_{uuid.uuid4().hex[:10]}"
        self._admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://", 1)
        problem = None
        try:
            with psycopg.connect(self._admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem:  # fail (never skip), outside the except block to keep the message short
            pytest.fail(
                f"PostgreSQL is required for these tests but {PG_ADMIN_URL} failed: {problem} "
                "Start PostgreSQL or set NDS_TEST_POSTGRES_URL.",
                pytrace=False,
            )
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ThrottleProxy:
    """A TCP proxy on 127.0.0.1 that can slow the server-to-client bytes.

    Loopback moves 70 MiB in a fraction of a second, too fast to stop a download half
    way reliably; behind this proxy (at `rate` bytes/s) it takes seconds, while the test
    polls every 10 ms. The proxy also records the `Range: bytes=N-` offsets that clients
    send, which proves that a re-run resumed instead of starting over.
    """

    def __init__(self) -> None:
        self.target_port: int | None = None
        self.rate: float | None = None
        self.range_offsets: list[int] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the throttling proxy did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, sock=self._sock)

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, inbound=True),
            self._pipe(up_reader, writer, inbound=False),
        )

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, inbound: bool
    ) -> None:
        try:
            while data := await src.read(64 * 1024):
                if inbound:
                    self.range_offsets += [
                        int(m) for m in re.findall(rb"(?im)^range:\s*bytes=(\d+)-", data)
                    ]
                dst.write(data)
                await dst.drain()
                if not inbound and self.rate:
                    await asyncio.sleep(len(data) / self.rate)
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@dataclass
class Site:
    """One backend's server, its user's key, and how to run the client against it."""

    backend: str
    server: ServerHandle | StackServer
    key: str
    work: Path
    database_url: str | None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return self.server.api_url

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api, headers={"Authorization": f"token {self.key}"}, timeout=60
        )

    def client_env(self, *, port: int | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DANDI", "NDS_"))}
        env.update(
            DANDI_NO_ET="1",  # no etelemetry call to GitHub
            DANDI_CACHE="ignore",  # no digest cache: every run digests afresh
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",  # never prompt
            XDG_STATE_HOME=str(self.work / "xdg-state"),  # the client's logs stay here
            XDG_CACHE_HOME=str(self.work / "xdg-cache"),
        )
        # A URL instance is named host:port, and its key variable is NAME_API_KEY.
        env[f"127.0.0.1:{port or self.server.port}_API_KEY"] = self.key
        env.update(extra)
        return env

    def dandi(
        self,
        *args: str,
        cwd: Path,
        check: bool = True,
        timeout: float = 180,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(DANDI), *args]
        try:
            done = subprocess.run(
                cmd,
                cwd=cwd,
                env=env or self.client_env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            # the client retries 5xx answers with backoff for minutes; show what it saw
            partial = subprocess.CompletedProcess(
                cmd, -1, _text(exc.stdout), _text(exc.stderr) + f"\n[timed out after {timeout}s]"
            )
            pytest.fail(self.report(cmd, partial), pytrace=False)
        if check and done.returncode != 0:
            pytest.fail(self.report(cmd, done), pytrace=False)
        return done

    def report(self, cmd: list[str], done: subprocess.CompletedProcess[str]) -> str:
        return (
            f"[{self.backend}] `{' '.join(cmd)}` exited with {done.returncode}\n"
            f"--- stdout ---\n{done.stdout[-6000:]}\n--- stderr ---\n{done.stderr[-6000:]}\n"
            f"--- server log (tail) ---\n{self.server.log_text()[-3000:]}"
        )

    def assets(self, dataset_id: str, version: str = "draft") -> dict[str, dict[str, Any]]:
        """The version's assets by path, from the REST API."""
        with self.http() as c:
            r = c.get(
                f"/dandisets/{dataset_id}/versions/{version}/assets/",
                params={"page_size": 1000},
            )
            assert r.status_code == 200, r.text
            return {a["path"]: a for a in r.json()["results"]}

    def asset_metadata(self, dataset_id: str, asset_id: str) -> dict[str, Any]:
        with self.http() as c:
            r = c.get(f"/dandisets/{dataset_id}/versions/draft/assets/{asset_id}/")
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

    def create_dataset(self, name: str) -> str:
        with self.http() as c:
            r = c.post(
                "/dandisets/",
                params={"embargo": "false"},
                json={"name": name, "metadata": {"name": name, **METADATA}},
            )
            assert r.status_code in (200, 201), f"{r.status_code} {r.text}"
            return r.json()["identifier"]  # type: ignore[no-any-return]


def dandi_ls(site: Site, dataset_id: str) -> dict[str, dict[str, Any]]:
    done = site.dandi(
        "ls", "-r", "-f", "json_lines", f"{site.api}/dandisets/{dataset_id}/", cwd=site.work
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {r["path"]: r for r in rows if "asset_id" in r}


# -- fixtures -----------------------------------------------------------------------------
@contextmanager
def serve_site(
    request: pytest.FixtureRequest,
    root: Path,
    env: dict[str, str] | None = None,
    *,
    on_stack: bool = True,
) -> Iterator[Site]:
    """A server for one module's tests on the backend `request.param`, with user alice:
    `nds serve` of its own, or in stack mode (scripts/stack) the deployed stack, emptied
    first (unless not `on_stack`)."""
    backend: str = request.param
    work = root / "work"
    work.mkdir()
    description = stack_description() if on_stack else None
    try:
        if description is not None:
            empty_stack(description, home=root / "home")
            stack = StackServer(description)
            key = create_user(stack, "alice")
            yield Site(backend, stack, key, work, stack.env["NDS_DATABASE_URL"])
            return
        pg = PostgresDatabase() if backend == "postgresql" else None
        try:
            url = pg.url if pg else None
            with run_server(root / "home", database_url=url, env=env) as server:
                yield Site(backend, server, create_user(server, "alice"), work, url)
        finally:
            if pg is not None:
                pg.drop()
    finally:
        # ~0.5 GiB of test files per backend; failures already carry the logs they need
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", params=live_backends())
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with serve_site(request, tmp_path_factory.mktemp(f"dandi-{request.param}")) as site:
        yield site


@pytest.fixture(scope="module")
def nwb(site: Site) -> dict[str, Any]:
    """A dataset made over REST, two NWB files organized into it and uploaded by the CLI."""
    ds = site.create_dataset("Client integration")
    src = site.work / "src"
    make_nwb(src / "a.nwb", "m1")
    make_nwb(src / "b.nwb", "m2")
    site.dandi(
        "download",
        "-i",
        site.api,
        "--download",
        "dandiset.yaml",
        f"{site.api}/dandisets/{ds}/",
        cwd=site.work,
    )
    local = site.work / ds
    assert (local / "dandiset.yaml").is_file()
    site.dandi("organize", "-f", "copy", str(src), cwd=local)
    files = local_files(local)
    assert len(files) == 2 and all(p.endswith(".nwb") for p in files), files
    upload = site.dandi("upload", "-i", site.api, cwd=local)
    return {"id": ds, "local": local, "files": files, "upload": upload}


@pytest.fixture(scope="module")
def big(site: Site, nwb: dict[str, Any]) -> dict[str, Any]:
    """A 70 MiB random file uploaded in two parts (DANDI_DEVEL=1 --allow-any-path)."""
    local: Path = nwb["local"]
    path = local / "raw" / "big.bin"
    path.parent.mkdir()
    with open(path, "wb") as f:
        for _ in range(BIG_SIZE // MiB):
            f.write(os.urandom(MiB))
    offset = site.server.log_offset()
    site.dandi(
        "upload",
        "-i",
        site.api,
        "--allow-any-path",
        "raw/big.bin",
        cwd=local,
        env=site.client_env(DANDI_DEVEL="1"),
    )
    log = site.server.log_since(offset)
    asset = site.assets(nwb["id"])["raw/big.bin"]
    return {"path": path, "asset": asset, "log": log}


# -- tests --------------------------------------------------------------------------------
def test_upload_nwb_single_part(site: Site, nwb: dict[str, Any]) -> None:
    remote = site.assets(nwb["id"])
    assert set(remote) == set(nwb["files"]), nwb["upload"].stdout
    for path, local in nwb["files"].items():
        assert remote[path]["size"] == local.stat().st_size
        md = site.asset_metadata(nwb["id"], remote[path]["asset_id"])
        assert md["digest"]["dandi:dandi-etag"].endswith("-1"), md["digest"]
        assert md["contentSize"] == local.stat().st_size
        assert md["path"] == path


@pytest.mark.local_store("reads the part PUTs in the server's log (S3: they go to the bucket)")
def test_multipart_upload_digest_matches(
    site: Site, nwb: dict[str, Any], big: dict[str, Any]
) -> None:
    parts = re.findall(r'"PUT /api/uploads/[0-9a-f-]+/parts/(\d+)/', big["log"])
    assert sorted(parts) == ["1", "2"], big["log"][-3000:]
    done = site.dandi("digest", "-d", "dandi-etag", str(big["path"]), cwd=site.work)
    local_etag = done.stdout.strip().rsplit(":", 1)[1].strip()
    md = site.asset_metadata(nwb["id"], big["asset"]["asset_id"])
    assert md["digest"]["dandi:dandi-etag"] == local_etag
    assert local_etag.endswith("-2")
    assert md["contentSize"] == BIG_SIZE == big["asset"]["size"]


def test_reupload_is_skipped(site: Site, nwb: dict[str, Any]) -> None:
    before = {p: a["asset_id"] for p, a in site.assets(nwb["id"]).items()}
    offset = site.server.log_offset()
    done = site.dandi("upload", "-i", site.api, cwd=nwb["local"])
    out = done.stdout + done.stderr
    assert "file exists" in out, site.report(["dandi", "upload"], done)
    assert "/uploads/initialize/" not in site.server.log_since(offset)
    after = {p: a["asset_id"] for p, a in site.assets(nwb["id"]).items()}
    assert after == before


def test_ls_lists_the_assets(site: Site, nwb: dict[str, Any], big: dict[str, Any]) -> None:
    listed = dandi_ls(site, nwb["id"])
    remote = site.assets(nwb["id"])
    assert set(listed) == {*nwb["files"], "raw/big.bin"}
    for path, row in listed.items():
        assert row["asset_id"] == remote[path]["asset_id"]
        assert row["size"] == remote[path]["size"]


def test_download_dataset_folder_and_asset(
    site: Site, nwb: dict[str, Any], big: dict[str, Any]
) -> None:
    ds, src = nwb["id"], local_files(nwb["local"])
    # the whole dataset
    out = site.work / "dl-all"
    out.mkdir()
    site.dandi("download", "-o", str(out), f"{site.api}/dandisets/{ds}/", cwd=site.work)
    got = local_files(out / ds)
    assert set(got) == set(src)
    for path in src:
        assert sha256(got[path]) == sha256(src[path]), path
    # one folder
    out = site.work / "dl-folder"
    out.mkdir()
    site.dandi(
        "download",
        "-o",
        str(out),
        f"{site.api}/dandisets/{ds}/versions/draft/assets/?path=sub-m1/",
        cwd=site.work,
    )
    got = {p.name: p for p in out.rglob("*") if p.is_file()}
    want = {Path(p).name: q for p, q in src.items() if p.startswith("sub-m1/")}
    assert want and set(got) == set(want), got
    for name in want:
        assert got[name].read_bytes() == want[name].read_bytes()
    # one asset by id
    out = site.work / "dl-asset"
    out.mkdir()
    m2 = next(p for p in src if p.startswith("sub-m2/"))
    asset_id = site.assets(ds)[m2]["asset_id"]
    site.dandi("download", "-o", str(out), f"{site.api}/assets/{asset_id}/download/", cwd=site.work)
    got = {p.name: p for p in out.rglob("*") if p.is_file()}
    assert list(got) == [Path(m2).name]
    assert got[Path(m2).name].read_bytes() == src[m2].read_bytes()


@pytest.mark.local_store(
    "throttles a proxy in front of a second `nds serve`, which the bytes do not cross with S3"
)
def test_interrupted_download_resumes(site: Site, nwb: dict[str, Any], big: dict[str, Any]) -> None:
    """Kill `dandi download` half way through the 70 MiB file, then run it again.

    A second `nds serve` on the same data sits behind ThrottleProxy (NDS_PUBLIC_URL is the
    proxy, so the client's API base is the proxy too) and the proxy sends at 10 MiB/s:
    the whole file would take 7 s, and the test kills the client as soon as 3 MiB of it
    are in the partial file `<name>.dandidownload/file`. The re-run goes through the
    same proxy with the throttle off; it must send `Range: bytes=<partial size>-`.
    """
    proxy = ThrottleProxy()
    try:
        with run_server(
            site.server.home,
            database_url=site.database_url,
            public_url=proxy.url,
            log_name="server-behind-proxy.log",
        ) as behind:
            proxy.target_port = behind.port
            proxy.rate = 10 * MiB
            url = f"{behind.api_url}/assets/{big['asset']['asset_id']}/download/"
            out = site.work / "dl-resume"
            out.mkdir()
            partial = out / "big.bin.dandidownload" / "file"
            # 1 MiB blocks (default 8 MiB) so the partial file grows in small steps
            env = site.client_env(port=proxy.port, DANDI_MAX_CHUNK_SIZE=str(MiB))
            cmd = [str(DANDI), "download", "-o", str(out), url]
            proc = subprocess.Popen(
                cmd,
                cwd=site.work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                text=True,
            )
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if partial.exists() and partial.stat().st_size >= 3 * MiB:
                    break
                time.sleep(0.01)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            first_out = proc.communicate(timeout=30)[0]
            assert proc.returncode == -signal.SIGKILL, (
                f"the first download was not interrupted (exit {proc.returncode}):\n{first_out}"
            )
            assert partial.is_file(), f"no partial file at {partial}:\n{first_out}"
            kept = partial.stat().st_size
            assert 0 < kept < BIG_SIZE, kept
            assert not (out / "big.bin").exists()

            proxy.rate = None
            proxy.range_offsets.clear()
            done = site.dandi(
                "download", "-o", str(out), url, cwd=site.work, env=site.client_env(port=proxy.port)
            )
            assert kept in proxy.range_offsets, (
                f"the re-run did not resume from byte {kept} (Range offsets seen: "
                f"{proxy.range_offsets})\n{done.stdout}\n{done.stderr}"
            )
            assert re.search(r"download/ HTTP/1.1\" 206", behind.log_text()), behind.log_text()[
                -2000:
            ]
            assert not partial.parent.exists()
            assert sha256(out / "big.bin") == sha256(big["path"])
    finally:
        proxy.close()


def test_python_api_create_upload_publish(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in site.client_env().items():
        if k.startswith(("DANDI", "PYTHON_KEYRING")):
            monkeypatch.setenv(k, v)
    from dandi.dandiapi import DandiAPIClient
    from dandi.files import dandi_file

    first = site.work / "py" / "first.bin"
    second = site.work / "py" / "second.bin"
    first.parent.mkdir()
    first.write_bytes(os.urandom(3 * MiB + 17))
    second.write_bytes(os.urandom(1000))

    def metadata(path: Path, asset_path: str) -> dict[str, Any]:
        df = dandi_file(path)
        md = df.get_metadata(digest=df.get_digest()).model_dump(mode="json", exclude_none=True)
        md["path"] = asset_path
        return md  # type: ignore[no-any-return]

    with DandiAPIClient(api_url=site.api, token=site.key) as client:
        d = client.create_dandiset("Python API", {"name": "Python API", **METADATA})
        assert re.fullmatch(r"\d{6}", d.identifier)
        d.upload_raw_asset(first, metadata(first, "data/first.bin"))
        d.wait_until_valid(max_time=60)
        published = d.publish(max_time=60)
        version = published.version_id
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version

        info = client.get_dandiset(d.identifier, version).get_version(version)
        assert info.identifier == version and info.asset_count == 1
        pub = client.get_dandiset(d.identifier, version)
        pub_assets = list(pub.get_assets())
        assert [a.path for a in pub_assets] == ["data/first.bin"]
        out = site.work / "py" / "downloaded.bin"
        pub_assets[0].download(out)
        assert out.read_bytes() == first.read_bytes()

        # The draft stays editable; the published version does not change.
        draft = client.get_dandiset(d.identifier, "draft")
        # the server fills in size, digests and encodingFormat from a bare path
        draft.upload_raw_asset(second, {"path": "data/second.bin"})
        assert sorted(a.path for a in draft.get_assets()) == ["data/first.bin", "data/second.bin"]
        asset = draft.get_asset_by_path("data/second.bin")
        md = asset.get_raw_metadata()
        deadline = time.monotonic() + 60
        # sha256 comes from a background job, as on DANDI: a busy worker adds it later
        while "dandi:sha2-256" not in md["digest"] and time.monotonic() < deadline:
            time.sleep(0.2)
            md = asset.get_raw_metadata()
        assert md["contentSize"] == 1000
        assert md["digest"]["dandi:dandi-etag"] == dandi_file(second).get_digest().value
        assert md["digest"]["dandi:sha2-256"] == sha256(second)
        pub = client.get_dandiset(d.identifier, version)
        assert [a.path for a in pub.get_assets()] == ["data/first.bin"]
        assert pub.get_version(version).asset_count == 1


def test_listing_filters_ls_and_readable_blob(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """`get_dandisets()` with each of DANDI's filters, `dandi ls` of a dataset, and
    `as_readable()`, which reads the asset through its `contentUrl` outside /api/."""
    for k, v in site.client_env().items():
        if k.startswith(("DANDI", "PYTHON_KEYRING")):
            monkeypatch.setenv(k, v)
    from dandi.dandiapi import DandiAPIClient

    payload = os.urandom(5000)
    raw = site.work / "filters" / "raw.bin"
    raw.parent.mkdir()
    raw.write_bytes(payload)
    with DandiAPIClient(api_url=site.api, token=site.key) as client:
        empty = client.create_dandiset("Filters empty", {"name": "Filters empty", **METADATA})
        full = client.create_dandiset("Filters full", {"name": "Filters full", **METADATA})
        full.upload_raw_asset(raw, {"path": "data/raw.bin"})
        full.wait_until_valid(max_time=60)
        full.publish(max_time=60)

        def ids(**filters: Any) -> list[str]:
            return [d.identifier for d in client.get_dandisets(**filters)]

        assert {empty.identifier, full.identifier} <= set(ids())
        assert empty.identifier not in ids(empty=False) and full.identifier in ids(empty=False)
        assert empty.identifier not in ids(draft=False) and full.identifier in ids(draft=False)
        assert {empty.identifier, full.identifier} <= set(ids(mine=True, embargoed=True))
        newest_first = ids(order="-id")
        assert newest_first == sorted(newest_first, reverse=True)
        assert ids(search="Filters full") == [full.identifier]
        by_name = ids(order="name", search="Filters")
        assert by_name == [empty.identifier, full.identifier]
        asset = client.get_dandiset(full.identifier, "draft").get_asset_by_path("data/raw.bin")
        with asset.as_readable().open() as f:
            f.seek(1000)
            assert f.read(100) == payload[1000:1100]
    done = site.dandi(
        "ls", "-f", "json_lines", f"{site.api}/dandisets/{full.identifier}/", cwd=site.work
    )
    (row,) = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert row["path"] == full.identifier and row["metadata"]["manifestLocation"]


def test_embargoed_dataset_with_a_key(site: Site) -> None:
    """The client sends its key only after a 401, so embargoed data must answer 401 to
    anonymous calls; with the key it uploads and downloads as usual, without it gets
    nothing (docs/security.md)."""
    with site.http() as c:
        r = c.post(
            "/dandisets/",
            params={"embargo": "true", "embargo_end_date": "2099-01-01"},
            json={"name": "Embargoed", "metadata": {"name": "Embargoed", **METADATA}},
        )
        assert r.status_code == 200, r.text
        ds = r.json()["identifier"]
    root = site.work / "embargoed"
    root.mkdir()
    site.dandi("download", "--download", "dandiset.yaml", f"{site.api}/dandisets/{ds}/", cwd=root)
    local = root / ds
    make_nwb(root / "src" / "e.nwb", "e1")
    site.dandi("organize", "-f", "copy", str(root / "src"), cwd=local)
    site.dandi("upload", "-i", site.api, cwd=local)
    files = local_files(local)
    assert set(site.assets(ds)) == set(files) and len(files) == 1
    out = root / "out"
    out.mkdir()
    site.dandi("download", "-o", str(out), f"{site.api}/dandisets/{ds}/", cwd=root)
    got = local_files(out / ds)
    assert set(got) == set(files)
    for path in files:
        assert sha256(got[path]) == sha256(files[path])
    # without a key the client is refused and gets no file
    keyless = {k: v for k, v in site.client_env().items() if not k.endswith("_API_KEY")}
    denied = root / "denied"
    denied.mkdir()
    done = site.dandi(
        "download",
        "-o",
        str(denied),
        f"{site.api}/dandisets/{ds}/",
        cwd=root,
        env=keyless,
        check=False,
    )
    assert done.returncode != 0
    assert not [p for p in denied.rglob("*") if p.is_file()]
    with httpx.Client(base_url=site.api, timeout=30) as anon:
        hidden, missing = anon.get(f"/dandisets/{ds}/"), anon.get("/dandisets/999999/")
    assert hidden.status_code == missing.status_code == 401
    assert hidden.json()["detail"].replace(ds, "999999") == missing.json()["detail"]


def test_delete_and_move(site: Site, nwb: dict[str, Any]) -> None:
    """Runs last: it changes the NWB assets that the tests above compare against."""
    ds, local = nwb["id"], nwb["local"]
    files = sorted(nwb["files"])
    m1 = next(p for p in files if p.startswith("sub-m1/"))
    m2 = next(p for p in files if p.startswith("sub-m2/"))
    site.dandi("delete", "-i", site.api, "--force", m2, cwd=local)
    listed = dandi_ls(site, ds)
    assert m2 not in listed and m1 in listed
    target = f"moved/{Path(m1).name}"
    site.dandi("move", "-i", site.api, "--work-on", "remote", m1, target, cwd=local)
    listed = dandi_ls(site, ds)
    assert target in listed and m1 not in listed and m2 not in listed
    assert listed[target]["size"] == (local / m1).stat().st_size


def test_server_log_has_no_errors(site: Site) -> None:
    """Runs after everything else on this backend: no request made the server fail."""
    log = site.server.log_text()
    failed = [line for line in log.splitlines() if re.search(r'HTTP/1.1" 5\d\d', line)]
    assert not failed, "\n".join(failed)
    assert "Traceback" not in log, log[-4000:]
