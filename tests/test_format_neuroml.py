"""NeuroML 2: XSD validation with libNeuroML's schema, reference checks that name the
element, and the description; on libNeuroML-written models, jNeuroML's bundled examples
(from the pyNeuroML wheel) and through the live server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from neurodatashare.formats.neuroml import NEUROML, analyse
from neurodatashare.testing import scales
from neurodatashare.testing.live import Live


def run(path: Path, asset_path: str = "models/cell.nml") -> tuple[dict, list[dict]]:
    done = analyse(path.read_bytes(), path=asset_path)
    assert done.metadata is not None
    return done.metadata["nds:summary"], done.results


def by_check(results: list[dict]) -> dict[str, dict]:
    return {r["check"]: r for r in results}


def test_a_valid_model_is_described(tmp_path: Path) -> None:
    summary, results = run(scales.write_neuroml(tmp_path / "cell.nml"))
    assert results == []
    (cell,) = summary["cells"]
    assert cell == {
        "id": "pyr",
        "type": "cell",
        "morphology": True,
        "segments": 2,
        "segment_groups": 3,
        "ion_channels": ["na"],
    }
    assert summary["ion_channels"][0]["id"] == "na"
    assert summary["synapses"] == [{"id": "syn", "type": "expOneSynapse"}]
    (net,) = summary["networks"]
    assert net["populations"] == [{"id": "pop", "component": "pyr", "size": 3}]
    assert net["projections"][0]["synapse"] == "syn"
    assert summary["schema"].startswith("NeuroML_v2")


@pytest.mark.parametrize(
    ("defect", "check", "element"),
    [
        ("missing_component", "neuroml.population_component_missing", "population[@id='pop']"),
        ("missing_channel", "neuroml.ion_channel_missing", "channelDensity[@id='na_all']"),
        ("broken_include", "neuroml.include_outside", "include"),
        ("schema", "neuroml.schema", None),
    ],
)
def test_defects_are_errors_that_name_the_element(
    tmp_path: Path, defect: str, check: str, element: str | None
) -> None:
    _, results = run(scales.write_neuroml(tmp_path / "m.nml", defect))
    found = by_check(results)[check]
    assert found["severity"] == "ERROR" and found["how_to_fix"]
    if element is not None:
        assert element in found["object_path"] and "line" in found["object_path"]


def test_ids_from_a_sibling_include_are_warnings_and_the_include_is_listed(
    tmp_path: Path,
) -> None:
    summary, results = run(scales.write_neuroml(tmp_path / "m.nml", "include"))
    assert by_check(results)["neuroml.population_component_missing"]["severity"] == "WARNING"
    assert summary["includes"] == [{"href": "channels.nml", "path": "models/channels.nml"}]


def test_files_that_are_not_neuroml_have_no_description() -> None:
    done = NEUROML.process(io.BytesIO(b"<neuroml><oops"), path="a.nml")
    assert done is not None and done.metadata is None and done.results[0]["check"] == "neuroml.xml"
    done = NEUROML.process(io.BytesIO(b"<Lems/>"), path="a.nml")
    assert done is not None and done.results[0]["check"] == "neuroml.root"


def test_jneuroml_examples_are_valid(request: pytest.FixtureRequest) -> None:
    """The NeuroML 2 examples bundled in jNeuroML (inside the pyNeuroML wheel, LGPL-3,
    downloaded at test time): every one passes the schema and the reference checks."""
    files = scales.real_files("nml", request.config.cache.mkdir("scales-real-files"))
    assert len(files) >= 15
    for path in files:
        summary, results = run(path, f"examples/{path.name}")
        errors = [r for r in results if r["severity"] in ("ERROR", "CRITICAL")]
        assert errors == [], (path.name, errors)
    summary, _ = run(next(p for p in files if p.name == "NML2_MultiCompCellNetwork.nml"))
    (net,) = summary["networks"]
    assert net["populations"][0] == {"id": "pop0", "component": "MultiCompCell", "size": 3}
    assert {p["synapse"] for p in net["projections"]} == {"AMPA", "NMDA"}


def test_an_uploaded_model_is_typed_checked_and_described(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("models")
    good = scales.write_neuroml(tmp_path / "cell.nml").read_bytes()
    bad = scales.write_neuroml(tmp_path / "bad.nml", "missing_component").read_bytes()
    a = alice.add_file(ds, "models/cell.nml", good)
    b = alice.add_file(ds, "models/bad.nml", bad)
    report = alice.wait_for_checks(a["asset_id"])
    assert report["status"] == "done" and report["results"] == []
    meta = alice.get(f"/api/assets/{a['asset_id']}/").json()
    assert meta["nds:format"] == "neuroml" and meta["encodingFormat"] == "application/xml"
    assert meta["nds:summary"]["counts"]["cells"] == 1
    failed = alice.wait_for_checks(b["asset_id"])
    assert "neuroml.population_component_missing" in by_check(failed["results"])
    assert alice.wait_for_status(ds)["status"] == "Invalid"
