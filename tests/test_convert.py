"""`nds convert`: every format round-trips (generator -> convert -> pynwb), every output
passes pynwb validation and the NWB Inspector's DANDI config, and bad metadata gets a
message naming the key."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import neuroconv  # noqa: F401  (a test dependency, through [convert]: missing, this fails)
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from neurodatashare.cli.cmd_convert import command as convert_command
from neurodatashare.nwb.convert.layout import ephys_chunks
from neurodatashare.nwb.convert.metadata import (
    EXAMPLE_YAML,
    MetadataError,
    normalize_age,
    normalize_sex,
    normalize_species,
    parse_metadata,
)
from neurodatashare.nwb.convert.pipeline import ConversionResult, convert
from neurodatashare.testing import sources
from neurodatashare.validation import blocks_publishing, validate_nwb_file

# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sources")
    return {
        "root": root,
        "openephys": sources.write_openephys_binary(root / "oe"),
        "spikeglx": sources.write_spikeglx(root / "sglx"),
        "phy": sources.write_phy(root / "phy"),
        "tiff": sources.write_tiff_stack(root / "movie.tif"),
        "suite2p": sources.write_suite2p(root / "s2p"),
        "npy": sources.write_timeseries_npy(root / "signal.npy"),
        "csv": sources.write_timeseries_csv(root / "signal.csv"),
        "trials": sources.write_trials_csv(root / "trials.csv"),
        "events": sources.write_events_csv(root / "rewards.csv"),
    }


def base_meta(**sections: Any) -> dict[str, Any]:
    """The documented example, minus the parts a test replaces."""
    meta = yaml.safe_load(EXAMPLE_YAML)
    for key, value in sections.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def check(result: ConversionResult) -> None:
    """The archive's own validation would publish the converted file."""
    findings = validate_nwb_file(result.path)
    assert not blocks_publishing(findings), [f for f in findings if f.blocking]


def read(path: Path) -> Any:
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(str(path), "r")
    return io, io.read()


# --- round trips ----------------------------------------------------------------------


def test_openephys_round_trip(data: dict[str, Any], tmp_path: Path) -> None:
    fx = data["openephys"]
    meta = base_meta()
    del meta["session"]["session_start_time"]  # taken from settings.xml ...
    meta["session"]["timezone"] = "Europe/Berlin"  # ... which has no timezone
    meta["devices"] = meta["devices"][:1]
    meta.pop("ophys")
    out = tmp_path / "oe.nwb"
    result = convert(
        format="openephys",
        source=fx.path,
        metadata=parse_metadata(meta),
        out=out,
        trials=data["root"] / "trials.csv",
        events=[data["root"] / "rewards.csv"],
    )
    check(result)
    io, f = read(out)
    with io:
        assert f.session_start_time == fx.start_time.replace(tzinfo=ZoneInfo("Europe/Berlin"))
        es = f.acquisition["ElectricalSeries"]
        assert np.array_equal(es.data[:], fx.counts)
        assert es.conversion == pytest.approx(fx.uv_per_bit * 1e-6)
        assert es.starting_time == pytest.approx(fx.first_sample / fx.sampling_rate)
        assert es.data.chunks == ephys_chunks(fx.counts.shape[0], fx.counts.shape[1], 2)
        assert es.data.compression == "gzip" and es.data.shuffle
        assert set(f.electrodes["location"][:]) == {"VISp"}
        group = next(iter(f.electrode_groups.values()))
        assert group.device.name == "Probe" and group.location == "VISp"
        assert f.subject.species == "Mus musculus" and f.subject.age == "P90D"
        trials = f.trials.to_dataframe()
        assert len(trials) == len(data["trials"])
        assert trials["stimulus_name"].iloc[0] == data["trials"][0]["stimulus_name"]
        assert trials["correct"].dtype == bool
        events = f.events["rewards"].to_dataframe()
        assert np.allclose(events["timestamp"], [r["timestamp"] for r in data["events"]])


