"""NeuroML 2 element tree for the elements view: the document's elements as compact nodes,
with findings of the validation report placed on the element they name.

A file that is not well-formed XML is read with lxml's recovering parser, so the tree shows
what parses up to the error (`partial`); a file where nothing parses raises ValueError.
Nodes are addressed by index paths (`/` the root, `/2/0` its third child's first child),
which stay valid for one blob (blobs never change). A response holds at most MAX_NODES
nodes: children beyond MAX_CHILDREN of one parent (a population's instances, a projection's
connections) and levels beyond the budget are left for the client to ask for (`offset`).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from neurodatashare.formats.neuroml import NS, _is_cell, _is_synapse, _local, _name

MAX_NODES = 1500  # nodes in one response
MAX_CHILDREN = 50  # children of one parent sent before the rest are summarised
MAX_ATTRS = 12
MAX_VALUE = 120  # characters of an attribute value or a note
LINE_RE = re.compile(r"line (\d+)")
_PREFIXES = {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://biomodels.net/biology-qualifiers/": "bqbiol",
    "http://biomodels.net/model-qualifiers/": "bqmodel",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://www.w3.org/2000/01/rdf-schema#": "rdfs",
    "http://www.w3.org/ns/prov#": "prov",
}


@dataclass
class Document:
    """A parsed file: its root, whether parsing stopped early, and elements by line."""

    root: Any
    partial: bool = False
    message: str | None = None
    by_line: dict[int, list[Any]] = field(default_factory=dict)
    count: int = 0


def parse(data: bytes) -> Document:
    """The file's element tree; a recovered part of it when the XML is broken."""
    from lxml import etree

    strict = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    partial, message = False, None
    try:
        root = etree.fromstring(data, strict)
    except etree.XMLSyntaxError as exc:
        loose = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=True, recover=True
        )
        try:
            root = etree.fromstring(data, loose)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise ValueError(
                f"Nothing in the file could be read as XML ({exc}). Open it in an XML "
                "editor to find the error, or export the model again."
            ) from None
        partial = True
        message = (
            f"The file is not well-formed XML ({exc}); the tree shows the elements read "
            "before the error."
        )
    if root.tag != f"{{{NS}}}neuroml" and message is None:
        message = (
            f"The root element is `{_label(root)}`, not NeuroML 2's `<neuroml>`; "
            "the tree shows the file's elements as they are."
        )
    doc = Document(root=root, partial=partial, message=message)
    for el in root.iter():
        if isinstance(el.tag, str):
            doc.count += 1
            if el.sourceline:
                doc.by_line.setdefault(int(el.sourceline), []).append(el)
    return doc


def _label(el: Any) -> str:
    """The tag as a person reads it: NeuroML's local name, else prefix:name."""
    tag = el.tag
    if not isinstance(tag, str) or "}" not in tag:
        return str(tag)
    uri, local = tag[1:].split("}", 1)
    if uri == NS:
        return local
    prefix = _PREFIXES.get(uri) or next((p for p, u in (el.nsmap or {}).items() if u == uri), None)
    return f"{prefix}:{local}" if prefix else local


def kind(el: Any) -> str:
    """What the element is, for the view's icons and colours."""
    tag = _local(el.tag)
    uri = el.tag[1:].split("}", 1)[0] if isinstance(el.tag, str) and "}" in el.tag else ""
    if uri and uri != NS:
        return "annotation"
    if tag == "neuroml":
        return "document"
    if _is_cell(tag):
        return "cell"
    if tag.startswith("ionChannel"):
        return "ion_channel"
    if tag.startswith("gate"):
        return "gate"
    if _is_synapse(tag):
        return "synapse"
    names = {
        "include": "include",
        "morphology": "morphology",
        "segment": "segment",
        "segmentGroup": "segment_group",
        "biophysicalProperties": "biophysics",
        "membraneProperties": "biophysics",
        "intracellularProperties": "biophysics",
        "network": "network",
        "population": "population",
        "instance": "instance",
        "inputList": "input",
        "explicitInput": "input",
        "notes": "notes",
        "annotation": "annotation",
    }
    if tag in names:
        return names[tag]
    if tag.endswith("Projection") or tag == "projection":
        return "projection"
    if tag.startswith(("connection", "electricalConnection", "continuousConnection")):
        return "connection"
    if tag.endswith(("Generator", "Clamp")) or tag.startswith(("poisson", "transientPoisson")):
        return "input"
    return "element"


