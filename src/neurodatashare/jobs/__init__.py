"""Background work behind one small interface: a `jobs` table in the metadata database.

`enqueue` runs inside the caller's transaction, so a job can never be lost between a
commit and a broker. Workers claim jobs with `BEGIN IMMEDIATE` on SQLite and
`FOR UPDATE SKIP LOCKED` on PostgreSQL; tests/test_jobs.py
runs two claimers against each other.
"""

from neurodatashare.jobs.queue import (
    ClaimedJob,
    claim,
    enqueue,
    fail,
    finish,
    job_states,
    requeue_dead_local,
)
from neurodatashare.jobs.worker import Worker

__all__ = [
    "ClaimedJob",
    "Worker",
    "claim",
    "enqueue",
    "fail",
    "finish",
    "job_states",
    "requeue_dead_local",
]
