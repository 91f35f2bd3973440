"""`nds create NAME`: create a dataset, with the metadata publishing will need."""

from __future__ import annotations

from typing import Any

import click

from neurodatashare.cli.client_support import ClientCommand, client_errors, echo_json, open_client


@click.command(name="create", cls=ClientCommand)
@click.argument("name")
@click.option("--description", default=None, help="What the dataset holds, in a few sentences.")
@click.option(
    "--license",
    "license_",
    default=None,
    help="SPDX licence id, e.g. CC-BY-4.0 or CC0-1.0.",
)
@click.option(
    "--contact",
    default=None,
    help='The contact person, "Last, First" (also listed as an author).',
)
@click.option(
    "--email", default=None, help="The contact person's e-mail address (needed to publish)."
)
@click.option("--keyword", "keywords", multiple=True, help="A keyword (repeatable).")
@click.option("--private", is_flag=True, help="Only owners may see it until you open it.")
@click.option(
    "--embargo-until",
    default=None,
    metavar="YYYY-MM-DD",
    help="Only owners may see it until this date; then it opens by itself.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new dataset as JSON.")
@client_errors
def command(
    name: str,
    description: str | None,
    license_: str | None,
    contact: str | None,
    email: str | None,
    keywords: tuple[str, ...],
    private: bool,
    embargo_until: str | None,
    as_json: bool,
) -> None:
    """Create a dataset called NAME and print its identifier.

    Publishing needs a description, a licence and a contact person with an e-mail
    address; give them here or later with `nds meta set` or `nds meta edit`. Example:

    \b
        nds create "Place cells in CA1" \\
          --description "Two-photon imaging of CA1 during a linear track task." \\
          --license CC-BY-4.0 --contact "Doe, Jane" --email jane.doe@example.org
    """
    if private and embargo_until:
        raise click.UsageError("Choose --private or --embargo-until, not both.")
    metadata: dict[str, Any] = {}
    if description:
        metadata["description"] = description
    if license_:
        metadata["license"] = [license_ if license_.startswith("spdx:") else f"spdx:{license_}"]
    if keywords:
        metadata["keywords"] = list(keywords)
    if contact:
        person: dict[str, Any] = {
            "schemaKey": "Person",
            "name": contact,
            "roleName": ["dcite:ContactPerson", "dcite:Author"],
        }
        if email:
            person["email"] = email
        metadata["contributor"] = [person]
    access = "private" if private else "embargoed" if embargo_until else "open"
    with open_client() as client:
        ds = client.create_dataset(name, metadata, access=access, embargo_end=embargo_until)
        data = ds.data
    if as_json:
        echo_json(data)
        return
    click.echo(f"Created dataset {ds.identifier} ({access}).")
    click.echo(f"Upload into it with: nds upload PATH... -d {ds.identifier}")
