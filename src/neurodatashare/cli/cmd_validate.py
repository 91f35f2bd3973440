"""`nds validate PATH...`: check NWB files before upload, the way the archive will."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from neurodatashare.validation.types import Severity

if TYPE_CHECKING:
    from rich.console import Console

    from neurodatashare.validation.types import ValidationResult

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.HINT: "cyan",
    Severity.INFO: "dim",
}


def _print_report(console: Console, report: dict[str, list[ValidationResult]], hidden: int) -> None:
    from rich.table import Table
    from rich.text import Text

    for file, results in report.items():
        title = Text(file, style="bold")
        if not results:
            console.print(title, Text("  no problems found", style="green"))
            continue
        console.print(title)
        table = Table(show_header=True, header_style="bold", expand=True, show_lines=True)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Problem", ratio=1)
        table.add_column("How to fix", ratio=1)
        for r in results:  # already most severe first
            where = Text(f"\nat {r.object_path}", style="dim") if r.object_path else Text("")
            table.add_row(
                Text(r.severity.name, style=_STYLE[r.severity]),
                Text(r.message) + where,
                Text(r.how_to_fix or "", style="italic")
                + Text(f"\n[{r.origin}: {r.check}]", style="dim"),
            )
        console.print(table)
    if hidden:
        console.print(Text(f"{hidden} finding(s) below --min-severity not shown.", style="dim"))


def _summary(report: dict[str, list[ValidationResult]]) -> str:
    counts = {s: 0 for s in Severity}
    for results in report.values():
        for r in results:
            counts[r.severity] += 1
    bad = sum(1 for results in report.values() if any(r.blocking for r in results))
    parts = [f"{n} {s.name}" for s, n in sorted(counts.items(), reverse=True) if n]
    files = f"{len(report)} file{'s' if len(report) != 1 else ''} checked"
    verdict = f"{bad} cannot be published as is" if bad else "all can be published"
    return f"{files}: {', '.join(parts) or 'no findings'}; {verdict}."


def _validate(
    files: list[Path], *, progress: Callable[[Path], None] | None = None
) -> dict[str, list[ValidationResult]]:
    """NWB files together (they are also compared with each other), then each other file
    by its format; the report in the order the files were found."""
    from neurodatashare.formats.local import check_local, is_nwb
    from neurodatashare.validation.run import validate_paths

    nwb = [f for f in files if is_nwb(f)]
    found = validate_paths(nwb, progress=progress) if nwb else {}
    report: dict[str, list[ValidationResult]] = {}
    for f in files:
        if f in nwb:
            report[str(f)] = found.get(str(f), [])
            continue
        if progress is not None:
            progress(f)
        report[str(f)] = check_local(f)
    return report


@click.command("validate")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.option(
    "--min-severity",
    type=click.Choice([s.name for s in Severity], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Show only findings at this level or above (the exit status still counts all).",
)
def command(paths: tuple[Path, ...], as_json: bool, min_severity: str) -> None:
    """Validate files (and folders of them) before upload, as the archive will.

    NWB files get the NWB schema check (pynwb), the NWB Inspector with the DANDI
    configuration and the archive's metadata rules; AnnData (.h5ad), SWC and Neurolucida
    morphologies, NeuroML models and OME-Zarr folders get their format's checks. Exits
    with status 1 if any file has an ERROR or CRITICAL finding (it could not be
    published), 0 otherwise.
    """
    from rich.console import Console

    from neurodatashare.formats.local import iter_checked_paths

    threshold = Severity.parse(min_severity)
    err = Console(stderr=True)
    files = iter_checked_paths(paths)
    if not files:
        # A gate that checked nothing must not pass (e.g. `nds validate data/ && upload`).
        named = ", ".join(str(p) for p in paths)
        err.print(
            f"No files to check found in {named}: folders are searched for NWB, h5ad, SWC, "
            "NeuroML and OME-Zarr files (hidden files and folders below them are skipped). "
            "Nothing was validated."
        )
        sys.exit(1)

    if err.is_terminal and len(files) > 1:
        from rich.progress import Progress

        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Validating", total=len(files))

            def step(path: Path) -> None:
                progress.update(task, description=f"Validating {path.name}")
                progress.advance(task)

            report = _validate(files, progress=step)
    else:
        report = _validate(files)

    failed = any(r.blocking for results in report.values() for r in results)
    shown = {f: [r for r in rs if r.severity >= threshold] for f, rs in report.items()}
    hidden = sum(len(rs) for rs in report.values()) - sum(len(rs) for rs in shown.values())

    if as_json:
        findings = [r.model_dump(mode="json") for rs in shown.values() for r in rs]
        click.echo(json.dumps(findings, indent=2))
    else:
        console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 120)
        _print_report(console, shown, hidden)
        console.print(_summary(report), style="bold red" if failed else "bold green")
    if failed:
        sys.exit(1)
