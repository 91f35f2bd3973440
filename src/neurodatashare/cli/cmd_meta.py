"""`nds meta show | set | unset | edit`: read and change a dataset draft's metadata.

The fields shown and edited are the ones a dataset's owners write (name, description,
licence, contributors, keywords, ...); the server computes the rest (metadata/schema.py
VERSION_COMPUTED). Every change is checked with dandischema's own models before it is
sent, so a wrong value is refused here with the field's name; fields that are still
missing are allowed on a draft and listed as what publishing needs.
"""

from __future__ import annotations

import os
from typing import Any

import click

from neurodatashare.cli.client_support import ClientCommand, client_errors, echo_json, open_client

EXIT_INVALID = 1
ERRORS_HEADER = "# The metadata was not saved. Fix the lines below and save again;\n"


def _yaml(document: dict[str, Any]) -> str:
    import yaml

    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)
    return text


def _owned(metadata: dict[str, Any]) -> dict[str, Any]:
    from neurodatashare.metadata.schema import VERSION_COMPUTED

    return {k: v for k, v in metadata.items() if k not in VERSION_COMPUTED}


def _value_errors(document: dict[str, Any]) -> list[dict[str, str]]:
    """dandischema's complaints about values, not about what is still missing: absent
    required fields, and rules across a model's fields (their place ends in the model's
    name, as in `contributor.0.Person`: "Contact person must have an email address"),
    which a draft filled in one field at a time meets only at the end."""
    from neurodatashare.metadata.schema import owner_field_problems

    problems = owner_field_problems(document, str(document.get("name") or "x"), missing=False)
    return [
        # the path as `nds meta set` takes it: without the models' names on the way
        {**p, "field": ".".join(step for step in p["field"].split(".") if not step[:1].isupper())}
        for p in problems
        if not p["field"].rsplit(".", 1)[-1][:1].isupper()
    ]


def _needs(info: dict[str, Any]) -> list[str]:
    return [f"{e.get('field', '')}: {e['message']}" for e in info["version_validation_errors"]]


def _report(info: dict[str, Any], *, as_json: bool, saved: bool) -> None:
    if as_json:
        echo_json({"metadata": _owned(info["metadata"]), "publishing_needs": _needs(info)})
        return
    if saved:
        click.echo(f"Saved the draft of dataset {info['dandiset']['identifier']}.")
    needs = _needs(info)
    if needs:
        click.echo("Publishing still needs:")
        for line in needs:
            click.echo(f"  - {line}")
    else:
        click.echo("Nothing is missing for publishing.")


def _refuse(errors: list[dict[str, str]], *, as_json: bool) -> None:
    from neurodatashare.cli.client_support import ExitError

    lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    raise ExitError(f"Not saved, dandischema refuses: {lines}", EXIT_INVALID, as_json=as_json)


@click.group(name="meta")
def command() -> None:
    """Show and change a dataset draft's metadata (description, licence, contributors...)."""


@command.command(name="show", cls=ClientCommand)
@click.argument("dataset")
@click.option("--version", default="draft", show_default=True, help="A published version.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML.")
@client_errors
def show(dataset: str, version: str, as_json: bool) -> None:
    """Print the metadata of DATASET's draft (or --version) as YAML, and what publishing
    still needs."""
    with open_client() as client:
        info = client.dataset(dataset).version(version).info()
    if as_json:
        _report(info, as_json=True, saved=False)
        return
    click.echo(_yaml(_owned(info["metadata"])), nl=False)
    if version == "draft":
        click.echo()
        _report(info, as_json=False, saved=False)


@command.command(name="set", cls=ClientCommand)
@click.argument("dataset")
@click.argument("field")
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def set_(dataset: str, field: str, value: str, as_json: bool) -> None:
    """Set FIELD of DATASET's draft to VALUE and save it.

    FIELD is a dotted path: a list item by its position (0 is the first, -1 the last) or
    + to add one. VALUE is read as YAML, so numbers, true/false, [lists] and {mappings}
    work; quote it for the shell. Examples:

    \b
        nds meta set 000001 description "Two-photon imaging of CA1."
        nds meta set 000001 license '[spdx:CC-BY-4.0]'
        nds meta set 000001 keywords.+ hippocampus
        nds meta set 000001 contributor.0.email jane.doe@example.org
        nds meta set 000001 contributor.+ '{schemaKey: Person, name: "Roe, Rich"}'
    """
    from neurodatashare.metadata.dotted import parse_value, set_path

    _change(dataset, lambda doc: set_path(doc, field, parse_value(value)), as_json=as_json)


@command.command(name="unset", cls=ClientCommand)
@click.argument("dataset")
@click.argument("field")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@client_errors
def unset(dataset: str, field: str, as_json: bool) -> None:
    """Remove FIELD (a dotted path, as for `nds meta set`) from DATASET's draft."""
    from neurodatashare.metadata.dotted import unset_path

    _change(dataset, lambda doc: unset_path(doc, field), as_json=as_json)


def _change(dataset: str, change: Any, *, as_json: bool) -> None:
    with open_client() as client:
        draft = client.dataset(dataset).draft
        document = _owned(draft.info()["metadata"])
        document = change(document)
        errors = _value_errors(document)
        if errors:
            _refuse(errors, as_json=as_json)
        info = draft.set_metadata(document)
    _report(info, as_json=as_json, saved=True)


@command.command(name="edit", cls=ClientCommand)
@click.argument("dataset")
@client_errors
def edit(dataset: str) -> None:
    """Edit DATASET's draft metadata as YAML in $EDITOR (or $VISUAL).

    On save it is checked with dandischema; when something is wrong the editor opens
    again with the errors as comments at the top. Quit without saving (or leave the text
    as it was) to change nothing.
    """
    import yaml

    with open_client() as client:
        draft = client.dataset(dataset).draft
        original = _yaml(_owned(draft.info()["metadata"]))
        text = original
        while True:
            edited = click.edit(text, extension=".yaml", editor=_editor())
            if edited is None or _strip_errors(edited) == _strip_errors(original):
                click.echo("Nothing changed.")
                return
            body = _strip_errors(edited)
            try:
                document = yaml.safe_load(body)
            except yaml.YAMLError as exc:
                text = _with_errors(body, [f"YAML: {' '.join(str(exc).split())}"])
                continue
            if not isinstance(document, dict):
                text = _with_errors(body, ["the metadata must be fields (name: value lines)"])
                continue
            errors = _value_errors(document)
            if errors:
                text = _with_errors(body, [f"{e['field']}: {e['message']}" for e in errors])
                continue
            info = draft.set_metadata(document)
            break
    _report(info, as_json=False, saved=True)


def _editor() -> str | None:
    return os.environ.get("VISUAL") or os.environ.get("EDITOR") or None


def _with_errors(body: str, errors: list[str]) -> str:
    lines = "".join(f"# ERROR {line}\n" for line in errors)
    return ERRORS_HEADER + lines + "#\n" + body


def _strip_errors(text: str) -> str:
    """The text without the error comments this command put at its top."""
    if not text.startswith(ERRORS_HEADER):
        return text
    lines = text.splitlines(keepends=True)[1:]
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)
