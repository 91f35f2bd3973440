"""A model names the data it was built from (formats/neuroml_links.py), and the archive
links them both ways (archive/model_links.py): extraction from RDF annotations in both of
pyNeuroML's styles, resolution by path, id and dataset, hidden targets that look absent,
and through the API and the web pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neurodatashare.formats.neuroml import analyse
from neurodatashare.formats.neuroml_links import annotate, classify
from neurodatashare.testing import scales
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ephys_file

MISSING = "5d0c4a52-8f59-4e7f-9d61-2b8a3c9e1f00"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CACHE = "scales-real-files"


def model(tmp_path: Path, sources: list[str], *, bag: bool = True) -> bytes:
    data = scales.write_neuroml(tmp_path / "cell.nml").read_bytes()
    return annotate(data, element_id="pyr", sources=sources, bag=bag)


def built_from(data: bytes, path: str = "models/cell.nml") -> list[dict[str, Any]]:
    done = analyse(data, path=path)
    assert done.metadata is not None and done.results == [], done.results
    refs: list[dict[str, Any]] = done.metadata.get("nds:builtFrom", [])
    return refs


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("../sub-1/rec.nwb", {"kind": "path", "path": "sub-1/rec.nwb"}),
        ("../../outside.nwb", {"kind": "external"}),
        ("DANDI:000001", {"kind": "dataset", "instance": "DANDI", "dataset": "000001"}),
        (
            "https://identifiers.org/DANDI:000008/0.211014.0809",
            {"kind": "dataset", "instance": "DANDI", "dataset": "000008"},
        ),
        ("https://doi.org/10.48324/dandi.000008/0.211014.0809", {"dataset": "000008"}),
        (
            "https://dandiarchive.org/dandiset/000002/draft",
            {"kind": "dataset", "host": "dandiarchive.org", "version": "draft"},
        ),
        (
            "https://dandiarchive.org/dandiset/000004/draft/files?location=sub-1/a.nwb",
            {"kind": "dataset_path", "path": "sub-1/a.nwb"},
        ),
        ("dandi://NDS/000005@draft/sub-1/x.nwb", {"kind": "dataset_path", "instance": "NDS"}),
        (f"http://h:1/api/assets/{MISSING}/download/", {"kind": "asset", "asset_id": MISSING}),
        (f"http://h:1/asset/{MISSING}", {"kind": "asset", "host": "h:1"}),
        ("urn:miriam:neurondb:258", {"kind": "external"}),
    ],
)
def test_references_are_classified_from_their_text(reference: str, expected: dict) -> None:
    got = classify(reference, model_path="models/cell.nml")
    assert expected.items() <= got.items(), got


@pytest.mark.parametrize("bag", [True, False])
def test_both_annotation_styles_are_extracted_as_dandischema_resources(
    tmp_path: Path, bag: bool
) -> None:
    from dandischema.models import Resource

    data = model(tmp_path, ["../sub-1/rec.nwb", "DANDI:000001"], bag=bag)
    refs = built_from(data)
    assert [(r["reference"], r["predicate"], r["element"]) for r in refs] == [
        ("../sub-1/rec.nwb", "bqmodel:isDerivedFrom", "pyr"),
        ("DANDI:000001", "bqmodel:isDerivedFrom", "pyr"),
    ]
    meta = analyse(data, path="models/cell.nml").metadata or {}
    for item in meta["relatedResource"]:
        assert Resource(**item).relation.value == "dcite:IsDerivedFrom"


def test_identity_qualifiers_count_only_for_data(tmp_path: Path) -> None:
    """`bqbiol:isVersionOf` an ontology term is not data; of a DANDI dataset it is. A
    nested `rdf:Description` (rdflib's pretty-xml with labels) names its resource too."""
    data = scales.write_neuroml(tmp_path / "cell.nml").read_bytes()
    annotation = f"""<annotation><rdf:RDF xmlns:rdf="{RDF_NS}"
        xmlns:bqbiol="http://biomodels.net/biology-qualifiers/"
        xmlns:prov="http://www.w3.org/ns/prov#">
      <rdf:Description rdf:about="pyr">
        <bqbiol:isVersionOf><rdf:Bag>
          <rdf:li rdf:resource="http://uri.neuinfo.org/nif/nifstd/sao830368389"/>
          <rdf:li rdf:resource="DANDI:000020"/>
        </rdf:Bag></bqbiol:isVersionOf>
        <prov:wasDerivedFrom><rdf:Description rdf:about="recordings/a.nwb"/></prov:wasDerivedFrom>
      </rdf:Description></rdf:RDF></annotation>"""
    data = data.replace(b'<cell id="pyr">', b'<cell id="pyr">' + annotation.encode(), 1)
    refs = built_from(data)
    assert [(r["reference"], r["predicate"]) for r in refs] == [
        ("DANDI:000020", "bqbiol:isVersionOf"),
        ("recordings/a.nwb", "prov:wasDerivedFrom"),
    ]


def test_a_file_without_annotations_names_nothing(tmp_path: Path) -> None:
    meta = analyse(scales.write_neuroml(tmp_path / "c.nml").read_bytes(), path="c.nml").metadata
    assert meta is not None and "nds:builtFrom" not in meta and "relatedResource" not in meta


def test_real_models_from_jneuroml(request: pytest.FixtureRequest) -> None:
    """jNeuroML's bundled examples (pyNeuroML wheel, LGPL-3, downloaded at test time): the
    MIRIAM annotation of NML2_FullCell (`bqbiol:is` a NeuronDB term) names no data, and a
    real cell annotated with its source stays valid and names it."""
    files = {p.name: p for p in scales.real_files("nml", request.config.cache.mkdir(CACHE))}
    full = files["NML2_FullCell.nml"].read_bytes()
    assert b"urn:miriam:neurondb:258" in full
    meta = analyse(full, path="examples/NML2_FullCell.nml").metadata or {}
    assert "nds:builtFrom" not in meta
    hh = files["NML2_SingleCompHHCell.nml"].read_bytes()
    sources = ["../recordings/hh.nwb", "https://dandiarchive.org/dandiset/000008/draft"]
    refs = built_from(annotate(hh, element_id="hhcell", sources=sources), "examples/hh.nml")
    assert [(r["kind"], r.get("path"), r["element"]) for r in refs] == [
        ("path", "recordings/hh.nwb", "hhcell"),
        ("dataset", None, "hhcell"),
    ]


# -- through the server ----------------------------------------------------------------------


@pytest.fixture
def nwb(tmp_path: Path) -> bytes:
    return recording(tmp_path, "rec")


def recording(tmp_path: Path, name: str) -> bytes:
    path = make_ephys_file(
        tmp_path / f"{name}.nwb", n_channels=2, duration_s=0.2, n_units=1, identifier=name
    )
    return path.read_bytes()


def related(caller: Any, asset_id: str) -> dict[str, Any]:
    r = caller.get(f"/api/assets/{asset_id}/related/")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_model_and_its_data_are_linked_both_ways(live: Live, tmp_path: Path, nwb: bytes) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("model and data")
    rec = alice.add_file(ds, "sub-1/sub-1_icephys.nwb", nwb)
    other = alice.create_dataset("another dataset")
    sources = [
        "../sub-1/sub-1_icephys.nwb",  # by path, in the model's own version
        f"NDS:{other}",  # a dataset of this archive
        "https://dandiarchive.org/dandiset/000008/draft",  # the DANDI Archive's
        "../sub-1/not-there.nwb",
    ]
    nml = alice.add_file(ds, "models/cell.nml", model(tmp_path, sources))
    elsewhere = alice.add_file(
        other,
        "models/by-id.nml",
        model(tmp_path, [f"{live.url}/asset/{rec['asset_id']}"]),
    )
    for a in (rec, nml, elsewhere):
        alice.wait_for_checks(a["asset_id"])
    meta = alice.get(f"/api/assets/{nml['asset_id']}/").json()
    assert [r["reference"] for r in meta["nds:builtFrom"]] == sources
    assert {r["relation"] for r in meta["relatedResource"]} == {"dcite:IsDerivedFrom"}

    mine = related(alice, nml["asset_id"])
    status = [r["status"] for r in mine["built_from"]]
    assert status == ["resolved", "resolved", "external", "not_found"]
    first, second, third, _ = mine["built_from"]
    assert first["target"]["asset_id"] == rec["asset_id"] and first["element"] == "pyr"
    assert first["target"]["nds:format"] == "nwb"
    assert second["target"] == {
        "type": "dataset",
        "dataset": other,
        "version": "draft",
        "name": "another dataset",
        "page": f"/dandiset/{other}/draft",
    }
    assert third["url"] == sources[2]

    data = related(alice, rec["asset_id"])
    assert data["built_from"] == []
    assert sorted(m["path"] for m in data["models"]) == ["models/by-id.nml", "models/cell.nml"]
    assert {m["via"] for m in data["models"]} == {"asset"}
    # the other dataset is named as a whole: its files list the model, "via" the dataset
    (whole,) = related(alice, elsewhere["asset_id"])["models"]
    assert whole["path"] == "models/cell.nml" and whole["via"] == "dataset"

    # the web pages show the link both ways
    page = alice.get(f"/asset/{nml['asset_id']}").text
    assert "Built from" in page and f'href="/asset/{rec["asset_id"]}?dataset={ds}' in page
    page = alice.get(f"/asset/{rec['asset_id']}").text
    assert "Models built from this" in page and f"/asset/{nml['asset_id']}?" in page
    page_json = alice.get(f"/asset/{rec['asset_id']}.json").json()
    assert len(page_json["related"]["models"]) == 2

    # a published version keeps the link; the model is listed once, with both versions
    alice.wait_for_status(ds)
    published = alice.publish(ds)["version"]
    data = related(alice, rec["asset_id"])
    cell = next(m for m in data["models"] if m["path"] == "models/cell.nml")
    assert sorted(cell["versions"]) == sorted(["draft", published])


def test_hidden_data_is_never_linked(live: Live, tmp_path: Path, nwb: bytes) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    anon = live.anonymous()
    secret = bob.create_dataset("bob's secret", access="private")
    hidden = bob.add_file(secret, "sub-9/secret.nwb", nwb)
    ds = alice.create_dataset("alice's open models")
    data = alice.add_file(ds, "data/open.nwb", recording(tmp_path, "open"))
    # bob's private model names alice's open file
    bob_names_alice = bob.add_file(
        secret, "models/names-open.nml", model(tmp_path, [f"{live.url}/asset/{data['asset_id']}"])
    )
    refs = [
        f"{live.url}/asset/{hidden['asset_id']}",
        f"{live.url}/asset/{MISSING}",
        f"NDS:{secret}",
        "NDS:999999",
    ]
    nml = alice.add_file(ds, "models/m.nml", model(tmp_path, refs))
    for caller, a in ((bob, hidden), (bob, bob_names_alice), (alice, nml)):
        caller.wait_for_checks(a["asset_id"])

    for caller in (alice, anon):
        got = related(caller, nml["asset_id"])["built_from"]
        assert [r["status"] for r in got] == ["not_found"] * 4
        # a hidden target answers exactly like one that does not exist
        strip = [{k: v for k, v in r.items() if k != "reference"} for r in got]
        assert strip[0] == strip[1] and strip[2] == strip[3]
        text = caller.get(f"/asset/{nml['asset_id']}").text
        assert f'href="/asset/{hidden["asset_id"]}' not in text and "bob&#39;s secret" not in text
        # bob's private model is not listed as built from alice's open file
        assert related(caller, data["asset_id"])["models"] == []
        assert "names-open" not in caller.get(f"/asset/{data['asset_id']}").text
    # the owner sees both
    own = related(bob, nml["asset_id"])["built_from"]
    assert [r["status"] for r in own] == ["resolved", "not_found", "resolved", "not_found"]
    assert [m["path"] for m in related(bob, data["asset_id"])["models"]] == [
        "models/names-open.nml"
    ]
    # the route itself: hidden is absent
    assert bob.get(f"/api/assets/{hidden['asset_id']}/related/").status_code == 200
    assert alice.get(f"/api/assets/{hidden['asset_id']}/related/").status_code == 404
    assert anon.get(f"/api/assets/{hidden['asset_id']}/related/").status_code == 401
