"""`nds serve`: start the archive on embedded defaults (SQLite + a local blob folder)."""

from __future__ import annotations

import click

from neurodatashare.cli.errors import friendly_errors


@click.command(name="serve")
@click.option("--host", default=None, help="Address to listen on [NDS_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [NDS_PORT, default 8000].")
@friendly_errors
def command(host: str | None, port: int | None) -> None:
    """Start the archive server: the DANDI-compatible API, web pages and background work.

    Data lives under NDS_HOME unless NDS_DATABASE_URL and NDS_BLOB_DIR say otherwise.
    Create a user with `nds admin create-user NAME` to get an API key.
    """
    import uvicorn

    from neurodatashare.app import create_app
    from neurodatashare.config import Settings

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
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
