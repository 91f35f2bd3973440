#!/usr/bin/env python
"""Loopback transfer benchmark: the real `dandi` client against `nds serve`, next to cp and curl.

    .venv/bin/python bench/transfer.py                 # 1 GiB, SQLite, temp dir in $TMPDIR
    .venv/bin/python bench/transfer.py --size-mib 256 --dir /work/scratch --postgres

What it measures, on one random file of --size-mib MiB:

* `cp` of the file to a fresh destination: the reference.
* `dandi upload` (DANDI_DEVEL=1 --allow-any-path), total wall time with DANDI_CACHE=ignore
  (what CI does: the client then digests the file twice, see below).
* `dandi upload` again on a fresh server with the client's digest cache pre-filled by
  `dandi digest`: the "transfer" time, without the client's local digest.
* `dandi download` of the asset, `curl` GET of the same URL, and `curl` PUT of the parts
  (five at a time, as the dandi client does) straight to the part URLs the server hands
  out, followed by complete/validate.
* `nds upload` and `nds download` (our own client) of the same file, on a fresh server.
* Every transfer as a fraction of this machine's physical limit for a path that MD5s every
  byte (the protocol's dandi-etag): min(disk write with fsync, cores x MD5 rate).
* A breakdown of one upload, run in this process with the client's own code
  (`dandi.files.LocalFileAsset.iter_upload`, as `dandi upload` calls it), every HTTP
  request timed and the server's CPU time sampled from /proc at each phase.

Each upload runs on a fresh server (fresh NDS_HOME, fresh database) because the server
deduplicates blobs: a second upload of the same bytes would send nothing. The source
file stays in the page cache throughout (it was just written and nothing is dropped), so
cp, the client and curl all read it warm; `sync` runs between phases (untimed) so that
one phase's dirty pages are not written back during the next.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("DANDI_NO_ET", "1")  # before dandi is imported in this process
os.environ["DANDI_CACHE"] = "ignore"

import httpx

from neurodatashare.testing.seaweed import SeaweedHandle, run_seaweed
from neurodatashare.testing.server import ServerHandle, create_user, run_server

MiB = 1024 * 1024
BIN = Path(sys.executable).parent
DANDI = BIN / "dandi"
NDS = BIN / "nds"
PG_ADMIN_URL = os.environ.get("NDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
METADATA = {
    "name": "transfer benchmark",
    "description": "Loopback transfer benchmark",
    "license": ["spdx:CC0-1.0"],
    "contributor": [
        {"schemaKey": "Person", "name": "Doe, Jane", "roleName": ["dcite:ContactPerson"]}
    ],
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- small utilities ----------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sync() -> None:
    subprocess.run(["sync"], check=True)


def disk_write_rate(root: Path, size: int) -> float:
    """MiB/s of writing `size` bytes to a new file in `root` and syncing it (what a server
    receiving an upload must do at least)."""
    block = os.urandom(4 * MiB)
    target = root / "disk-rate.bin"
    t = time.perf_counter()
    with open(target, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    seconds = time.perf_counter() - t
    target.unlink()
    return rate(size, seconds)


def wait_idle(cpu: Callable[[], float], timeout: float = 60.0) -> None:
    """Until servers stop using CPU: the archive's background sha256 of the last upload
    would otherwise run during (and be charged to) the next measurement."""
    deadline = time.monotonic() + timeout
    last = cpu()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu()
        if now - last < 0.03:
            return
        last = now


def rate(size: int, seconds: float) -> float:
    return size / MiB / seconds if seconds > 0 else float("inf")


@dataclass
class Result:
    name: str
    seconds: float
    size: int
    note: str = ""
    client_cpu: float | None = None
    server_cpu: float | None = None
    store: str = "local"
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # 1-min, at the start

    @property
    def mibps(self) -> float:
        return rate(self.size, self.seconds)


@dataclass
class Site:
    """A fresh server with one user and one empty dataset (always 000001)."""

    server: ServerHandle
    key: str
    dataset: str
    store: str = "local"
    peers: tuple[int, ...] = ()  # other server processes whose CPU counts (weed)

    @property
    def api(self) -> str:
        return self.server.api_url

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api, headers={"Authorization": f"token {self.key}"}, timeout=600
        )

    def client_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DANDI", "NDS_"))}
        env.update(
            DANDI_NO_ET="1",
            DANDI_CACHE="ignore",
            DANDI_DEVEL="1",  # for --allow-any-path: the file is a .bin, not NWB
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        env[f"127.0.0.1:{self.server.port}_API_KEY"] = self.key
        env.update(extra)
        return env

    def server_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in (self.server.process.pid, *self.peers))

    def wait_idle(self) -> None:
        wait_idle(self.server_cpu)

    def asset(self, path: str) -> dict[str, Any]:
        with self.http() as c:
            r = c.get(f"/dandisets/{self.dataset}/versions/draft/assets/", params={"path": path})
            r.raise_for_status()
            rows = [a for a in r.json()["results"] if a["path"] == path]
        if not rows:
            raise RuntimeError(f"no asset at {path} on {self.api}")
        return rows[0]  # type: ignore[no-any-return]


@dataclass
class Peer:
    """Servers that are not an archive (SeaweedFS on its own), for `timed`."""

    pids: tuple[int, ...]
    store: str = "s3"

    def server_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def wait_idle(self) -> None:
        wait_idle(self.server_cpu)


@contextmanager
def fresh_site(
    root: Path, label: str, postgres: bool, s3: SeaweedHandle | None = None
) -> Iterator[Site]:
    """`s3`: the archive keeps its blobs in a fresh bucket of that SeaweedFS."""
    home = root / f"home-{label}"
    db_name = f"nds_bench_{uuid.uuid4().hex[:10]}" if postgres else None
    if db_name:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
    url = (
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        + f"/{db_name}"
        if db_name
        else None
    )
    try:
        env = None
        if s3 is not None:
            settings = s3.settings(bucket=f"nds-bench-{label}-{uuid.uuid4().hex[:6]}")
            env = {"NDS_BLOB_STORE": "s3", **{f"NDS_{k.upper()}": v for k, v in settings.items()}}
        with run_server(home, database_url=url, env=env) as server:
            key = create_user(server, "bench")
            with httpx.Client(
                base_url=server.api_url, headers={"Authorization": f"token {key}"}, timeout=60
            ) as c:
                r = c.post("/dandisets/", json={"name": METADATA["name"], "metadata": METADATA})
                r.raise_for_status()
                dataset = r.json()["identifier"]
            if s3 is None:
                yield Site(server, key, dataset)
            else:
                yield Site(server, key, dataset, store="s3", peers=(s3.process.pid,))
    finally:
        shutil.rmtree(home, ignore_errors=True)  # the blob: free the disk for the next phase
        if db_name:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout + done.stderr


def self_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(
    name: str,
    size: int,
    fn: Callable[[], Any],
    *,
    site: Site | Peer | None = None,
    note: str = "",
    in_process: bool = False,
) -> Result:
    """Time `fn`; the client's CPU is that of the commands it runs (or of this process,
    `in_process`), the server's that of the site's processes."""
    if site:
        site.wait_idle()
    sync()
    client_cpu = self_cpu if in_process else children_cpu
    cpu0, srv0 = client_cpu(), site.server_cpu() if site else None
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    result = Result(name, seconds, size, note, client_cpu=client_cpu() - cpu0, load=load)
    result.store = site.store if site else "local"
    if site and srv0 is not None:
        result.server_cpu = site.server_cpu() - srv0
    return result


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            h.update(block)
    return h.hexdigest()


def check_same(path: Path, want_sha: str) -> None:
    got = file_sha256(path)
    if got != want_sha:
        raise RuntimeError(f"{path} differs from the source (sha256 {got} != {want_sha})")


# -- the in-process, instrumented upload ----------------------------------------------------
@dataclass
class Trace:
    """Timestamps of the client's statuses and HTTP requests during one upload."""

    t0: float
    server_pid: int
    statuses: list[tuple[float, str]] = field(default_factory=list)
    requests: list[tuple[str, str, float, float, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self, status: str) -> None:
        self.statuses.append((time.perf_counter(), status))


def traced_upload(site: Site, local: Path, path: Path) -> tuple[Trace, list[tuple[str, float]]]:
    """Upload `path` the way `dandi upload` does, timing each step; return the breakdown."""
    from dandi.dandiapi import DandiAPIClient, RESTFullAPIClient
    from dandi.files import dandi_file

    trace = Trace(time.perf_counter(), site.server.process.pid)
    original = RESTFullAPIClient.request

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        s0, t0 = cpu_seconds(trace.server_pid), time.perf_counter()
        try:
            return original(self, method, url, *args, **kwargs)
        finally:
            t1, s1 = time.perf_counter(), cpu_seconds(trace.server_pid)
            with trace.lock:
                trace.requests.append((method, url, t0, t1, s0, s1))

    RESTFullAPIClient.request = request  # type: ignore[method-assign]
    try:
        with DandiAPIClient(api_url=site.api, token=site.key) as client:
            remote = client.get_dandiset(site.dataset, "draft")
            df = dandi_file(path, dandiset_path=local)
            sync()
            trace.mark("start")
            # dandi/upload.py: digest (for the skip/replace check), then metadata ...
            digest = df.get_digest()
            trace.mark("digested (upload.py)")
            metadata = df.get_metadata(digest=digest, ignore_errors=True).model_dump(
                mode="json", exclude_none=True
            )
            trace.mark("metadata")
            # ... then LocalFileAsset.iter_upload, which computes the etag again
            for status in df.iter_upload(remote, metadata, jobs=None):
                trace.mark(status["status"])
    finally:
        RESTFullAPIClient.request = original  # type: ignore[method-assign]

    # Turn the trace into phases.
    first = {name: t for t, name in reversed(trace.statuses)}
    puts = [r for r in trace.requests if r[0] == "PUT" and "/parts/" in r[1]]

    def req(pattern: str) -> tuple[str, str, float, float, float, float]:
        return next(r for r in trace.requests if re.search(pattern, r[1]))

    init, complete = req(r"/uploads/initialize/"), req(r"/uploads/[^/]+/complete/")
    store, validate = req(r"/storage-complete/"), req(r"/uploads/[^/]+/validate/")
    create = req(rf"/dandisets/{site.dataset}/versions/draft/assets/$")
    phases = [
        ("client digest #1 (upload.py get_digest)", first["digested (upload.py)"] - first["start"]),
        ("client metadata", first["metadata"] - first["digested (upload.py)"]),
        (
            "client digest #2 (iter_upload get_dandietag)",
            first["initiating upload"] - first["calculating etag"],
        ),
        ("POST uploads/initialize", init[3] - init[2]),
        (
            f"part PUTs ({len(puts)} parts, wall, first start to last end)",
            max(r[3] for r in puts) - min(r[2] for r in puts),
        ),
        ("  server CPU during part PUTs (s)", max(r[5] for r in puts) - min(r[4] for r in puts)),
        ("  mean time of one part PUT", sum(r[3] - r[2] for r in puts) / len(puts)),
        ("POST complete", complete[3] - complete[2]),
        ("POST storage-complete", store[3] - store[2]),
        ("POST validate (server sha256 pass + rename + DB)", validate[3] - validate[2]),
        ("POST asset create", create[3] - create[2]),
        ("total", trace.statuses[-1][0] - first["start"]),
    ]
    return trace, phases


def traced_download(site: Site, asset_id: str, size: int) -> list[tuple[str, float]]:
    """What `dandi download` spends per byte: the HTTP read, and its dandi-etag hashing."""
    from dandi.dandiapi import DandiAPIClient
    from dandischema.digests.dandietag import ETagHashlike

    with DandiAPIClient(api_url=site.api, token=site.key) as client:
        asset = client.get_asset(asset_id)
        sync()
        t0 = time.perf_counter()
        got = sum(len(b) for b in asset.get_download_file_iter()(0))  # 8 MiB blocks
        t_read = time.perf_counter() - t0
    assert got == size, (got, size)
    block = os.urandom(8 * MiB)
    hasher = ETagHashlike(size)
    t0 = time.perf_counter()
    for left in range(size, 0, -len(block)):
        hasher.update(block[: min(len(block), left)])
    hasher.hexdigest()
    t_etag = time.perf_counter() - t0
    plain = hashlib.md5()
    t0 = time.perf_counter()
    for left in range(size, 0, -len(block)):
        plain.update(block[: min(len(block), left)])
    t_md5 = time.perf_counter() - t0
    return [
        ("HTTP read only (client's requests session, 8 MiB blocks)", t_read),
        ("client hashing: dandischema ETagHashlike, 8 MiB blocks", t_etag),
        ("  (plain md5 of the same bytes, for comparison)", t_md5),
    ]


# -- curl reference upload --------------------------------------------------------------------
def dandi_round_trip(
    site: Site, root: Path, local: Path, name: str, size: int, src_sha: str, store: str
) -> tuple[list[Result], str]:
    """`dandi upload` of `local/name` (DANDI_CACHE=ignore), then `dandi download` of the
    asset, checked against the source: the two rows and the asset's id."""
    upload_cmd = [str(DANDI), "upload", "-i", site.api, "--allow-any-path", name]
    uploaded = timed(
        "dandi upload (total, DANDI_CACHE=ignore)",
        size,
        lambda: run(upload_cmd, cwd=local, env=site.client_env()),
        site=site,
        note="includes 2 client digest passes + CLI start-up",
    )
    aid: str = site.asset(name)["asset_id"]
    out = root / f"dl-dandi-{store}"
    out.mkdir()
    downloaded = timed(
        "dandi download",
        size,
        lambda: run(
            [str(DANDI), "download", "-o", str(out), f"{site.api}/assets/{aid}/download/"],
            cwd=root,
            env=site.client_env(),
        ),
        site=site,
        note="client hashes while writing; includes CLI start-up",
    )
    check_same(out / name, src_sha)
    shutil.rmtree(out)
    return [uploaded, downloaded], aid


def curl_upload(site: Site, path: Path, etag: str, jobs: int = 5) -> list[tuple[str, float]]:
    """Initialize an upload, PUT every part with curl (`jobs` at a time), complete, validate."""
    size = path.stat().st_size
    with site.http() as c:
        r = c.post(
            "/uploads/initialize/",
            json={
                "contentSize": size,
                "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
                "dandiset": site.dataset,
            },
        )
        r.raise_for_status()
        upload = r.json()

    offsets: dict[int, int] = {}
    pos = 0
    for p in upload["parts"]:
        offsets[p["part_number"]] = pos
        pos += p["size"]

    def put(part: dict[str, Any]) -> dict[str, Any]:
        # head reads the part straight from the file; curl streams it with a fixed length
        with open(path, "rb") as f:
            f.seek(offsets[part["part_number"]])
            head = subprocess.Popen(
                ["head", "-c", str(part["size"])], stdin=f, stdout=subprocess.PIPE
            )
            out = subprocess.run(
                [
                    "curl",
                    "-sS",
                    "-f",
                    "-T",
                    "-",
                    "-D",
                    "-",
                    "-o",
                    "/dev/null",
                    "-H",
                    f"Content-Length: {part['size']}",
                    "-H",
                    "Transfer-Encoding:",
                    "-H",
                    "Expect:",
                    part["upload_url"],
                ],
                stdin=head.stdout,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert head.stdout is not None
            head.stdout.close()
            head.wait()
        m = re.search(r'(?im)^etag:\s*"?([0-9a-f]+)"?', out)
        if not m:
            raise RuntimeError(f"no ETag in the part response:\n{out}")
        return {"part_number": part["part_number"], "size": part["size"], "etag": m.group(1)}

    sync()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        parts = list(pool.map(put, upload["parts"]))
    t_parts = time.perf_counter() - t0
    with site.http() as c:
        t1 = time.perf_counter()
        r = c.post(f"/uploads/{upload['upload_id']}/complete/", json={"parts": parts})
        r.raise_for_status()
        done = r.json()
        r = httpx.post(done["complete_url"], content=done["body"], timeout=600)  # no key
        r.raise_for_status()
        t2 = time.perf_counter()
        r = c.post(f"/uploads/{upload['upload_id']}/validate/")
        r.raise_for_status()
        t3 = time.perf_counter()
    return [
        (f"curl part PUTs ({len(parts)} parts, {jobs} at a time)", t_parts),
        ("complete + storage-complete", t2 - t1),
        ("validate", t3 - t2),
        ("total", t3 - t0),
    ]


# -- the same transfers with the archive's blobs on SeaweedFS, and boto3 beside them ---------------
def nds_env(site: Site, root: Path, state: Path) -> dict[str, str]:
    return {
        **site.client_env(),
        "NDS_URL": site.server.url,
        "NDS_API_KEY": site.key,
        "XDG_CONFIG_HOME": str(root / "nds-config"),
        "XDG_STATE_HOME": str(state),  # the client's digest cache and upload states
    }


def in_process_download(
    site: Site, root: Path, src: Path, src_sha: str, size: int, store: str
) -> Result:
    """The same download with the client's `Downloader` in this process, as boto3 runs:
    no CLI start-up, no listing."""
    from neurodatashare.client.digests import DigestCache
    from neurodatashare.client.download import Downloader
    from neurodatashare.client.engine import drain
    from neurodatashare.client.remote import Client, RemoteVersion

    out = root / f"dl-nds-inproc-{store}"
    with Client(site.server.url, token=site.key) as client:
        items = RemoteVersion(client.dataset(site.dataset), "draft").download_items(out)

        def fetch() -> None:
            downloader = Downloader(client, digests=DigestCache(None))
            drain(downloader.iter_download(items)).raise_for_failures("download")

        result = timed(
            "nds download in process (as boto3)",
            size,
            fetch,
            site=site,
            in_process=True,
            note="the CLI's code without its start-up and listing",
        )
    check_same(out / site.dataset / src.name, src_sha)
    shutil.rmtree(out)
    return result


def nds_runs(
    sites: Callable[[str], Any], root: Path, src: Path, src_sha: str, size: int, store: str
) -> list[Result]:
    """`nds upload` with an empty digest cache, then `nds download`, on a fresh site; then
    `nds upload` on another fresh site with the file's digest (and part MD5s) cached, as
    after an earlier upload, `nds download` or a rerun."""
    from neurodatashare.client.digests import DigestCache, file_part_md5s
    from neurodatashare.storage.digests import etag_from_part_md5s

    results = []
    fresh_state = root / f"nds-state-{store}-fresh"
    with sites("n1") as site:
        env = nds_env(site, root, fresh_state)
        results.append(
            timed(
                "nds upload (hashes first)",
                size,
                lambda: run([str(NDS), "upload", "-d", site.dataset, str(src)], cwd=root, env=env),
                site=site,
                note="hashes the parts side by side, then sends 4 parts at a time",
            )
        )
        out = root / f"dl-nds-{store}"
        out.mkdir()
        target = f"{site.dataset}/{src.name}"
        results.append(
            timed(
                "nds download",
                size,
                lambda: run([str(NDS), "download", "-o", str(out), target], cwd=root, env=env),
                site=site,
                note="4 ranged GETs at once (one per 64 MiB part), each hashed while written",
            )
        )
        check_same(out / src.name, src_sha)
        shutil.rmtree(out)
        results.append(in_process_download(site, root, src, src_sha, size, store))
    cached_state = root / f"nds-state-{store}-cached"
    md5s = file_part_md5s(src)
    cache = DigestCache(cached_state / "neurodatashare" / "digests.json")
    cache.put(src, etag_from_part_md5s(md5s), md5s)
    cache.save()
    with sites("n2") as site:
        env = nds_env(site, root, cached_state)
        results.append(
            timed(
                "nds upload (digest cached)",
                size,
                lambda: run([str(NDS), "upload", "-d", site.dataset, str(src)], cwd=root, env=env),
                site=site,
                note="no client hashing: part MD5s from the cache, checked against part ETags",
            )
        )
    return results


def s3_phases(
    root: Path, local: Path, src: Path, src_sha: str, etag: str, postgres: bool
) -> list[Result]:
    """On one SeaweedFS (`weed mini`): boto3's own multipart upload and download of the
    file (the peer: what this S3 server accepts from a good client), then the archive with
    NDS_BLOB_STORE=s3: dandi upload/download, curl PUT of the presigned part URLs, curl
    GET of the presigned download URL, nds upload/download. The servers' CPU is that of
    the archive and SeaweedFS together (the parts go straight to SeaweedFS)."""
    import boto3
    from boto3.s3.transfer import TransferConfig

    size = src.stat().st_size
    results: list[Result] = []
    with run_seaweed(root / "seaweed") as s3:
        weed = Peer((s3.process.pid,))
        kw = s3.settings()
        client = boto3.client(
            "s3",
            endpoint_url=kw["s3_endpoint_url"],
            aws_access_key_id=kw["s3_access_key_id"],
            aws_secret_access_key=kw["s3_secret_access_key"],
            region_name=kw["s3_region"],
        )
        client.create_bucket(Bucket="peer")
        # the archive's part size and the dandi client's concurrency
        config = TransferConfig(
            multipart_threshold=64 * MiB, multipart_chunksize=64 * MiB, max_concurrency=5
        )
        results.append(
            timed(
                "boto3 upload_file (peer)",
                size,
                lambda: client.upload_file(str(src), "peer", "big.bin", Config=config),
                site=weed,
                in_process=True,
                note="64 MiB parts, 5 at a time",
            )
        )
        dest = root / "dl-boto3.bin"
        results.append(
            timed(
                "boto3 download_file (peer)",
                size,
                lambda: client.download_file("peer", "big.bin", str(dest), Config=config),
                site=weed,
                in_process=True,
                note="64 MiB ranges, 5 at a time",
            )
        )
        check_same(dest, src_sha)
        dest.unlink()
        client.delete_object(Bucket="peer", Key="big.bin")

        with fresh_site(root, "s3a", postgres, s3=s3) as site:
            if not (local / "dandiset.yaml").exists():
                url = f"{site.api}/dandisets/{site.dataset}/"
                run(
                    [str(DANDI), "download", "--download", "dandiset.yaml", "-o", str(root), url],
                    cwd=root,
                    env=site.client_env(),
                )
                shutil.move(str(root / site.dataset / "dandiset.yaml"), local / "dandiset.yaml")
            rows, aid = dandi_round_trip(site, root, local, src.name, size, src_sha, "s3")
            results.extend(rows)
            dl_url = f"{site.api}/assets/{aid}/download/"
            curl_dest = root / "dl-curl-s3.bin"
            results.append(
                timed(
                    "curl GET",
                    size,
                    lambda: run(
                        ["curl", "-sS", "-f", "-L", "-o", str(curl_dest), dl_url], cwd=root
                    ),
                    site=site,
                    note="follows the redirect to the presigned URL",
                )
            )
            check_same(curl_dest, src_sha)
            curl_dest.unlink()

        with fresh_site(root, "s3d", postgres, s3=s3) as site:
            site.wait_idle()
            cpu0 = site.server_cpu()
            load = os.getloadavg()[0]
            phases = curl_upload(site, src, etag)
            results.append(
                Result(
                    "curl PUT parts + complete + validate",
                    phases[-1][1],
                    size,
                    server_cpu=site.server_cpu() - cpu0,
                    store="s3",
                    load=load,
                    note="to the presigned part URLs",
                )
            )

        results += nds_runs(
            lambda label: fresh_site(root, f"s3{label}", postgres, s3=s3),
            root,
            src,
            src_sha,
            size,
            "s3",
        )
    return results


# -- main ---------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--dir", type=Path, default=None, help="scratch folder (default: $TMPDIR)")
    ap.add_argument("--postgres", action="store_true", help=f"use PostgreSQL ({PG_ADMIN_URL})")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument(
        "--stores",
        default="local",
        help="comma-separated: local (blobs in a folder), s3 (on SeaweedFS, with boto3 "
        "beside it); default local",
    )
    args = ap.parse_args()
    stores = [x.strip() for x in args.stores.split(",") if x.strip()]
    if not stores or set(stores) - {"local", "s3"}:
        ap.error("--stores takes local, s3 or local,s3")
    size = args.size_mib * MiB
    root = Path(tempfile.mkdtemp(prefix="nds-bench-", dir=args.dir))
    results: list[Result] = []
    print(f"scratch folder {root}; file {args.size_mib} MiB; {os.cpu_count()} CPUs", flush=True)
    try:
        local = root / "local"  # the local dandiset: dandiset.yaml + the file
        src = local / "big.bin"
        local.mkdir()
        with open(src, "wb") as f:
            for left in range(size, 0, -64 * MiB):
                f.write(os.urandom(min(64 * MiB, left)))
        sync()

        # Hashing rates, for the breakdown (the file is in the page cache).
        from dandi.support.digests import get_dandietag

        t = time.perf_counter()
        src_sha = file_sha256(src)
        t_sha = time.perf_counter() - t
        t = time.perf_counter()
        hasher = hashlib.md5()
        with open(src, "rb") as f:
            while block := f.read(4 * MiB):
                hasher.update(block)
        t_md5 = time.perf_counter() - t
        t = time.perf_counter()
        etag = get_dandietag(src).as_str()
        t_etag = time.perf_counter() - t
        print(
            f"sha256 pass {t_sha:.2f}s ({rate(size, t_sha):.0f} MiB/s); "
            f"dandi-etag pass (client code) {t_etag:.2f}s ({rate(size, t_etag):.0f} MiB/s)"
        )

        if "local" in stores:
            # cp, three times to a fresh destination; the median is the reference. GNU cp 9
            # copies with copy_file_range (in the kernel, no user-space pass over the bytes).
            cps = []
            for i in range(3):
                dest = root / f"cp-dest-{i}.bin"
                cps.append(
                    timed("cp", size, lambda d=dest: run(["cp", str(src), str(d)], cwd=root))
                )
                dest.unlink()
            cps.sort(key=lambda r: r.seconds)
            cps[1].note = "median of " + ", ".join(f"{r.seconds:.2f}" for r in cps) + " s"
            results.append(cps[1])

            # A: dandi upload cold (DANDI_CACHE=ignore), dandi download, curl GET.
            with fresh_site(root, "a", args.postgres) as site:
                url = f"{site.api}/dandisets/{site.dataset}/"
                run(
                    [str(DANDI), "download", "--download", "dandiset.yaml", "-o", str(root), url],
                    cwd=root,
                    env=site.client_env(),
                )
                shutil.move(str(root / site.dataset / "dandiset.yaml"), local / "dandiset.yaml")
                rows, aid = dandi_round_trip(site, root, local, "big.bin", size, src_sha, "local")
                results.extend(rows)
                dl_url = f"{site.api}/assets/{aid}/download/"
                yaml_out = root / "dl-yaml"
                yaml_out.mkdir()
                dl_overhead = timed(
                    "dandi download of dandiset.yaml only (start-up + API calls)",
                    0,
                    lambda: run(
                        [
                            str(DANDI),
                            "download",
                            "--download",
                            "dandiset.yaml",
                            "-o",
                            str(yaml_out),
                            url,
                        ],
                        cwd=root,
                        env=site.client_env(),
                    ),
                )
                download_phases = traced_download(site, aid, size)
                curl_dest = root / "dl-curl.bin"
                results.append(
                    timed(
                        "curl GET",
                        size,
                        lambda: run(["curl", "-sS", "-f", "-o", str(curl_dest), dl_url], cwd=root),
                        site=site,
                    )
                )
                check_same(curl_dest, src_sha)
                curl_dest.unlink()

            # B: dandi upload with the client's digest cache pre-filled: the transfer part.
            with fresh_site(root, "b", args.postgres) as site:
                cache_env = site.client_env(XDG_CACHE_HOME=str(root / "dandi-cache"))
                del cache_env["DANDI_CACHE"]  # the fscacher digest cache on, in a private folder
                digest_run = timed(
                    "dandi digest (fills the cache)",
                    size,
                    lambda: run(
                        [str(DANDI), "digest", "-d", "dandi-etag", str(src)],
                        cwd=root,
                        env=cache_env,
                    ),
                )
                upload_cmd = [str(DANDI), "upload", "-i", site.api, "--allow-any-path", "big.bin"]
                results.append(
                    timed(
                        "dandi upload (transfer: digest cached)",
                        size,
                        lambda: run(upload_cmd, cwd=local, env=cache_env),
                        site=site,
                        note="no client digest; includes CLI start-up",
                    )
                )
                up_overhead = timed(
                    "dandi upload re-run, skipped (start-up + API calls)",
                    0,
                    lambda: run(upload_cmd, cwd=local, env=cache_env),
                )

            # C: the instrumented in-process upload.
            with fresh_site(root, "c", args.postgres) as site:
                _, phases = traced_upload(site, local, src)

            # D: curl PUT of the parts.
            with fresh_site(root, "d", args.postgres) as site:
                site.wait_idle()
                cpu0 = site.server_cpu()
                load = os.getloadavg()[0]
                curl_phases = curl_upload(site, src, etag)
                curl_server_cpu = site.server_cpu() - cpu0
                results.append(
                    Result(
                        "curl PUT parts + complete + validate",
                        curl_phases[-1][1],
                        size,
                        server_cpu=curl_server_cpu,
                        load=load,
                    )
                )

            # E: our own client, `nds upload` (parts in parallel) and `nds download`.
            results += nds_runs(
                lambda label: fresh_site(root, label, args.postgres),
                root,
                src,
                src_sha,
                size,
                "local",
            )
        if "s3" in stores:
            results += s3_phases(root, local, src, src_sha, etag, args.postgres)
        disk = disk_write_rate(root, size)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    # -- report --------------------------------------------------------------------------------
    cores = os.cpu_count() or 1
    md5_rate = rate(size, t_md5)
    limit = min(disk, cores * md5_rate)
    print("\nThe source file is in the page cache (warm) for every run below; nothing dropped.")
    print(
        f"limit: this machine's physical limit for a transfer that MD5s every byte: "
        f"min(disk write {disk:.0f}, {cores} cores x MD5 {md5_rate:.0f}) = {limit:.0f} MiB/s."
    )
    print(
        f"(a first upload with client and server on one machine MD5s every byte twice, in "
        f"the client for the etag and in the server: min(disk, cores x MD5 / 2) = "
        f"{min(disk, cores * md5_rate / 2):.0f} MiB/s bounds it)"
    )
    peers = {
        d: next((r for r in results if r.name == f"boto3 {d}_file (peer)"), None)
        for d in ("upload", "download")
    }
    if any(peers.values()):
        print("peer: on s3, the same direction's boto3 rate to the same SeaweedFS.")
    print(
        f"{'store':5} {'run':42} {'s':>6} {'MiB/s':>6} {'limit':>6} {'peer':>5} "
        f"{'cliCPU':>6} {'srvCPU':>6} {'load':>5}  note"
    )
    for r in results:
        direction = (
            "upload"
            if ("upload" in r.name or "PUT" in r.name)
            else "download"
            if ("download" in r.name or "GET" in r.name)
            else None
        )
        peer = peers.get(direction) if direction and r.store == "s3" else None
        of_peer = f"{r.mibps / peer.mibps:5.2f}" if peer is not None else "-"
        ccpu = f"{r.client_cpu:.2f}" if r.client_cpu is not None else "-"
        scpu = f"{r.server_cpu:.2f}" if r.server_cpu is not None else "-"
        print(
            f"{r.store:5} {r.name[:42]:42} {r.seconds:6.2f} {r.mibps:6.0f} "
            f"{r.mibps / limit:6.2f} {of_peer:>5} {ccpu:>6} {scpu:>6} {r.load:5.2f}  {r.note}"
        )
    print("(srvCPU on s3: the archive and SeaweedFS together; boto3's cliCPU is this process)")
    if "local" not in stores:
        return
    for r in (digest_run, up_overhead, dl_overhead):
        print(f"{r.name:60} {r.seconds:8.2f}")

    by = {r.name: r for r in results if r.store == "local"}
    cp_rate = by["cp"].mibps
    up_total = by["dandi upload (total, DANDI_CACHE=ignore)"]
    up_xfer = by["dandi upload (transfer: digest cached)"]
    down = by["dandi download"]
    net_up = up_xfer.seconds - up_overhead.seconds
    net_down = down.seconds - dl_overhead.seconds
    print("\nlocal store, ratios to cp (target >= 0.5):")
    print(f"  upload total / cp          {up_total.mibps / cp_rate:5.2f}")
    print(
        f"  upload transfer / cp       {up_xfer.mibps / cp_rate:5.2f}"
        f"   (minus CLI start-up: {rate(size, net_up) / cp_rate:5.2f}, "
        f"{rate(size, net_up):.0f} MiB/s)"
    )
    print(
        f"  download / cp              {down.mibps / cp_rate:5.2f}"
        f"   (minus CLI start-up: {rate(size, net_down) / cp_rate:5.2f}, "
        f"{rate(size, net_down):.0f} MiB/s)"
    )
    print(f"  curl GET / cp              {by['curl GET'].mibps / cp_rate:5.2f}")
    print(
        f"  curl PUT+validate / cp     "
        f"{by['curl PUT parts + complete + validate'].mibps / cp_rate:5.2f}"
    )
    print(
        f"  floor: the server must MD5 every byte (protocol), {rate(size, t_etag):.0f} MiB/s "
        f"on one core here, i.e. at most {rate(size, t_etag) / cp_rate:.2f} of cp"
    )
    print("\nwhere an upload's time goes (real client code, in process, DANDI_CACHE=ignore):")
    for name, seconds in phases:
        print(f"  {name:58} {seconds:7.2f}")
    print("where a download's time goes (in process):")
    for name, seconds in download_phases:
        print(f"  {name:58} {seconds:7.2f}  ({rate(size, seconds):.0f} MiB/s)")
    print("curl reference upload:")
    for name, seconds in curl_phases:
        print(f"  {name:58} {seconds:7.2f}  ({rate(size, seconds):.0f} MiB/s)")
    print(f"  server CPU for the curl upload: {curl_server_cpu:.2f} s")
    print(
        f"hashing in this process: sha256 {rate(size, t_sha):.0f} MiB/s, "
        f"dandi-etag (md5 per part) {rate(size, t_etag):.0f} MiB/s"
    )


if __name__ == "__main__":
    main()
