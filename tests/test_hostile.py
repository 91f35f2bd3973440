"""Hostile and odd files (testing/hostile.py): each gets its own finding through
`nds validate`, the archive's processing and metadata extraction; nothing 500s or hangs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from neurodatashare.cli.cmd_validate import command as validate_command
from neurodatashare.nwb.extract import extract_asset_metadata
from neurodatashare.nwb.read import NWBReadError
from neurodatashare.testing import hostile
from neurodatashare.testing.live import Live

# case -> (check it must produce, its severity, nds validate exit status)
EXPECTED: dict[str, tuple[str, str, int]] = {
    "future_nwb_version": ("nwb_version_newer", "WARNING", 0),
    "invalid_nwb_version": ("nwb_version_invalid", "CRITICAL", 1),
    "unknown_neurodata_type": ("neurodata_type_unknown", "WARNING", 0),
    "broken_external_link": ("external_link", "WARNING", 0),
    "compression_bomb": ("compression_bomb", "WARNING", 0),
    "extreme_nesting": ("nesting_too_deep", "CRITICAL", 1),
    "missing_identifier": ("identifier_missing", "ERROR", 1),
    "soft_link_cycle": ("soft_link_cycle", "CRITICAL", 1),
}
# words each finding's message must contain: it names the object, link or value
NAMES = {
    "future_nwb_version": "3.1.0",
    "invalid_nwb_version": "version two",
    "unknown_neurodata_type": "/acquisition/quantum_signal",
    "broken_external_link": "raw_data.nwb",
    "compression_bomb": "/processing/behavior/Position/position/data",
    "extreme_nesting": "/acquisition/nested/level",
    "missing_identifier": "identifier",
    "soft_link_cycle": "/acquisition/loop/back",
}
RAW_ERRORS = ("RecursionError", "Traceback", "ConstructError", "GroupBuilder", "KeyError")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, make in hostile.CASES.items():
        out[name] = make(tmp_path_factory.mktemp(name))
    return out


def _validate(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(
        validate_command, ["--json", *map(str, paths)], catch_exceptions=False
    )
    for word in RAW_ERRORS:
        assert word not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_nds_validate_gives_a_specific_finding(files: dict[str, Path], case: str) -> None:
    check, severity, exit_code = EXPECTED[case]
    status, findings = _validate(files[case])
    mine = [f for f in findings if f["check"] == check]
    assert mine, findings
    assert mine[0]["severity"] == severity
    assert NAMES[case] in mine[0]["message"] and mine[0]["how_to_fix"]
    assert status == exit_code, findings


def test_pynwb_failures_name_their_cause(files: dict[str, Path]) -> None:
    """A file pynwb cannot read gets one CRITICAL saying why, not pynwb's exception."""
    _, findings = _validate(files["missing_identifier"])
    critical = [f for f in findings if f["severity"] == "CRITICAL"]
    assert [f["check"] for f in critical] == ["nwb_required_missing"]
    assert "/identifier" in critical[0]["message"]


def test_broken_external_link_is_checked_locally(files: dict[str, Path], tmp_path: Path) -> None:
    _, findings = _validate(files["broken_external_link"])
    broken = [f for f in findings if f["check"] == "external_link_broken"]
    assert len(broken) == 1 and "does not exist" in broken[0]["message"]
    assert "will show /acquisition/raw as missing" in broken[0]["message"]
    linking, _target = hostile.sibling_external_link(tmp_path)
    _, findings = _validate(linking)
    assert [f["check"] for f in findings if "external_link" in f["check"]] == ["external_link"]
    (link,) = [f for f in findings if f["check"] == "external_link"]
    assert "'target.nwb'" in link["message"] and "same dataset version" in link["message"]
    assert "/processing/behavior/Position/position" in link["message"]


def test_family_driver_file_is_split_not_damaged(tmp_path: Path) -> None:
    parts = hostile.family_split(tmp_path)
    assert len(parts) >= 2
    status, findings = _validate(parts[0])
    assert status == 1
    (f,) = findings
    assert (f["severity"], f["check"]) == ("CRITICAL", "hdf5_split_file")
    assert "family" in f["message"] and "not damaged" in f["message"]
    assert "h5repart" in f["how_to_fix"]
    with pytest.raises(NWBReadError) as info:
        extract_asset_metadata(parts[0])
    assert info.value.check == "hdf5_split_file"


