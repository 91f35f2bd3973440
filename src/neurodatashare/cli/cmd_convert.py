"""`nds convert`: acquisition-system data plus a metadata YAML in, one checked NWB file out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from neurodatashare.cli.errors import friendly_errors
from neurodatashare.nwb.convert.formats import FORMATS, format_help
from neurodatashare.nwb.convert.metadata import EXAMPLE_YAML

_EPILOG = (
    "\b\nFormats:\n"
    + "\n".join("  " + line for line in format_help().splitlines())
    + "\n\n\b\nA complete metadata YAML (only 'subject' is required; print it with"
    " --example-metadata):\n"
    + "\n".join("  " + line for line in EXAMPLE_YAML.splitlines())
    + "\n\n\b\nExamples:\n"
    "  nds convert --format openephys --source 2024-03-04_10-15-00 --metadata meta.yaml \\\n"
    "      --out sub-mouse01_ses-day1_ecephys.nwb --trials trials.csv\n"
    "  nds convert --format tiff --source movie.tif --metadata meta.yaml --out imaging.nwb\n"
    "  nds convert --format timeseries --source speed.csv --metadata meta.yaml --out speed.nwb"
)


class MetadataProblem(click.ClickException):
    """Bad metadata: exit status 2, like other usage errors, with the key and an example."""

    exit_code = 2


@click.command("convert", epilog=_EPILOG)
@click.option(
    "--format",
    "formats",
    multiple=True,
    metavar="NAME",
    help="What --source is: a built-in format (below) or any NeuroConv format from "
    "--list-formats (SpikeGLXRecording, PhySorting, ...). Repeat it to put several "
    "streams (a recording, its sorting, a video) into one file.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="PATH | [FORMAT.]KEY=VALUE",
    help="Built-in formats: the recording folder or file. NeuroConv formats: one source "
    "option per --source, e.g. --source folder_path=run1_g0 --source stream_id=imec0.ap; "
    "with several --format, prefix the format: --source PhySorting.folder_path=phy. "
    "`--list-formats --format NAME` lists a format's options.",
)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML with subject, session and devices (example below).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="The .nwb file to write."
)
@click.option(
    "--trials",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also add a trials CSV (start_time, stop_time, ... columns).",
)
@click.option(
    "--events",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Also add point events from a CSV with a 'timestamp' column; repeatable.",
)
@click.option(
    "--stream", help="Pick one stream (Open Ephys stream, SpikeGLX 'imec0.ap', 'plane0')."
)
@click.option("--rate", type=float, help="Sampling rate in Hz for sources that do not record it.")
@click.option("--stub", is_flag=True, help="Write only the first samples, as a quick preview.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--no-inspect", is_flag=True, help="Skip the validation after writing.")
@click.option("--example-metadata", is_flag=True, help="Print a complete metadata YAML and exit.")
@click.option(
    "--list-formats",
    is_flag=True,
    help="List every format, built in and NeuroConv's, with what it reads and whether it "
    "is installed (or the pip line that installs it), and exit.",
)
@friendly_errors
def command(
    formats: tuple[str, ...],
    sources: tuple[str, ...],
    metadata: Path | None,
    out: Path | None,
    trials: Path | None,
    events: tuple[Path, ...],
    stream: str | None,
    rate: float | None,
    stub: bool,
    overwrite: bool,
    no_inspect: bool,
    example_metadata: bool,
    list_formats: bool,
) -> None:
    """Convert lab data into one NWB file, checked as the archive will check it.

    Reads --source with NeuroConv (Open Ephys, SpikeGLX, Phy, TIFF, Suite2p) or our own
    importers (time series in .npy/.csv, trials in .csv), adds the subject and session
    from --metadata, writes --out and validates it the way the archive will. Exits 2 for
    problems in the metadata, 1 if the data cannot be converted or the archive would not
    publish the file.
    """
    if example_metadata:
        click.echo(EXAMPLE_YAML, nl=False)
        return
    if list_formats:
        if formats:
            from neurodatashare.cli.convert_streams import show_options

            show_options(formats)
        else:
            _list_formats()
        return
    missing = [
        name
        for name, value in (
            ("--format", formats),
            ("--source", sources),
            ("--metadata", metadata),
            ("--out", out),
        )
        if not value
    ]
    if missing:
        raise click.UsageError(
            f"Missing {', '.join(missing)}. Example: nds convert --format openephys "
            "--source REC_FOLDER --metadata meta.yaml --out session.nwb"
        )
    assert metadata is not None and out is not None

    from rich.console import Console

    from neurodatashare.nwb.convert.metadata import MetadataError, load_metadata
    from neurodatashare.nwb.convert.pipeline import convert

    console = Console(stderr=True)
    if not (len(formats) == 1 and formats[0].lower() in FORMATS):
        from neurodatashare.cli.convert_streams import convert_neuroconv

        for flag, value in (
            ("--trials", trials),
            ("--events", events),
            ("--stream", stream),
            ("--rate", rate),
        ):
            if value:
                raise MetadataProblem(
                    f"{flag} is for the built-in formats; with NeuroConv formats give "
                    "the stream's options with --source (e.g. --source stream_id=imec0.ap)."
                )
        result = convert_neuroconv(
            console,
            formats=formats,
            sources=sources,
            metadata=metadata,
            out=out,
            stub=stub,
            overwrite=overwrite,
        )
        report(console, result, no_inspect=no_inspect)
        return
    fmt = formats[0]
    if len(sources) != 1:
        raise MetadataProblem(f"--format {fmt} reads one --source (a file or folder).")
    source = Path(sources[0])
    if not source.exists():
        raise MetadataProblem(f"--source {source}: no such file or folder.")
    try:
        meta = load_metadata(metadata)
        with console.status(f"Converting {source} ({fmt}) ..."):
            result = convert(
                format=fmt.lower(),
                source=source,
                metadata=meta,
                out=out,
                trials=trials,
                events=events,
                stream=stream,
                rate=rate,
                stub=stub,
                overwrite=overwrite,
            )
    except MetadataError as exc:
        raise MetadataProblem(f"{metadata}: {exc.message}") from exc

    report(console, result, no_inspect=no_inspect)


def report(console: Any, result: Any, *, no_inspect: bool) -> None:
    """The written file, its notes, and the archive's validation of it (exit 1 if the
    archive would not publish it)."""
    size = result.path.stat().st_size / 1e6
    click.echo(f"Wrote {result.path} ({size:.1f} MB) in {result.seconds:.1f} s.")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    if no_inspect:
        return
    from neurodatashare.validation import blocks_publishing, validate_nwb_file
    from neurodatashare.validation.types import Severity

    # The same validation the archive runs on an upload, plus the local-only checks.
    with console.status(f"Validating {result.path} as the archive will ..."):
        findings = validate_nwb_file(result.path, context_checks=True)
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity.name] = counts.get(f.severity.name, 0) + 1
    for f in findings:  # most severe first
        if f.severity >= Severity.WARNING:
            style = "yellow" if f.severity == Severity.WARNING else "bold red"
            where = f" {f.object_path}" if f.object_path else ""
            fix = f" Fix: {f.how_to_fix}" if f.how_to_fix else ""
            console.print(f"[{style}]{f.severity.name}[/] [{f.check}]{where}: {f.message}{fix}")
    order = [s.name for s in sorted(Severity, reverse=True)]
    summary = ", ".join(f"{counts[k]} {k}" for k in order if k in counts) or "no findings"
    if not blocks_publishing(findings):
        console.print(f"[green]Validation (as the archive runs it): {summary}; ready to upload.[/]")
    else:
        console.print(
            f"[bold red]Validation (as the archive runs it): {summary}; the archive would not "
            "publish this file.[/]"
        )
        console.print("Run `nds validate` on it for the full report.")
        sys.exit(1)


def _list_formats() -> None:
    """One line per format: ours (with --format) first, then NeuroConv's registry."""
    from neurodatashare.nwb.convert.registry import (
        INSTALL_NEUROCONV,
        neuroconv_formats,
        neuroconv_installed,
    )

    rows = [
        (s.name, s.modality, s.source, "built in: --format " + s.name) for s in FORMATS.values()
    ]
    for f in neuroconv_formats():
        status = "installed" if f.installed else f"not installed: {f.install}"
        rows.append((f.name, f.modality, " ".join(f.reads) or "-", status))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for name, modality, reads, status in rows:
        click.echo(f"{name.ljust(widths[0])}  {modality.ljust(widths[1])}  {reads}  [{status}]")
    if not neuroconv_installed():
        click.echo(f"NeuroConv's formats need NeuroConv: {INSTALL_NEUROCONV}")
