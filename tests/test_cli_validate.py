"""`nds validate`: exit codes, the readable report and --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from neurodatashare.cli.cmd_validate import command
from neurodatashare.testing import nwbfiles as nf


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "good.nwb"
    return nf.make_ephys_file(path, n_channels=4, duration_s=0.5, n_units=3)


@pytest.fixture(scope="module")
def no_subject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "no_subject.nwb"
    return nf.write_nwbfile(nf.make_nwbfile(identifier="ns", subject=None), path)


def run(*args: object) -> Result:
    return CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)


def test_good_file_exits_0(good: Path) -> None:
    result = run(good)
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.stdout
    assert "can be published" in result.stdout


def test_metadata_error_exits_1_with_how_to_fix(no_subject: Path) -> None:
    result = run(no_subject)
    assert result.exit_code == 1
    out = " ".join(result.stdout.split())  # the table wraps long cells
    assert "ERROR" in out and "no Subject" in out
    assert "subject_missing" in out and "Subject(subject_id=" in out.replace("│ ", "")


def test_json_output(good: Path, no_subject: Path, tmp_path: Path) -> None:
    cut = nf.write_truncated_copy(good, tmp_path / "cut.nwb")
    result = run("--json", good, no_subject, cut)
    assert result.exit_code == 1
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    by_file = {f["file"]: f for f in findings if f["severity"] in ("ERROR", "CRITICAL")}
    assert by_file[str(cut)]["severity"] == "CRITICAL"
    assert by_file[str(cut)]["origin"] == "file"
    assert by_file[str(no_subject)]["check"] == "subject_missing"
    assert set(findings[0]) == {
        "severity",
        "origin",
        "check",
        "object_path",
        "message",
        "how_to_fix",
        "file",
    }
    # Grouped by file in the order given, most severe first within each file.
    assert list(dict.fromkeys(f["file"] for f in findings)) == [str(no_subject), str(cut)]
    order = ["INFO", "HINT", "WARNING", "ERROR", "CRITICAL"]
    for file in (str(no_subject), str(cut)):
        ranks = [order.index(f["severity"]) for f in findings if f["file"] == file]
        assert ranks == sorted(ranks, reverse=True)


def test_min_severity_filters_display_not_exit_status(no_subject: Path) -> None:
    result = run("--json", "--min-severity", "critical", no_subject)
    assert json.loads(result.stdout) == []
    assert result.exit_code == 1  # the ERROR is hidden but still blocks
    result = run("--min-severity", "CRITICAL", no_subject)
    assert "below --min-severity not shown" in result.stdout


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    subject = nf.make_subject(species="Peromyscus californicus")
    path = nf.write_nwbfile(nf.make_nwbfile(identifier="cat", subject=subject), tmp_path / "c.nwb")
    result = run("--json", path)
    assert result.exit_code == 0
    assert [f["severity"] for f in json.loads(result.stdout)] == ["WARNING"]


def test_folder_is_walked(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    nf.write_empty(tmp_path / "nested" / "empty.nwb")
    result = run("--json", tmp_path)
    findings = json.loads(result.stdout)
    assert [(f["check"], Path(f["file"]).name) for f in findings] == [("file_empty", "empty.nwb")]
    assert result.exit_code == 1


def test_folder_without_nwb_files_fails(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no data here")
    (tmp_path / ".cache").mkdir()
    nf.write_empty(tmp_path / ".cache" / "hidden.nwb")  # hidden below the folder: skipped
    result = run(tmp_path)
    assert result.exit_code == 1  # a CI gate over nothing must not pass
    assert "No files to check found" in result.output and "Nothing was validated" in result.output


def test_dot_and_dotdot_folders_are_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden = tmp_path / ".staging" / "run1"
    hidden.mkdir(parents=True)
    nf.write_empty(hidden / "empty.nwb")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    for named in (hidden, Path("..") / ".staging", Path("../.staging/run1/../run1")):
        result = run("--json", named)
        findings = json.loads(result.stdout)
        assert [f["check"] for f in findings] == ["file_empty"], (named, result.output)
        assert result.exit_code == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path / "missing.nwb").exit_code == 2
    assert run().exit_code == 2
    assert run("--min-severity", "fatal", tmp_path).exit_code == 2


def test_registered_as_nds_validate(good: Path) -> None:
    from neurodatashare.cli.main import cli

    result = CliRunner().invoke(cli, ["validate", "--json", str(good)])
    assert result.exit_code == 0, result.output
    assert not [f for f in json.loads(result.stdout) if f["severity"] in ("ERROR", "CRITICAL")]


def test_every_format_is_checked_as_the_archive_checks_it(good: Path, tmp_path: Path) -> None:
    """A folder of a lab's files of every scale: each file gets its format's findings."""
    from neurodatashare.testing import scales, volumes

    lab = tmp_path / "lab"
    (lab / "morph").mkdir(parents=True)
    (lab / "good.nwb").write_bytes(good.read_bytes())
    scales.write_swc(lab / "morph" / "cycle.swc", "cycle")
    scales.write_h5ad(lab / "cells.h5ad", duplicate_obs=True)
    scales.write_neuroml(lab / "model.cell.nml", "missing_component")
    volumes.write_volume(lab / "brain.ome.zarr", levels=2)
    volumes.break_volume(lab / "brain.ome.zarr", "bad_units")
    (lab / "notes.txt").write_text("plain files are not checked\n")
    (lab / ".hidden.swc").write_text("skipped\n")

    result = run("--json", lab)
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)
    files = {Path(f["file"]).name for f in findings}
    assert {"cycle.swc", "cells.h5ad", "model.cell.nml", "brain.ome.zarr"} <= files
    assert not files & {"notes.txt", ".hidden.swc"}
    by_file: dict[str, set[str]] = {}
    for f in findings:
        by_file.setdefault(Path(f["file"]).name, set()).add(f["check"])
    assert any("cycle" in c for c in by_file["cycle.swc"])
    assert any("unique" in c or "duplicate" in c for c in by_file["cells.h5ad"])
    assert any("ghost" in f["message"] for f in findings if f["file"].endswith(".nml"))
    assert any(c.startswith("ome_zarr.") for c in by_file["brain.ome.zarr"])


def test_a_good_morphology_alone_passes(tmp_path: Path) -> None:
    from neurodatashare.testing import scales

    path = scales.write_swc(tmp_path / "cell.swc", "three_point")
    result = run(path)
    assert result.exit_code == 0, result.output
    assert "1 file checked" in result.stdout and "can be published" in result.stdout


def test_a_file_no_format_claims_is_said_to_be_unchecked(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x\n")
    result = run("--json", notes)
    assert result.exit_code == 0
    [finding] = json.loads(result.stdout)
    assert finding["check"] == "format_not_checked" and finding["severity"] == "INFO"
