#!/usr/bin/env python
"""Zarr transfer benchmark: the real `dandi` client and `nds` against `nds serve`, next to
`cp -r`, on one Zarr of many files (loopback, SQLite by default).

    .venv/bin/python bench/zarr_transfer.py                               # 1,000 files, 32 MiB
    .venv/bin/python bench/zarr_transfer.py --files 10000 --size-mib 1024 # the issue's 1 GiB Zarr
    .venv/bin/python bench/zarr_transfer.py --postgres --dir /work/scratch

The Zarr is written with zarr-python 2: one uint8 array of random bytes (incompressible,
no compressor) with `--files` chunks of `size/files` bytes each, plus its `.zgroup`,
`.zattrs` and `.zarray`. Phases, each timed on the wall clock:

* `cp -r` of the Zarr folder to a fresh destination: the reference.
* `dandi upload` (DANDI_DEVEL=1 --allow-any-path) into a fresh dataset; it includes the
  client's own MD5 of every file, the server's checksum after finalize and the client's
  2 s polling of the Zarr's status (part of its protocol).
* `dandi download` of the dataset (every file fetched and checked against its MD5, then
  the whole Zarr against its checksum).
* `nds upload` of the same folder into another fresh dataset, and `nds download` of it.

Each download is compared byte for byte with the source (untimed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("DANDI_NO_ET", "1")
# This file is called zarr.py: its folder must not shadow the zarr package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import httpx  # noqa: E402 - after the sys.path fix above

from neurodatashare.testing.server import ServerHandle, create_user, run_server  # noqa: E402

MiB = 1024 * 1024
BIN = Path(sys.executable).parent
DANDI, NDS = BIN / "dandi", BIN / "nds"
PG_ADMIN_URL = os.environ.get("NDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
METADATA = {
    "name": "zarr benchmark",
    "description": "Zarr transfer benchmark",
    "license": ["spdx:CC0-1.0"],
    "contributor": [
        {"schemaKey": "Person", "name": "Doe, Jane", "roleName": ["dcite:ContactPerson"]}
    ],
}
ZARR = "data/volume.zarr"


def write_zarr(path: Path, *, files: int, size: int) -> None:
    import numpy as np
    import zarr

    chunk = max(1, size // files)
    root = zarr.open_group(str(path), mode="w")
    root.attrs["benchmark"] = {"files": files, "chunk_bytes": chunk}
    arr = root.create_dataset(
        "data", shape=(files, chunk), chunks=(1, chunk), dtype="u1", compressor=None
    )
    rng = np.random.default_rng(0)
    step = max(1, (64 * MiB) // chunk)
    for start in range(0, files, step):
        stop = min(files, start + step)
        arr[start:stop] = rng.integers(0, 256, size=(stop - start, chunk), dtype="u1")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def timed(what: str, run: Callable[[], object]) -> float:
    subprocess.run(["sync"], check=False)
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    print(f"  {what}: {seconds:.2f} s", flush=True)
    return seconds


def run(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"`{' '.join(map(str, cmd))}` failed ({done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


class Site:
    def __init__(self, server: ServerHandle, key: str, work: Path) -> None:
        self.server, self.key, self.work = server, key, work

    def create_dataset(self, name: str) -> str:
        with httpx.Client(
            base_url=self.server.api_url, headers={"Authorization": f"token {self.key}"}
        ) as c:
            r = c.post("/dandisets/", json={"name": name, "metadata": {**METADATA, "name": name}})
            r.raise_for_status()
            return str(r.json()["identifier"])

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DANDI", "NDS_"))}
        env.update(
            DANDI_NO_ET="1",
            DANDI_CACHE="ignore",
            DANDI_DEVEL="1",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            XDG_STATE_HOME=str(self.work / "xdg-state"),
            XDG_CACHE_HOME=str(self.work / "xdg-cache"),
            XDG_CONFIG_HOME=str(self.work / "xdg-config"),
            NDS_URL=self.server.url,
            NDS_API_KEY=self.key,
        )
        env[f"127.0.0.1:{self.server.port}_API_KEY"] = self.key
        env.update(extra)
        return env


def bench(site: Site, source: Path, *, size: int) -> dict[str, float]:
    work = site.work
    api = site.server.api_url
    times: dict[str, float] = {}
    times["cp -r"] = timed("cp -r", lambda: shutil.copytree(source, work / "cp-copy"))

    ds = site.create_dataset("dandi client")
    run(
        [
            str(DANDI),
            "download",
            "-i",
            api,
            "--download",
            "dandiset.yaml",
            f"{api}/dandisets/{ds}/",
        ],
        cwd=work,
        env=site.env(),
    )
    local = work / ds
    shutil.copytree(source, local / ZARR)
    times["dandi upload"] = timed(
        "dandi upload",
        lambda: run(
            [str(DANDI), "upload", "-i", api, "--allow-any-path", ZARR], cwd=local, env=site.env()
        ),
    )
    out = work / "dandi-out"
    out.mkdir()
    times["dandi download"] = timed(
        "dandi download",
        lambda: run([str(DANDI), "download", f"{api}/dandisets/{ds}/"], cwd=out, env=site.env()),
    )
    assert tree(out / ds / ZARR) == tree(source), "dandi download differs from the source"

    ds2 = site.create_dataset("nds client")
    times["nds upload"] = timed(
        "nds upload",
        lambda: run(
            [str(NDS), "upload", str(source), "-d", ds2, "--path-prefix", "data", "-j", "8"],
            cwd=work,
            env=site.env(),
        ),
    )
    nds_out = work / "nds-out"
    times["nds download"] = timed(
        "nds download",
        lambda: run(
            [str(NDS), "download", ds2, "-o", str(nds_out), "-j", "8"], cwd=work, env=site.env()
        ),
    )
    assert tree(nds_out / ds2 / ZARR) == tree(source), "nds download differs from the source"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="chunk files in the Zarr")
    parser.add_argument("--size-mib", type=int, default=32, help="total size of the chunks")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    size = args.size_mib * MiB
    base = Path(tempfile.mkdtemp(prefix="nds-zarr-bench-", dir=args.dir))
    pg_name = None
    try:
        source = base / "src" / "volume.zarr"
        write_zarr(source, files=args.files, size=size)
        nfiles = sum(1 for p in source.rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
        db_url = None
        if args.postgres:
            import psycopg

            pg_name = f"nds_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{pg_name}"')
            db_url = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
            db_url = db_url.rsplit("/", 1)[0] + f"/{pg_name}"
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"Zarr of {nfiles} files, {total / MiB:.1f} MiB; {backend}; {base}", flush=True)
        with run_server(base / "home", database_url=db_url) as server:
            key = create_user(server, "bench")
            work = base / "work"
            work.mkdir()
            times = bench(Site(server, key, work), source, size=total)
        print(f"\n{'phase':<16}{'seconds':>9}{'MiB/s':>9}{'files/s':>9}{'x cp -r':>9}")
        for name, seconds in times.items():
            print(
                f"{name:<16}{seconds:>9.2f}{total / MiB / seconds:>9.1f}"
                f"{nfiles / seconds:>9.0f}{seconds / times['cp -r']:>9.1f}"
            )
    finally:
        if pg_name is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