def test_spikeglx_round_trip(data: dict[str, Any], tmp_path: Path) -> None:
    fx = data["spikeglx"]
    meta = base_meta(devices=None, ecephys={"location": "CA1"}, ophys=None)
    out = tmp_path / "sglx.nwb"
    check(convert(format="spikeglx", source=fx.path, metadata=parse_metadata(meta), out=out))
    io, f = read(out)
    with io:
        es = f.acquisition["ElectricalSeriesAP"]
        assert np.array_equal(es.data[:], fx.counts)
        assert es.conversion == pytest.approx(fx.uv_per_bit * 1e-6)
        assert es.data.chunks == ephys_chunks(fx.counts.shape[0], fx.counts.shape[1], 2)
        # no device in the YAML: the probe the .meta file names is kept
        device = next(iter(f.electrode_groups.values())).device
        assert device.serial_number == "18194814141"
        assert set(f.electrodes["location"][:]) == {"CA1"}


def test_phy_round_trip(data: dict[str, Any], tmp_path: Path) -> None:
    fx = data["phy"]
    out = tmp_path / "phy.nwb"
    meta = base_meta(devices=None, ecephys=None, ophys=None)
    check(convert(format="phy", source=fx.path, metadata=parse_metadata(meta), out=out))
    io, f = read(out)
    with io:
        units = f.units.to_dataframe()
        kept = {c for c, g in fx.groups.items() if g != "noise"}
        assert len(units) == len(kept)  # noise clusters are left out
        for _, row in units.iterrows():
            cid = int(row["original_cluster_id"])
            assert np.allclose(row["spike_times"], fx.spike_times_s[cid])
            assert row["quality"] == fx.groups[cid]


def test_tiff_round_trip(data: dict[str, Any], tmp_path: Path) -> None:
    frames = data["tiff"]
    out = tmp_path / "tiff.nwb"
    meta = base_meta(ecephys=None)
    meta["devices"] = meta["devices"][1:]  # just the microscope
    check(
        convert(
            format="tiff", source=data["root"] / "movie.tif", metadata=parse_metadata(meta), out=out
        )
    )
    io, f = read(out)
    with io:
        series = next(iter(f.acquisition.values()))
        assert type(series).__name__ == "TwoPhotonSeries"
        assert np.array_equal(series.data[:], frames.transpose(0, 2, 1))  # NWB: (frame, x, y)
        assert series.rate == 30.0
        plane = series.imaging_plane
        assert (plane.indicator, plane.location, plane.excitation_lambda) == (
            "GCaMP6s",
            "VISp",
            920.0,
        )


def test_suite2p_round_trip(data: dict[str, Any], tmp_path: Path) -> None:
    fx = data["suite2p"]
    out = tmp_path / "s2p.nwb"
    meta = base_meta(ecephys=None)
    meta["devices"] = meta["devices"][1:]
    result = convert(
        format="suite2p", source=fx.path.parent, metadata=parse_metadata(meta), out=out
    )
    check(result)
    io, f = read(out)
    with io:
        ophys = f.processing["ophys"]
        ps = ophys["ImageSegmentation"]["PlaneSegmentation"]
        assert len(ps) == fx.F.shape[0]
        raw = ophys["Fluorescence"]["RoiResponseSeries"]
        assert np.allclose(raw.data[:], fx.F.T)
        assert ps.imaging_plane.indicator == "GCaMP6s"


