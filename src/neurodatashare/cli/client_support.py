"""What the client commands (`login`, `ls`, `upload`, `download`, `rm`, `publish`)
share: the command class, the error-to-exit-code mapping, JSON output and progress.

Exit codes of the client commands: 0 success; 1 a usage error or a request the archive
refused; 2 not found; 3 authentication (no key, wrong key, not allowed); 4 network (the
archive cannot be reached or the connection broke); 5 verification failed or some files
of a transfer failed (`neurodatashare.client.errors`).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from neurodatashare.client.errors import EXIT_OTHER, ClientError
from neurodatashare.errors import NDSError
from neurodatashare.formatting import human_size

if TYPE_CHECKING:
    from neurodatashare.client.engine import Event, TransferSummary
    from neurodatashare.client.remote import Client

F = TypeVar("F", bound=Callable[..., Any])


# -- shared by the client commands (login, ls, upload, download, rm, publish) --------------


class ClientCommand(click.Command):
    """A click command whose usage errors exit with 1 (2 means "not found" here)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = EXIT_OTHER  # type: ignore[misc]  # click declares a ClassVar
            raise


class ExitError(click.ClickException):
    """One message on stderr (and JSON on stdout with --json), and the exit code."""

    def __init__(self, message: str, exit_code: int, *, as_json: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares a ClassVar
        self.as_json = as_json

    def show(self, file: Any = None) -> None:
        if self.as_json:
            echo_json({"error": {"message": self.message, "exit_code": self.exit_code}})
        super().show(file)


def client_errors(func: F) -> F:
    """Turn client and library errors into one message and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except ClientError as exc:
            raise ExitError(exc.message, exc.exit_code, as_json=as_json) from exc
        except NDSError as exc:
            raise ExitError(exc.message, EXIT_OTHER, as_json=as_json) from exc
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise ExitError(f"{where}{exc.strerror or exc}", EXIT_OTHER, as_json=as_json) from exc
        except KeyboardInterrupt as exc:
            raise ExitError(
                "Interrupted. Run the same command again to resume.", 130, as_json=as_json
            ) from exc

    return wrapper  # type: ignore[return-value]


def open_client() -> Client:
    from neurodatashare.client.remote import Client

    return Client(on_wait=lambda message: click.echo(message, err=True))


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def show_transfer(
    events: Iterable[Event], *, verb: str, files: int, total: int, as_json: bool
) -> TransferSummary:
    """Draw an engine's events: bars per file and in total on a terminal, else lines."""
    from rich.console import Console

    from neurodatashare.client.engine import TransferSummary

    summary = TransferSummary()
    err = Console(stderr=True)
    if as_json or not err.is_terminal:
        for event in events:
            summary.add(event)
            if as_json:
                continue
            if event["event"] == "file-done":
                click.echo(f"{event['status']:<12} {event['path']}")
            elif event["event"] == "file-error":
                click.echo(f"{'failed':<12} {event['path']}: {event['message']}", err=True)
        return summary

    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    moved: Counter[str] = Counter()
    sizes: dict[str, int] = {}
    tasks: dict[str, TaskID] = {}
    phases: dict[str, str] = {}
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as progress:
        overall = progress.add_task(f"{verb} {files} file(s)", total=total)
        for event in events:
            summary.add(event)
            kind, path = event["event"], event.get("path", "")
            if kind == "file-start":
                sizes[path] = int(event["size"])
                tasks[path] = progress.add_task(_short(path), total=sizes[path])
            elif kind == "progress" and path in tasks:
                phase = event["phase"]
                if phases.get(path) != phase:
                    phases[path] = phase
                    label = {"hash": "hashing ", "check": "checking "}.get(phase, "")
                    progress.reset(tasks[path], total=sizes[path], description=label + _short(path))
                progress.advance(tasks[path], int(event["bytes"]))
                if phase == "transfer":
                    moved[path] += int(event["bytes"])
                    progress.advance(overall, int(event["bytes"]))
            elif kind in ("file-done", "file-error"):
                progress.advance(overall, sizes.get(path, 0) - moved[path])
                if path in tasks:
                    progress.remove_task(tasks.pop(path))
                if kind == "file-done":
                    progress.console.print(f"{event['status']:<12} {escape(path)}", highlight=False)
                else:
                    progress.console.print(
                        f"[red]{'failed':<12}[/] {escape(path)}: {escape(event['message'])}"
                    )
    return summary


def _short(path: str, width: int = 40) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def report_transfer(summary: TransferSummary, *, what: str, as_json: bool, extra: Any) -> None:
    """Print the outcome; raise (exit code from the failures) if any file failed."""
    if as_json:
        echo_json(
            {
                **extra,
                "files": [
                    {
                        "path": path,
                        "status": status,
                        **({"asset_id": summary.assets[path]} if path in summary.assets else {}),
                        **({"local": str(summary.local[path])} if path in summary.local else {}),
                    }
                    for path, status in summary.done.items()
                ],
                "failed": [
                    {"path": path, "message": e.message, "exit_code": e.exit_code}
                    for path, e in summary.failed.items()
                ],
                "bytes": summary.bytes,
            }
        )
    else:
        counts = Counter(summary.done.values())
        parts = [f"{n} {status}" for status, n in sorted(counts.items())]
        if summary.failed:
            parts.append(f"{len(summary.failed)} failed")
        done = ", ".join(parts) or "nothing to do"
        click.echo(f"{what}: {done} ({human_size(summary.bytes)} transferred).")
    if summary.failed:
        try:
            summary.raise_for_failures(what.lower())
        except ClientError as exc:
            raise ExitError(exc.message, exc.exit_code) from exc