def _elements(el: Any) -> list[Any]:
    return [c for c in el if isinstance(c.tag, str)]


def _attrs(el: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in list(el.attrib.items())[:MAX_ATTRS]:
        name = _label_attr(key)
        if name == "id":
            continue
        text = str(value)
        out[name] = text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
    return out


def _label_attr(key: str) -> str:
    if "}" not in key:
        return key
    uri, local = key[1:].split("}", 1)
    prefix = _PREFIXES.get(uri)
    return f"{prefix}:{local}" if prefix else local


def find(doc: Document, path: str) -> Any:
    """The element at an index path (`/`, `/0/3`), or LookupError."""
    el = doc.root
    parts = [p for p in path.strip().split("/") if p]
    for depth, part in enumerate(parts):
        children = _elements(el)
        if not (part.isascii() and part.isdigit()) or int(part) >= len(children):
            where = "/" + "/".join(parts[:depth]) if depth else "/"
            raise LookupError(
                f"No element at {path!r}: the element at {where} has {len(children)} "
                "child elements (paths are child numbers from 0, like /0/2)."
            )
        el = children[int(part)]
    return el


def place(doc: Document, results: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The report's findings by element (id() of the lxml element): a finding's
    `object_path` names the element and its line (formats/neuroml.py), or a line alone
    (schema errors). Findings naming no element go on the root."""
    placed: dict[int, list[dict[str, Any]]] = {}
    for r in results:
        where = str(r.get("object_path") or "")
        target = doc.root
        m = LINE_RE.search(where)
        if m and (candidates := doc.by_line.get(int(m.group(1)))):
            named = where.split(" (line", 1)[0]
            target = next((c for c in candidates if _name(c) == named), candidates[0])
        short = {k: r.get(k) for k in ("severity", "check", "message", "how_to_fix")}
        placed.setdefault(id(target), []).append(short)
    return placed


def _node(
    el: Any, path: str, placed: dict[int, list[dict[str, Any]]], count: int
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "path": path,
        "tag": _label(el),
        "id": el.get("id"),
        "kind": kind(el),
        "line": el.sourceline,
        "attrs": _attrs(el),
        "child_count": count,
    }
    if _local(el.tag) == "notes" or (el.text and el.text.strip() and not len(el)):
        text = " ".join((el.text or "").split())
        if text:
            node["text"] = text if len(text) <= MAX_VALUE * 2 else text[: MAX_VALUE * 2] + "…"
    if found := placed.get(id(el)):
        node["findings"] = found
    return node


def subtree(
    doc: Document,
    *,
    path: str = "/",
    offset: int = 0,
    limit: int = MAX_CHILDREN,
    placed: dict[int, list[dict[str, Any]]] | None = None,
    budget: int = MAX_NODES,
) -> dict[str, Any]:
    """The element at `path` with its children `offset` to `offset + limit`, and below them
    as many levels as `budget` nodes allow (breadth first). A node whose children were not
    sent has `children: null`; one with more children than sent has `more`:
    `{"offset", "count", "tags"}` (the next offset, how many are left, their tags)."""
    placed = placed if placed is not None else {}
    start = find(doc, path)
    base = "" if path.strip("/") == "" else "/" + path.strip("/")
    kids: dict[int, list[Any]] = {}

    def children_of(el: Any) -> list[Any]:
        if id(el) not in kids:
            kids[id(el)] = _elements(el)
        return kids[id(el)]

    top = _node(start, base or "/", placed, len(children_of(start)))
    used = 1
    queue: deque[tuple[Any, dict[str, Any], str, int, int]] = deque(
        [(start, top, base, offset, limit)]
    )
    while queue:
        el, node, own, first, count = queue.popleft()
        children = children_of(el)
        if not children:
            node["children"] = []
            continue
        if used >= budget:
            node["children"] = None
            continue
        first = max(0, min(first, len(children)))
        take = children[first : first + min(count, budget - used)]
        node["children"] = []
        for i, child in enumerate(take, start=first):
            sub = _node(child, f"{own}/{i}", placed, len(children_of(child)))
            node["children"].append(sub)
            queue.append((child, sub, f"{own}/{i}", 0, MAX_CHILDREN))
        used += len(take)
        rest = children[first + len(take) :]
        if rest:
            tags = Counter(c.tag for c in rest)
            named = {_label(next(c for c in rest if c.tag == t)): n for t, n in tags.items()}
            node["more"] = {"offset": first + len(take), "count": len(rest), "tags": named}
    return top
