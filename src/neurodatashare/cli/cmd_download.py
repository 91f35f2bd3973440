"""`nds download DATASET[@VERSION][/PATH]`: parallel, resumable, verified downloads."""

from __future__ import annotations

from pathlib import Path

import click

from neurodatashare.cli.client_support import (
    ClientCommand,
    client_errors,
    open_client,
    report_transfer,
    show_transfer,
)


@click.command(name="download", cls=ClientCommand)
@click.argument("target")
@click.option(
    "-o",
    "--output",
    "output",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to download into.",
)
@click.option(
    "-j",
    "--jobs",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Files, and 64 MiB ranges of large files, downloaded at the same time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def command(target: str, output: Path, jobs: int, as_json: bool) -> None:
    """Download a dataset, a folder or a file.

    \b
    nds download 000001                 the draft, into ./000001/
    nds download 000001@0.251123.0001   a published version
    nds download 000001/sub-1/          a folder, into ./sub-1/
    nds download 000001/sub-1/a.nwb     one file, into ./a.nwb

    Each file is written as NAME.ndspart in 64 MiB ranges fetched side by side, resumed
    from there if interrupted, checked against the archive's digest, and only then
    renamed to NAME. Files already present with the same content are skipped.
    """
    from neurodatashare.client.download import Downloader
    from neurodatashare.client.remote import RemoteVersion, parse_target

    ident, version, path = parse_target(target)
    with open_client() as client:
        dataset = client.dataset(ident)
        ver = RemoteVersion(dataset, version or "draft")
        items = ver.download_items(output, path=path)
        events = Downloader(client, jobs=jobs).iter_download(items)
        summary = show_transfer(
            events,
            verb="Downloading",
            files=len(items),
            total=sum(i.size for i in items),
            as_json=as_json,
        )
    report_transfer(
        summary,
        what="Download",
        as_json=as_json,
        extra={"dataset": ident, "version": ver.identifier},
    )
