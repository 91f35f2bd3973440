"""The NeuroML element tree (formats/neuroml_tree.py): a valid cell, a network, a broken
include with its finding on the include, a huge network capped and paged, files that parse
only in part or not at all, and jNeuroML's bundled examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neurodatashare.formats import neuroml_tree as tree
from neurodatashare.formats.neuroml import analyse
from neurodatashare.testing import scales


def build(data: bytes, path: str = "models/m.nml", **kw: Any) -> dict[str, Any]:
    doc = tree.parse(data)
    done = analyse(data, path=path)
    return tree.subtree(doc, placed=tree.place(doc, done.results), **kw)


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("children") or []:
        out += walk(child)
    return out


def by_tag(node: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    return [n for n in walk(node) if n["tag"] == tag]


def test_a_valid_cell_shows_its_morphology_biophysics_channels_and_network(
    tmp_path: Path,
) -> None:
    root = build(scales.write_neuroml(tmp_path / "cell.nml").read_bytes())
    assert root["path"] == "/" and root["tag"] == "neuroml" and root["id"] == "model"
    kinds = {(n["tag"], n["id"]): n["kind"] for n in root["children"]}
    assert kinds[("ionChannelHH", "na")] == "ion_channel"
    assert kinds[("expOneSynapse", "syn")] == "synapse"
    assert kinds[("cell", "pyr")] == "cell" and kinds[("network", "net")] == "network"
    (cell,) = by_tag(root, "cell")
    assert {c["tag"] for c in cell["children"]} == {"morphology", "biophysicalProperties"}
    segments = by_tag(root, "segment")
    assert [s["id"] for s in segments] == ["0", "1"] and segments[0]["attrs"]["name"] == "soma"
    (density,) = by_tag(root, "channelDensity")
    assert density["attrs"]["ionChannel"] == "na" and density["kind"] == "element"
    (pop,) = by_tag(root, "population")
    assert pop["kind"] == "population" and pop["attrs"] == {"component": "pyr", "size": "3"}
    assert by_tag(root, "projection")[0]["attrs"]["synapse"] == "syn"
    # an index path addresses the same element again
    doc = tree.parse(scales.write_neuroml(tmp_path / "cell.nml").read_bytes())
    assert tree.subtree(doc, path=pop["path"])["id"] == "pop"
    assert not any("findings" in n for n in walk(root))


def test_a_broken_include_carries_its_finding_and_a_missing_cell_its_own(
    tmp_path: Path,
) -> None:
    data = scales.write_neuroml(tmp_path / "m.nml", "broken_include").read_bytes()
    root = build(data)
    (include,) = by_tag(root, "include")
    assert include["attrs"]["href"] == "../../elsewhere/channels.nml"
    assert [f["check"] for f in include["findings"]] == ["neuroml.include_outside"]
    assert include["findings"][0]["how_to_fix"]
    (pop,) = by_tag(root, "population")
    assert [f["check"] for f in pop["findings"]] == ["neuroml.population_component_missing"]
    # every finding of the report is on some element
    placed = sum(len(n.get("findings", [])) for n in walk(root))
    assert placed == len(analyse(data, path="models/m.nml").results)


def test_schema_errors_go_on_the_element_of_their_line(tmp_path: Path) -> None:
    root = build(scales.write_neuroml(tmp_path / "m.nml", "schema").read_bytes())
    (wrong,) = by_tag(root, "notAnElement")
    assert wrong["findings"][0]["check"] == "neuroml.schema"


def test_a_huge_network_is_capped_and_paged() -> None:
    data = scales.big_network_neuroml(20_000, 50_000)
    doc = tree.parse(data)
    assert doc.count > 90_000
    root = tree.subtree(doc)
    nodes = walk(root)
    assert len(nodes) <= tree.MAX_NODES
    assert len(json.dumps(root)) < 400_000
    (pop,) = by_tag(root, "population")
    assert len(pop["children"]) == tree.MAX_CHILDREN
    assert pop["more"] == {
        "offset": tree.MAX_CHILDREN,
        "count": 20_000 - tree.MAX_CHILDREN,
        "tags": {"instance": 20_000 - tree.MAX_CHILDREN},
    }
    (proj,) = by_tag(root, "projection")
    assert proj["more"]["count"] == 50_000 - len(proj["children"] or [])
    # the next page of instances, and the last one
    page = tree.subtree(doc, path=pop["path"], offset=pop["more"]["offset"], limit=100)
    assert [c["id"] for c in page["children"]][:2] == ["50", "51"]
    assert len(page["children"]) == 100 and page["more"]["offset"] == 150
    last = tree.subtree(doc, path=pop["path"], offset=19_990, limit=100)
    assert len(last["children"]) == 10 and "more" not in last
    with pytest.raises(LookupError, match="child elements"):
        tree.find(doc, "/2/99")


def test_a_file_cut_short_shows_what_parses_and_garbage_says_why(tmp_path: Path) -> None:
    data = scales.write_neuroml(tmp_path / "cell.nml").read_bytes()
    doc = tree.parse(data[: len(data) // 2])
    assert doc.partial and doc.message and "not well-formed" in doc.message
    root = tree.subtree(doc)
    assert root["tag"] == "neuroml" and by_tag(root, "ionChannelHH")
    with pytest.raises(ValueError, match="Nothing in the file could be read as XML"):
        tree.parse(b"\x00\x01 not xml at all")
    lems = tree.parse(b"<Lems><Component id='x'/></Lems>")
    assert not lems.partial and "not NeuroML 2" in str(lems.message)


def test_annotations_show_their_rdf(tmp_path: Path) -> None:
    from neurodatashare.formats.neuroml_links import annotate

    data = scales.write_neuroml(tmp_path / "cell.nml").read_bytes()
    root = build(annotate(data, element_id="pyr", sources=["../data/rec.nwb"]))
    (li,) = by_tag(root, "rdf:li")
    assert li["attrs"] == {"rdf:resource": "../data/rec.nwb"} and li["kind"] == "annotation"
    assert by_tag(root, "bqmodel:isDerivedFrom")


def test_jneuroml_examples_have_trees(request: pytest.FixtureRequest) -> None:
    """Real files: the NeuroML 2 examples bundled in jNeuroML (pyNeuroML wheel, LGPL-3,
    downloaded at test time). Every element is reachable, and findings land on elements."""
    files = scales.real_files("nml", request.config.cache.mkdir("scales-real-files"))
    assert len(files) >= 15
    for path in files:
        data = path.read_bytes()
        doc = tree.parse(data)
        assert not doc.partial and doc.message is None, path.name
        root = tree.subtree(doc)
        assert root["tag"] == "neuroml"
        if doc.count <= tree.MAX_NODES:
            assert len(walk(root)) == doc.count, path.name
    full = next(p for p in files if p.name == "NML2_FullCell.nml")
    root = build(full.read_bytes(), path=f"examples/{full.name}")
    (cell,) = by_tag(root, "cell")
    assert cell["id"] == "SpikingCell"
    assert "urn:miriam:neurondb:258" in {n["attrs"].get("rdf:resource") for n in walk(root)}
