"""`nds convert` with NeuroConv formats: `--format` (repeatable) and `--source KEY=VALUE`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from neurodatashare.errors import BadRequest


class SourceProblem(click.ClickException):
    """Bad --format or --source: exit status 2, like other usage errors."""

    exit_code = 2


def convert_neuroconv(
    console: Any,
    *,
    formats: tuple[str, ...],
    sources: tuple[str, ...],
    metadata: Path,
    out: Path,
    stub: bool,
    overwrite: bool,
) -> Any:
    from neurodatashare.nwb.convert.formats import FORMATS
    from neurodatashare.nwb.convert.interfaces import parse_cli_sources
    from neurodatashare.nwb.convert.metadata import MetadataError, load_metadata
    from neurodatashare.nwb.convert.streams import convert_streams

    built_in = [f for f in formats if f.lower() in FORMATS]
    if built_in:
        raise SourceProblem(
            f"--format {built_in[0]} is a built-in format and converts alone; to combine "
            "streams use NeuroConv's formats (--list-formats), e.g. --format "
            "SpikeGLXRecording --format PhySorting."
        )
    try:
        streams = parse_cli_sources(formats, sources)
    except BadRequest as exc:
        raise SourceProblem(exc.message) from exc
    try:
        meta = load_metadata(metadata)
    except MetadataError as exc:
        raise SourceProblem(f"{metadata}: {exc.message}") from exc
    names = " + ".join(s.format for s in streams)
    try:
        with console.status(f"Converting {names} ...") as status:
            return convert_streams(
                streams=streams,
                out=out,
                yaml_metadata=meta,
                stub=stub,
                overwrite=overwrite,
                progress=lambda stage, _f: status.update(f"Converting {names}: {stage} ..."),
            )
    except MetadataError as exc:
        raise SourceProblem(f"{metadata}: {exc.message}") from exc


def show_options(formats: tuple[str, ...]) -> None:
    """Each format's source options: name, type, required, description."""
    from neurodatashare.nwb.convert.interfaces import format_name, source_schema

    for given in formats:
        try:
            name = format_name(given)
        except BadRequest as exc:
            raise SourceProblem(exc.message) from exc
        schema = source_schema(name)
        required = set(schema.get("required") or [])
        click.echo(f"{name}: --format {name} --source KEY=VALUE ...")
        for key, prop in (schema.get("properties") or {}).items():
            kinds = [prop.get("type")] + [v.get("type") for v in prop.get("anyOf") or []]
            kind = "/".join(str(k) for k in kinds if k and k != "null") or "value"
            flag = "required" if key in required else f"default {prop.get('default')!r}"
            desc = (prop.get("description") or "").split("\n")[0]
            click.echo(f"  {key} ({kind}, {flag}){': ' + desc if desc else ''}")