@pytest.mark.parametrize("case", sorted(hostile.CASES))
def test_extraction_keeps_subject_and_session(files: dict[str, Path], case: str) -> None:
    meta = extract_asset_metadata(files[case])
    assert meta["wasAttributedTo"][0]["identifier"] == "mouse001"
    assert meta["wasAttributedTo"][0]["species"]["name"] == "Mus musculus - House mouse"
    assert meta["wasGeneratedBy"][0]["identifier"] == "session1"
    assert meta["wasGeneratedBy"][0]["startDate"].startswith("2024-03-01T10:00:00")
    for note in meta["nds:summary"]["notes"]:
        assert not any(word in note for word in RAW_ERRORS), note


def test_extraction_notes_what_it_skipped(files: dict[str, Path]) -> None:
    notes = extract_asset_metadata(files["unknown_neurodata_type"])["nds:summary"]["notes"]
    assert any("/acquisition/quantum_signal" in n and "QuantumSeries" in n for n in notes)
    cycle = extract_asset_metadata(files["soft_link_cycle"])["nds:summary"]
    assert any("soft links" in n for n in cycle["notes"])
    assert cycle["neurodata_types"]["SpatialSeries"] == 1  # counted from HDF5 attributes
    linked = extract_asset_metadata(files["broken_external_link"])["nds:summary"]
    assert linked["external_links"] == [
        {
            "path": "/acquisition/raw",
            "file": "raw_data.nwb",
            "object": "/acquisition/ElectricalSeries",
        }
    ]


def test_hdmf_common_types_do_not_empty_the_metadata(files: dict[str, Path]) -> None:
    meta = extract_asset_metadata(files["hdmf_common_objects"])
    types = meta["nds:summary"]["neurodata_types"]
    assert types["DynamicTable"] == 1 and types["HERD"] == 1
    assert meta["nds:summary"]["notes"] == []
    status, findings = _validate(files["hdmf_common_objects"])
    assert status == 0, findings


def test_archive_reports_each_case(live: Live, files: dict[str, Path], tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("hostile")
    uploads = {
        case: alice.add_file(ds, f"sub-mouse001/{case}.nwb", path.read_bytes())
        for case, path in files.items()
    }
    parts = hostile.family_split(tmp_path)
    family = alice.add_file(ds, "sub-mouse001/family-0.nwb", parts[0].read_bytes())
    for case, asset in uploads.items():
        report = alice.wait_for_checks(asset["asset_id"])
        assert report["status"] == "done", (case, report)
        text = json.dumps(report)
        assert not any(word in text for word in RAW_ERRORS), (case, text[:2000])
        meta = alice.get(f"/api/assets/{asset['asset_id']}/")
        assert meta.status_code == 200, meta.text
        assert meta.json()["wasAttributedTo"][0]["identifier"] == "mouse001", case
        assert meta.json()["wasGeneratedBy"][0]["identifier"] == "session1", case
        if case in EXPECTED:
            check, severity, _ = EXPECTED[case]
            found = [r for r in report["results"] if r["check"] == check]
            assert found and found[0]["severity"] == severity, (case, report["results"])
            assert NAMES[case] in found[0]["message"]
        # the archive has no neighbouring files to look at: no local-only check
        assert not [r for r in report["results"] if r["check"] == "external_link_broken"]
    report = alice.wait_for_checks(family["asset_id"])
    assert [r["check"] for r in report["results"]] == ["hdf5_split_file"]
    info = alice.wait_for_status(ds)
    blocked = {e["path"] for e in info["asset_validation_errors"]}
    assert blocked == {
        f"sub-mouse001/{c}.nwb" for c, (_, s, _) in EXPECTED.items() if s in ("ERROR", "CRITICAL")
    } | {"sub-mouse001/family-0.nwb"}
