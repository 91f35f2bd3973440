"""The threaded runner behind uploads and downloads, and the summary of a finished run.

`Uploader` (`neurodatashare.client.upload`) and `Downloader`
(`neurodatashare.client.download`) are generators of status dicts (the CLI draws them as
progress bars, the Python API just drains them), run their work in threads, and stop
cleanly when the consumer stops iterating (Ctrl-C, or an exception in the consumer):

* `{"event": "file-start", "path", "size"}`
* `{"event": "progress", "path", "phase", "bytes"}`: `phase` is `hash` (reading the local
  file), `check` (re-reading a partial download) or `transfer` (bytes sent or received;
  negative when a failed attempt is rolled back)
* `{"event": "part-done", "path", "part"}` (uploads)
* `{"event": "file-done", "path", "status", ...}`: `status` is `uploaded`, `resumed`,
  `deduplicated` (the archive already had the bytes), `skipped` (unchanged) or
  `downloaded`
* `{"event": "file-error", "path", "error", "message"}`
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from neurodatashare.client.errors import ClientError, TransferError

if TYPE_CHECKING:
    from neurodatashare.client.http import RestClient

CHUNK = 1 << 20  # bytes per read, write and progress event
PART_SUFFIX = ".ndspart"  # a partial download; uploads leave such files out
Event = dict[str, Any]
T = TypeVar("T")


class Cancelled(Exception):
    """The consumer stopped iterating; workers stop at the next chunk."""


def run_parts(
    pool: ThreadPoolExecutor,
    work: Callable[[Any], T],
    items: Iterable[Any],
    *,
    stop: threading.Event,
) -> list[T]:
    """`work(item)` for every item in `pool`, results in order; the first failure sets
    `stop`, cancels the rest and is raised (Cancelled when the pool was shut down).

    Results are taken with `Future.result()`, not `concurrent.futures.wait`: a future
    cancelled by `shutdown(cancel_futures=True)` never notifies waiters.
    """

    def on_done(future: Future[T]) -> None:
        if not future.cancelled() and future.exception() is not None:
            stop.set()

    futures = []
    for item in items:
        future = pool.submit(work, item)
        future.add_done_callback(on_done)
        futures.append(future)
    results: list[T] = []
    errors: list[BaseException] = []
    for future in futures:
        try:
            results.append(future.result())
        except CancelledError:
            errors.append(Cancelled())
        except Exception as exc:
            stop.set()
            for other in futures:
                other.cancel()
            errors.append(exc)
    real = [e for e in errors if not isinstance(e, Cancelled)]
    if real or errors:
        raise (real or errors)[0]
    return results


class Engine:
    """Runs one work function per file in threads and yields the events they emit."""

    def __init__(self, client: RestClient, *, jobs: int = 4) -> None:
        self.client = client
        self.jobs = max(1, int(jobs))
        self.cancel = threading.Event()
        self._events: queue.Queue[Event] = queue.Queue()

    def emit(self, event: str, **fields: Any) -> None:
        self._events.put({"event": event, **fields})

    def _guard(self, work: Callable[[T], None], item: T, name: str) -> None:
        if self.cancel.is_set():
            return
        try:
            work(item)
        except Cancelled:
            return
        except ClientError as exc:
            self.emit("file-error", path=name, error=exc, message=exc.message)
        except OSError as exc:
            err = ClientError(f"{exc.filename or name}: {exc.strerror or exc}")
            self.emit("file-error", path=name, error=err, message=err.message)
        except Exception as exc:  # a bug must not become a traceback in the CLI
            err = ClientError(f"{name}: unexpected error: {exc!r}")
            self.emit("file-error", path=name, error=err, message=err.message)

    def _run(
        self, items: Sequence[T], work: Callable[[T], None], name: Callable[[T], str]
    ) -> Iterator[Event]:
        if not items:
            return
        self.cancel.clear()
        pool = ThreadPoolExecutor(
            max_workers=min(self.jobs, len(items)), thread_name_prefix="nds-file"
        )
        try:
            pending = {pool.submit(self._guard, work, item, name(item)) for item in items}
            while True:
                try:
                    event = self._events.get(timeout=0.05)
                except queue.Empty:
                    pending = {f for f in pending if not f.done()}
                    if not pending and self._events.empty():
                        return
                    continue
                yield event
        finally:
            self.cancel.set()
            self._stop_helpers()
            pool.shutdown(wait=True, cancel_futures=True)
            self._finish()

    def _stop_helpers(self) -> None:
        """Subclasses stop their own helper pools here (without waiting)."""

    def _finish(self) -> None:
        """Subclasses save caches here."""

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Cancelled


@dataclass
class TransferSummary:
    """What a finished upload or download did, file by file."""

    done: dict[str, str] = field(default_factory=dict)  # path -> status
    failed: dict[str, ClientError] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)  # path -> asset id (uploads)
    local: dict[str, Path] = field(default_factory=dict)  # path -> local file (downloads)
    bytes: int = 0

    def add(self, event: Event) -> None:
        kind = event["event"]
        if kind == "file-done":
            self.done[event["path"]] = event["status"]
            if event.get("asset_id"):
                self.assets[event["path"]] = event["asset_id"]
            if event.get("local"):
                self.local[event["path"]] = Path(event["local"])
        elif kind == "file-error":
            self.failed[event["path"]] = event["error"]
        elif kind == "progress" and event.get("phase") == "transfer" and not event.get("resumed"):
            self.bytes += int(event["bytes"])

    def raise_for_failures(self, what: str) -> None:
        if not self.failed:
            return
        first_path, first = next(iter(self.failed.items()))
        more = f" (and {len(self.failed) - 1} more)" if len(self.failed) > 1 else ""
        raise TransferError(
            f"{len(self.failed)} of {len(self.failed) + len(self.done)} file(s) failed to "
            f"{what}. {first_path}: {first.message}{more}",
            failures=dict(self.failed),
        )


def drain(events: Iterable[Event]) -> TransferSummary:
    """Run an engine to the end without drawing anything."""
    summary = TransferSummary()
    for event in events:
        summary.add(event)
    return summary