def test_timeseries_npy_and_csv(data: dict[str, Any], tmp_path: Path) -> None:
    meta = base_meta(
        devices=None,
        ecephys=None,
        ophys=None,
        timeseries={"name": "photometry", "unit": "a.u.", "rate": 20.0, "module": "behavior"},
    )
    out = tmp_path / "npy.nwb"
    check(
        convert(
            format="timeseries",
            source=data["root"] / "signal.npy",
            metadata=parse_metadata(meta),
            out=out,
        )
    )
    io, f = read(out)
    with io:
        ts = f.processing["behavior"]["photometry"]
        assert np.array_equal(ts.data[:], data["npy"]) and ts.rate == 20.0
    # a CSV with a time column: regular times become starting_time + rate
    meta["timeseries"] = {
        "name": "pupil",
        "unit": "a.u.",
        "columns": {"speed": "Wheel speed (m/s)"},
    }
    out = tmp_path / "csv.nwb"
    check(
        convert(
            format="timeseries",
            source=data["root"] / "signal.csv",
            metadata=parse_metadata(meta),
            out=out,
        )
    )
    t, values = data["csv"]
    io, f = read(out)
    with io:
        ts = f.acquisition["pupil"]
        assert np.allclose(ts.data[:], values)
        assert ts.rate == pytest.approx(50.0) and ts.starting_time == pytest.approx(t[0])
        assert "Wheel speed" in ts.description


def test_trials_alone(data: dict[str, Any], tmp_path: Path) -> None:
    meta = base_meta(devices=None, ecephys=None, ophys=None)
    meta["trials"] = {
        "description": "Go/no-go trials.",
        "columns": {"stimulus_contrast": "Michelson contrast (0-1)."},
    }
    out = tmp_path / "trials.nwb"
    check(
        convert(
            format="trials",
            source=data["root"] / "trials.csv",
            metadata=parse_metadata(meta),
            out=out,
        )
    )
    io, f = read(out)
    with io:
        df = f.trials.to_dataframe()
        assert list(df["start_time"]) == [r["start_time"] for r in data["trials"]]
        assert f.trials.description == "Go/no-go trials."
        assert f.trials["stimulus_contrast"].description == "Michelson contrast (0-1)."
        for row, value in zip(data["trials"], df["response_time"], strict=True):
            assert np.isnan(value) if row["response_time"] == "" else value == row["response_time"]


def test_cli_end_to_end(data: dict[str, Any], tmp_path: Path) -> None:
    meta_path = tmp_path / "meta.yaml"
    runner = CliRunner()
    printed = runner.invoke(convert_command, ["--example-metadata"])
    assert printed.exit_code == 0
    meta_path.write_text(printed.output)
    out = tmp_path / "cli.nwb"
    args = [
        "--format", "openephys",
        "--source", str(data["openephys"].path),
        "--metadata", str(meta_path),
        "--out", str(out),
    ]  # fmt: skip
    result = runner.invoke(convert_command, args)
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "ready to upload" in result.output
    again = runner.invoke(convert_command, args)
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_help_shows_formats_and_a_complete_yaml() -> None:
    result = CliRunner().invoke(convert_command, ["--help"])
    assert result.exit_code == 0
    for word in ("openephys", "spikeglx", "phy", "tiff", "suite2p", "timeseries", "trials"):
        assert word in result.output
    assert "subject_id: mouse01" in result.output and "session_start_time" in result.output
    assert "imaging_rate" in result.output


def test_ephys_chunk_rule() -> None:
    assert ephys_chunks(1_800_000, 64, 2) == (16384, 64)
    assert ephys_chunks(1_800_000, 384, 2) == (16384, 64)
    assert ephys_chunks(90_000, 16, 2) == (65536, 16)
    assert ephys_chunks(500, 4, 4) == (500, 4)
    with pytest.raises(ValueError):
        ephys_chunks(0, 4, 2)


