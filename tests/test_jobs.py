"""The jobs table: dedupe, claims without double work, retries, leases. Both backends."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

from sqlalchemy import select, update

from neurodatashare.db.models import Job, utcnow
from neurodatashare.jobs import Worker, claim, enqueue, fail, finish
from neurodatashare.testing.live import Live


def _jobs(live: Live) -> list[Job]:
    with live.archive.db.read() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def test_enqueue_is_deduplicated_while_active(live: Live) -> None:
    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.echo", key="a")
        enqueue(s, kind="t.echo", key="a")
        enqueue(s, kind="t.echo", key="b")
    assert [j.key for j in _jobs(live)] == ["a", "b"]
    job = claim(db, worker="w", kinds=["t.echo"])
    assert job is not None and job.key == "a"
    finish(db, job.id)
    with db.write() as s:  # done jobs no longer block a new one with the same key
        enqueue(s, kind="t.echo", key="a")
    assert [j.state for j in _jobs(live)] == ["done", "queued", "queued"]


def test_enqueue_rolls_back_with_its_transaction(live: Live) -> None:
    try:
        with live.archive.db.write() as s:
            enqueue(s, kind="t.echo", key="lost")
            raise RuntimeError("the data write failed")
    except RuntimeError:
        pass
    assert _jobs(live) == []


def test_failures_retry_then_give_up(live: Live) -> None:
    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.flaky", key="x")
    for attempt in range(1, 4):
        with db.write() as s:  # skip the back-off wait
            s.execute(update(Job).values(run_after=utcnow()))
        job = claim(db, worker="w")
        assert job is not None and job.attempts == attempt
        fail(db, job.id, error=f"boom {attempt}")
    (row,) = _jobs(live)
    assert row.state == "failed" and row.error == "boom 3"
    assert claim(db, worker="w") is None


def test_expired_leases_are_requeued(live: Live) -> None:
    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.echo", key="x")
    assert claim(db, worker="dead") is not None
    assert claim(db, worker="other") is None  # still leased
    with db.write() as s:
        s.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    again = claim(db, worker="other")
    assert again is not None and again.attempts == 2
    finish(db, again.id)  # a leased job left behind would hold up the next test's reset


def test_concurrent_workers_never_run_a_job_twice(live: Live) -> None:
    db = live.archive.db
    with db.write() as s:
        for i in range(60):
            enqueue(s, kind="t.count", key=str(i))
    seen: list[str] = []
    lock = threading.Lock()

    def handler(payload: dict[str, object]) -> None:
        with lock:
            seen.append(str(payload.get("n", "")))

    workers = [Worker(db, {"t.count": handler}) for _ in range(4)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    states = [j.state for j in _jobs(live)]
    assert states == ["done"] * 60
    assert len(seen) == 60


def test_worker_records_handler_errors(live: Live) -> None:
    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.bad", key="x")

    def bad(payload: dict[str, object]) -> None:
        raise ValueError("cannot read file")

    assert Worker(db, {"t.bad": bad}).run_one()
    (row,) = _jobs(live)
    assert row.state == "queued" and "cannot read file" in (row.error or "")


def test_enqueue_while_running_runs_the_job_once_more(live: Live) -> None:
    """A job that may have read the data before a change (a summary, a blob's steps) runs
    again after it finishes, once however often it was asked; a queued one just stays."""
    db = live.archive.db
    seen: list[dict[str, object]] = []

    def handler(payload: dict[str, object]) -> None:
        seen.append(payload)
        if len(seen) == 1:
            with db.write() as s:  # two changes arrive while the first run is going on
                enqueue(s, kind="t.sum", key="v", payload={"n": 2})
                enqueue(s, kind="t.sum", key="v", payload={"n": 3})

    with db.write() as s:
        enqueue(s, kind="t.sum", key="v", payload={"n": 1})
    assert Worker(db, {"t.sum": handler}).drain() == 2
    assert [p["n"] for p in seen] == [1, 2]
    assert "_again" not in seen[1]
    assert [j.state for j in _jobs(live)] == ["done"]


def test_enqueue_of_a_queued_job_keeps_it_due_no_later(live: Live) -> None:
    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.echo", key="a", priority=50, delay=3600)
    assert claim(db, worker="w", kinds=["t.echo"]) is None  # not due yet
    with db.write() as s:
        enqueue(s, kind="t.echo", key="a", priority=100)  # asked for now: due now
    (row,) = _jobs(live)
    assert row.priority == 50
    job = claim(db, worker="w", kinds=["t.echo"])
    assert job is not None and job.key == "a"
    finish(db, job.id)  # a running job left behind would hold up the next test's reset


ENQUEUE_ELSEWHERE = """
import sys
from neurodatashare.db import Database
from neurodatashare.jobs import enqueue
db = Database(sys.argv[1])
with db.write() as s:
    enqueue(s, kind="t.wake", key=sys.argv[2])
db.dispose()
"""


def test_a_job_queued_by_another_process_wakes_the_worker(live: Live) -> None:
    """PostgreSQL: LISTEN/NOTIFY wakes an idle worker at once (it would poll only every
    two minutes here); SQLite: the worker's polling finds it."""
    import subprocess
    import sys
    import time

    from neurodatashare.db import Database
    from neurodatashare.jobs import queue

    postgres = live.backend == "postgresql"
    ran = threading.Event()
    db = Database(live.archive.db.url)
    worker = Worker(db, {"t.wake": lambda _p: ran.set()}, poll_seconds=120 if postgres else 0.5)
    worker.start()
    try:
        time.sleep(0.5)  # let the listener connect and the first poll pass
        queue.wakeup.clear()
        subprocess.run(
            [sys.executable, "-c", ENQUEUE_ELSEWHERE, live.archive.db.url, "elsewhere"],
            check=True,
            timeout=60,
        )
        assert ran.wait(20), "the worker did not run the job another process queued"
    finally:
        worker.stop()
        db.dispose()
    assert [(j.kind, j.state) for j in _jobs(live) if j.kind == "t.wake"] == [("t.wake", "done")]


def test_a_running_job_keeps_its_lease_until_it_ends(live: Live) -> None:
    import time

    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.slow", key="x")
    started, release = threading.Event(), threading.Event()

    def slow(payload: dict[str, object]) -> None:
        started.set()
        release.wait(60)

    worker = Worker(db, {"t.slow": slow}, lease_seconds=1.0)
    running = threading.Thread(target=worker.run_one)
    running.start()
    assert started.wait(30)
    time.sleep(2.5)  # more than two leases: the worker renewed it meanwhile
    assert claim(db, worker="other", kinds=["t.slow"]) is None
    release.set()
    running.join(30)
    (row,) = _jobs(live)
    assert row.state == "done" and row.attempts == 1 and row.lease_until is None


def test_a_job_that_meets_a_storage_outage_waits_instead_of_failing(live: Live) -> None:
    from botocore.exceptions import EndpointConnectionError

    from neurodatashare.storage import unavailable

    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.s3", key="x")

    def storage_down(payload: dict[str, object]) -> None:
        try:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        except EndpointConnectionError as exc:
            raise OSError("read failed") from exc  # as h5py wraps a failed read

    worker = Worker(db, {"t.s3": storage_down}, transient=unavailable)
    for _ in range(5):  # more outages than a job has attempts
        assert worker.run_one()
        (row,) = _jobs(live)
        assert row.state == "queued" and row.attempts == 0 and row.run_after > utcnow()
        assert "read failed" in (row.error or "")
        with db.write() as s:
            s.execute(update(Job).values(run_after=utcnow()))
    # a real error still counts
    assert Worker(db, {"t.s3": lambda p: 1 / 0}, transient=unavailable).run_one()
    (row,) = _jobs(live)
    assert row.attempts == 1 and "ZeroDivisionError" in (row.error or "")


def test_jobs_of_a_dead_process_of_this_host_are_requeued_at_once(live: Live, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging
    import socket
    import subprocess
    import sys

    from neurodatashare.jobs import requeue_dead_local

    db = live.archive.db
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)  # that process has exited
    host = socket.gethostname()
    with db.write() as s:
        for key in ("dead", "alive", "elsewhere"):
            enqueue(s, kind="t.echo", key=key)
    for name in (f"{host}:{dead_pid}", f"{host}:{os.getpid()}", "another-host:1"):
        assert claim(db, worker=name) is not None
    me = f"{host}:{os.getpid() + 10_000_000}"  # a caller whose own name holds nothing
    with caplog.at_level(logging.WARNING, logger="neurodatashare.jobs"):
        requeued = requeue_dead_local(db, worker=me)
    rows = {r.key: r for r in _jobs(live)}
    assert requeued == [rows["dead"].id]
    assert rows["dead"].state == "queued" and rows["dead"].worker is None
    assert rows["alive"].state == "running" and rows["elsewhere"].state == "running"
    assert f"job {rows['dead'].id} (t.echo dead) re-queued" in caplog.text
    assert f"process {dead_pid}" in caplog.text
    # a new process with the pid of the one that held "alive": its own name, at start-up
    assert requeue_dead_local(db, worker=f"{host}:{os.getpid()}", starting=True) == [
        rows["alive"].id
    ]
    for _ in range(3):
        job = claim(db, worker="cleanup")
        if job:
            finish(db, job.id)
    with db.write() as s:
        s.execute(update(Job).values(state="done", lease_until=None))


def test_an_expired_lease_is_logged_when_taken_over(live: Live, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    db = live.archive.db
    with db.write() as s:
        enqueue(s, kind="t.echo", key="x")
    first = claim(db, worker="far-host:7")
    assert first is not None
    with db.write() as s:
        s.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    with caplog.at_level(logging.WARNING, logger="neurodatashare.jobs"):
        again = claim(db, worker="other")
    assert again is not None and again.id == first.id
    assert f"job {first.id} (t.echo x) taken over: worker far-host:7" in caplog.text
    # the first worker, back from the dead, does not finish what is now another's
    finish(db, first.id, worker="far-host:7")
    (row,) = _jobs(live)
    assert row.state == "running" and row.worker == "other"
    finish(db, again.id, worker="other")
    (row,) = _jobs(live)
    assert row.state == "done"
