#!/usr/bin/env python
"""API requests per second for metadata reads, with 1 and 2 `nds serve` processes.

    .venv/bin/python bench/api_rps.py                    # PostgreSQL, wrk, 5 s per run
    .venv/bin/python bench/api_rps.py --seconds 10 --connections 64 --processes 1,2,4

One archive on a fresh PostgreSQL database (on NDS_TEST_POSTGRES_URL's server, dropped at
the end) gets --datasets open datasets and --assets small files in the first one. Then,
for each --processes count, `nds serve --processes N` is started on that database and
wrk (Debian's `wrk`) sends each metadata read for --seconds over --connections
keep-alive connections, anonymously and with an API key:

  list      GET /api/dandisets/
  dataset   GET /api/dandisets/{id}/
  versions  GET /api/dandisets/{id}/versions/
  assets    GET /api/dandisets/{id}/versions/draft/assets/   (first page)
  asset     GET /api/dandisets/{id}/versions/draft/assets/{asset_id}/   (its metadata)

The peer is the HTTP stack's ceiling: a Starlette app answering a fixed JSON "hello" under
the same uvicorn (httptools, uvloop, access log on, as `nds serve` runs it) with the same
process count, measured with the same wrk settings. The table shows requests/s, the
ratio 2p/1p (each other count to 1 process), and ours as a fraction of the peer. wrk runs
on the same machine and takes CPU from the servers (its 2 threads); the 1-minute load
before each run is printed next to it. Any non-2xx answer is counted and reported.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from neurodatashare.testing.server import free_port, nds_executable, server_env

PG_ADMIN_URL = os.environ.get("NDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
HELLO_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request):
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/api/hello/", hello)])
"""


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in 60 s:\n{log.read_text()[-3000:]}")


