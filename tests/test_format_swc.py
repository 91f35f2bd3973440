"""SWC morphologies: strict MorphIO parse, tolerant reader, dialect findings, NeuroM
morphometrics; on generated dialects and on real navis (hemibrain) skeletons."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from neurodatashare import formats
from neurodatashare.formats.swc import SWC
from neurodatashare.formats.swc_tolerant import parse, sholl
from neurodatashare.testing import scales
from neurodatashare.testing.live import Live


def run(text: str, path: str = "cell.swc") -> tuple[dict, list[dict]]:
    done = SWC.process(io.BytesIO(text.encode()), path=path)
    assert done is not None and done.metadata is not None, done
    return done.metadata["nds:summary"], done.results


def checks(results: list[dict]) -> set[str]:
    return {r["check"] for r in results}


@pytest.mark.parametrize(
    ("dialect", "soma"),
    [
        ("single_point", "single point"),
        ("three_point", "NeuroMorpho three-point"),
        ("contour", "contour"),
    ],
)
def test_soma_forms_are_named_and_described_by_neurom(dialect: str, soma: str) -> None:
    summary, results = run(scales.swc(dialect))
    assert summary["soma"] == soma and summary["strict_parse"] is True
    assert summary["morphometrics_by"].startswith("neurom")
    m = summary["morphometrics"]
    assert m["by_type"]["basal_dendrite"]["tips"] == 2
    assert m["by_type"]["axon"]["total_length"] == pytest.approx(55.04, abs=0.01)
    assert m["max_branch_order"] == 1
    assert summary["sholl"]["radii"] and len(summary["sholl"]["crossings"]) == 8
    assert summary["units"] == "µm" and summary["trees"] == 1
    blocking = [r for r in results if r["severity"] in ("ERROR", "CRITICAL")]
    assert blocking == []
    assert ("swc.soma_contour" in checks(results)) == (dialect == "contour")


def test_header_tags_are_kept() -> None:
    summary, _ = run(scales.swc("single_point"))
    assert summary["header"]["creature"] == "Mus musculus"
    assert summary["header"]["cell_id"] == "cell-1"


@pytest.mark.parametrize(
    ("dialect", "check", "severity", "strict"),
    [
        ("labels_0_5", "swc.label_undefined", "WARNING", False),
        ("labels_0_5", "swc.label_custom", "INFO", False),
        ("nm", "swc.units_nm", "WARNING", True),
        ("soma_mid_tree", "swc.soma_mid_tree", "WARNING", False),
        ("cycle", "swc.cycle", "ERROR", True),
        ("duplicate_ids", "swc.duplicate_id", "ERROR", False),
        ("zero_radius", "swc.zero_radius", "WARNING", True),
    ],
)
def test_defects_are_findings_with_how_to_fix(
    dialect: str, check: str, severity: str, strict: bool
) -> None:
    summary, results = run(scales.swc(dialect))
    found = [r for r in results if r["check"] == check]
    assert found and found[0]["severity"] == severity and found[0]["how_to_fix"]
    assert summary["strict_parse"] is strict
    if not strict:  # MorphIO refused: the tolerant reader still describes the cell
        assert "swc.strict_parse" in checks(results)
        assert summary["morphometrics_by"] == "tolerant reader"
        assert summary["morphometrics"]["tips"] >= 1


def test_units_and_labels_are_reported() -> None:
    summary, _ = run(scales.swc("nm"))
    assert summary["units"] == "nm"
    summary, _ = run(scales.swc("labels_0_5"))
    assert summary["labels"]["type_5"] == 1 and summary["labels"]["undefined"] == 1


def test_rows_that_are_not_swc_are_errors_and_an_empty_file_has_no_description() -> None:
    summary, results = run("1 1 0 0 0 5 -1\n2 3 1 0\n3 3 x 0 0 1 1\n")
    assert {"swc.columns", "swc.not_numeric"} <= checks(results)
    assert summary["points"] == 1
    done = SWC.process(io.BytesIO(b"# nothing\n"), path="empty.swc")
    assert done is not None and done.metadata is None
    assert checks(done.results) == {"swc.empty"} and done.error


def test_sholl_is_vectorised_and_matches_a_direct_count() -> None:
    tree = parse(scales.big_swc(2000, seed=3))
    centre = tree.xyz[0]
    radii = [5.0, 10.0, 20.0]
    got = sholl(tree, centre, radii)
    child = [i for i in range(len(tree)) if tree.parent[i] >= 0]
    for r, n in zip(radii, got, strict=True):
        direct = 0
        for i in child:
            a = float(((tree.xyz[i] - centre) ** 2).sum() ** 0.5)
            b = float(((tree.xyz[tree.parent[i]] - centre) ** 2).sum() ** 0.5)
            direct += min(a, b) < r <= max(a, b)
        assert n == direct


def test_asc_is_claimed_only_when_its_bytes_look_like_neurolucida() -> None:
    assert formats.format_for("cell.asc", b"; Neurolucida\n(").name == "swc"
    assert formats.format_for("eeg.asc", b"1.0 2.0\n").name == "plain"
    # by name alone (the pipeline, SQL filters) a candidate, which `process` decides on
    assert formats.format_for("cell.asc").name == "swc"
    assert formats.format_for("a/b/neuron.SWC").name == "swc"
    assert formats.media_type("cell.asc") == "text/x-neurolucida"


# A Neurolucida export as MorphIO's test files write one: an ImageCoords block, a contour
# soma, markers inside a dendrite, `Normal` and `High` ends, comments after expressions.
NEUROLUCIDA = """; V3 text file written for MicroBrightField products.
(ImageCoords Filename
 "C:\\slices\\cell 7.jpg"
 Merge 65535 65535 65535 0
 Coords 0.738551 0.739645 -560.248901 350.811127 13.104751
) ; End of ImageCoords

