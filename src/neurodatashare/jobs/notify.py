"""Waking workers in other processes: PostgreSQL LISTEN/NOTIFY.

`enqueue` sends a NOTIFY in the enqueuing transaction (PostgreSQL delivers it at commit,
so a woken worker finds the job); each worker process keeps one connection LISTENing and
sets the in-process wake-up event when one arrives. SQLite has no such channel: workers
there poll (`Worker.poll_seconds`), and in-process workers are woken by the event alone.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from neurodatashare.db import Database

log = logging.getLogger("neurodatashare.jobs")
CHANNEL = "nds_jobs"
RECONNECT_SECONDS = 2.0


def notify(s: Session) -> None:
    """Tell every listening worker, at the caller's commit, that a job is due."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class Listener:
    """A thread that LISTENs on PostgreSQL and sets `event` for each notification."""

    def __init__(self, db: Database, event: threading.Event) -> None:
        url = make_url(db.url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._event = event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nds-jobs-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._event.set()  # jobs queued while this was not listening
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            self._event.set()
            except Exception as exc:  # the database restarting: listen again shortly
                log.info("job notifications lost (%s); listening again", exc)
                self._stop.wait(RECONNECT_SECONDS)
