"""Kill loops: `nds serve` SIGKILLed during each kind of job, during initialize, during
asset creation and during publish, on SQLite and on PostgreSQL. After each, the work
completes within 30 s of the restart, nothing is lost or duplicated, and the client that
was running (`nds upload`, `nds publish`) exits 0 without being run again.

Kills are timed by watching, not by sleeping: the jobs table shows the job `running`;
a proxy in front of the server lets the request to interrupt through and holds back
its answer, so the server is killed after it acted and before the client heard of it
(the hardest case for a retry: only an idempotent request survives it). The lease is
set to a minute, so only the start-up re-queue of a dead pid can meet the 30 s.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from neurodatashare.testing.factories import Caller, publishable_metadata
from neurodatashare.testing.live import PostgresDatabase
from neurodatashare.testing.nwbfiles import make_ephys_file
from neurodatashare.testing.server import ServerHandle, create_user, nds_executable, run_server

RECOVERY_LIMIT = 30.0
KINDS = ("blob.pipeline", "version.summarize")


@dataclass
class Rig:
    server: ServerHandle
    jobs: Engine
    key: str
    client_env: dict[str, str]
    tmp: Path
    proxy: AnswerCutter
    recoveries: list[float] = field(default_factory=list)

    def caller(self) -> Caller:
        return Caller(self.server.direct_url, self.key)

    def job_rows(self, where: str = "true") -> list[tuple[int, str, str, str]]:
        with self.jobs.connect() as conn:
            rows = conn.execute(text(f"SELECT id, kind, key, state FROM jobs WHERE {where}"))
            return [(r[0], r[1], r[2], r[3]) for r in rows]

    def settle(self) -> None:
        """Wait until the database has finished what the (stopped) server sent it: a
        COMMIT already on its way to PostgreSQL still lands after the SIGSTOP."""
        if self.jobs.dialect.name != "postgresql":
            return  # SQLite commits inside the server's process, stopped with it
        busy = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active'"
        )
        _until(lambda: self._scalar(busy) == 0, what="the server's statements to end")

    def _scalar(self, query: Any) -> Any:
        with self.jobs.connect() as conn:
            return conn.execute(query).scalar()

    def nds(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(nds_executable()), *args],
            env=self.client_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def crash_and_restart(self) -> float:
        """SIGKILL the (maybe stopped) server, start it again; the time it was ready."""
        self.server.restart(crash=True)
        return time.monotonic()

    def wait_idle(self, since: float) -> None:
        """Every job done (none queued or running) within RECOVERY_LIMIT of `since`."""
        active = "state IN ('queued', 'running')"
        while held := self.job_rows(active):
            assert time.monotonic() - since < RECOVERY_LIMIT, (
                f"jobs still held {RECOVERY_LIMIT:.0f} s after the restart: {held}\n"
                f"{self.server.log_text()[-3000:]}"
            )
            time.sleep(0.05)
        self.recoveries.append(time.monotonic() - since)


@contextlib.contextmanager
def open_rig(backend: str, tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[Rig]:
    """`nds serve` on `backend` with a minute's lease (and `env`), a user, the proxy."""
    pg = PostgresDatabase() if backend == "postgresql" else None
    home = tmp_path / "home"
    url = pg.url if pg else f"sqlite:///{home / 'nds.sqlite3'}"
    try:
        with run_server(
            home,
            database_url=url,
            env={"NDS_JOB_LEASE_SECONDS": "60", "NDS_LOG_LEVEL": "info", **(env or {})},
        ) as server:
            key = create_user(server, "alice")
            proxy = AnswerCutter(server.port)
            client_env = {k: v for k, v in os.environ.items() if not k.startswith("NDS_")}
            client_env.update(
                {
                    "NDS_URL": proxy.url,
                    "NDS_API_KEY": key,
                    "NDS_RETRY_SECONDS": "120",
                    "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
                    "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
                }
            )
            engine = create_engine(url)
            try:
                yield Rig(
                    server=server,
                    jobs=engine,
                    key=key,
                    client_env=client_env,
                    tmp=tmp_path,
                    proxy=proxy,
                )
            finally:
                engine.dispose()
                proxy.close()
    finally:
        if pg is not None:
            pg.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    with open_rig(request.param, tmp_path) as made:
        yield made


