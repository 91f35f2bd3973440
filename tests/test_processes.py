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
from sqlalchemy import create_engine, text

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


def _env(tmp_path: Path, pg: PostgresDatabase, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "NDS_HOME": str(tmp_path / "home"),
        "NDS_DATABASE_URL": pg.url,
        "NDS_PORT": str(port),
        "NDS_WORKER_THREADS": "0",  # the API processes run no jobs: the workers do
        **extra,
    }


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*NDS, *args], env=env, start_new_session=True)


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/api/info/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "nds serve did not start"
        assert server.poll() is None, "nds serve exited"
        time.sleep(0.3)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGCONT)  # one may be stopped
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(20)


def _user(env: dict[str, str], url: str) -> Caller:
    made = subprocess.run(
        [*NDS, "admin", "create-user", "jane"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    return Caller(url, made.stdout.strip().split()[-1], username="jane")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    pg = PostgresDatabase()
    port = free_port()
    env = _env(tmp_path, pg, port)
    procs = [_start(env, "serve", "--processes", "2"), _start(env, "worker", "--threads", "2")]
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, procs[0])
        yield url, env
    finally:
        _stop(procs)
        pg.drop()


def test_two_api_processes_and_a_worker_process_share_the_work(
    stack: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = stack
    serve = [p for p in _children(os.getpid()) if p]  # this test's own children
    api_processes = [c for p in serve for c in _children(p)]
    assert len(api_processes) >= 2, f"expected 2 API processes under nds serve: {serve}"

    jane = _user(env, url)
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


def test_a_job_whose_worker_dies_is_run_by_another_after_the_lease(tmp_path: Path) -> None:
    """A worker frozen mid-job (SIGSTOP: no more lease renewals, as if the machine were
    gone), then killed: a second worker runs the job once its 3 s lease has passed."""
    pg = PostgresDatabase()
    port = free_port()
    env = _env(tmp_path, pg, port, NDS_JOB_LEASE_SECONDS="3")
    url = f"http://127.0.0.1:{port}"
    procs = [_start(env, "serve")]
    engine = create_engine(pg.url)
    try:
        _wait_until_up(url, procs[0])
        first = _start(env, "worker")
        procs.append(first)
        jane = _user(env, url)
        ds = jane.create_dataset("Lost worker")
        data = make_ephys_file(tmp_path / "rec.nwb", locations=("CA1",)).read_bytes()
        asset = jane.add_file(ds, "sub-m1/sub-m1_ecephys.nwb", data)
        running = text(
            "SELECT id, worker FROM jobs WHERE kind = 'blob.pipeline' AND state = 'running'"
        )
        deadline = time.monotonic() + 120
        while True:
            with engine.connect() as conn:
                row = conn.execute(running).first()
            if row is not None:
                break
            assert time.monotonic() < deadline, "the first worker never started the job"
            time.sleep(0.02)
        os.killpg(first.pid, signal.SIGSTOP)
        job_id, owner = row
        assert owner.endswith(f":{first.pid}")
        procs.append(_start(env, "worker"))
        report = jane.wait_for_checks(asset["asset_id"], timeout=120)
        assert report["status"] == "done" and report["metadata"], report
        os.killpg(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60  # the results may have been written before the freeze
        while True:
            with engine.connect() as conn:
                state, attempts, worker = conn.execute(
                    text("SELECT state, attempts, worker FROM jobs WHERE id = :id"), {"id": job_id}
                ).one()
            if state == "done":
                break
            assert time.monotonic() < deadline, (state, attempts, worker)
            time.sleep(0.2)
        # the second worker finished it (a run or two: an upload may queue it once more)
        assert worker.rsplit(":", 1)[1] == str(procs[2].pid), (first.pid, worker, attempts)
        jane.close()
    finally:
        engine.dispose()
        _stop(procs)
        pg.drop()


def test_a_worker_stops_on_a_sigterm_that_another_of_its_threads_received(
    tmp_path: Path,
) -> None:
    """The kernel gives a process's SIGTERM to any thread that does not block it; Python
    runs the handler in the main thread. `nds worker` stops within seconds whichever
    thread received it (its main thread waited forever when another one did)."""
    import ctypes

    env = {k: v for k, v in os.environ.items() if not k.startswith("NDS_")}
    env["NDS_HOME"] = str(tmp_path / "home")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [*NDS, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while "running" not in log.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        tasks = Path(f"/proc/{worker.pid}/task")
        others = []
        for task in tasks.iterdir():
            status = (task / "status").read_text()
            blocked = int(status.split("SigBlk:")[1].split()[0], 16)
            if int(task.name) != worker.pid and not blocked & (1 << (signal.SIGTERM - 1)):
                others.append(int(task.name))
        assert others, "the worker has no thread besides its main one"
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.tgkill(worker.pid, others[0], signal.SIGTERM) == 0, ctypes.get_errno()
        started = time.monotonic()
        assert worker.wait(15) == 0, log.read_text()
        print(f"worker stopped {time.monotonic() - started:.2f} s after the SIGTERM")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
