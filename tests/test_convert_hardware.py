"""`nds convert --format NAME` with a YAML that names the probe, the brain region and the
microscope: they reach the file through NeuroConv (its Devices, ElectrodeGroups and
ImagingPlanes), as they do for the built-in formats, instead of NeuroConv's placeholders
("unknown", "PlaceholderElectrodeDevice"). Files from three writers: SpikeGLX and Open
Ephys binaries (whose interfaces name their groups differently) and an HDF5 movie."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import neuroconv  # noqa: F401  (a test dependency, through [convert])
import pytest
import yaml
from click.testing import CliRunner
from pynwb import NWBHDF5IO

from neurodatashare.cli.cmd_convert import command as convert_command
from neurodatashare.testing import sources
from neurodatashare.testing.formats_other import write_hdf5_imaging
from neurodatashare.validation import validate_nwb_file

BASE = {
    "subject": {"subject_id": "mouse01", "species": "mouse", "sex": "F", "age": "P90D"},
    "session": {"session_start_time": "2024-03-04T10:15:00+01:00", "description": "Test"},
}
PROBE = {"name": "Probe", "description": "64-channel silicon probe", "manufacturer": "NeuroNexus"}
SCOPE = {"name": "Microscope", "description": "Two-photon", "manufacturer": "Thorlabs"}


def _convert(tmp_path: Path, meta: dict[str, Any], *args: str) -> Path:
    path = tmp_path / "meta.yaml"
    path.write_text(yaml.safe_dump(meta))
    out = tmp_path / "out.nwb"
    r = CliRunner().invoke(
        convert_command, [*args, "--metadata", str(path), "--out", str(out), "--no-inspect"]
    )
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("writer", ["spikeglx", "openephys"])
def test_the_probe_and_region_of_the_yaml_reach_the_electrodes(writer: str, tmp_path: Path) -> None:
    if writer == "spikeglx":
        rec = sources.write_spikeglx(tmp_path / "sglx", duration_s=0.2, n_channels=8)
        args = ["--format", "SpikeGLXRecording", "--source", f"folder_path={rec.path}"]
        args += ["--source", "stream_id=imec0.ap"]
    else:
        rec = sources.write_openephys_binary(tmp_path / "oe", duration_s=0.2, n_channels=8)
        args = ["--format", "OpenEphysRecording", "--source", f"folder_path={rec.path}"]
    meta = {**BASE, "devices": [PROBE], "ecephys": {"device": "Probe", "location": "CA1"}}
    out = _convert(tmp_path, meta, *args, "--stub")
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert set(nwb.devices) >= {"Probe"}
        assert nwb.devices["Probe"].manufacturer == "NeuroNexus"
        groups = list(nwb.electrode_groups.values())
        assert groups and all(g.location == "CA1" for g in groups), groups
        assert all(g.device.name == "Probe" for g in groups)
        assert set(nwb.electrodes["location"][:]) == {"CA1"}
    findings = validate_nwb_file(out)
    assert not [f for f in findings if "location" in f.check], findings


def test_without_a_region_neuroconv_keeps_what_the_files_say(tmp_path: Path) -> None:
    rec = sources.write_openephys_binary(tmp_path / "oe", duration_s=0.2, n_channels=8)
    out = _convert(
        tmp_path, BASE, "--format", "OpenEphysRecording", "--source", f"folder_path={rec.path}"
    )
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert "Probe" not in nwb.devices
        assert {g.location for g in nwb.electrode_groups.values()} == {"unknown"}


def test_the_microscope_and_plane_of_the_yaml_reach_the_imaging_plane(tmp_path: Path) -> None:
    movie = write_hdf5_imaging(tmp_path / "movie", n_frames=40)
    meta = {
        **BASE,
        "devices": [SCOPE],
        "ophys": {
            "device": "Microscope",
            "location": "VISp",
            "indicator": "GCaMP6s",
            "excitation_lambda": 920,
            "emission_lambda": 510,
        },
    }
    out = _convert(
        tmp_path,
        meta,
        "--format",
        "Hdf5Imaging",
        "--source",
        f"file_path={movie.source_options['file_path']}",
        "--source",
        "sampling_frequency=30",
    )
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        (plane,) = nwb.imaging_planes.values()
        assert (plane.location, plane.indicator, plane.excitation_lambda) == (
            "VISp",
            "GCaMP6s",
            920.0,
        )
        assert plane.device.name == "Microscope" and plane.device.manufacturer == "Thorlabs"
        assert plane.optical_channel[0].emission_lambda == 510.0
        (series,) = [s for s in nwb.acquisition.values() if hasattr(s, "imaging_plane")]
        assert series.imaging_plane is plane
