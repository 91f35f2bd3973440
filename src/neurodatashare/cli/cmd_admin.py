"""`nds admin`: users, API keys, passwords and the database schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from neurodatashare.cli.errors import friendly_errors

if TYPE_CHECKING:
    from neurodatashare.archive import Archive


@contextmanager
def _archive() -> Iterator[Archive]:
    """The archive of this machine's settings, closed when the command is done."""
    from neurodatashare.archive import Archive
    from neurodatashare.config import Settings

    archive = Archive.open(Settings())
    try:
        yield archive
    finally:
        archive.close()


@click.group(name="admin")
def command() -> None:
    """Manage users and the database (acts on NDS_HOME / NDS_DATABASE_URL directly)."""


@command.command("create-user")
@click.argument("username")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user an administrator.")
@click.option("--email", default=None, help="The user's e-mail address.")
@click.option("--password", is_flag=True, help="Also ask for a password for the web login.")
@friendly_errors
def create_user(username: str, is_admin: bool, email: str | None, password: bool) -> None:
    """Create an approved user and print a new API key as the last line."""
    from neurodatashare.archive import users

    secret = (
        click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    with _archive() as archive:
        user = users.create_user(
            archive, username=username, email=email, is_admin=is_admin, password=secret
        )
        key = users.new_api_key(archive, user=user)
    role = "administrator" if is_admin else "user"
    click.echo(f"Created {role} {username}. Its API key (shown only now):")
    click.echo(key)


@command.command("new-key")
@click.argument("username")
@friendly_errors
def new_key(username: str) -> None:
    """Print a new API key for USERNAME (old keys keep working)."""
    from neurodatashare.archive import users

    with _archive() as archive:
        key = users.new_api_key(archive, user=users.get_user(archive, username=username))
    click.echo(key)


@command.command("set-password")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (asked for when not given).",
)
@friendly_errors
def set_password(username: str, password: str) -> None:
    """Set the web login password of USERNAME (ends all its web sessions)."""
    from neurodatashare.archive import users

    with _archive() as archive:
        users.set_password(archive, username=username, password=password)
    click.echo(f"Password set for {username}.")


@command.command("list-keys")
@click.argument("username")
@friendly_errors
def list_keys(username: str) -> None:
    """List USERNAME's API keys: id, prefix, created and last used (never the key)."""
    from neurodatashare.archive import users

    with _archive() as archive:
        keys = users.list_api_keys(archive, username=username)
    if not keys:
        click.echo(f"{username} has no API keys.")
        return
    click.echo(f"{'ID':>6}  {'PREFIX':<10}  {'CREATED':<25}  LAST USED")
    for key in keys:
        prefix = f"{key['prefix']}..." if key["prefix"] else "(unknown)"
        click.echo(
            f"{key['id']:>6}  {prefix:<10}  {key['created']:<25}  {key['last_used'] or 'never'}"
        )


@command.command("revoke-key")
@click.argument("username")
@click.argument("key")
@friendly_errors
def revoke_key(username: str, key: str) -> None:
    """Revoke one of USERNAME's API keys, named by its id or prefix (see list-keys)."""
    from neurodatashare.archive import users

    with _archive() as archive:
        key_id = users.revoke_api_key(archive, username=username, key=key)
    click.echo(f"Revoked API key {key_id} of {username}; it stops working at once.")


@command.command("disable-user")
@click.argument("username")
@friendly_errors
def disable_user(username: str) -> None:
    """Disable USERNAME: its API keys and web sessions stop working at once."""
    from neurodatashare.archive import users

    with _archive() as archive:
        users.set_disabled(archive, username=username, disabled=True)
    click.echo(f"Disabled {username}; its keys and sessions no longer work.")


@command.command("enable-user")
@click.argument("username")
@friendly_errors
def enable_user(username: str) -> None:
    """Enable a disabled USERNAME again (its keys work again; it must log in again)."""
    from neurodatashare.archive import users

    with _archive() as archive:
        users.set_disabled(archive, username=username, disabled=False)
    click.echo(f"Enabled {username}.")


@command.command("delete-user")
@click.argument("username")
@click.option(
    "--force",
    is_flag=True,
    help="Also when USERNAME is the only owner of datasets; they are kept without an owner.",
)
@friendly_errors
def delete_user(username: str, force: bool) -> None:
    """Delete USERNAME, its keys and sessions. Refused while it solely owns a dataset."""
    from neurodatashare.archive import users

    with _archive() as archive:
        orphaned = users.delete_user(archive, username=username, force=force)
    click.echo(f"Deleted {username}.")
    if orphaned:
        click.echo(
            f"Dataset(s) {', '.join(orphaned)} now have no owner; only administrators can "
            "change them (add an owner with PUT /api/dandisets/ID/users/)."
        )


@command.command("migrate")
@friendly_errors
def migrate() -> None:
    """Create or upgrade the database schema (also done by `nds serve` at start-up)."""
    with _archive():  # opening the archive applies the migrations
        pass
    click.echo("Database is up to date.")


@command.command("reindex-search")
@friendly_errors
def reindex_search() -> None:
    """Rebuild the search index from the archive's own tables (after a bulk import)."""
    from neurodatashare.archive.search_index import rebuild

    with _archive() as archive:
        done = rebuild(archive.db)
    click.echo(
        f"Indexed {done['datasets']:,} datasets and {done['assets']:,} files "
        f"in {done['seconds']:.1f} s."
    )
