"""`nds rm DATASET/PATH...`: remove files or folders from a dataset's draft."""

from __future__ import annotations

import click

from neurodatashare.cli.client_support import (
    ClientCommand,
    client_errors,
    echo_json,
    open_client,
)
from neurodatashare.client.errors import ClientError
from neurodatashare.formatting import human_size


@click.command(name="rm", cls=ClientCommand)
@click.argument("targets", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def command(targets: tuple[str, ...], yes: bool, as_json: bool) -> None:
    """Remove files from a dataset's draft.

    \b
    nds rm 000001/sub-1/a.nwb           one file
    nds rm 000001/sub-1/                everything in a folder (note the final /)

    Published versions keep their files.
    """
    from neurodatashare.client.remote import RemoteAsset, parse_target

    with open_client() as client:
        doomed: dict[str, tuple[str, RemoteAsset]] = {}
        for target in targets:
            ident, version, path = parse_target(target)
            if not path:
                raise ClientError(
                    f"Name a file or folder in the dataset, e.g. {ident}/sub-1/ or "
                    f"{ident}/sub-1/file.nwb."
                )
            if version not in (None, "draft"):
                raise ClientError("Published versions never change; remove files from the draft.")
            draft = client.dataset(ident).draft
            if path.endswith("/"):
                found = draft.resolve(path)
            else:
                found = [a for a in draft.assets(path=path) if a.path == path]
                if not found:
                    draft.resolve(path)  # raises "not found" when nothing is there
                    raise ClientError(
                        f"{ident}/{path} is a folder; write {ident}/{path}/ to remove "
                        "everything in it."
                    )
            for asset in found:
                doomed[asset.id] = (ident, asset)
        total = sum(a.size for _, a in doomed.values())
        if not yes:
            listing = [f"  {ident}/{a.path}" for ident, a in list(doomed.values())[:10]]
            if len(doomed) > 10:
                listing.append(f"  ... and {len(doomed) - 10} more")
            click.echo("\n".join(listing), err=True)
            click.confirm(
                f"Remove {len(doomed)} file(s) ({human_size(total)}) from the draft?",
                abort=True,
                err=True,
            )
        removed = []
        for ident, asset in doomed.values():
            asset.delete()
            removed.append({"dataset": ident, "path": asset.path, "asset_id": asset.id})
    if as_json:
        echo_json({"removed": removed})
    else:
        click.echo(f"Removed {len(removed)} file(s) ({human_size(total)}) from the draft.")
