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
    from neurodatashare.archive import Archive
    from neurodatashare.archive.demo import ensure_demo

    archive = Archive.open(settings)
    try:
        dataset_id, key = ensure_demo(archive, root=settings.home / "demo", say=click.echo)
    finally:
        archive.close()
    url = settings.resolved_public_url
    click.echo(f"Demo dataset: {url}/dandiset/{dataset_id}")
    click.echo(f"Demo user 'demo', API key (new each start): {key}")
