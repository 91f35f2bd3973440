"""The queue operations: enqueue, claim, finish, fail (with retries), and lease sweeps."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from neurodatashare.db import Database
from neurodatashare.db.models import Job, utcnow
from neurodatashare.jobs.notify import notify

ACTIVE = text("state IN ('queued', 'running')")
LEASE = timedelta(seconds=15)  # renewed every third of it while the job runs (worker.py)
POSTPONE_SECONDS = 15  # after a failure of a service a job needs, not of the job
AGAIN = "_again"  # payload flag: enqueued again while running, so run once more
wakeup = threading.Event()  # set by enqueue so in-process workers start at once
log = logging.getLogger("neurodatashare.jobs")
ENQUEUE_PATIENCE = 5.0  # seconds enqueue looks for an active job whose row is locked


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int


def enqueue(
    s: Session,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any] | None = None,
    priority: int = 100,
    delay: float = 0,
) -> None:
    """Queue a job in the caller's transaction, to run `delay` seconds from now.

    If the same (kind, key) is already queued, it stays the one job, due no later and at
    no lower a priority than this call asks. If it is running, it is marked to run once
    more when it finishes: it may have read the data before this caller's change (a
    version's summary, a blob's steps).
    """
    due = utcnow() + timedelta(seconds=delay)
    values = {
        "kind": kind,
        "key": key,
        "payload": payload or {},
        "priority": priority,
        "state": "queued",
        "attempts": 0,
        "max_attempts": 3,
        "run_after": due,
        "created": utcnow(),
    }
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The active job may change between the insert and the lookup, and a claim, heartbeat
    # or finish may hold its row for a while on a loaded machine: look again for up to
    # ENQUEUE_PATIENCE seconds, never silently less (a lost request left a draft Pending).
    patience = time.monotonic() + ENQUEUE_PATIENCE
    attempt = 0
    while True:
        attempt += 1
        inserted = s.scalar(
            insert(Job)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["kind", "key"], index_where=ACTIVE)
            .returning(Job.id)
        )
        if inserted is not None:
            break
        # Never wait for the job's row lock while holding the caller's: a claim or finish
        # holds it only for a moment, so look again shortly instead (no deadlock possible).
        active = s.scalar(
            select(Job)
            .where(Job.kind == kind, Job.key == key, ACTIVE)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if active is None:
            if time.monotonic() > patience:
                log.warning("job %s %s was not queued: its active row stayed locked", kind, key)
                break
            time.sleep(min(0.01 * attempt, 0.1))
            continue
        if active.state == "running" and not active.payload.get(AGAIN):
            active.payload = {**active.payload, **(payload or {}), AGAIN: True}
        elif active.state == "queued":
            active.run_after = min(active.run_after, due)
            active.priority = min(active.priority, priority)
        break
    notify(s)
    wakeup.set()


def _requeue_expired(s: Session) -> None:
    """Jobs whose worker died (lease passed) go back to the queue."""
    now = utcnow()
    # Who held them, for the log; the UPDATE decides (it waits for a row another claim
    # is re-queueing, then sees it queued: a skipped lock would make this claim miss it).
    held = {
        row.id: row
        for row in s.execute(
            select(Job.id, Job.kind, Job.key, Job.worker, Job.lease_until).where(
                Job.state == "running", Job.lease_until < now
            )
        )
    }
    if not held:
        return
    requeued = s.scalars(
        update(Job)
        .where(Job.state == "running", Job.lease_until < now)
        .values(state="queued", worker=None, lease_until=None)
        .returning(Job.id)
    ).all()
    for job_id in requeued:
        row = held.get(job_id)
        log.warning(
            "job %d (%s %s) taken over: worker %s stopped renewing its lease (ended %s)",
            job_id,
            row.kind if row else "?",
            row.key if row else "?",
            row.worker if row else "?",
            row.lease_until.isoformat(timespec="seconds") if row and row.lease_until else "?",
        )


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (signal 0 checks, sends
    nothing); one we may not signal (another user's) exists too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def requeue_dead_local(db: Database, *, worker: str, starting: bool = False) -> list[int]:
    """Re-queue at once the running jobs of this host's workers whose process is gone.

    Worker names are "host:pid". A job held by a pid of this host that no longer exists
    would otherwise wait for its lease to run out. With `starting`, jobs held under this
    process's own name are taken back too: a new process that was given the pid of a dead
    one (a container restarted as pid 1) has not claimed anything yet. Returns the ids.
    """
    host, _, own = worker.rpartition(":")
    with db.write() as s:
        rows = s.execute(
            select(Job.id, Job.kind, Job.key, Job.worker)
            .where(Job.state == "running", Job.worker.like(f"{host}:%"))
            .with_for_update(skip_locked=True)
        ).all()
        dead = []
        for row in rows:
            its_host, _, pid = (row.worker or "").rpartition(":")
            if its_host != host or not pid.isdigit():  # LIKE's `_` matches any character
                continue
            if pid == own:
                if starting:
                    dead.append((row, "it was held by an earlier process with this pid"))
            elif not pid_alive(int(pid)):
                dead.append((row, f"its worker process {pid} on {host} no longer exists"))
        if not dead:
            return []
        s.execute(
            update(Job)
            .where(Job.id.in_([row.id for row, _ in dead]), Job.state == "running")
            .values(state="queued", worker=None, lease_until=None, run_after=utcnow())
        )
    for row, why in dead:
        log.warning("job %d (%s %s) re-queued: %s", row.id, row.kind, row.key, why)
    wakeup.set()
    return [row.id for row, _ in dead]


def claim(
    db: Database, *, worker: str, kinds: list[str] | None = None, lease: timedelta = LEASE
) -> ClaimedJob | None:
    with db.write() as s:
        _requeue_expired(s)
        query = (
            select(Job)
            .where(Job.state == "queued", Job.run_after <= utcnow())
            .order_by(Job.priority, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        job = s.scalar(query)
        if job is None:
            return None
        job.state = "running"
        job.attempts += 1
        job.worker = worker
        job.lease_until = utcnow() + lease
        return ClaimedJob(job.id, job.kind, job.key, dict(job.payload), job.attempts)


def renew(db: Database, job_id: int, *, worker: str, lease: timedelta = LEASE) -> bool:
    """Extend a running job's lease; False if the job is no longer this worker's (its
    lease ran out and another worker took it over)."""
    with db.write() as s:
        renewed = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.state == "running")
            .values(lease_until=utcnow() + lease)
        )
        return bool(getattr(renewed, "rowcount", 0))


def finish(db: Database, job_id: int, *, worker: str | None = None) -> None:
    """Mark the job done (or queued again, see `enqueue`). With `worker`, only while the
    job is still that worker's: one that was taken over is the new worker's to finish."""
    with db.write() as s:
        job = s.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None or (worker is not None and job.worker != worker):
            return
        job.lease_until = None
        job.error = None
        if job.payload.get(AGAIN):
            job.payload = {k: v for k, v in job.payload.items() if k != AGAIN}
            job.state, job.attempts, job.run_after, job.worker = "queued", 0, utcnow(), None
            wakeup.set()
        else:
            job.state, job.finished = "done", utcnow()


def fail(db: Database, job_id: int, *, error: str) -> None:
    """Retry with exponential back-off, then give up and keep the error for people to see."""
    _failed(db, job_id, error=error, counted=True)


def postpone(db: Database, job_id: int, *, error: str) -> None:
    """Run the job again later without counting this attempt: what failed was a service
    it needs (the object storage), not the job."""
    _failed(db, job_id, error=error, counted=False)


def _failed(db: Database, job_id: int, *, error: str, counted: bool) -> None:
    with db.write() as s:
        job = s.get(Job, job_id)
        if job is None:
            return
        job.error = error[-4000:]
        job.lease_until = None
        if not counted:
            job.attempts = max(0, job.attempts - 1)
            delay = POSTPONE_SECONDS
        elif job.attempts < job.max_attempts:
            delay = 2**job.attempts + random.random()
        else:
            job.state, job.finished = "failed", utcnow()
            return
        job.state, job.worker = "queued", None
        job.run_after = utcnow() + timedelta(seconds=delay)


def job_states(s: Session, *, key: str) -> dict[str, str]:
    """kind -> state of the newest job for `key` (for status reports)."""
    rows = s.execute(select(Job.kind, Job.state).where(Job.key == key).order_by(Job.id)).all()
    return {kind: state for kind, state in rows}
