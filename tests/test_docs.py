"""Docs cannot rot: every setting, API route and CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click

from neurodatashare.cli.main import COMMANDS, cli
from neurodatashare.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in Settings.model_fields:
        assert f"`NDS_{name.upper()}`" in text, f"NDS_{name.upper()} is not in docs/settings.md"


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    from neurodatashare.app import create_app

    text = "".join(p.read_text() for p in sorted(DOCS.glob("*.md")))
    app = create_app(Settings(home=tmp_path))
    for path, methods in app.openapi()["paths"].items():
        for method in methods:
            entry = f"`{method.upper()} {path}`"
            assert entry in text, f"{entry} is not in docs/ (api.md or explorer-api.md)"
    app.state.archive.close()


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    ctx = click.Context(cli)
    for verb in COMMANDS:
        command = cli.get_command(ctx, verb)
        assert command is not None
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert f"`nds {verb} {sub}" in text, f"nds {verb} {sub} is not in docs/cli.md"
        else:
            assert re.search(rf"`nds {verb}\b", text), f"nds {verb} is not in docs/cli.md"


def test_readme_quick_start_is_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line for line in block.splitlines()[1:] if line.strip()]
    assert len(commands) == 2, commands
    assert "nds serve" in commands[0]
    assert "scripts/test" in commands[1]
    ci = (DOCS.parent / ".ci" / "run").read_text()
    assert "scripts/test" in ci  # CI runs the README's test command
