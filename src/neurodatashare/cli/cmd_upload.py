"""`nds upload PATH... --dataset ID`: parallel, resumable upload into a dataset's draft."""

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


@click.command(name="upload", cls=ClientCommand)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-d", "--dataset", "dataset", required=True, help="The dataset id, e.g. 000001.")
@click.option(
    "--path-prefix",
    default="",
    help="Folder in the dataset to upload into (default: its top level).",
)
@click.option(
    "-j",
    "--jobs",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Parts and files sent at the same time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def command(
    paths: tuple[Path, ...], dataset: str, path_prefix: str, jobs: int, as_json: bool
) -> None:
    """Upload files and folders to a dataset's draft.

    A file goes to PREFIX/NAME; a folder's contents go to PREFIX/ with their relative
    paths (hidden files are left out). A `*.zarr` or `*.ngff` folder (OME-Zarr, NWB-Zarr)
    is one Zarr asset with every file in it, dot-files included; uploading it again sends
    only the files that changed and removes the ones you deleted. Files already in the
    draft with the same content are skipped, content the archive already holds is not
    sent again, and an interrupted upload resumes where it stopped when you run the
    command again.
    """
    from neurodatashare.client.remote import dataset_identifier
    from neurodatashare.client.upload import Uploader, collect_uploads

    ident = dataset_identifier(dataset)
    items = collect_uploads(paths, path_prefix=path_prefix)
    with open_client() as client:
        client.dataset(ident)  # a clear "not found" before any work
        events = Uploader(client, ident, jobs=jobs).iter_upload(items)
        summary = show_transfer(
            events,
            verb="Uploading",
            files=len(items),
            total=sum(i.size for i in items),
            as_json=as_json,
        )
    report_transfer(summary, what="Upload", as_json=as_json, extra={"dataset": ident})
