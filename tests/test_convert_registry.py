"""NeuroConv's formats from its own registry: `nds convert --list-formats` and
`GET /api/convert/formats/`."""

from __future__ import annotations

import importlib.util
from importlib.metadata import version

import pytest
from click.testing import CliRunner

from neurodatashare.cli.main import cli
from neurodatashare.nwb.convert.formats import FORMATS
from neurodatashare.nwb.convert.registry import neuroconv_formats
from neurodatashare.testing.live import Live


def test_every_interface_of_neuroconvs_registry_is_listed() -> None:
    from neuroconv.datainterfaces import interface_list

    formats = neuroconv_formats()
    assert {f.interface for f in formats} == {c.__name__ for c in interface_list}
    assert len(formats) == len(interface_list) >= 100
    assert all(f.modality and f.extra for f in formats)
    by_name = {f.name: f for f in formats}
    assert by_name["SpikeGLXRecording"].installed  # what `nds convert --format spikeglx` uses
    assert "extracellular" in by_name["SpikeGLXRecording"].modality
    # the audio extra needs ndx-sound: installed exactly when that package is importable
    audio = by_name["Audio"]
    assert audio.installed == (importlib.util.find_spec("ndx_sound") is not None)
    for f in formats:
        if not f.installed:
            assert f.install == f'pip install "neuroconv[{f.extra}]=={version("neuroconv")}"'
        else:
            assert f.install is None


def test_the_cli_prints_one_line_per_format() -> None:
    out = CliRunner().invoke(cli, ["convert", "--list-formats"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == len(FORMATS) + len(neuroconv_formats())
    assert lines[0].startswith("openephys") and "[built in: --format openephys]" in lines[0]
    neuroconv_lines = lines[len(FORMATS) :]
    assert all(
        line.endswith("[installed]") or 'not installed: pip install "neuroconv[' in line
        for line in neuroconv_lines
    )
    assert any(line.startswith("DeepLabCut ") and ".h5" in line for line in neuroconv_lines)


def test_the_api_lists_formats_with_their_source_schema(live: Live) -> None:
    r = live.anonymous().get("/api/convert/formats/")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["count"] == len(data["results"]) == len(neuroconv_formats())
    one = next(f for f in data["results"] if f["name"] == "SpikeGLXRecording")
    assert one["installed"] is True and one["install"] is None
    assert "folder_path" in one["source_schema"]["properties"]
    assert {f["name"] for f in data["built_in"]} == set(FORMATS)


def test_without_neuroconv_the_list_says_how_to_install_it(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurodatashare.nwb.convert import registry

    monkeypatch.setattr(registry, "neuroconv_installed", lambda: False)
    registry.neuroconv_formats.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["convert", "--list-formats"])
        assert out.exit_code == 0 and len(out.output.splitlines()) == len(FORMATS) + 1
        assert "pip install 'neurodatashare[convert]'" in out.output
        data = live.anonymous().get("/api/convert/formats/").json()
        assert data["count"] == 0 and data["neuroconv"]["installed"] is False
        assert data["neuroconv"]["install"] == "pip install 'neurodatashare[convert]'"
    finally:
        monkeypatch.undo()
        registry.neuroconv_formats.cache_clear()


def test_an_extra_that_names_another_with_underscores_is_checked_through_it() -> None:
    """NeuroConv's `csv-fp` extra is `neuroconv[fiber_photometry_minimal]`, declared as
    `fiber-photometry-minimal`, which needs ndx-fiber-photometry: installed only with it."""
    from importlib.metadata import PackageNotFoundError

    try:
        version("ndx-fiber-photometry")
        present = True
    except PackageNotFoundError:
        present = False
    [fmt] = [f for f in neuroconv_formats() if f.name == "CSVFiberPhotometry"]
    assert fmt.installed is present, fmt
    if not present:
        assert fmt.install == f'pip install "neuroconv[csv-fp]=={version("neuroconv")}"'
