"""Worker threads that claim and run jobs; used in-process by `nds serve` and by `nds worker`."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from neurodatashare.db import Database
from neurodatashare.jobs import queue
from neurodatashare.jobs.notify import Listener

log = logging.getLogger("neurodatashare.jobs")
Handler = Callable[[dict[str, Any]], None]


_started = threading.Event()


def _first_in_process() -> bool:
    """True once per process: before its first worker runs, no job held under this
    process's name ("host:pid") can be its own, so such jobs belong to a dead process."""
    first = not _started.is_set()
    _started.set()
    return first


class Worker:
    """Runs handlers for claimed jobs in `threads` background threads."""

    def __init__(
        self,
        db: Database,
        handlers: dict[str, Handler],
        *,
        threads: int = 1,
        poll_seconds: float = 2.0,
        lease_seconds: float = queue.LEASE.total_seconds(),
        transient: Callable[[BaseException], bool] = lambda exc: False,
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.transient = transient  # failures that say "later", not "this job is broken"
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: Listener | None = None
        self._recovered_at: float | None = None  # monotonic time of the last dead-pid check

    def recover(self, *, starting: bool = False) -> list[int]:
        """Take back the jobs of this host's dead workers (see `queue.requeue_dead_local`).
        Run at start-up, then about once a lease from the loop: a killed `nds worker` beside
        this process is noticed in seconds, not when its lease runs out."""
        self._recovered_at = time.monotonic()
        try:
            return queue.requeue_dead_local(self.db, worker=self.name, starting=starting)
        except Exception:
            log.warning("could not look for the jobs of dead workers", exc_info=True)
            return []

    def _recover_if_due(self) -> None:
        last = self._recovered_at
        if last is None or time.monotonic() - last > self.lease.total_seconds():
            self.recover(starting=_first_in_process())

    def run_one(self) -> bool:
        """Claim and run one job; False when none was ready."""
        job = queue.claim(self.db, worker=self.name, kinds=list(self.handlers), lease=self.lease)
        if job is None:
            return False
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(job, done), name=f"nds-lease-{job.id}", daemon=True
        )
        renewer.start()
        try:
            self.handlers[job.kind](job.payload)
        except Exception as exc:
            if self.transient(exc):
                log.warning("job %s %s postponed: %s", job.kind, job.key, exc)
                queue.postpone(self.db, job.id, error=traceback.format_exc())
                return True
            log.warning(
                "job %s %s failed (attempt %d)", job.kind, job.key, job.attempts, exc_info=True
            )
            queue.fail(self.db, job.id, error=traceback.format_exc())
        else:
            queue.finish(self.db, job.id, worker=self.name)
        finally:
            done.set()
        return True

    def _renew(self, job: queue.ClaimedJob, done: threading.Event) -> None:
        """Keep the job's lease while it runs: a job outlives its lease only if this
        process dies (or stops), and then another worker runs it after the lease."""
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                if not queue.renew(self.db, job.id, worker=self.name, lease=self.lease):
                    log.warning("job %s %s was taken over by another worker", job.kind, job.key)
                    return
            except Exception:
                log.warning("could not renew the lease of job %s", job.id, exc_info=True)

    def drain(self, *, limit: int = 10_000) -> int:
        """Run ready jobs in this thread until none is left (tests and `nds worker --once`)."""
        self._recover_if_due()
        done = 0
        while done < limit and self.run_one():
            done += 1
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._recover_if_due()
                if self.run_one():
                    continue
            except Exception:
                log.exception("worker loop error")
            queue.wakeup.wait(self.poll_seconds)
            queue.wakeup.clear()

    def start(self) -> None:
        self.recover(starting=_first_in_process())  # before any thread claims
        if self.threads and not self.db.is_sqlite:
            self._listener = Listener(self.db, queue.wakeup)  # jobs queued by other processes
            self._listener.start()
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"nds-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        queue.wakeup.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
