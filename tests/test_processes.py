"""`nds serve --processes 2` and `nds worker` as separate processes on one PostgreSQL and
one blob folder: requests spread over both API processes, and a file uploaded through
one is checked by the worker process and found by search through any."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import PostgresDatabase, free_port
from neurodatashare.testing.nwbfiles import make_ephys_file

NDS = [str(Path(sys.executable).parent / "nds")]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    pg = PostgresDatabase()
    port = free_port()
    env = {
        **os.environ,
        "NDS_HOME": str(tmp_path / "home"),
        "NDS_DATABASE_URL": pg.url,
        "NDS_PORT": str(port),
        "NDS_WORKER_THREADS": "0",  # the API processes run no jobs: the worker does
    }
    procs = [
        subprocess.Popen([*NDS, "serve", "--processes", "2"], env=env, start_new_session=True),
        subprocess.Popen([*NDS, "worker", "--threads", "2"], env=env, start_new_session=True),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/api/info/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "nds serve --processes 2 did not start"
            assert procs[0].poll() is None, "nds serve exited"
            time.sleep(0.3)
        yield url, env
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        pg.drop()


def test_two_api_processes_and_a_worker_process_share_the_work(
    stack: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = stack
    serve = [p for p in _children(os.getpid()) if p]  # this test's own children
    api_processes = [c for p in serve for c in _children(p)]
    assert len(api_processes) >= 2, f"expected 2 API processes under nds serve: {serve}"

    made = subprocess.run(
        [*NDS, "admin", "create-user", "jane"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().split()[-1]
    jane = Caller(url, key, username="jane")
    try:
        ds = jane.create_dataset("Two processes")
        data = make_ephys_file(tmp_path / "rec.nwb", locations=("CA3",)).read_bytes()
        asset = jane.add_file(ds, "sub-m1/sub-m1_ecephys.nwb", data)
        report = jane.wait_for_checks(asset["asset_id"], timeout=120)  # the worker process
        assert report["status"] == "done" and report["metadata"], report
        for _ in range(20):  # any process answers with the same, fresh index
            found = jane.get("/api/search/", params={"region": "CA3"}).json()
            assert [r["identifier"] for r in found["results"]] == [ds]
    finally:
        jane.close()
