"""Computational models: NeuroML 2 (`.nml`), checked against the XSD libNeuroML ships.

One lxml parse serves three steps: the schema (libNeuroML's NeuroML_v<current>.xsd; no
Java, unlike jNeuroML), the reference checks jNeuroML adds on top of it (a port of the
ideas, not the code: components, populations, synapses and segments named by id must
exist), and the description (cells, ion channels, synapses, networks). `<include>`d files
are other assets of the dataset, which one file's processing cannot see: their hrefs are
resolved against the asset's path and listed in `nds:summary.includes`; an id that may be
defined in one of them is a warning, not an error. The data a model says it was built from
(RDF annotations, formats/neuroml_links.py) become `nds:builtFrom` and dandischema
`relatedResource`s. NeuroML is XML with no registered type of its own, so the media type is
`application/xml`. The element tree view reads the file with formats/neuroml_tree.py.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.formats.common import finding
from neurodatashare.formats.neuroml_links import references, related_resources
from neurodatashare.formats.neuroml_links import resolve_href as _resolve
from neurodatashare.validation.types import Severity

NS = "http://www.neuroml.org/schema/neuroml2"
MAX_SCHEMA_ERRORS = 20
MAX_REFERENCE_ERRORS = 50
MAX_LISTED = 200  # cells, channels, synapses or populations listed in the summary
# LEMS definitions bundled with every NeuroML tool; including them needs no file
CORE_INCLUDES = frozenset(
    [
        "Cells.xml",
        "Channels.xml",
        "Networks.xml",
        "Synapses.xml",
        "Inputs.xml",
        "PyNN.xml",
        "Simulation.xml",
        "NeuroMLCoreDimensions.xml",
        "NeuroMLCoreCompTypes.xml",
    ]
)


@cache
def _schema() -> Any:
    """The newest NeuroML 2 XSD in the installed libNeuroML (loaded once per process)."""
    import neuroml
    from lxml import etree

    folder = Path(neuroml.__file__).parent / "nml"
    name = f"NeuroML_{neuroml.current_neuroml_version}.xsd"
    return etree.XMLSchema(etree.parse(str(folder / name)))


def _local(tag: Any) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _name(el: Any) -> str:
    """How a finding names an element: its tag and id, inside its nearest ided parent."""
    own = f"{_local(el.tag)}" + (f"[@id='{el.get('id')}']" if el.get("id") else "")
    parent = el.getparent()
    while parent is not None and parent.get("id") is None:
        parent = parent.getparent()
    if parent is None or parent.getparent() is None:
        return own
    return f"{_local(parent.tag)}[@id='{parent.get('id')}']/{own}"


def _is_cell(tag: str) -> bool:
    return tag == "cell" or tag.endswith("Cell") or tag == "cell2CaPools"


def _is_synapse(tag: str) -> bool:
    inputs = tag.startswith(("poisson", "transientPoisson"))
    return (tag.endswith("Synapse") and not inputs) or tag == "gapJunction"


class _Checker:
    def __init__(self, root: Any, path: str) -> None:
        self.root = root
        self.path = path
        self.results: list[dict[str, Any]] = []
        self.top = {el.get("id"): el for el in root if el.get("id") is not None}
        self.includes: list[dict[str, Any]] = []
        self.open_includes = False  # an id may be defined in an included file

    def add(self, severity: Severity, check: str, el: Any, message: str, fix: str) -> None:
        if len(self.results) >= MAX_REFERENCE_ERRORS:
            return
        where = f"{_name(el)} (line {el.sourceline})" if el is not None else None
        self.results.append(finding(severity, check, message, fix, object_path=where))

    def missing(self, check: str, el: Any, what: str, ref: str, fix: str) -> None:
        if self.open_includes:
            message = (
                f"{_name(el)} refers to {what} `{ref}`, which is not in this file; "
                "it must be in one of the included files."
            )
            self.add(Severity.WARNING, check, el, message, fix)
        else:
            self.add(
                Severity.ERROR,
                check,
                el,
                f"{_name(el)} refers to {what} `{ref}`, which does not exist.",
                fix,
            )

    def run(self) -> None:
        self._ids()
        self._includes()
        for el in self.root.iter(f"{{{NS}}}*"):
            if el.get("ionChannel") is not None and el.get("ionChannel") not in self.top:
                self.missing(
                    "neuroml.ion_channel_missing",
                    el,
                    "ion channel",
                    el.get("ionChannel"),
                    "Define the ion channel (e.g. "
                    "`<ionChannelHH id=...>`) or include the file that does.",
                )
        for cell in self.root:
            if _is_cell(_local(cell.tag)):
                self._segments(cell)
        for net in self.root.iter(f"{{{NS}}}network"):
            self._network(net)

    def _ids(self) -> None:
        seen: dict[str, Any] = {}
        for el in self.root:
            key = el.get("id")
            if key is None:
                continue
            if key in seen:
                self.add(
                    Severity.ERROR,
                    "neuroml.duplicate_id",
                    el,
                    f"The id `{key}` is used by two top-level elements "
                    f"({_local(seen[key].tag)} and {_local(el.tag)}).",
                    "Give every top-level element its own id.",
                )
            seen[key] = el

    def _includes(self) -> None:
        for inc in self.root.iter(f"{{{NS}}}include"):
            if inc.getparent() is not self.root:
                continue  # segmentGroup includes are checked with the segments
            href = inc.get("href") or ""
            base = posixpath.basename(href)
            if base in CORE_INCLUDES:
                continue
            target = _resolve(href, self.path)
            self.includes.append({"href": href, "path": target})
            if target is None:
                self.add(
                    Severity.ERROR,
                    "neuroml.include_outside",
                    inc,
                    f"The include `{href}` does not name a file in this dataset "
                    "(empty, absolute, a URL, or above the dataset's top).",
                    "Upload the included file to the dataset and refer to it by a relative path.",
                )
            elif target == posixpath.normpath(self.path):
                self.add(
                    Severity.ERROR,
                    "neuroml.include_self",
                    inc,
                    f"The file includes itself (`{href}`).",
                    "Remove this include.",
                )
            else:
                self.open_includes = True

    def _segments(self, cell: Any) -> None:
        morph = cell.find(f"{{{NS}}}morphology")
        if morph is None:
            return
        ids = {s.get("id") for s in morph.iter(f"{{{NS}}}segment")}
        for parent in morph.iter(f"{{{NS}}}parent"):
            if parent.get("segment") not in ids:
                self.add(
                    Severity.ERROR,
                    "neuroml.segment_missing",
                    parent.getparent(),
                    f"{_name(parent.getparent())} has parent segment "
                    f"`{parent.get('segment')}`, which the cell does not have.",
                    "Point `<parent segment=...>` at an existing segment id.",
                )
        groups = {g.get("id") for g in morph.iter(f"{{{NS}}}segmentGroup")}
        for member in morph.iter(f"{{{NS}}}member"):
            if member.get("segment") not in ids:
                self.add(
                    Severity.ERROR,
                    "neuroml.segment_missing",
                    member.getparent(),
                    f"{_name(member.getparent())} lists segment `{member.get('segment')}`,"
                    " which the cell does not have.",
                    "Remove the member or add the segment.",
                )
        for inc in morph.iter(f"{{{NS}}}include"):
            if inc.get("segmentGroup") not in groups:
                self.add(
                    Severity.ERROR,
                    "neuroml.segment_group_missing",
                    inc.getparent(),
                    f"{_name(inc.getparent())} includes segment group "
                    f"`{inc.get('segmentGroup')}`, which does not exist.",
                    "Define the segment group or remove the include.",
                )
        for el in cell.iter(f"{{{NS}}}*"):
            group = el.get("segmentGroup")
            if group is not None and el.tag != f"{{{NS}}}include" and group not in groups:
                self.add(
                    Severity.ERROR,
                    "neuroml.segment_group_missing",
                    el,
                    f"{_name(el)} applies to segment group `{group}`, which the cell's "
                    "morphology does not define.",
                    "Use a defined segment group (`all`, `soma_group`, ...).",
                )

    def _network(self, net: Any) -> None:
        pops = {p.get("id"): p for p in net.iter(f"{{{NS}}}population")}
        for pop in pops.values():
            comp = pop.get("component")
            if comp not in self.top:
                self.missing(
                    "neuroml.population_component_missing",
                    pop,
                    "cell",
                    comp,
                    "Define the cell the population is made of, or include it.",
                )
            instances = len(pop.findall(f"{{{NS}}}instance"))
            size = pop.get("size")
            if instances and size is not None and size.isdigit() and int(size) != instances:
                self.add(
                    Severity.ERROR,
                    "neuroml.population_size",
                    pop,
                    f"{_name(pop)} has size {size} but {instances} instances.",
                    "Make `size` the number of `<instance>` elements.",
                )
        for tag in ("projection", "electricalProjection", "continuousProjection"):
            for proj in net.iter(f"{{{NS}}}{tag}"):
                for side in ("presynapticPopulation", "postsynapticPopulation"):
                    if proj.get(side) not in pops:
                        self.add(
                            Severity.ERROR,
                            "neuroml.projection_population_missing",
                            proj,
                            f"{_name(proj)} names {side} `{proj.get(side)}`, "
                            "which the network does not have.",
                            "Name a population of this network.",
                        )
                for el in proj.iter():
                    syn = el.get("synapse")
                    if syn is not None and syn not in self.top:
                        self.missing(
                            "neuroml.synapse_missing",
                            el,
                            "synapse",
                            syn,
                            "Define the synapse (e.g. `<expTwoSynapse id=...>`) or "
                            "include the file that does.",
                        )
        for inputs in net.iter(f"{{{NS}}}inputList"):
            if inputs.get("component") not in self.top:
                self.missing(
                    "neuroml.input_missing",
                    inputs,
                    "input",
                    inputs.get("component"),
                    "Define the input (e.g. `<pulseGenerator id=...>`).",
                )
            if inputs.get("population") not in pops:
                self.add(
                    Severity.ERROR,
                    "neuroml.input_population_missing",
                    inputs,
                    f"{_name(inputs)} targets population `{inputs.get('population')}`, "
                    "which the network does not have.",
                    "Name a population of this network.",
                )


def _describe(root: Any, includes: list[dict[str, Any]]) -> dict[str, Any]:
    top = {el.get("id"): el for el in root if el.get("id") is not None}
    cells, channels, synapses, networks = [], [], [], []
    for el in root:
        tag = _local(el.tag)
        if _is_cell(tag):
            morph = el.find(f"{{{NS}}}morphology")
            if morph is None and el.get("morphology") in top:
                morph = top[el.get("morphology")]
            used = sorted({c.get("ionChannel") for c in el.iter() if c.get("ionChannel")})
            cells.append(
                {
                    "id": el.get("id"),
                    "type": tag,
                    "morphology": morph is not None,
                    "segments": 0 if morph is None else len(morph.findall(f"{{{NS}}}segment")),
                    "segment_groups": 0
                    if morph is None
                    else len(morph.findall(f"{{{NS}}}segmentGroup")),
                    "ion_channels": used,
                }
            )
        elif tag.startswith("ionChannel"):
            gates = [_local(g.tag) for g in el if _local(g.tag).startswith("gate")]
            channels.append(
                {"id": el.get("id"), "type": tag, "species": el.get("species"), "gates": len(gates)}
            )
        elif _is_synapse(tag):
            synapses.append({"id": el.get("id"), "type": tag})
        elif tag == "network":
            networks.append(_network_summary(el))
    return {
        "cells": cells[:MAX_LISTED],
        "ion_channels": channels[:MAX_LISTED],
        "synapses": synapses[:MAX_LISTED],
        "networks": networks[:MAX_LISTED],
        "counts": {
            "cells": len(cells),
            "ion_channels": len(channels),
            "synapses": len(synapses),
            "networks": len(networks),
        },
        "includes": includes,
        "notes": " ".join((root.findtext(f"{{{NS}}}notes") or "").split())[:500] or None,
    }


def _network_summary(net: Any) -> dict[str, Any]:
    pops = []
    for pop in list(net.iter(f"{{{NS}}}population"))[:MAX_LISTED]:
        instances = len(pop.findall(f"{{{NS}}}instance"))
        size = pop.get("size")
        pops.append(
            {
                "id": pop.get("id"),
                "component": pop.get("component"),
                "size": int(size) if size and size.isdigit() else instances,
            }
        )
    projections = []
    for tag in ("projection", "electricalProjection", "continuousProjection"):
        for proj in net.iter(f"{{{NS}}}{tag}"):
            synapse = proj.get("synapse") or next(
                (c.get("synapse") for c in proj.iter() if c.get("synapse")), None
            )
            projections.append(
                {
                    "id": proj.get("id"),
                    "type": tag,
                    "pre": proj.get("presynapticPopulation"),
                    "post": proj.get("postsynapticPopulation"),
                    "synapse": synapse,
                    "connections": max(len(proj) - len(proj.findall(f"{{{NS}}}notes")), 0),
                }
            )
    return {
        "id": net.get("id"),
        "populations": pops,
        "projections": projections[:MAX_LISTED],
        "inputs": len(net.findall(f"{{{NS}}}inputList"))
        + len(net.findall(f"{{{NS}}}explicitInput")),
    }


def analyse(data: bytes, *, path: str) -> Processed:
    """Schema findings, reference findings and the description of one NeuroML file."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        message = f"The file is not well-formed XML: {exc}"
        fix = "Open the file in an XML editor to find the error, or export the model again."
        return Processed(None, [finding(Severity.CRITICAL, "neuroml.xml", message, fix)], message)
    if root.tag != f"{{{NS}}}neuroml":
        message = f'The root element is `{root.tag}`, not NeuroML 2\'s `<neuroml xmlns="{NS}">`.'
        fix = "Export the model as NeuroML 2 (NeuroML 1 and LEMS files are not NeuroML 2)."
        return Processed(None, [finding(Severity.CRITICAL, "neuroml.root", message, fix)], message)
    schema = _schema()
    results: list[dict[str, Any]] = []
    if not schema.validate(root):
        errors = list(schema.error_log)
        for err in errors[:MAX_SCHEMA_ERRORS]:
            results.append(
                finding(
                    Severity.ERROR,
                    "neuroml.schema",
                    " ".join(err.message.split())[:400],
                    "Correct the element so it matches the NeuroML 2 schema "
                    "(NeuroML_v2.x.xsd); pyNeuroML's `pynml -validate` shows the same.",
                    object_path=f"line {err.line}",
                )
            )
        if len(errors) > MAX_SCHEMA_ERRORS:
            results.append(
                finding(
                    Severity.ERROR,
                    "neuroml.schema",
                    f"{len(errors) - MAX_SCHEMA_ERRORS} more schema errors are not listed.",
                    "Fix the errors above and upload the file again.",
                )
            )
    checker = _Checker(root, path)
    checker.run()
    results += checker.results
    summary = _describe(root, checker.includes)
    summary["schema"] = schema_version()
    summary["id"] = root.get("id")
    meta: dict[str, Any] = {
        "schemaKey": "BareAsset",
        "encodingFormat": NEUROML.media_type,
        "nds:summary": summary,
    }
    if refs := references(root, path=path):
        meta["nds:builtFrom"] = refs
        meta["relatedResource"] = related_resources(refs)
    return Processed(meta, results)


def schema_version() -> str:
    import neuroml

    return f"NeuroML_{neuroml.current_neuroml_version}.xsd"


class NeuroMLFormat:
    name = "neuroml"
    media_type = "application/xml"
    suffixes: tuple[str, ...] = (".nml",)
    version = "neuroml-1"  # the checks (validation results)
    metadata_version = "neuroml-2"  # the description; 2: nds:builtFrom and relatedResource
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes) -> bool:
        return path.lower().endswith(self.suffixes)

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        reader.seek(0)
        return analyse(reader.read(), path=path)

    def views(self, asset: dict[str, Any]) -> list[str]:
        """`morphology` when a cell has segments, `network` when there is a network, and
        always the element tree."""
        summary = asset.get("nds:summary") or {}
        cells = summary.get("cells") or []
        views = ["download"]
        if any(c.get("morphology") and c.get("segments") for c in cells):
            views.append("morphology")
        if (summary.get("counts") or {}).get("networks"):
            views.append("network")
        return [*views, "elements", "summary"]


NEUROML = NeuroMLFormat()
