"""What a NeuroML model says it was built from: the COMBINE/MIRIAM RDF annotations
(`<annotation><rdf:RDF><rdf:Description rdf:about=...>`, as pyNeuroML's annotations helper
writes them, in its MIRIAM style with `rdf:Bag`s or its BioSimulations style without) that
name data.

Derivation predicates (`bqmodel:isDerivedFrom`, `prov:wasDerivedFrom`, `dc:source`,
`dcterms:source`) count whatever they name; identity predicates (`bqbiol:isVersionOf`,
`bqbiol:is`, `bqmodel:is`) count only when they name data (a DANDI-style dataset or asset,
or a file path), not an ontology term. Each reference is classified here, from its text
alone; archive/model_links.py resolves it against the archive.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

NS = "http://www.neuroml.org/schema/neuroml2"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PREDICATES = {
    "http://biomodels.net/model-qualifiers/": "bqmodel",
    "http://biomodels.net/biology-qualifiers/": "bqbiol",
    "http://www.w3.org/ns/prov#": "prov",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
}
DERIVATION = {"bqmodel:isDerivedFrom", "prov:wasDerivedFrom", "dc:source", "dcterms:source"}
IDENTITY = {"bqbiol:isVersionOf", "bqbiol:is", "bqmodel:is"}
MAX_REFERENCES = 50
VERSION = r"draft|\d+\.\d{6}\.\d{4}"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
COMPACT = re.compile(rf"^([A-Za-z][A-Za-z0-9-]*):(\d{{6}})(?:/({VERSION}))?/?$")
DANDI_URI = re.compile(rf"^dandi://([^/]+)/(\d{{6}})(?:@({VERSION}))?(?:/(.*))?$")
DOI = re.compile(
    rf"^(?:doi:|https?://(?:dx\.)?doi\.org/)10\.\d+/dandi\.(\d{{6}})(?:/({VERSION}))?$"
)
URL_ASSET = re.compile(
    rf"/api/(?:dandisets/(\d{{6}})/versions/({VERSION})/)?assets/({UUID})(?:/|$)", re.I
)
URL_PAGE_ASSET = re.compile(rf"^/asset/({UUID})(?:\.json)?/?$", re.I)
URL_DATASET = re.compile(
    rf"^/(?:api/dandisets|dandiset)/(\d{{6}})(?:/(?:versions/)?({VERSION}))?(?:/.*)?$"
)


def resolve_href(href: str, asset_path: str) -> str | None:
    """The dataset path a relative reference names (from the model's folder), or None
    when it leaves the dataset (absolute, a URL, above the top)."""
    if not href or "://" in href or href.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(asset_path), href))
    return None if joined.startswith("..") else joined


def classify(reference: str, *, model_path: str) -> dict[str, Any]:
    """What a reference names, from its text: `kind` is `path` (a file of the model's own
    dataset version, relative to the model), `asset` (by id), `dataset` (with `version`
    when it says one) or `external`; `host` or `instance` say whose archive."""
    text = reference.strip()
    if m := DANDI_URI.match(text):
        out: dict[str, Any] = {"instance": m.group(1).upper(), "dataset": m.group(2)}
        out["version"] = m.group(3)
        if m.group(4):
            return {"kind": "dataset_path", **out, "path": unquote(m.group(4)).strip("/")}
        return {"kind": "dataset", **out}
    if m := COMPACT.match(text):
        return {
            "kind": "dataset",
            "instance": m.group(1).upper(),
            "dataset": m.group(2),
            "version": m.group(3),
        }
    if m := DOI.match(text):
        return {
            "kind": "dataset",
            "instance": "DANDI",
            "dataset": m.group(1),
            "version": m.group(2),
        }
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        host = parts.netloc.lower()
        if host.endswith("identifiers.org") and (m := COMPACT.match(parts.path.strip("/"))):
            return {
                "kind": "dataset",
                "instance": m.group(1).upper(),
                "dataset": m.group(2),
                "version": m.group(3),
            }
        if m := URL_ASSET.search(parts.path):
            return {
                "kind": "asset",
                "host": host,
                "asset_id": m.group(3).lower(),
                "dataset": m.group(1),
                "version": m.group(2),
            }
        if m := URL_PAGE_ASSET.match(parts.path):
            return {"kind": "asset", "host": host, "asset_id": m.group(1).lower()}
        if m := URL_DATASET.match(parts.path):
            out = {"host": host, "dataset": m.group(1), "version": m.group(2)}
            location = (parse_qs(parts.query).get("location") or [""])[0].strip("/")
            if location and "." in posixpath.basename(location):
                return {"kind": "dataset_path", **out, "path": location}
            return {"kind": "dataset", **out}
        return {"kind": "external", "host": host}
    if parts.scheme or text.startswith(("#", "/")) or not text:
        return {"kind": "external"}
    target = resolve_href(unquote(text), model_path)
    return {"kind": "path", "path": target} if target else {"kind": "external"}


def _predicate(el: Any) -> str | None:
    tag = el.tag
    if not isinstance(tag, str) or "}" not in tag:
        return None
    uri, local = tag[1:].split("}", 1)
    prefix = PREDICATES.get(uri)
    return f"{prefix}:{local}" if prefix else None


def _targets(pred: Any) -> list[str]:
    """The resources a predicate element names: `rdf:resource`, the members of a Bag, Seq
    or Alt, nested Descriptions' `rdf:about`, or a literal that looks like a reference."""
    found: list[str] = []
    if pred.get(f"{{{RDF}}}resource"):
        found.append(pred.get(f"{{{RDF}}}resource"))
    for child in pred:
        if not isinstance(child.tag, str):
            continue
        if child.tag in (f"{{{RDF}}}Bag", f"{{{RDF}}}Seq", f"{{{RDF}}}Alt"):
            for li in child:
                if not isinstance(li.tag, str):
                    continue
                if li.get(f"{{{RDF}}}resource"):
                    found.append(li.get(f"{{{RDF}}}resource"))
                elif (desc := li.find(f"{{{RDF}}}Description")) is not None:
                    found += [desc.get(f"{{{RDF}}}about")] if desc.get(f"{{{RDF}}}about") else []
                elif li.text and li.text.strip():
                    found.append(li.text)
        elif child.tag == f"{{{RDF}}}Description" and child.get(f"{{{RDF}}}about"):
            found.append(child.get(f"{{{RDF}}}about"))
    if not found and pred.text and pred.text.strip() and len(pred.text.strip()) < 2000:
        found.append(pred.text)
    return [t.strip() for t in found if t and t.strip()]


def references(root: Any, *, path: str) -> list[dict[str, Any]]:
    """Every data reference of the file's annotations, in document order, at most
    MAX_REFERENCES: `reference` (as written), `predicate`, `element` (the id the
    annotation is about: its rdf:about, else the annotated element's id) and what
    `classify` made of it."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for ann in root.iter(f"{{{NS}}}annotation"):
        owner = ann.getparent()
        owner_id = owner.get("id") if owner is not None else None
        for rdf in ann.iter(f"{{{RDF}}}RDF"):
            for desc in rdf:
                if not isinstance(desc.tag, str):
                    continue
                about = (desc.get(f"{{{RDF}}}about") or owner_id or "").strip() or None
                for pred in desc:
                    name = _predicate(pred)
                    if name not in DERIVATION and name not in IDENTITY:
                        continue
                    for target in _targets(pred):
                        what = classify(target, model_path=path)
                        if name in IDENTITY and what["kind"] == "external":
                            continue  # an ontology term or a paper, not data
                        key = (target, str(name), str(about))
                        if key in seen:
                            continue
                        seen.add(key)
                        ref = {"reference": target[:1000], "predicate": name, "element": about}
                        out.append(ref | {k: v for k, v in what.items() if v is not None})
                        if len(out) >= MAX_REFERENCES:
                            return out
    return out


def related_resources(refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The references as dandischema `Resource`s with relation `dcite:IsDerivedFrom`."""
    out = []
    for ref in refs:
        item: dict[str, Any] = {
            "schemaKey": "Resource",
            "identifier": ref["reference"],
            "relation": "dcite:IsDerivedFrom",
        }
        if ref["reference"].startswith(("http://", "https://")):
            item["url"] = ref["reference"]
        out.append(item)
    return out


def annotate(data: bytes, *, element_id: str, sources: list[str], bag: bool = True) -> bytes:
    """The file with an annotation on the element `element_id` (the document when no
    element has that id) saying it `bqmodel:isDerivedFrom` each of `sources`: in
    pyNeuroML's MIRIAM style (an `rdf:Bag` of `rdf:li`) or, with `bag=False`, its
    BioSimulations style (one predicate per source)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(data, parser)
    owner = next((el for el in root.iter() if el.get("id") == element_id), root)
    qualifiers = "http://biomodels.net/model-qualifiers/"
    ann = etree.Element(f"{{{NS}}}annotation")
    rdf = etree.SubElement(ann, f"{{{RDF}}}RDF", nsmap={"rdf": RDF, "bqmodel": qualifiers})
    desc = etree.SubElement(rdf, f"{{{RDF}}}Description", {f"{{{RDF}}}about": element_id})
    if bag:
        pred = etree.SubElement(desc, f"{{{qualifiers}}}isDerivedFrom")
        items = etree.SubElement(pred, f"{{{RDF}}}Bag")
        for source in sources:
            etree.SubElement(items, f"{{{RDF}}}li", {f"{{{RDF}}}resource": source})
    else:
        for source in sources:
            etree.SubElement(desc, f"{{{qualifiers}}}isDerivedFrom", {f"{{{RDF}}}resource": source})
    # the schema wants notes, then annotation, before an element's other children
    notes = owner.find(f"{{{NS}}}notes")
    owner.insert(0 if notes is None else owner.index(notes) + 1, ann)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
