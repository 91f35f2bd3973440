"""`nds serve`: start the archive on embedded defaults (SQLite + a local blob folder)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

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
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="API processes sharing the port (each with its own worker threads); for more "
    "than one, use PostgreSQL (NDS_DATABASE_URL).",
)
@friendly_errors
def command(host: str | None, port: int | None, demo: bool, processes: int) -> None:
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
    click.echo(
        f"neurodatashare at {settings.resolved_public_url}/  "
        f"(API {settings.resolved_public_url}/api, data in {settings.home})"
    )
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": 5,
    }
    if processes == 1:
        uvicorn.run(create_app(settings), **common)
        return
    # Each process builds its app from the environment, so pass the options on there;
    # the secret key is shared through NDS_HOME (config.py), the database and blobs too.
    os.environ.update({"NDS_HOST": settings.host, "NDS_PORT": str(settings.port)})
    settings.resolved_secret_key  # noqa: B018 - created once, before the processes race
    uvicorn.run("neurodatashare.app:create_app", factory=True, workers=processes, **common)


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