(Sections S1 "Section 1" 0 0 0 0)

("CellBody"
 (Color Red)
 (CellBody)
 (  4.0  0.0 0 0.5)  ; 1, 1
 (  0.0  4.0 0 0.5)  ; 1, 2
 ( -4.0  0.0 0 0.5)  ; 1, 3
 (  0.0 -4.0 0 0.5)  ; 1, 4
)  ;  End of contour

( (Color Green)  ; [10,1]
  (Dendrite)
  (  4.0   0.0  0.0  2.0)  ; Root
  ( 14.0   1.0  0.0  2.0)  ; R, 1
  (
    ( 24.0   9.0  0.0  1.5)  ; R-1, 1
    (Cross
      (Color Orange)
      (Name "Marker 3")
      ( 25.0  10.0  0.0  0.5)  ; 1
    )  ;  End of markers
    ( 34.0  15.0  1.0  1.2)  ; R-1, 2
     Normal
  |
    ( 24.0  -9.0  0.0  1.5)  ; R-2, 1
    ( 36.0 -14.0 -1.0  1.0)  ; R-2, 2
     High
  )  ;  End of split
)  ;  End of tree

( (Color Blue)
  (Axon)
  ( -4.0   0.0  0.0  1.0)  ; Root
  (-40.0   2.0  2.0  1.0)  ; R, 1
  (-90.0   5.0  3.0  0.8)  ; R, 2
     Normal
)  ;  End of tree
"""


def test_a_hand_written_neurolucida_export_is_a_morphology() -> None:
    done = SWC.process(io.BytesIO(NEUROLUCIDA.encode()), path="cells/cell-7.ASC")
    assert done is not None and done.metadata is not None, done
    assert done.metadata["encodingFormat"] == "text/x-neurolucida"
    assert "nds:format" not in done.metadata
    summary = done.metadata["nds:summary"]
    assert summary["dialect"] == "asc" and summary["strict_parse"] is True
    assert summary["soma"] == "SOMA_SIMPLE_CONTOUR"
    m = summary["morphometrics"]
    assert m["by_type"]["basal_dendrite"]["tips"] == 2 and m["by_type"]["axon"]["tips"] == 1
    assert summary["bounding_box"]["min"][0] == -90.0
    assert SWC.views(done.metadata)[1:4] == ["morphology", "dendrogram", "sholl"]


@pytest.mark.parametrize(
    "text",
    [
        "1.0 2.0 3.0\n4.0 5.0 6.0\n",  # an EEG or GPS export
        "; a comment, then no Neurolucida block\n(1 2 3)\n",  # MorphIO refuses, no block
    ],
)
def test_an_asc_that_is_not_neurolucida_stays_plain(text: str) -> None:
    done = SWC.process(io.BytesIO(text.encode()), path="eeg/run-1.asc")
    assert done is not None and done.metadata is not None and done.results == []
    assert done.metadata["nds:format"] == "plain"
    assert SWC.views(done.metadata) == ["download"]


def test_uploaded_asc_files_are_a_morphology_and_a_plain_file(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("asc files")
    cell = alice.add_file(ds, "cells/cell-7.asc", NEUROLUCIDA.encode())
    eeg = alice.add_file(ds, "eeg/run-1.asc", b"1.0 2.0 3.0\n4.0 5.0 6.0\n")
    report = alice.wait_for_checks(cell["asset_id"])
    assert report["status"] == "done" and report["results"] == []
    meta = alice.get(f"/api/assets/{cell['asset_id']}/").json()
    assert meta["nds:format"] == "swc" and meta["encodingFormat"] == "text/x-neurolucida"
    assert meta["nds:summary"]["morphometrics"]["tips"] == 3
    drawn = alice.get(f"/api/assets/{cell['asset_id']}/explore/morphology")
    assert drawn.status_code == 200 and drawn.json()["points"] > 0
    assert alice.wait_for_checks(eeg["asset_id"])["results"] == []
    plain = alice.get(f"/api/assets/{eeg['asset_id']}/").json()
    assert plain["nds:format"] == "plain" and plain["encodingFormat"] != "text/x-neurolucida"


def test_a_neurolucida_file_is_read_by_morphio() -> None:
    done = SWC.process(io.BytesIO(scales.asc().encode()), path="cell.asc")
    assert done is not None and done.metadata is not None and done.results == []
    assert done.metadata["encodingFormat"] == "text/x-neurolucida"
    summary = done.metadata["nds:summary"]
    assert summary["dialect"] == "asc" and summary["strict_parse"] is True
    assert summary["soma"] == "SOMA_SIMPLE_CONTOUR" and summary["units"] == "µm"
    assert summary["morphometrics"]["by_type"]["basal_dendrite"]["tips"] == 2
    done = SWC.process(io.BytesIO(b"; Neurolucida\n(Dendrite (1 2"), path="bad.asc")
    assert done is not None and done.metadata is None
    assert [r["check"] for r in done.results] == ["swc.strict_parse"]


@pytest.fixture(scope="module")
def navis_files(request: pytest.FixtureRequest) -> list[Path]:
    return scales.real_files("swc", request.config.cache.mkdir("scales-real-files"))


def test_real_hemibrain_skeletons_from_navis(navis_files: list[Path]) -> None:
    """navis (GPL-3, downloaded at test time) ships hemibrain skeletons: nm, labels 0/5/6,
    a soma in mid-tree. MorphIO refuses them; they are still described."""
    assert len(navis_files) == 5
    for path in navis_files:
        summary, results = run(path.read_text(), path=path.name)
        assert summary["units"] == "nm" and summary["strict_parse"] is False
        assert {"swc.units_nm", "swc.label_undefined", "swc.strict_parse"} <= checks(results)
        assert summary["morphometrics"]["tips"] > 100
        assert summary["points"] > 4000
    mid = [run(p.read_text())[1] for p in navis_files]
    assert sum("swc.soma_mid_tree" in checks(r) for r in mid) >= 3


def test_an_uploaded_swc_is_typed_checked_and_described(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("morphologies")
    good = alice.add_file(ds, "cells/cell-1.swc", scales.swc("three_point").encode())
    bad = alice.add_file(ds, "cells/cell-2.swc", scales.swc("duplicate_ids").encode())
    report = alice.wait_for_checks(good["asset_id"])
    assert report["status"] == "done" and report["results"] == []
    meta = alice.get(f"/api/assets/{good['asset_id']}/").json()
    assert meta["nds:format"] == "swc" and meta["encodingFormat"] == "text/x-swc"
    assert meta["nds:summary"]["soma"] == "NeuroMorpho three-point"
    assert meta["nds:summary"]["morphometrics"]["tips"] == 3
    page = alice.get(f"/asset/{good['asset_id']}").text  # the summary view
    assert '<th scope="row">soma</th><td>NeuroMorpho three-point</td>' in page
    failed = alice.wait_for_checks(bad["asset_id"])
    assert "swc.duplicate_id" in checks(failed["results"])
    assert all(r["file"] == "cells/cell-2.swc" for r in failed["results"])
    assert alice.wait_for_status(ds)["status"] == "Invalid"


@pytest.mark.parametrize("text", [scales.swc("three_point"), scales.big_swc(5000, seed=1)])
def test_morphometrics_match_neurom(text: str) -> None:
    """The vectorised morphometrics use NeuroM's definitions: same numbers as NeuroM's."""
    import morphio
    import neurom
    from neurom import NeuriteType, features

    from neurodatashare.formats.swc import _morphometrics

    morph = morphio.Morphology(text, "swc")
    ours = _morphometrics(morph)
    cell = neurom.load_morphology(morph)
    assert ours["total_length"] == pytest.approx(
        features.get("total_length", cell), rel=1e-5, abs=2e-3
    )
    assert ours["sections"] == features.get("number_of_sections", cell)
    assert ours["tips"] == features.get("number_of_leaves", cell)
    assert ours["bifurcations"] == features.get("number_of_bifurcations", cell)
    assert ours["max_branch_order"] == max(features.get("section_branch_orders", cell))
    for name, got in ours["by_type"].items():
        kind = getattr(NeuriteType, name)
        want = features.get("total_length", cell, neurite_type=kind)
        assert got["total_length"] == pytest.approx(want, rel=1e-5, abs=2e-3)
        assert got["tips"] == features.get("number_of_leaves", cell, neurite_type=kind)
        assert got["neurites"] == features.get("number_of_neurites", cell, neurite_type=kind)


def test_the_fast_and_the_row_by_row_reader_agree() -> None:
    from neurodatashare.formats.swc_tolerant import _parse_rows

    for text in [scales.big_swc(3000), *(scales.swc(d) for d in ("cycle", "duplicate_ids"))]:
        fast, slow = parse(text), _parse_rows(text)
        for name in ("ids", "types", "xyz", "radius", "parent", "lines"):
            assert (getattr(fast, name) == getattr(slow, name)).all(), name
        assert fast.header == slow.header
        assert [f["check"] for f in fast.findings] == [f["check"] for f in slow.findings]


def _tolerant(text: str) -> tuple[list[dict], dict]:
    """What analyse() reported before swc_accepted.py: the tolerant reader's checks and
    summary fields."""
    from neurodatashare.formats import swc_tolerant as tol
    from neurodatashare.formats.swc import _sholl_profile

    tree = parse(text)
    results = tol.check(tree)
    summary = {
        "points": len(tree),
        "soma": tol.soma_form(tree),
        "labels": tol.labels(tree),
        "units": tol.units(tree),
        "trees": int((tree.parent < 0).sum()),
        "bounding_box": tol.bounding_box(tree),
        "sholl": _sholl_profile(tree),
    }
    if tree.header:
        summary["header"] = tree.header
    return results, summary


def _accepted(text: str) -> tuple[list[dict], dict] | None:
    from neurodatashare.formats.swc import SHOLL_STEPS, _strict_parse
    from neurodatashare.formats.swc_accepted import describe, section_parents

    morph, _, _, warned = _strict_parse(text, "swc")
    if morph is None or warned:
        return None
    return describe(text, morph, parent=section_parents(morph), sholl_steps=SHOLL_STEPS)


QUICK = {
    "single_point": scales.swc("single_point"),
    "three_point": scales.swc("three_point"),
    "nm": scales.swc("nm"),
    "big": scales.big_swc(4000, seed=2),
    "windows line ends": scales.swc("three_point").replace("\n", "\r\n"),
    "blank lines": scales.swc("single_point").replace("\n2 ", "\n\n  \n2 "),
    "indented rows": "".join(f"  {row}\n" for row in scales.swc("nm").splitlines()),
    "custom type 7": scales.swc("single_point").replace(" 2 -", " 7 -"),
}
SLOW = {
    "contour soma": scales.swc("contour"),
    "a cycle MorphIO leaves out": scales.swc("cycle"),
    "a hidden two-row cycle": scales.swc("single_point") + "20 3 1 1 1 1 21\n21 3 2 2 2 1 20\n",
    "a comment after the rows": scales.swc("single_point") + "# creature Rattus\n",
    "zero radius (MorphIO warns)": scales.swc("zero_radius"),
    "a soma row at the end": scales.swc("single_point").replace("1 1 0 0 0 5 -1\n", "")
    + "1 1 0 0 0 5 -1\n",
}


@pytest.mark.parametrize("name", sorted(QUICK))
def test_a_file_morphio_accepts_is_checked_from_its_arrays_with_the_same_result(
    name: str,
) -> None:
    text = QUICK[name]
    quick = _accepted(text)
    assert quick is not None, "expected the quick path"
    results, summary = _tolerant(text)
    assert quick[0] == results
    assert quick[1] == summary
    done = SWC.process(io.BytesIO(text.encode()), path="cell.swc")
    assert done is not None and done.metadata is not None
    assert done.metadata["nds:summary"]["strict_parse"] is True


@pytest.mark.parametrize("name", sorted(SLOW))
def test_files_the_arrays_cannot_vouch_for_go_to_the_tolerant_reader(name: str) -> None:
    text = SLOW[name]
    assert _accepted(text) is None
    results, summary = _tolerant(text)
    got, found = run(text)
    assert [r for r in found if not r["check"].startswith("swc.morphio")] == results
    assert {k: got[k] for k in summary} == summary
