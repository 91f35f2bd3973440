"""`nds convert --format NAME --source KEY=VALUE` for any NeuroConv interface: the data
round-trips, several --format go into one file, and a bad option is an exit-2 error that
names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import neuroconv  # noqa: F401  (a test dependency, through [convert])
import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result

from neurodatashare.cli.cmd_convert import command as convert_command
from neurodatashare.nwb.convert.interfaces import coerce_option, path_options, source_schema
from neurodatashare.testing import sources

META = {
    "subject": {"subject_id": "mouse01", "species": "mouse", "sex": "F", "age": "90 days"},
    "session": {
        "timezone": "Europe/Berlin",
        "description": "Neuropixels recording with its sorting",
        "experimenter": ["Doe, Jane"],
        "lab": "Test lab",
        "institution": "Test institute",
    },
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("nc")
    meta = root / "meta.yaml"
    meta.write_text(yaml.safe_dump(META))
    return {
        "root": root,
        "meta": meta,
        "sglx": sources.write_spikeglx(root / "sglx", duration_s=2.5, n_channels=16),
        "phy": sources.write_phy(root / "phy", duration_s=0.5, n_units=5),
    }


def run(*args: Any) -> Result:
    return CliRunner().invoke(convert_command, [str(a) for a in args])


def read(path: Path) -> Any:
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(path), "r")
    return io, io.read()


def test_a_neuroconv_format_round_trips(data: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "rec.nwb"
    sglx = data["sglx"]
    r = run(
        "--format",
        "SpikeGLXRecording",
        "--source",
        f"folder_path={sglx.path}",
        "--source",
        "stream_id=imec0.ap",
        "--metadata",
        data["meta"],
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    assert "ready to upload" in r.output
    io, nwb = read(out)
    try:
        (series,) = [o for o in nwb.acquisition.values() if hasattr(o, "electrodes")]
        stored = series.data[:]
        assert stored.shape == sglx.counts.shape
        np.testing.assert_array_equal(stored, sglx.counts)
        assert nwb.subject.species == "Mus musculus"  # our vocabulary, as for built-ins
        assert nwb.session_start_time.utcoffset() is not None
        assert nwb.experimenter == ("Doe, Jane",)
    finally:
        io.close()


def test_several_formats_go_into_one_file(data: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "both.nwb"
    r = run(
        "--format",
        "SpikeGLXRecording",
        "--format",
        "PhySorting",
        "--source",
        f"SpikeGLXRecording.folder_path={data['sglx'].path}",
        "--source",
        "SpikeGLXRecording.stream_id=imec0.ap",
        "--source",
        f"physorting.folder_path={data['phy'].path}",
        "--metadata",
        data["meta"],
        "--out",
        out,
        "--stub",
    )
    assert r.exit_code == 0, r.output
    io, nwb = read(out)
    try:
        kept = [u for u, g in data["phy"].groups.items() if g != "noise"]
        assert len(nwb.units) >= len(kept) - 1 and len(nwb.units) > 0
        (series,) = [o for o in nwb.acquisition.values() if hasattr(o, "electrodes")]
        assert series.data.shape[0] < data["sglx"].counts.shape[0]  # --stub: the first 2 s
    finally:
        io.close()


@pytest.mark.parametrize(
    ("sources_given", "words"),
    [
        (["folder_path={sglx}"], "--source option 'stream_id' of SpikeGLXRecording is required"),
        (
            ["folder_path={sglx}", "stream_id=imec0.ap", "verbose=loud"],
            "--source option 'verbose' of SpikeGLXRecording: 'loud' is not of type 'boolean'",
        ),
        (
            ["folder_path={sglx}", "stream_id=imec0.ap", "speed=3"],
            "--source option 'speed' of SpikeGLXRecording: not an option of this format",
        ),
        (
            ["folder_path=/no/such/run", "stream_id=imec0.ap"],
            "--source option 'folder_path' of SpikeGLXRecording: /no/such/run: no such file",
        ),
        (["{sglx}"], "give KEY=VALUE"),
        (["stream_id=imec0.ap", "stream_id=imec0.lf", "folder_path={sglx}"], "given twice"),
    ],
)
def test_bad_source_options_name_the_option(
    data: dict[str, Any], tmp_path: Path, sources_given: list[str], words: str
) -> None:
    args: list[Any] = ["--format", "SpikeGLXRecording"]
    for s in sources_given:
        args += ["--source", s.replace("{sglx}", str(data["sglx"].path))]
    r = run(*args, "--metadata", data["meta"], "--out", tmp_path / "x.nwb")
    assert r.exit_code == 2, r.output
    assert words in r.output
    assert not (tmp_path / "x.nwb").exists()


def test_format_and_prefix_mistakes_are_usage_errors(data: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "x.nwb"
    r = run(
        "--format",
        "SpikeGLXRecordin",
        "--source",
        "folder_path=x",
        "--metadata",
        data["meta"],
        "--out",
        out,
    )
    assert r.exit_code == 2 and "Did you mean SpikeGLXRecording" in r.output
    r = run(
        "--format",
        "SpikeGLXRecording",
        "--format",
        "PhySorting",
        "--source",
        f"folder_path={data['phy'].path}",
        "--metadata",
        data["meta"],
        "--out",
        out,
    )
    assert r.exit_code == 2 and "--source PhySorting.folder_path=" in r.output.replace("\n", "")
    wrong = f"Suite2pSegmentation.folder_path={data['phy'].path}"
    r = run("--format", "PhySorting", "--source", wrong, "--metadata", data["meta"], "--out", out)
    assert r.exit_code == 2 and "not one of the --format given" in r.output
    r = run(
        "--format",
        "phy",
        "--format",
        "PhySorting",
        "--source",
        "folder_path=x",
        "--metadata",
        data["meta"],
        "--out",
        out,
    )
    assert r.exit_code == 2 and "built-in format" in r.output
    r = run(
        "--format",
        "PhySorting",
        "--source",
        f"folder_path={data['phy'].path}",
        "--metadata",
        data["meta"],
        "--out",
        out,
        "--rate",
        "30",
    )
    assert r.exit_code == 2 and "--rate is for the built-in formats" in r.output


def test_metadata_problems_name_the_key(data: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**META, "subject": {**META["subject"], "sex": "sometimes"}}))
    r = run(
        "--format",
        "PhySorting",
        "--source",
        f"folder_path={data['phy'].path}",
        "--metadata",
        bad,
        "--out",
        tmp_path / "x.nwb",
    )
    assert r.exit_code == 2, r.output
    assert "subject.sex" in r.output
    no_tz = tmp_path / "notz.yaml"
    no_tz.write_text(yaml.safe_dump({**META, "session": {"description": "x"}}))
    r = run(
        "--format",
        "SpikeGLXRecording",
        "--source",
        f"folder_path={data['sglx'].path}",
        "--source",
        "stream_id=imec0.ap",
        "--metadata",
        no_tz,
        "--out",
        tmp_path / "x.nwb",
    )
    assert r.exit_code == 2, r.output
    assert "NWBFile.timezone" in r.output  # the data's start time has no timezone


def test_list_formats_with_a_format_lists_its_options() -> None:
    r = run("--list-formats", "--format", "spikeglxrecording")
    assert r.exit_code == 0, r.output
    assert "folder_path (string, required)" in r.output
    assert "verbose (boolean, default False)" in r.output


def test_cli_values_get_the_schema_type() -> None:
    schema = source_schema("PhySorting")
    assert path_options(schema) == ["folder_path"]
    assert coerce_option(schema, "folder_path", "123") == "123"
    assert coerce_option(schema, "verbose", "true") is True
    assert coerce_option(schema, "exclude_cluster_groups", "noise,mua") == ["noise", "mua"]
    assert coerce_option(schema, "exclude_cluster_groups", '["noise"]') == ["noise"]
    assert coerce_option(schema, "exclude_cluster_groups", "null") is None


def test_progress_follows_the_written_buffers(data: dict[str, Any], tmp_path: Path) -> None:
    from neurodatashare.nwb.convert.interfaces import check_source
    from neurodatashare.nwb.convert.metadata import parse_metadata
    from neurodatashare.nwb.convert.streams import convert_streams

    stream = check_source(
        format="SpikeGLXRecording",
        options={"folder_path": str(data["sglx"].path), "stream_id": "imec0.ap"},
    )
    seen: list[tuple[str, float]] = []
    convert_streams(
        streams=[stream],
        out=tmp_path / "p.nwb",
        yaml_metadata=parse_metadata(META),
        progress=lambda stage, f: seen.append((stage, f)),
    )
    fractions = [f for _s, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 0.9
    # the data iterator's hook reported its buffers (not only the step before writing)
    assert any(s == "writing the NWB file" and 0.5 < f <= 0.9 for s, f in seen), seen