# --- metadata: what a scientist writes -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mouse", "Mus musculus"),
        ("Mus musculus", "Mus musculus"),
        ("house mouse", "Mus musculus"),
        ("NCBITaxon:10090", "Mus musculus"),
        ("rat", "Rattus norvegicus"),
        ("human", "Homo sapiens"),
        ("Peromyscus californicus", "Peromyscus californicus"),
        ("NCBITaxon:12345", "http://purl.obolibrary.org/obo/NCBITaxon_12345"),
    ],
)
def test_species(value: str, expected: str) -> None:
    assert normalize_species(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("P90D", "P90D"),
        ("90 days", "P90D"),
        ("12 weeks", "P12W"),
        ("3 months", "P3M"),
        ("1 year 2 months", "P1Y2M"),
        ("P90D/P120D", "P90D/P120D"),
        ("90d", "P90D"),
    ],
)
def test_age(value: str, expected: str) -> None:
    assert normalize_age(value) == expected


def test_sex() -> None:
    assert [normalize_sex(v) for v in ("male", "Female", "M", "u", "other")] == [
        "M",
        "F",
        "M",
        "U",
        "O",
    ]


def _subject(**changes: Any) -> dict[str, Any]:
    subject = {"subject_id": "m1", "species": "mouse", "sex": "female", "age": "90 days"}
    subject.update(changes)
    return {k: v for k, v in subject.items() if v is not None}


BAD_METADATA = [
    ({"subject": _subject(species="moose-ish thing")}, "subject.species", "NCBITaxon:10090"),
    ({"subject": _subject(age=90)}, "subject.age", "90 days"),
    ({"subject": _subject(age="ninety")}, "subject.age", "P90D"),
    ({"subject": _subject(sex="fem")}, "subject.sex", "female"),
    ({"subject": _subject(age=None)}, "subject", "age"),
    ({"subject": _subject(subject_id="m/1")}, "subject.subject_id", "slash"),
    ({"subject": {**_subject(), "specie": "mouse"}}, "subject.specie", "Did you mean 'species'"),
    ({"session": {"session_id": "x"}}, "subject", "subject_id: mouse01"),
    (
        {"subject": _subject(), "session": {"session_start_time": "2024-03-04T10:15:00"}},
        "session.session_start_time",
        "+01:00",
    ),
    (
        {"subject": _subject(), "session": {"timezone": "Mars/Olympus"}},
        "session.timezone",
        "Europe/Berlin",
    ),
    ({"subject": _subject(), "ecephys": {"device": "Probe"}}, "ecephys.device", "devices:"),
]


