"""`nds`: one click group; each verb lives in its own `cmd_<verb>.py`, imported on use.

Importing a command module only when it runs keeps `nds --help` fast: the heavy
libraries (pynwb, h5py, neuroconv) load inside the commands that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# verb -> (module, one-line help shown by `nds --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("cmd_serve", "Start the archive server (API, web pages and background work)."),
    "admin": ("cmd_admin", "Manage users and the database."),
    "worker": ("cmd_worker", "Run background jobs in a separate process."),
    "login": ("cmd_login", "Save the archive URL and your API key for the other commands."),
    "create": ("cmd_create", "Create a dataset (name, description, licence, contact)."),
    "ls": ("cmd_ls", "List datasets, or the files of a dataset."),
    "meta": ("cmd_meta", "Show and change a dataset's metadata (set a field, or edit as YAML)."),
    "upload": ("cmd_upload", "Upload files to a dataset (parallel, resumable)."),
    "download": ("cmd_download", "Download a dataset, a folder or a file (parallel, resumable)."),
    "rm": ("cmd_rm", "Remove files from a dataset's draft."),
    "publish": ("cmd_publish", "Publish a dataset's draft as a citable version."),
    "validate": ("cmd_validate", "Validate local NWB files before upload."),
    "convert": ("cmd_convert", "Convert lab data into NWB."),
    "demo": ("cmd_demo", "Write a realistic multi-modal demo dataset."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"neurodatashare.cli.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="neurodatashare")
def cli() -> None:
    """neurodatashare: convert, validate, share and explore neuroscience data."""


def main() -> None:
    cli()
