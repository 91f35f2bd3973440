"""`nds serve`: start the archive on embedded defaults (SQLite + a local blob folder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from neurodatashare.cli.errors import friendly_errors

if TYPE_CHECKING:
    from neurodatashare.config import Settings


@click.command(name="serve")
@click.option("--host", default=None, help="Address to listen on [NDS_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [NDS_PORT, default 8000].")
@click.option(
    "--demo",
    is_flag=True,
    help="Load a published demo dataset (written once to NDS_HOME/demo) owned by a demo "
    "user, and print that user's API key.",
)
@friendly_errors
def command(host: str | None, port: int | None, demo: bool) -> None:
    """Start the archive server: the DANDI-compatible API, web pages and background work.

    Data lives under NDS_HOME unless NDS_DATABASE_URL and NDS_BLOB_DIR say otherwise.
    Create a user with `nds admin create-user NAME` to get an API key.
    """
    import uvicorn

    from neurodatashare.app import create_app
    from neurodatashare.config import Settings

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if demo:
        _load_demo(settings)
    app = create_app(settings)
    click.echo(
        f"neurodatashare at {settings.resolved_public_url}/  "
        f"(API {settings.resolved_public_url}/api, data in {settings.home})"
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )


def _load_demo(settings: Settings) -> None:
    import shutil

    from neurodatashare.archive import Archive
    from neurodatashare.archive.demo import find_demo, load_demo
    from neurodatashare.demo.write import write_demo_dataset

    archive = Archive.open(settings)
    try:
        root = settings.home / "demo"
        _user, existing = find_demo(archive)
        files = sorted(root.rglob("*.nwb")) if root.exists() else []
        if existing is None and not files:
            click.echo(f"Writing the demo dataset to {root} (under a minute)...")
            partial = root.with_name("demo.partial")  # a crash never leaves half a demo
            shutil.rmtree(partial, ignore_errors=True)
            write_demo_dataset(partial, jobs=2)
            partial.rename(root)
            files = sorted(root.rglob("*.nwb"))
        if existing is None:
            click.echo("Loading it into the archive (checking and indexing every file)...")
        dataset_id, key = load_demo(archive, files=files, root=root)
    finally:
        archive.close()
    url = settings.resolved_public_url
    click.echo(f"Demo dataset: {url}/dandiset/{dataset_id}")
    click.echo(f"Demo user 'demo', API key (new each start): {key}")