@pytest.mark.parametrize(("meta", "key", "hint"), BAD_METADATA)
def test_bad_metadata_names_the_key(meta: dict[str, Any], key: str, hint: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_metadata(meta)
    assert info.value.key == key
    assert f"{key}:" in info.value.message
    assert hint in info.value.message
    assert "A valid example" in info.value.message


def _cli(
    data: dict[str, Any],
    tmp_path: Path,
    meta: Any,
    *extra: str,
    fmt: str = "openephys",
    source: Path | None = None,
) -> Any:
    meta_path = tmp_path / "meta.yaml"
    meta_path.write_text(meta if isinstance(meta, str) else yaml.safe_dump(meta))
    src = source or data["openephys"].path
    args = [
        "--format",
        fmt,
        "--source",
        str(src),
        "--metadata",
        str(meta_path),
        "--out",
        str(tmp_path / "o.nwb"),
        *extra,
    ]
    return CliRunner().invoke(convert_command, args)


def test_cli_bad_metadata_exit_2_without_traceback(data: dict[str, Any], tmp_path: Path) -> None:
    result = _cli(data, tmp_path, {"subject": _subject(species="moose-ish thing")})
    assert result.exit_code == 2
    assert "subject.species" in result.output and "A valid example" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.nwb").exists()


def test_cli_naive_start_time_from_data_needs_a_timezone(
    data: dict[str, Any], tmp_path: Path
) -> None:
    result = _cli(data, tmp_path, {"subject": _subject()})
    assert result.exit_code == 2
    assert "session.timezone" in result.output and "Europe/Berlin" in result.output


def test_cli_tiff_needs_a_frame_rate(data: dict[str, Any], tmp_path: Path) -> None:
    meta = {"subject": _subject(), "session": {"session_start_time": "2024-03-04T10:15:00+01:00"}}
    result = _cli(data, tmp_path, meta, fmt="tiff", source=data["root"] / "movie.tif")
    assert result.exit_code == 2 and "ophys.imaging_rate" in result.output
    ok = _cli(data, tmp_path, meta, "--rate", "30", fmt="tiff", source=data["root"] / "movie.tif")
    assert ok.exit_code == 0, ok.output


def test_cli_npy_needs_a_rate(data: dict[str, Any], tmp_path: Path) -> None:
    meta = {"subject": _subject(), "session": {"session_start_time": "2024-03-04T10:15:00+01:00"}}
    result = _cli(data, tmp_path, meta, fmt="timeseries", source=data["root"] / "signal.npy")
    assert result.exit_code == 2 and "timeseries.rate" in result.output


def test_cli_bad_yaml_and_bad_source(data: dict[str, Any], tmp_path: Path) -> None:
    result = _cli(data, tmp_path, "subject: [unclosed\n")
    assert result.exit_code == 1 and "not valid YAML" in result.output and "line" in result.output
    meta = {"subject": _subject(), "session": {"session_start_time": "2024-03-04T10:15:00+01:00"}}
    wrong = _cli(data, tmp_path, meta, fmt="phy", source=data["root"] / "oe")
    assert wrong.exit_code == 1 and "not a Phy/Kilosort folder" in wrong.output
    assert "Traceback" not in wrong.output


def test_bad_trials_csv(data: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad_trials.csv"
    bad.write_text("begin,stop_time,x\n0.0,1.0,a\n")
    meta = {"subject": _subject(), "session": {"session_start_time": "2024-03-04T10:15:00+01:00"}}
    result = _cli(data, tmp_path, meta, fmt="trials", source=bad)
    assert result.exit_code == 1 and "start_time" in result.output


def test_start_time_from_yaml_wins(data: dict[str, Any], tmp_path: Path) -> None:
    start = datetime(2024, 5, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    meta = copy.deepcopy(base_meta(devices=None, ecephys=None, ophys=None))
    meta["session"]["session_start_time"] = start.isoformat()
    out = tmp_path / "yaml_start.nwb"
    convert(format="phy", source=data["phy"].path, metadata=parse_metadata(meta), out=out)
    io, f = read(out)
    with io:
        assert f.session_start_time == start
        assert f.session_start_time.utcoffset() == timedelta(hours=-4)


def test_stub_preview_and_events_with_duration(data: dict[str, Any], tmp_path: Path) -> None:
    ttl = tmp_path / "ttl_pulses.csv"
    ttl.write_text("timestamp,duration,line\n0.5,0.01,1\n1.5,0.02,2\n")
    meta = base_meta(ophys=None)
    meta["devices"] = meta["devices"][:1]
    out = tmp_path / "stub.nwb"
    result = convert(
        format="openephys",
        source=data["openephys"].path,
        metadata=parse_metadata(meta),
        out=out,
        events=[ttl],
        stub=True,
    )
    check(result)
    io, f = read(out)
    with io:
        assert f.acquisition["ElectricalSeries"].data.shape[0] == 100
        events = f.events["ttl_pulses"].to_dataframe()
        assert list(events["duration"]) == [0.01, 0.02] and list(events["line"]) == [1, 2]


def test_unknown_stream_is_a_clear_error(data: dict[str, Any], tmp_path: Path) -> None:
    meta = {"subject": _subject(), "session": {"session_start_time": "2024-03-04T10:15:00+01:00"}}
    result = _cli(
        data, tmp_path, meta, "--stream", "imec9.ap", fmt="spikeglx", source=data["spikeglx"].path
    )
    assert (
        result.exit_code == 1 and "imec0.ap" in result.output and "Traceback" not in result.output
    )
