"""formats/swc_view.py and formats/neuroml_view.py: reconstructions as sections for drawing,
dendrograms and Sholl profiles, on the generators' files (testing/scales.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from neurodatashare.formats import neuroml_view, swc_view
from neurodatashare.formats import swc_tolerant as tol
from neurodatashare.formats.neuroml import NEUROML
from neurodatashare.formats.neuroml import analyse as analyse_nml
from neurodatashare.formats.swc import SHOLL_STEPS, SWC, analyse
from neurodatashare.testing import scales


def drawn(cell: swc_view.Cell, **kw: bool) -> dict:
    return json.loads(swc_view.drawing(cell, **kw))


def test_a_morphio_cell_has_its_points_sections_and_types() -> None:
    cell = swc_view.read_swc(scales.swc("single_point"), extension="swc")
    data = drawn(cell, radii=True)
    assert data["source"] == "morphio" and data["units"] == "µm" and not data["decimated"]
    kinds = {t["type"]: t for t in data["traces"]}
    assert set(kinds) == {"soma", "axon", "basal"}
    # the basal dendrite: a stem and two branches of one point each after the fork's copy
    assert kinds["basal"]["sections"] == 3 and kinds["basal"]["lengths"] == [2, 2, 2]
    assert kinds["basal"]["order"] == [0, 1, 1] and data["max_order"] == 1
    assert kinds["axon"]["sections"] == 1 and kinds["axon"]["lengths"] == [2]
    # null after each section, radii beside the coordinates
    xs = kinds["basal"]["x"]
    assert len(xs) == 6 + 3 and xs[2] is None and xs[-1] is None
    assert len(kinds["basal"]["r"]) == len(xs) and kinds["basal"]["r"][0] == pytest.approx(1.0)
    assert data["bounds"] == {"min": [-60.0, -8.0, 0.0], "max": [25.0, 8.0, 2.0]}
    assert "r" not in drawn(cell)["traces"][0]


def test_a_file_morphio_refuses_is_drawn_from_the_tolerant_rows() -> None:
    text = scales.swc("soma_mid_tree")
    assert analyse(text, extension="swc").metadata["nds:summary"]["strict_parse"] is False
    data = drawn(swc_view.read_swc(text, extension="swc"))
    assert data["source"] == "tolerant" and "MorphIO refuses" in data["note"]
    assert data["points"] == 5 and data["sections"] == 3 and data["drawn_points"] == 7
    assert [t["type"] for t in data["traces"]] == ["soma", "axon", "basal"]


def test_custom_labels_are_one_trace_and_duplicates_are_dropped() -> None:
    data = drawn(swc_view.read_swc(scales.swc("labels_0_5"), extension="swc"))
    assert data["source"] == "tolerant"
    assert {t["type"] for t in data["traces"]} == {"soma", "axon", "basal", "custom"}
    dup = swc_view.read_swc(scales.swc("duplicate_ids"), extension="swc")
    assert dup.source == "tolerant" and len(tol.parse(scales.swc("duplicate_ids"))) == 7


def test_a_neurolucida_file_and_nanometres() -> None:
    cell = swc_view.read_swc(scales.asc(), extension="asc")
    assert cell.source == "morphio" and set(cell.types.tolist()) == {1, 2, 3}
    assert swc_view.dendrogram(cell)["leaves"] == 3
    assert drawn(swc_view.read_swc(scales.swc("nm"), extension="swc"))["units"] == "nm"


def test_a_200000_point_tree_is_decimated_keeping_forks_and_tips() -> None:
    cell = swc_view.read_swc(scales.big_swc(200_000, seed=3), extension="swc")
    data = drawn(cell)
    assert data["points"] == 200_000 and data["decimated"] is True and data["decimation"] == 2
    # half of each section's points, plus its ends and each joined section's copy of a fork
    assert data["drawn_points"] < swc_view.MAX_POINTS + 2 * cell.sections
    # every section keeps its first and last point, so the tree stays connected
    for t in data["traces"]:
        assert t["type"] == "soma" or all(n >= 2 for n in t["lengths"])
        assert len(t["order"]) == t["sections"] == len(t["lengths"])
    assert sum(t["sections"] for t in data["traces"]) == cell.sections


def test_100000_points_answer_fast_and_small() -> None:
    text = scales.big_swc(100_000, seed=1)
    start = time.perf_counter()
    cell = swc_view.read_swc(text, extension="swc")
    body = swc_view.drawing(cell)
    elapsed = time.perf_counter() - start
    assert json.loads(body)["decimated"] is False
    assert len(body) < 4_000_000 and elapsed < 3  # the bench (bench/multiscale.py) times it


@pytest.mark.parametrize("dialect", ["single_point", "three_point", "contour", "soma_mid_tree"])
def test_sholl_counts_equal_the_summary_at_its_radii(dialect: str) -> None:
    text = scales.swc(dialect)
    summary = analyse(text, extension="swc").metadata["nds:summary"]["sholl"]
    cell = swc_view.read_swc(text, extension="swc")
    profile = swc_view.sholl(cell, step=None, default_steps=SHOLL_STEPS)
    assert profile["radii"] == summary["radii"] and profile["crossings"] == summary["crossings"]


def test_sholl_with_a_step_and_a_step_too_small() -> None:
    text = scales.big_swc(5000, seed=2)
    cell = swc_view.read_swc(text, extension="swc")
    profile = swc_view.sholl(cell, step=5.0, default_steps=SHOLL_STEPS)
    tree = tol.parse(text)
    assert profile["crossings"] == tol.sholl(tree, tol.soma_centre(tree), profile["radii"])
    assert profile["radii"][:2] == [5.0, 10.0] and profile["radii"][-1] <= profile["reach"]
    with pytest.raises(ValueError, match="at most 1,000"):
        swc_view.sholl(cell, step=1e-4, default_steps=SHOLL_STEPS)


def test_the_dendrogram_lays_tips_side_by_side() -> None:
    cell = swc_view.read_swc(scales.swc("single_point"), extension="swc")
    d = swc_view.dendrogram(cell)
    assert d["sections"] == 4 and d["leaves"] == 3
    basal = next(t for t in d["traces"] if t["type"] == "basal")
    # the stem is 10 µm from its first point (the soma joins it at 5 µm from the centre)
    assert basal["y"][2] == pytest.approx(10.0)
    assert d["max_path"] == pytest.approx(np.hypot(55, 2), abs=1e-3)  # the axon, -5 to -60 µm


def test_an_empty_cell_has_no_points() -> None:
    cell = swc_view.from_points(
        np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), source="x"
    )
    data = drawn(cell)
    assert data["points"] == 0 and data["traces"] == [] and data["drawn_points"] == 0
    assert swc_view.sholl(cell, step=None, default_steps=8)["radii"] == []
    assert swc_view.dendrogram(cell)["leaves"] == 0


def test_swc_views() -> None:
    assert SWC.views({}) == ["download", "morphology", "dendrogram", "sholl", "summary"]


def test_a_neuroml_cell_is_drawn_like_a_reconstruction(tmp_path: Path) -> None:
    data = scales.write_neuroml(tmp_path / "m.nml").read_bytes()
    cell = neuroml_view.read_cell(data)
    out = drawn(cell)
    assert out["source"] == "neuroml" and out["sections"] == 2
    assert [t["type"] for t in out["traces"]] == ["soma", "basal"]
    assert out["bounds"] == {"min": [0.0, 0.0, 0.0], "max": [110.0, 0.0, 0.0]}
    with pytest.raises(LookupError, match="cells with one: pyr"):
        neuroml_view.read_cell(data, cell_id="ghost")
    nets = neuroml_view.networks(data)
    assert nets[0]["populations"] == [{"id": "pop", "component": "pyr", "size": 3}]
    assert nets[0]["projections"][0]["synapse"] == "syn"
    meta = analyse_nml(data, path="m.nml").metadata
    assert NEUROML.views(meta) == ["download", "morphology", "network", "elements", "summary"]
    assert NEUROML.views({}) == ["download", "elements", "summary"]


def test_neuroml_without_a_morphology(tmp_path: Path) -> None:
    doc = b'<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="x"><cell id="c"/></neuroml>'
    with pytest.raises(LookupError, match="no cell with a morphology"):
        neuroml_view.read_cell(doc)
    with pytest.raises(ValueError, match="not NeuroML 2"):
        neuroml_view.read_cell(b"<x/>")
    assert neuroml_view.networks(doc) == []