@contextmanager
def started(
    cmd: list[str], env: dict[str, str], log: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_ready(ready_url, process, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def nds_serve(
    home: Path, db_url: str, port: int, processes: int
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    env = server_env(home, port=port, database_url=db_url)
    cmd = [str(nds_executable()), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--processes", str(processes)]
    return started(cmd, env, home / f"serve-{processes}.log", f"http://127.0.0.1:{port}/api/info/")


def hello_serve(
    folder: Path, port: int, processes: int
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    (folder / "hello_app.py").write_text(HELLO_APP)
    uvicorn = Path(sys.executable).parent / "uvicorn"
    cmd = [str(uvicorn), "hello_app:app", "--app-dir", str(folder), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(processes), "--log-level", "info"]
    return started(
        cmd,
        dict(os.environ),
        folder / f"hello-{processes}.log",
        f"http://127.0.0.1:{port}/api/hello/",
    )


def wrk(url: str, *, seconds: int, connections: int, key: str | None) -> tuple[float, int, str]:
    """(requests/s, non-2xx answers, latency line) of one wrk run."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if key:
        cmd += ["-H", f"Authorization: token {key}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)  # the --latency distribution
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    latency = f"p50 {p50.group(1) if p50 else '?'} p99 {p99.group(1) if p99 else '?'}"
    if errors:
        latency += f" ({errors.group(0)})"
    return rps, int(bad.group(1)) if bad else 0, latency


def fill(home: Path, db_url: str, datasets: int, assets: int) -> tuple[str, str, str]:
    """Datasets and files through the archive itself; (api key, dataset id, asset id)."""
    from neurodatashare.client.remote import Client

    port = free_port()
    with nds_serve(home, db_url, port, 1):
        env = server_env(home, port=port, database_url=db_url)
        done = subprocess.run(
            [str(nds_executable()), "admin", "create-user", "bench"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = done.stdout.strip().splitlines()[-1].strip()
        files = home / "files"
        for i in range(assets):
            path = files / f"sub-{i % 10:02d}" / f"sub-{i % 10:02d}_ses-{i:04d}_ecephys.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(1024))
        contributor = [
            {"schemaKey": "Person", "name": "Doe, Jane", "roleName": ["dcite:ContactPerson"]}
        ]
        with Client(f"http://127.0.0.1:{port}", key) as client:
            first = None
            for i in range(datasets):
                ds = client.create_dataset(
                    f"rps dataset {i}",
                    {
                        "description": f"Requests per second benchmark, dataset {i}",
                        "license": ["spdx:CC0-1.0"],
                        "contributor": contributor,
                    },
                )
                first = first or ds
            assert first is not None
            first.upload(files)
            asset_id = next(iter(first.draft.assets())).id
            return key, first.identifier, asset_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", default="1,2", help="API process counts (default 1,2)")
    ap.add_argument("--seconds", type=int, default=5, help="seconds per wrk run (default 5)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    ap.add_argument("--datasets", type=int, default=50, help="open datasets (default 50)")
    ap.add_argument("--assets", type=int, default=200, help="files in the first (default 200)")
    ap.add_argument("--dir", type=Path, default=None, help="scratch folder (default: $TMPDIR)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")
    counts = [int(x) for x in args.processes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="nds-rps-", dir=args.dir))
    import psycopg

    db_name = f"nds_rps_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    db_url = (
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        + f"/{db_name}"
    )
    rows: list[tuple[str, str, int, float, int, str, float]] = []
    try:
        home = root / "home"
        key, ds, asset = fill(home, db_url, args.datasets, args.assets)
        reads = {
            "list": "/api/dandisets/",
            "dataset": f"/api/dandisets/{ds}/",
            "versions": f"/api/dandisets/{ds}/versions/",
            "assets": f"/api/dandisets/{ds}/versions/draft/assets/",
            "asset": f"/api/dandisets/{ds}/versions/draft/assets/{asset}/",
        }
        print(
            f"{os.cpu_count()} CPUs; PostgreSQL; {args.datasets} datasets, {args.assets} files; "
            f"wrk -t2 -c{args.connections} -d{args.seconds}s",
            flush=True,
        )
        for n in counts:
            port = free_port()
            with nds_serve(home, db_url, port, n):
                for name, path in reads.items():
                    for who, k in (("anonymous", None), ("key", key)):
                        url = f"http://127.0.0.1:{port}{path}"
                        wrk(url, seconds=1, connections=4, key=k)  # warm caches and pools
                        load = os.getloadavg()[0]
                        rps, bad, lat = wrk(
                            url, seconds=args.seconds, connections=args.connections, key=k
                        )
                        rows.append((name, who, n, rps, bad, lat, load))
                        print(f"  {n}p {name:9} {who:9} {rps:8.0f} rps  {lat}  load {load:.2f}")
            port = free_port()
            with hello_serve(root, port, n):
                url = f"http://127.0.0.1:{port}/api/hello/"
                wrk(url, seconds=1, connections=4, key=None)
                load = os.getloadavg()[0]
                rps, bad, lat = wrk(
                    url, seconds=args.seconds, connections=args.connections, key=None
                )
                rows.append(("hello (peer)", "anonymous", n, rps, bad, lat, load))
                print(f"  {n}p {'hello':9} {'peer':9} {rps:8.0f} rps  {lat}  load {load:.2f}")
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(root, ignore_errors=True)

    by = {(r[0], r[1], r[2]): r for r in rows}
    base = counts[0]
    print()
    head = " ".join(f"{f'{n}p rps':>8}" for n in counts)
    ratios = " ".join(f"{f'{n}p/{base}p':>7}" for n in counts[1:])
    print(f"{'read':13} {'caller':9} {head} {ratios} {'of peer':>8}  load  non-2xx")
    for name, who in dict.fromkeys((r[0], r[1]) for r in rows):
        cells = [by[(name, who, n)] for n in counts]
        rates = " ".join(f"{c[3]:8.0f}" for c in cells)
        rel = " ".join(f"{c[3] / cells[0][3]:7.2f}" for c in cells[1:])
        peer = by[("hello (peer)", "anonymous", counts[-1])][3]
        of_peer = f"{cells[-1][3] / peer:8.2f}" if name != "hello (peer)" else f"{1:8.2f}"
        loads = "/".join(f"{c[6]:.1f}" for c in cells)
        bad = sum(c[4] for c in cells)
        print(f"{name:13} {who:9} {rates} {rel} {of_peer}  {loads}  {bad}")
    print(f"(of peer: the {counts[-1]}-process rate over the hello app's with as many processes)")


if __name__ == "__main__":
    main()
