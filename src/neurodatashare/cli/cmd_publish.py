"""`nds publish DATASET`: publish the draft as a citable, immutable version."""

from __future__ import annotations

import click

from neurodatashare.cli.client_support import ClientCommand, client_errors, echo_json, open_client


@click.command(name="publish", cls=ClientCommand)
@click.argument("dataset")
@click.option(
    "--wait", is_flag=True, help="Wait until the archive has checked every file, then publish."
)
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    help="Seconds --wait waits while no file gets checked (progress resets it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new version as JSON.")
@client_errors
def command(dataset: str, wait: bool, timeout: float, as_json: bool) -> None:
    """Publish a dataset's draft as a new version (0.YYMMDD.NNNN).

    If the archive refuses, its explanation is printed: missing metadata, or the files
    whose validation found errors. Files are checked in the background after upload;
    --wait waits for that instead of failing while they are still being checked.
    """
    from neurodatashare.client.remote import dataset_identifier

    with open_client() as client:
        ds = client.dataset(dataset_identifier(dataset))
        if wait:
            if not as_json:
                click.echo(
                    f"Waiting for the archive to check the files of {ds.identifier}...", err=True
                )
            status = ds.wait_until_checked(
                timeout=timeout, on_wait=None if as_json else lambda m: click.echo(m, err=True)
            )
            if not as_json:
                click.echo(f"Draft status: {status}.", err=True)
        version = ds.publish()
    if as_json:
        echo_json(version.data)
        return
    meta = version.data.get("metadata") or {}
    click.echo(f"Published {ds.identifier} version {version.identifier}.")
    if meta.get("url"):
        click.echo(f"URL: {meta['url']}")
    if meta.get("citation"):
        click.echo(f"Cite as: {meta['citation']}")
