"""The metadata formats of the OAI-PMH endpoint (archive/oai.py): Dublin Core and DataCite."""

from __future__ import annotations

from typing import Any

from lxml import etree

from neurodatashare.archive.citation import authors
from neurodatashare.archive.context import Archive

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"


def dublin_core(archive: Archive, doc: dict[str, Any]) -> Any:
    """`oai_dc`: simple Dublin Core of a published version's metadata document."""
    root = etree.Element(
        f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    root.set(
        f"{{{XSI_NS}}}schemaLocation",
        f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    )

    def add(tag: str, value: object) -> None:
        etree.SubElement(root, f"{{{DC_NS}}}{tag}").text = str(value)

    add("title", doc["name"])
    for person in authors(doc):
        add("creator", person["name"])
    for word in doc.get("keywords") or []:
        add("subject", word)
    if doc.get("description"):
        add("description", doc["description"])
    add("publisher", f"{archive.settings.instance_name} archive")
    add("date", str(doc["datePublished"])[:10])
    add("type", "Dataset")
    add("identifier", doc["url"])
    if doc.get("doi"):
        add("identifier", f"https://doi.org/{doc['doi']}")
    add("identifier", doc["id"])
    for licence in doc.get("license") or []:
        add("rights", f"https://spdx.org/licenses/{str(licence).removeprefix('spdx:')}.html")
    return root


def datacite_payload(archive: Archive, resource_xml: str) -> Any:
    """`oai_datacite`: DataCite's OAI wrapper (oai-1.1) around a DataCite 4.5 resource."""
    root = etree.Element(
        f"{{{OAI_DATACITE_NS}}}oai_datacite", nsmap={None: OAI_DATACITE_NS, "xsi": XSI_NS}
    )
    root.set(
        f"{{{XSI_NS}}}schemaLocation",
        f"{OAI_DATACITE_NS} http://schema.datacite.org/oai/oai-1.1/oai.xsd",
    )
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}schemaVersion").text = "4.5"
    etree.SubElement(
        root, f"{{{OAI_DATACITE_NS}}}datacentreSymbol"
    ).text = archive.settings.instance_name
    payload = etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}payload")
    payload.append(etree.fromstring(resource_xml.encode()))
    return root
