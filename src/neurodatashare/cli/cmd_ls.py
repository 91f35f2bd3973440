"""`nds ls [DATASET[@VERSION][/PATH]]`: datasets you can see, or the files of one."""

from __future__ import annotations

from typing import Any

import click

from neurodatashare.cli.client_support import (
    ClientCommand,
    client_errors,
    echo_json,
    open_client,
)
from neurodatashare.formatting import human_size


@click.command(name="ls", cls=ClientCommand)
@click.argument("target", required=False)
@click.option("-r", "--recursive", is_flag=True, help="List every file below, not one level.")
@click.option("--glob", default=None, help="Only files whose path matches, e.g. 'sub-*/*.nwb'.")
@click.option("--mine", is_flag=True, help="Only datasets you own (without TARGET).")
@click.option("--search", default=None, help="Datasets whose name or id contains this.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def command(
    target: str | None,
    recursive: bool,
    glob: str | None,
    mine: bool,
    search: str | None,
    as_json: bool,
) -> None:
    """List datasets, or the files of a dataset.

    \b
    nds ls                            datasets you can see
    nds ls 000001                     top level of the draft
    nds ls 000001@0.251123.0001       top level of a published version
    nds ls 000001/sub-1/              one folder (-r: everything below it)
    """
    from neurodatashare.client.remote import RemoteVersion, parse_target

    with open_client() as client:
        if target is None:
            _list_datasets(client.datasets(search=search, mine=mine), as_json)
            return
        ident, version, path = parse_target(target)
        dataset = client.dataset(ident)
        ver = RemoteVersion(dataset, version or "draft")
        if recursive or glob:
            assets = ver.assets(path=path, glob=glob)
            rows = [
                {"path": a.path, "size": a.size, "asset_id": a.id, "modified": a.data["modified"]}
                for a in assets
            ]
            if as_json:
                echo_json(rows)
                return
            for row in rows:
                click.echo(f"{human_size(row['size']):>10}  {row['path']}")
            return
        entries = _one_level(ver, path)
        if as_json:
            echo_json(entries)
            return
        for entry in entries:
            name = entry["path"].rsplit("/", 1)[-1]
            if entry.get("asset") is None:
                files = entry["aggregate_files"]
                click.echo(
                    f"{human_size(entry['aggregate_size']):>10}  {name}/  "
                    f"({files} file{'s' if files != 1 else ''})"
                )
            else:
                click.echo(f"{human_size(entry['aggregate_size']):>10}  {name}")


def _one_level(ver: Any, path: str | None) -> list[dict[str, Any]]:
    from neurodatashare.client.errors import NotFoundError

    if not path:
        entries: list[dict[str, Any]] = ver.paths("")
        return entries
    try:
        return list(ver.paths(path.rstrip("/")))
    except NotFoundError:
        if path.endswith("/"):
            raise
    asset = ver.asset(path)  # a file: show just that
    return [
        {
            "path": asset.path,
            "aggregate_files": 1,
            "aggregate_size": asset.size,
            "asset": {"asset_id": asset.id, "blob": asset.blob},
        }
    ]


def _list_datasets(datasets: Any, as_json: bool) -> None:
    rows = []
    for ds in datasets:
        draft = ds.data.get("draft_version") or {}
        published = ds.data.get("most_recent_published_version") or {}
        rows.append(
            {
                "identifier": ds.identifier,
                "name": ds.name,
                "access": ds.access,
                "files": draft.get("asset_count", 0),
                "size": draft.get("size", 0),
                "status": draft.get("status"),
                "latest_version": published.get("version"),
            }
        )
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No datasets.")
        return
    for r in rows:
        latest = r["latest_version"] or "draft only"
        status = r["status"] or "—"  # the draft's: Pending while files are checked
        click.echo(
            f"{r['identifier']}  {r['access']:<9} {r['files']:>6} files {human_size(r['size']):>10}"
            f"  {status:<9} {latest:<16} {r['name']}"
        )
