"""`nds login URL`: check an archive URL and an API key, then save both for later commands."""

from __future__ import annotations

import click

from neurodatashare.cli.client_support import ClientCommand, client_errors, echo_json
from neurodatashare.client.errors import EXIT_NOT_FOUND, ClientError


@click.command(name="login", cls=ClientCommand)
@click.argument("url")
@click.option("--key", default=None, help="The API key (asked for, hidden, when not given).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def command(url: str, key: str | None, as_json: bool) -> None:
    """Save the archive URL and your API key for the other commands.

    URL is the archive's address, e.g. https://archive.example.org. The key is checked
    with the archive before anything is saved. NDS_URL and NDS_API_KEY override the
    saved values.
    """
    login(url, key, as_json)


def _not_an_archive(url: str, why: str) -> ClientError:
    error = ClientError(f"{url} does not look like a neurodatashare or DANDI archive ({why}).")
    error.exit_code = EXIT_NOT_FOUND
    return error


def login(url: str, key: str | None, as_json: bool) -> None:
    from neurodatashare.client import config
    from neurodatashare.client.errors import AuthenticationError, HTTPError
    from neurodatashare.client.http import RestClient

    url = config.normalize_url(url)
    with RestClient(url, None, retries=1, retry_seconds=2) as anonymous:
        try:
            info = anonymous.get_json("info/")
        except HTTPError as exc:
            raise _not_an_archive(url, f"/api/info/ answered {exc.status_code}") from exc
        except ValueError as exc:
            raise _not_an_archive(url, "/api/info/ is not JSON") from exc
    if not isinstance(info, dict) or "version" not in info:
        raise _not_an_archive(url, "/api/info/ does not describe an archive")
    if key is None:
        key = click.prompt("API key", hide_input=True, err=True)
    key = key.strip()
    if not key:
        raise ClientError("The API key is empty.")
    with RestClient(url, key, retries=1, retry_seconds=2) as client:
        try:
            client.get("auth/token/")
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"The archive at {url} refused this API key; nothing was saved. "
                "Copy the key again (it is shown once when created).",
                status=401,
            ) from exc
        try:
            username = str(client.get_json("users/me/").get("username", ""))
        except (HTTPError, ValueError):
            username = ""
    path = config.save(url=url, token=key)
    if as_json:
        echo_json({"url": url, "username": username or None, "config": str(path)})
        return
    who = f" as {username}" if username else ""
    click.echo(f"Logged in to {url}{who}. Saved in {path}.")
    overridden = [name for name in (config.ENV_URL, config.ENV_KEY) if _env(name)]
    if overridden:
        click.echo(f"Note: {' and '.join(overridden)} in the environment override it.", err=True)


def _env(name: str) -> str | None:
    import os

    return os.environ.get(name) or None
