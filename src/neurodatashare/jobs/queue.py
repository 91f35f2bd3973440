"""The queue operations: enqueue, claim, finish, fail (with retries), and lease sweeps."""

from __future__ import annotations

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
LEASE = timedelta(seconds=60)  # renewed every third of it while the job runs (worker.py)
POSTPONE_SECONDS = 15  # after a failure of a service a job needs, not of the job
AGAIN = "_again"  # payload flag: enqueued again while running, so run once more
wakeup = threading.Event()  # set by enqueue so in-process workers start at once


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
    for attempt in range(5):  # the active job may change between the insert and the lookup
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
            time.sleep(0.01 * attempt)
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
    s.execute(
        update(Job)
        .where(Job.state == "running", Job.lease_until < utcnow())
        .values(state="queued", worker=None)
    )


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


def finish(db: Database, job_id: int) -> None:
    with db.write() as s:
        job = s.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None:
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