class AnswerCutter:
    """A loopback proxy in front of the server that, once armed with a request line (a
    regular expression), lets that request through but holds back its answer: `answered`
    is set when the server's first answer bytes arrive (it has acted), so the test can
    SIGKILL the server before the client learns anything; the client's connection is
    then reset."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.trigger: re.Pattern[bytes] | None = None
        self.answered = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, request_line: str) -> None:
        self.answered.clear()
        self.trigger = re.compile(request_line.encode())

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()  # the server is down: the client sees the connection drop
                continue
            server.settimeout(None)
            state = {"cut": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if self.trigger and self.trigger.search(data):
                    self.trigger, state["cut"] = None, True
                server.sendall(data)
        self._close(client, server)

    def _down(self, server: socket.socket, client: socket.socket, state: dict[str, bool]) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if state["cut"]:
                    self._held.append(client)
                    self.answered.set()  # the server acted; the client never hears of it
                    return
                client.sendall(data)
        self._close(client, server)

    @staticmethod
    def _close(*socks: socket.socket) -> None:
        for s in socks:
            with contextlib.suppress(OSError):
                # a reset, as the kernel sends for a killed server's connections
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv on it
            s.close()

    def reset_held(self) -> None:
        held, self._held = self._held, []
        self._close(*held)

    def close(self) -> None:
        self.listener.close()
        self.reset_held()


def _until(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def _cut_answer(rig: Rig, client: subprocess.Popen[str], request_line: str) -> float:
    """Kill the server once it has acted on `request_line` but before the client has its
    answer; restart it. Returns when the restarted server was ready."""
    _until(lambda: rig.proxy.answered.is_set() or client.poll() is not None, what=request_line)
    assert client.poll() is None, client.communicate()
    ready = rig.crash_and_restart()
    rig.proxy.reset_held()
    return ready


def _finish(client: subprocess.Popen[str], timeout: float = 90) -> str:
    out, err = client.communicate(timeout=timeout)
    assert client.returncode == 0, f"exit {client.returncode}\nstdout:\n{out}\nstderr:\n{err}"
    return err


def _kill_during_job(rig: Rig, kind: str, ds: str, n: int) -> bool:
    """Upload a file and SIGKILL the server while a `kind` job runs; False if every such
    job finished before it could be caught."""
    alice = rig.caller()
    path = rig.tmp / f"rec-{kind}-{n}.nwb"
    make_ephys_file(path, duration_s=2.0)
    before = {row[0] for row in rig.job_rows()}
    asset = alice.add_file(ds, f"sub-1/{path.name}", path.read_bytes())
    alice.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        new = [r for r in rig.job_rows(f"kind = '{kind}'") if r[0] not in before]
        if any(r[3] == "running" for r in new):
            os.kill(rig.server.process.pid, signal.SIGSTOP)
            rig.settle()
            running = [
                r
                for r in rig.job_rows(f"kind = '{kind}' AND state = 'running'")
                if r[0] not in before
            ]
            if running:
                break
            os.kill(rig.server.process.pid, signal.SIGCONT)  # it ended meanwhile
        if new and all(r[3] == "done" for r in new):
            return False
        time.sleep(0.002)
    else:
        return False
    offset = rig.server.log_offset()
    ready = rig.crash_and_restart()
    rig.wait_idle(ready)
    log = rig.server.log_since(offset)
    assert f"job {running[0][0]} ({kind}" in log and "re-queued" in log, log[-3000:]
    alice = rig.caller()
    report = alice.get(f"/api/assets/{asset['asset_id']}/validation/").json()
    assert report["status"] != "pending", report
    got = alice.get(f"/api/assets/{asset['asset_id']}/").json()
    assert got.get("digest", {}).get("dandi:sha2-256"), got
    alice.close()
    return True


def test_kill_loops(rig: Rig) -> None:
    alice = rig.caller()
    ds = alice.create_dataset("kills", metadata=publishable_metadata())
    alice.close()
    # 1. during each kind of job
    caught = {kind: 0 for kind in KINDS}
    for kind in KINDS:
        for n in range(3):
            if _kill_during_job(rig, kind, ds, n):
                caught[kind] += 1
                break
    assert caught["blob.pipeline"] == 1, caught
    # 2. during initialize, and 3. during asset creation (after validate), of `nds upload`
    files = rig.tmp / "files"
    files.mkdir()
    for n, (label, request_line) in enumerate(
        [
            ("initialize", "POST /api/uploads/initialize/ "),
            ("asset creation", f"POST /api/dandisets/{ds}/versions/draft/assets/ "),
        ]
    ):
        local = files / f"f{n}.bin"
        local.write_bytes(os.urandom(3 * 2**20) + label.encode())
        rig.proxy.arm(request_line)
        client = rig.nds("upload", str(local), "-d", ds, "--path-prefix", "raw")
        ready = _cut_answer(rig, client, request_line)
        err = _finish(client)
        assert "Waiting for the archive to come back" in err, err
        rig.wait_idle(ready)
    alice = rig.caller()
    assets = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/", params={"path": "raw/"})
    assert sorted(a["path"] for a in assets.json()["results"]) == ["raw/f0.bin", "raw/f1.bin"]
    for n in range(2):
        (asset,) = [a for a in assets.json()["results"] if a["path"] == f"raw/f{n}.bin"]
        body = alice.get(f"/api/assets/{asset['asset_id']}/download/", follow_redirects=True)
        assert body.content == (files / f"f{n}.bin").read_bytes()
    # 4. during publish
    alice.wait_for_status(ds)
    request_line = f"POST /api/dandisets/{ds}/versions/draft/publish/ "
    rig.proxy.arm(request_line)
    client = rig.nds("publish", ds)
    ready = _cut_answer(rig, client, request_line)
    out = _finish(client)
    rig.wait_idle(ready)
    versions = alice.get(f"/api/dandisets/{ds}/versions/").json()["results"]
    published = [v for v in versions if v["version"] != "draft"]
    assert len(published) == 1, (versions, out)
    alice.close()
    assert all(t < RECOVERY_LIMIT for t in rig.recoveries), rig.recoveries
    print(f"recoveries (s): {[round(t, 2) for t in rig.recoveries]}; jobs caught: {caught}")


def _frozen_worker_job(
    engine: Engine, worker: subprocess.Popen[bytes], start: Callable[[int], object]
) -> int:
    """Start work (`start(n)`) until `worker` is seen running a job of it; SIGSTOP the
    worker and look again, so that the job is certainly still its own; the job's id."""
    look = text("SELECT id, worker, state FROM jobs WHERE id > :after")
    for n in range(4):
        with engine.connect() as conn:
            after = conn.execute(text("SELECT coalesce(max(id), 0) FROM jobs")).scalar()
        start(n)

        def mine(after: Any = after) -> tuple[list[int], bool]:
            with engine.connect() as conn:
                rows = conn.execute(look, {"after": after}).all()
            held = [
                r.id for r in rows if r.state == "running" and r.worker.endswith(f":{worker.pid}")
            ]
            return held, all(r.state in ("done", "failed") for r in rows)

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            held, over = mine()
            if held:
                os.killpg(worker.pid, signal.SIGSTOP)  # it cannot finish the job now
                held, over = mine()
                if held:
                    return held[0]
                os.killpg(worker.pid, signal.SIGCONT)
            if over:
                break
            time.sleep(0.002)
    pytest.fail("four jobs in a row ended before the worker could be frozen")


