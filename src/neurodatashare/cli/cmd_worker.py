"""`nds worker`: run background jobs in a separate process (for scaling out)."""

from __future__ import annotations

import contextlib

import click

from neurodatashare.cli.errors import friendly_errors


@click.command(name="worker")
@click.option("--threads", type=int, default=1, show_default=True, help="Jobs run at once.")
@click.option("--once", is_flag=True, help="Run the jobs that are ready, then exit.")
@friendly_errors
def command(threads: int, once: bool) -> None:
    """Run background jobs (metadata extraction, validation) against NDS_DATABASE_URL.

    Start `nds serve` with NDS_WORKER_THREADS=0 and one or more `nds worker` processes
    when the work should not share the server's process.
    """
    import signal
    import time

    from neurodatashare.archive import Archive
    from neurodatashare.archive.processing import handlers
    from neurodatashare.config import Settings
    from neurodatashare.jobs import Worker
    from neurodatashare.storage import unavailable

    settings = Settings()
    archive = Archive.open(settings)
    worker = Worker(
        archive.db,
        handlers(archive),
        threads=threads,
        lease_seconds=settings.job_lease_seconds,
        transient=unavailable,
    )
    try:
        if once:
            done = worker.drain()
            click.echo(f"ran {done} job(s)")
            return
        signal.signal(signal.SIGTERM, _interrupt)
        worker.start()
        click.echo(f"worker {worker.name} running {threads} thread(s); Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            # Python runs a signal's handler in this thread only when it runs Python code:
            # a SIGTERM that another thread received is seen within a second of sleep,
            # where an untimed wait (the former `Event.wait()`) never woke for it.
            while True:
                time.sleep(1)
        worker.stop()
    finally:
        archive.close()


def _interrupt(*_: object) -> None:
    """SIGTERM stops the worker as Ctrl-C does. Raising is safe wherever this thread is,
    where setting an Event here could wait forever for the Event's lock it holds."""
    raise KeyboardInterrupt
