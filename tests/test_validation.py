"""validate_nwb_file / validate_paths: good files, metadata gaps, odd values, broken files."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import h5py
import pytest

from neurodatashare.testing import nwbfiles as nf
from neurodatashare.validation import (
    VALIDATOR_VERSION,
    Severity,
    ValidationResult,
    blocks_publishing,
    validate_nwb_file,
    validate_paths,
    worst_severity,
)
from neurodatashare.validation.inspector import to_result


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("nwb")
    ephys = nf.make_ephys_file(d / "ephys.nwb", n_channels=8, duration_s=1.0, n_units=5)
    ophys = nf.make_ophys_file(d / "ophys.nwb", n_rois=4)
    return {"ephys": ephys, "ophys": ophys}


def _write(tmp_path: Path, name: str = "f.nwb", **kwargs: Any) -> Path:
    return nf.write_nwbfile(nf.make_nwbfile(identifier=name, **kwargs), tmp_path / name)


def _checks(results: list[ValidationResult]) -> list[str]:
    return [r.check for r in results]


# ----------------------------------------------------------------------- the record


def test_severity_is_ordered_and_serialised_by_name() -> None:
    assert Severity.INFO < Severity.HINT < Severity.WARNING < Severity.ERROR < Severity.CRITICAL
    r = ValidationResult(severity=Severity.ERROR, origin="metadata", check="x", message="m")
    data = json.loads(r.model_dump_json())
    assert data["severity"] == "ERROR"
    assert r.model_dump(mode="json")["severity"] == "ERROR"
    assert ValidationResult.model_validate(data) == r
    assert ValidationResult.model_validate({**data, "severity": "warning"}).severity is (
        Severity.WARNING
    )
    schema = ValidationResult.model_json_schema(mode="serialization")
    assert "CRITICAL" in json.dumps(schema)
    with pytest.raises(ValueError):
        Severity.parse("fatal")


def test_validator_version_names_the_validators() -> None:
    import nwbinspector
    import pynwb

    assert f"pynwb-{pynwb.__version__}" in VALIDATOR_VERSION
    assert f"nwbinspector-{nwbinspector.__version__}" in VALIDATOR_VERSION
    assert "rules-" in VALIDATOR_VERSION


# ----------------------------------------------------------------------- good files


@pytest.mark.parametrize("kind", ["ephys", "ophys"])
def test_good_file_has_nothing_blocking(files: dict[str, Path], kind: str) -> None:
    results = validate_nwb_file(files[kind])
    assert not blocks_publishing(results), results
    assert all(r.file == str(files[kind]) for r in results)


def test_results_depend_only_on_bytes(files: dict[str, Path], tmp_path: Path) -> None:
    # The archive stores blobs under opaque names with no extension and caches by digest.
    blob = tmp_path / "0f3a9c"
    shutil.copy(files["ephys"], blob)
    first = validate_nwb_file(files["ephys"], asset_path="sub-mouse001/a.nwb")
    again = validate_nwb_file(blob, asset_path="sub-mouse001/a.nwb")
    assert first == again
    assert all(r.file == "sub-mouse001/a.nwb" for r in first)


def test_file_is_opened_once(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import pynwb

    opens: list[object] = []
    real_file, real_io_init = h5py.File, pynwb.NWBHDF5IO.__init__

    def counting_file(*args: object, **kwargs: object) -> h5py.File:
        opens.append(args[0])
        return real_file(*args, **kwargs)

    def counting_io_init(self: object, *args: object, **kwargs: object) -> None:
        opens.append("io")
        real_io_init(self, *args, **kwargs)

    monkeypatch.setattr(h5py, "File", counting_file)
    monkeypatch.setattr(pynwb.NWBHDF5IO, "__init__", counting_io_init)
    validate_nwb_file(files["ophys"])
    assert len(opens) == 2  # one h5py.File and the NWBHDF5IO wrapped around it


# ------------------------------------------------------------------ metadata rules


def test_missing_subject_is_one_metadata_error(tmp_path: Path) -> None:
    results = validate_nwb_file(_write(tmp_path, subject=None))
    subject = [r for r in results if "subject" in r.check]
    assert len(subject) == 1  # ours, not also the inspector's check_subject_exists
    (r,) = subject
    assert (r.check, r.origin, r.severity) == ("subject_missing", "metadata", Severity.ERROR)
    assert r.how_to_fix and "Subject(" in r.how_to_fix
    assert blocks_publishing(results)


@pytest.mark.parametrize(
    ("subject", "check", "fix_contains"),
    [
        (dict(species="mouse"), "subject_species_form", "Mus musculus"),
        (dict(species="mus musculus"), "subject_species_form", "Mus musculus"),
        (dict(species="banana"), "subject_species_invalid", "NCBITaxon"),
        (dict(species=None), "subject_species_missing", "Mus musculus"),
        (dict(sex="female"), "subject_sex_invalid", "sex='F'"),
        (dict(sex="X"), "subject_sex_invalid", "'M'"),
        (dict(sex=None), "subject_sex_missing", "'U'"),
        (dict(age="90 days"), "subject_age_form", "P90D"),
        (dict(age="2 years 3 months"), "subject_age_form", "P2Y3M"),
        (dict(age="p90d"), "subject_age_form", "P90D"),
        (dict(age="young adult"), "subject_age_invalid", "ISO 8601"),
        (dict(age="P3M/P2M"), "subject_age_invalid", "ISO 8601"),
        (dict(age="P1.5Y2M"), "subject_age_invalid", "ISO 8601"),
        (dict(age=None), "subject_age_missing", "date_of_birth"),
        (dict(subject_id=None), "subject_id_missing", "subject_id"),
    ],
)
def test_odd_subject_values(
    tmp_path: Path, subject: dict[str, object], check: str, fix_contains: str
) -> None:
    if subject == {"subject_id": None}:
        from pynwb.file import Subject

        s = Subject(species="Mus musculus", sex="F", age="P90D")
    else:
        s = nf.make_subject(**subject)  # type: ignore[arg-type]
    results = validate_nwb_file(_write(tmp_path, subject=s))
    found = [r for r in results if r.origin == "metadata"]
    assert [r.check for r in found] == [check], results
    assert found[0].severity == Severity.ERROR
    assert fix_contains in (found[0].how_to_fix or "")


@pytest.mark.parametrize(
    "subject",
    [
        dict(species="http://purl.obolibrary.org/obo/NCBITaxon_10090"),
        dict(species="http://purl.obolibrary.org/obo/NCBITaxon_9685"),  # cat: not in table
        dict(species="Homo sapiens", sex="U", age="P30Y/"),
        dict(age="P2M/P3M"),
        dict(age="P1DT12H"),
        dict(species="Caenorhabditis elegans", sex="XX", age="P3D"),
        dict(age=None, date_of_birth=datetime(2023, 12, 1, tzinfo=nf.SESSION_START.tzinfo)),
        dict(subject_id="protein-123", species=None, sex=None, age=None),  # DANDI's in-vitro
    ],
)
def test_accepted_subject_values(tmp_path: Path, subject: dict[str, object]) -> None:
    s = nf.make_subject(**subject)  # type: ignore[arg-type]
    results = validate_nwb_file(_write(tmp_path, subject=s))
    assert not blocks_publishing(results), results
    assert not [r for r in results if r.origin == "metadata"]


def test_c_elegans_sex_uses_its_own_codes(tmp_path: Path) -> None:
    s = nf.make_subject(species="Caenorhabditis elegans", sex="M")
    results = validate_nwb_file(_write(tmp_path, subject=s))
    (r,) = [r for r in results if r.origin == "metadata"]
    assert r.check == "subject_sex_invalid" and "XX" in (r.how_to_fix or "")


def test_unknown_binomial_is_only_a_warning(tmp_path: Path) -> None:
    subject = nf.make_subject(species="Peromyscus californicus")
    results = validate_nwb_file(_write(tmp_path, subject=subject))
    (r,) = [r for r in results if r.origin == "metadata"]
    assert (r.check, r.severity) == ("subject_species_unknown", Severity.WARNING)
    assert not blocks_publishing(results)


def test_naive_session_start_time(tmp_path: Path) -> None:
    path = _write(tmp_path)
    # pynwb always writes a timezone, so make the file the way other writers do.
    with h5py.File(path, "r+") as f:
        del f["session_start_time"]
        f["session_start_time"] = "2024-03-01T10:00:00"
    results = validate_nwb_file(path)
    tz = [r for r in results if "timezone" in r.message.lower()]
    assert [r.check for r in tz] == ["session_start_time_no_timezone"]  # pynwb's is merged
    assert tz[0].object_path == "/session_start_time"
    assert blocks_publishing(results)


def test_slashes_in_ids_are_critical_with_a_fix(tmp_path: Path) -> None:
    s = nf.make_subject(subject_id="m/1")
    results = validate_nwb_file(_write(tmp_path, subject=s, session_id="a/b"))
    by_check = {r.check: r for r in results}
    for check in ("check_subject_id_no_slashes", "check_session_id_no_slashes"):
        assert by_check[check].severity == Severity.CRITICAL
        assert by_check[check].origin == "nwbinspector"
        assert "'-'" in (by_check[check].how_to_fix or "")


def test_inspector_best_practice_maps_to_warning_and_hint(tmp_path: Path) -> None:
    nwbfile = nf.make_nwbfile(identifier="bp", experimenter=["Jane Doe"], keywords=None)
    from pynwb.testing.mock.base import mock_TimeSeries

    mock_TimeSeries(name="wrong", data=[[1.0, 2.0, 3.0] * 10] * 2, rate=10.0, nwbfile=nwbfile)
    results = validate_nwb_file(nf.write_nwbfile(nwbfile, tmp_path / "bp.nwb"))
    by_check = {r.check: r for r in results}
    assert by_check["check_experimenter_form"].severity == Severity.HINT
    assert by_check["check_keywords"].severity == Severity.HINT
    # DANDI's configuration lowers data orientation from CRITICAL to a violation.
    assert by_check["check_data_orientation"].severity == Severity.WARNING
    assert by_check["check_data_orientation"].object_path == "/acquisition/wrong"
    assert by_check["check_data_orientation"].how_to_fix
    assert [r.severity for r in results] == sorted((r.severity for r in results), reverse=True)


def test_schema_violation_is_a_pynwb_error(tmp_path: Path) -> None:
    path = nf.make_ephys_file(tmp_path / "e.nwb", n_channels=2, duration_s=0.01, n_units=0)
    with h5py.File(path, "r+") as f:
        # A required attribute, removed behind pynwb's back.
        del f["acquisition/ElectricalSeries/data"].attrs["unit"]
    results = validate_nwb_file(path)
    schema = [r for r in results if r.origin == "pynwb"]
    assert schema, results
    assert all(r.severity == Severity.ERROR for r in schema)
    assert any("unit" in r.message for r in schema)
    assert any((r.object_path or "").startswith("/acquisition/ElectricalSeries") for r in schema)


def _sound_file(tmp_path: Path, *, break_it: bool = False) -> Path:
    import numpy as np
    from ndx_sound import AcousticWaveformSeries

    nwbfile = nf.make_nwbfile(identifier="sound")
    nwbfile.add_acquisition(
        AcousticWaveformSeries(
            name="mic", data=np.zeros(1000, dtype=np.int16), rate=250_000.0, description="mic"
        )
    )
    path = nf.write_nwbfile(nwbfile, tmp_path / "sound.nwb")
    if break_it:
        with h5py.File(path, "r+") as f:
            del f["acquisition/mic/data"].attrs["unit"]
    return path


def test_extension_imported_in_this_process_still_validates(tmp_path: Path) -> None:
    """ndx-sound's installed spec includes only TimeSeries from core; with it imported (as
    NeuroConv's audio interface does) pynwb.validate(io=...) stopped at the root
    ("'NWBFile' not found in namespace ndx-sound"). The file's own cached namespaces are
    what it is checked against, and a real violation inside the extension still shows."""
    import ndx_sound  # noqa: F401

    results = validate_nwb_file(_sound_file(tmp_path))
    assert not blocks_publishing(results), [r for r in results if r.blocking]
    broken = validate_nwb_file(_sound_file(tmp_path / "b", break_it=True))
    schema = [r for r in broken if r.origin == "pynwb"]
    assert any("unit" in r.message and "/acquisition/mic" in (r.object_path or "") for r in schema)


def test_inspector_crash_is_reported_without_traceback() -> None:
    from nwbinspector import Importance, InspectorMessage

    msg = InspectorMessage(
        message="Traceback (most recent call last):\n  File ...\nZeroDivisionError: boom",
        importance=Importance.ERROR,
        check_function_name="During evaluation of 'check_x' - <class 'ZeroDivisionError'>: boom",
        location="acquisition/ts",
    )
    r = to_result(msg)
    assert (r.check, r.severity, r.object_path) == ("check_x", Severity.ERROR, "/acquisition/ts")
    assert "Traceback" not in r.message and "boom" in r.message


# --------------------------------------------------------------------- broken files


def _truncated(tmp: Path, good: Path) -> Path:
    return nf.write_truncated_copy(good, tmp / "cut.nwb")


def _first_bytes(tmp: Path, good: Path) -> Path:
    path = tmp / "start.nwb"  # cut off inside the HDF5 signature
    path.write_bytes(good.read_bytes()[:5])
    return path


@pytest.mark.parametrize(
    ("make", "check", "words"),
    [
        (_truncated, "file_truncated", "incomplete"),
        (_first_bytes, "file_truncated", "incomplete"),
        (lambda tmp, good: nf.write_text_as_nwb(tmp / "t.nwb"), "not_hdf5", "not an HDF5"),
        (lambda tmp, good: nf.write_plain_hdf5(tmp / "h.nwb"), "not_nwb", "not an NWB"),
        (lambda tmp, good: nf.write_empty(tmp / "e.nwb"), "file_empty", "empty"),
        (lambda tmp, good: tmp / "missing.nwb", "file_missing", "does not exist"),
        (lambda tmp, good: tmp, "not_a_file", "folder"),
    ],
)
def test_broken_file_gives_exactly_one_critical_finding(
    files: dict[str, Path], tmp_path: Path, make: object, check: str, words: str
) -> None:
    path = make(tmp_path, files["ephys"])  # type: ignore[operator]
    results = validate_nwb_file(path)
    assert len(results) == 1, results
    (r,) = results
    assert (r.severity, r.origin, r.check) == (Severity.CRITICAL, "file", check)
    assert words in r.message
    assert str(tmp_path) not in r.message  # plain words, and the same for any copy
    assert worst_severity(results) == Severity.CRITICAL


def test_pynwb_read_failure_is_one_finding(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "bad.nwb"
    shutil.copy(files["ephys"], path)
    with h5py.File(path, "r+") as f:
        del f["specifications"]  # no cached schema ...
        f.attrs["namespace"] = "ndx-does-not-exist"  # ... and an unknown extension type
    results = validate_nwb_file(path)
    assert len(results) == 1, results
    assert (results[0].origin, results[0].check) == ("file", "nwb_unreadable")


# --------------------------------------------------------------------- many files


def test_validate_paths_walks_folders_and_checks_identifiers(tmp_path: Path) -> None:
    (tmp_path / "sub-1").mkdir()
    (tmp_path / ".hidden").mkdir()
    a = _write(tmp_path / "sub-1", "a.nwb")
    nf.write_nwbfile(nf.make_nwbfile(identifier="a.nwb"), tmp_path / "b.nwb")  # same id
    nf.write_text_as_nwb(tmp_path / ".hidden" / "x.nwb")
    (tmp_path / "notes.txt").write_text("not nwb")
    seen: list[Path] = []
    report = validate_paths([tmp_path], progress=seen.append)
    assert sorted(report) == sorted([str(a), str(tmp_path / "b.nwb")])
    assert len(seen) == 2
    for results in report.values():
        assert "identifier_not_unique" in _checks(results)


def test_validate_paths_accepts_a_file_with_any_name(
    files: dict[str, Path], tmp_path: Path
) -> None:
    odd = tmp_path / "recording.h5"
    shutil.copy(files["ephys"], odd)
    report = validate_paths([odd])
    # Local runs include the checks that look at the file name.
    assert "check_file_extension" in _checks(report[str(odd)])
    assert "check_file_extension" not in _checks(validate_nwb_file(odd))


def test_future_session_date_is_checked_only_locally(tmp_path: Path) -> None:
    future = datetime.now(tz=nf.SESSION_START.tzinfo) + timedelta(days=400)
    path = _write(tmp_path, session_start_time=future)
    assert "check_session_start_time_future_date" not in _checks(validate_nwb_file(path))
    local = validate_paths([path])[str(path)]
    assert "check_session_start_time_future_date" in _checks(local)