@pytest.mark.parametrize("how", ["next worker here", "lease"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_job_of_a_killed_worker_process_is_taken_back(
    backend: str, how: str, tmp_path: Path
) -> None:
    """Separate `nds worker` processes: one SIGKILLed while it runs a job. On this host,
    the next worker started takes the job back at once (the lease is a minute); a worker
    of another host (its own UTS namespace, so no pid of it can be checked from here) has
    its job taken over once its 5 s lease has run out."""
    pg = PostgresDatabase() if backend == "postgresql" else None
    url = pg.url if pg else f"sqlite:///{tmp_path / 'home' / 'nds.sqlite3'}"
    lease = "60" if how == "next worker here" else "5"
    env = {"NDS_JOB_LEASE_SECONDS": lease, "NDS_WORKER_THREADS": "0"}
    try:
        with run_server(tmp_path / "home", database_url=url, env=env) as server:
            key = create_user(server, "alice")
            engine = create_engine(url)
            worker_env = {**server.env}

            def start_worker(name: str, host: str | None = None) -> subprocess.Popen[bytes]:
                cmd = [str(nds_executable()), "worker"]
                if host:  # unshare execs sh, which execs the worker: the same pid throughout
                    script = f'hostname {host} && exec "$@"'
                    cmd = ["unshare", "--uts", "sh", "-c", script, "sh", *cmd]
                log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
                return subprocess.Popen(
                    cmd,
                    env=worker_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

            first = start_worker("worker-1", host=None if how == "next worker here" else "away")
            alice = Caller(server.direct_url, key)
            ds = alice.create_dataset("w", metadata=publishable_metadata())
            assets = []

            def a_file(n: int) -> None:
                path = make_ephys_file(tmp_path / f"rec{n}.nwb", duration_s=2.0, identifier=f"w{n}")
                assets.append(alice.add_file(ds, f"rec{n}.nwb", path.read_bytes()))

            held = _frozen_worker_job(engine, first, a_file)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            second = start_worker("worker-2")
            started = time.monotonic()
            look = text("SELECT state, worker, attempts, kind FROM jobs WHERE id = :id")
            try:
                while True:
                    with engine.connect() as conn:
                        state, by, attempts, kind = conn.execute(look, {"id": held}).one()
                    took = time.monotonic() - started
                    if state == "done" or took > RECOVERY_LIMIT:
                        break
                    time.sleep(0.02)
                log = (tmp_path / "worker-2.log").read_text()
                why = "no longer exists" if how == "next worker here" else "stopped renewing"
                assert f"job {held} (" in log and why in log, log
                alice.wait_for_status(ds, timeout=RECOVERY_LIMIT)
            finally:
                second.terminate()
                second.wait(30)
            assert state == "done" and by.endswith(f":{second.pid}"), (state, by, log)
            # run again by the next worker (a summary asked for again meanwhile is run once
            # more from the queue, its count started anew)
            assert attempts == 2 or (kind == "version.summarize" and attempts == 1), attempts
            assert took < RECOVERY_LIMIT
            print(
                f"killed worker's {kind} job done {took:.2f} s after the next worker started "
                f"({how})"
            )
            for asset in assets:
                report = alice.get(f"/api/assets/{asset['asset_id']}/validation/").json()
                assert report["status"] != "pending"
            alice.close()
            engine.dispose()
    finally:
        if pg is not None:
            pg.drop()


def test_a_resumed_upload_sends_only_the_parts_the_archive_lacks(tmp_path: Path) -> None:
    """A part the archive acknowledged but the client never recorded (it was killed
    first, its resume record lost): the rerun asks the archive and does not send it."""
    from neurodatashare.testing.factories import dandi_etag

    data = os.urandom(70 * 2**20)  # two parts: 64 MiB + 6 MiB
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    with run_server(tmp_path / "home") as server:
        key = create_user(server, "alice")
        alice = Caller(server.direct_url, key)
        ds = alice.create_dataset("resume", metadata=publishable_metadata())
        init = alice.post(
            "/api/uploads/initialize/",
            json={
                "contentSize": len(data),
                "digest": {"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)},
                "dandiset": ds,
            },
        ).json()
        first = init["parts"][0]
        assert alice.storage.put(first["upload_url"], content=data[: first["size"]]).is_success
        offset = server.log_offset()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NDS_")}
        env.update(
            NDS_URL=server.direct_url,
            NDS_API_KEY=key,
            XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
            XDG_STATE_HOME=str(tmp_path / "xdg-state"),  # no resume record here
        )
        done = subprocess.run(
            [str(nds_executable()), "upload", str(local), "-d", ds],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "resumed" in done.stdout, done.stdout
        log = server.log_since(offset)
        sent = [
            int(n) for n in re.findall(rf"PUT /api/uploads/{init['upload_id']}/parts/(\d+)/", log)
        ]
        assert sent == [2], log[-2000:]  # the 64 MiB part 1 was not sent again
        assert f"GET /api/uploads/{init['upload_id']}/parts/" in log
        (asset,) = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["results"]
        got = alice.get(
            f"/api/assets/{asset['asset_id']}/download/",
            headers={"Range": "bytes=67108860-67108869"},
        )
        assert got.content == data[67108860:67108870]
        alice.close()
