"""NWB stored as Zarr (`.nwb.zarr`, hdmf-zarr): the same metadata and checks as HDF5 NWB,
read from the Zarr's entries as a mapping (as the archive holds them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neurodatashare.formats import store_format_for
from neurodatashare.formats.nwb_zarr import NWB_ZARR, process_store
from neurodatashare.testing import nwbfiles


def write_zarr_nwb(nwbfile: Any, path: Path) -> Path:
    from hdmf_zarr.nwb import NWBZarrIO

    with NWBZarrIO(str(path), mode="w") as io:
        io.write(nwbfile)
    return path


def entries(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class Counting(dict[str, bytes]):
    """A mapping that records which entries were read."""

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> bytes:
        self.read.add(key)
        return super().__getitem__(key)


def ecephys() -> Any:
    nwb = nwbfiles.make_nwbfile(identifier="nds-zarr-ecephys")
    nwbfiles.add_ecephys(nwb, n_channels=4, duration_s=0.5, rate=1000.0, compression=None)
    nwbfiles.add_units(nwb, n_units=3, duration_s=0.5)
    return nwb


def _checks(results: list[dict[str, Any]]) -> set[str]:
    return {r["check"] for r in results}


def test_claims_and_registration() -> None:
    assert NWB_ZARR.claims("sub-1/x.nwb.zarr") and NWB_ZARR.claims("A.NWB.ZARR/")
    assert not NWB_ZARR.claims("x.zarr") and not NWB_ZARR.claims("x.nwb")
    assert store_format_for("sub-1/x.nwb.zarr") is NWB_ZARR
    assert store_format_for("x.ome.zarr") is not NWB_ZARR
    assert NWB_ZARR.media_type == "application/x-zarr"  # as the dandi client writes it


def test_ecephys_metadata_equals_the_hdf5_files(tmp_path: Path) -> None:
    zroot = write_zarr_nwb(ecephys(), tmp_path / "e.nwb.zarr")
    h5 = nwbfiles.write_nwbfile(ecephys(), tmp_path / "e.nwb")
    store = Counting(entries(zroot))
    done = process_store(store, path="sub-mouse001/e.nwb.zarr")
    assert done.error is None and done.metadata is not None
    meta = done.metadata
    from neurodatashare.nwb.extract import extract_asset_metadata

    want = extract_asset_metadata(h5)
    assert meta["nds:format"] == "nwb-zarr" and meta["encodingFormat"] == "application/x-zarr"
    assert "contentSize" not in meta  # the archive sets the Zarr's size
    for key in ("wasAttributedTo", "wasGeneratedBy", "approach", "measurementTechnique"):
        assert meta[key] == want[key], key
    summary, expected = meta["nds:summary"], want["nds:summary"]
    for key in ("electrode_count", "brain_locations", "unit_count", "spike_count", "duration_s"):
        assert summary[key] == expected[key], key
    assert summary["electrode_count"] == 4 and summary["unit_count"] == 3
    assert summary["neurodata_types"]["ElectricalSeries"] == 1
    assert summary["neurodata_types"] == expected["neurodata_types"]
    assert meta["wasAttributedTo"][0]["identifier"] == "mouse001"
    assert {v["value"] for v in meta["variableMeasured"]} >= {"ElectricalSeries", "Units"}
    # the recording itself is never read whole: not every chunk of its data
    chunks = [k for k in store if k.startswith("acquisition/") and k.split("/")[-1][0].isdigit()]
    assert chunks and not set(chunks) <= store.read
    assert not [r for r in done.results if r["severity"] in ("ERROR", "CRITICAL")], done.results
    # the electrodes' group column is pickled by hdmf-zarr: read with the allow-list
    assert "check_col_not_nan" not in _checks(done.results)
    # attributes come from the consolidated metadata (one entry), not one read per object
    assert ".zmetadata" in store.read
    assert (
        sum(k.endswith(".zattrs") for k in store.read)
        <= 2
        < sum(k.endswith(".zattrs") for k in store)
    )
    # without it (a Zarr written with consolidation off) the result is the same
    plain = {k: v for k, v in store.items() if k != ".zmetadata"}
    again = process_store(plain, path="sub-mouse001/e.nwb.zarr")
    assert again.metadata == done.metadata and again.results == done.results


def test_pickles_outside_the_allow_list_are_refused() -> None:
    import pickle

    from neurodatashare.nwb.zarr_pickle import UnsafePickle, safe_loads

    assert safe_loads(pickle.dumps({"source": ".", "path": "/x"})) == {"source": ".", "path": "/x"}
    with pytest.raises(UnsafePickle):
        safe_loads(pickle.dumps(Path("/etc/passwd")))

    class Boom:
        def __reduce__(self) -> Any:
            import os

            return (os.system, ("echo pwned",))

    with pytest.raises(UnsafePickle):
        safe_loads(pickle.dumps(Boom()))


def test_ophys_and_a_file_without_subject(tmp_path: Path) -> None:
    nwb = nwbfiles.make_nwbfile(identifier="nds-zarr-ophys", subject=None)
    nwbfiles.add_ophys(nwb, n_frames=20, frame_shape=(8, 8), n_rois=3)
    done = process_store(entries(write_zarr_nwb(nwb, tmp_path / "o.nwb.zarr")), path="o.nwb.zarr")
    assert done.metadata is not None
    meta = done.metadata
    assert "wasAttributedTo" not in meta
    assert meta["nds:summary"]["roi_count"] == 3
    assert "TwoPhotonSeries" in meta["nds:summary"]["neurodata_types"]
    assert any("two-photon" in t["name"] for t in meta["measurementTechnique"])
    # the missing subject is reported as for HDF5 files (inspector, DANDI configuration)
    assert "subject_missing" in _checks(done.results)  # our rule, as for HDF5 files


def test_inspector_and_metadata_rule_findings_equal_the_hdf5_files(tmp_path: Path) -> None:
    from neurodatashare.validation.run import validate_nwb_file

    def bad() -> Any:
        return nwbfiles.make_nwbfile(
            identifier="nds-zarr-bad",
            experimenter=None,
            institution=None,
            subject=nwbfiles.make_subject(species="mouse", sex="male", age="90 days"),
        )

    done = process_store(entries(write_zarr_nwb(bad(), tmp_path / "b.nwb.zarr")), path="b.nwb.zarr")
    got = {(r["origin"], r["check"], r["severity"]) for r in done.results}
    h5 = validate_nwb_file(nwbfiles.write_nwbfile(bad(), tmp_path / "b.nwb"))
    assert got == {(r.origin, r.check, r.severity.name) for r in h5}
    assert ("nwbinspector", "check_experimenter_exists") in {(o, c) for o, c, _ in got}
    assert ("metadata", "subject_sex_invalid", "ERROR") in got  # our rules


@pytest.mark.parametrize(
    ("files", "check"),
    [
        ({}, "not_zarr"),
        ({".zgroup": b'{"zarr_format": 2}'}, "not_nwb"),
        ({"zarr.json": b'{"zarr_format": 3, "node_type": "group"}'}, "zarr_v3_not_supported"),
        (
            {
                ".zgroup": b'{"zarr_format": 2}',
                ".zattrs": b'{"neurodata_type": "NWBFile", "nwb_version": "2.8.0"}',
            },
            "nwb_unreadable",
        ),
        ({".zgroup": b"not json", ".zattrs": b"\xff"}, "not_nwb"),
    ],
)
def test_what_is_not_nwb_zarr_gets_one_critical_finding(
    files: dict[str, bytes], check: str
) -> None:
    done = process_store(files, path="x.nwb.zarr")
    # an NWB root pynwb cannot read is still described (as HDF5 files are); the rest not
    assert (done.metadata is not None) == (check == "nwb_unreadable")
    assert (done.error is None) == (check == "nwb_unreadable")
    criticals = [r for r in done.results if r["severity"] == "CRITICAL"]
    assert [r["check"] for r in criticals] == [check], done.results


def test_an_nwb_zarr_asset_through_the_api(live: Any, tmp_path: Path) -> None:
    """Uploaded as a Zarr asset: described, checked, reported like an HDF5 NWB asset."""
    alice = live.user("alice")
    ds = alice.create_dataset("nwbz")
    root = write_zarr_nwb(ecephys(), tmp_path / "e.nwb.zarr")
    asset = alice.add_zarr(ds, "sub-mouse001/sub-mouse001_ecephys.nwb.zarr", entries(root))
    report = alice.wait_for_checks(asset["asset_id"])
    assert report["status"] == "done", report
    assert not [r for r in report["results"] if r["severity"] in ("ERROR", "CRITICAL")], report
    md = alice.get(f"/api/assets/{asset['asset_id']}/").json()
    assert md["nds:format"] == "nwb-zarr" and md["encodingFormat"] == "application/x-zarr"
    assert md["wasAttributedTo"][0]["identifier"] == "mouse001"
    assert md["nds:summary"]["electrode_count"] == 4 and md["nds:summary"]["unit_count"] == 3
    assert {v["value"] for v in md["variableMeasured"]} >= {"ElectricalSeries", "Units"}
    validation = alice.get(f"/api/assets/{asset['asset_id']}/validation/")
    assert validation.status_code == 200, validation.text
    # the explorer reads it as it reads HDF5 NWB: the tree, a series, its window, spikes
    api = f"/api/assets/{asset['asset_id']}/explore"
    page = alice.get(f"/asset/{asset['asset_id']}.json").json()
    assert "tree" in page["views"] and page["nwb"]
    tree = alice.get(f"{api}/tree", params={"path": "/acquisition", "depth": 1})
    assert tree.status_code == 200, tree.text
    nodes = {n["path"]: n for n in tree.json()["nodes"]}
    assert "traces" in nodes["/acquisition/ElectricalSeries"]["views"], nodes
    info = alice.get(f"{api}/series", params={"path": "/acquisition/ElectricalSeries"})
    assert info.status_code == 200, info.text
    assert info.json()["n_channels"] == 4 and info.json()["channel_regions"][0] == "CA1"
    w = alice.get(
        f"{api}/window",
        params={"path": "/acquisition/ElectricalSeries", "start": 0, "end": 0.1, "width": 100},
    )
    assert w.status_code == 200, w.text
    spikes = alice.get(f"{api}/spikes", params={"path": "/units", "start": 0, "end": 0.5})
    assert spikes.status_code == 200, spikes.text
    assert len(spikes.json()["units"]) == 3
    overview = alice.get(f"{api}/overview")
    assert overview.status_code == 200, overview.text
    assert overview.json()["subject"]["subject_id"] == "mouse001"
    assert overview.json()["main"] == "/acquisition/ElectricalSeries"
    missing = alice.get(f"{api}/series", params={"path": "/acquisition/nothing"})
    assert 400 <= missing.status_code < 500, missing.text
    # a Zarr named .nwb.zarr that is not NWB: one CRITICAL finding, the draft is Invalid
    bad = alice.add_zarr(ds, "sub-mouse001/other.nwb.zarr", {".zgroup": b'{"zarr_format": 2}'})
    report = alice.wait_for_checks(bad["asset_id"])
    assert [r["check"] for r in report["results"] if r["severity"] == "CRITICAL"] == ["not_nwb"]
    assert alice.wait_for_status(ds)["status"] == "Invalid"


def test_the_explorer_readers_on_an_ophys_nwb_zarr(tmp_path: Path) -> None:
    """hdmf-zarr's links, scalars and references, seen through nwb/zarr_lindi.py."""
    import numpy as np

    from neurodatashare.nwb import explore
    from neurodatashare.nwb.zarr_lindi import open_as_h5

    nwb = nwbfiles.make_nwbfile(identifier="nds-zarr-ophys-view")
    nwbfiles.add_ophys(nwb, n_frames=20, frame_shape=(8, 8), n_rois=3)
    movie = np.asarray(nwb.acquisition["TwoPhotonSeries"].data)
    h5 = open_as_h5(entries(write_zarr_nwb(nwb, tmp_path / "o.nwb.zarr")))
    nodes = {n["path"]: n for n in explore.tree_page(h5, path="/acquisition", depth=1)["nodes"]}
    series = nodes["/acquisition/TwoPhotonSeries"]
    assert series["views"] == ["imaging"]
    assert series["links"] == {"imaging_plane": "/general/optophysiology/ImagingPlane"}
    root = {n["path"]: n for n in explore.tree_page(h5, path="/", depth=1)["nodes"]}
    assert root["/session_start_time"]["shape"] == []  # a scalar, as in HDF5
    frame = explore.read_frame(h5, "/acquisition/TwoPhotonSeries", index=3)
    assert np.array_equal(frame.data, movie[3].T)  # NWB frames are (x, y); images (y, x)
    rois = explore.read_rois(h5, "/processing/ophys/ImageSegmentation/PlaneSegmentation")
    assert len(rois["rois"]) == 3
    traces = explore.series_info(h5, "/processing/ophys/Fluorescence/RoiResponseSeries")
    assert traces["n_channels"] == 3 and traces["n_samples"] == 20


def test_nds_validate_checks_local_nwb_zarr_folders(tmp_path: Path) -> None:
    """`nds validate` on a .nwb.zarr folder, named or found in a folder, as on .nwb files."""
    import json

    from click.testing import CliRunner

    from neurodatashare.cli.cmd_validate import command

    good = write_zarr_nwb(ecephys(), tmp_path / "data" / "good.nwb.zarr")
    nwb = nwbfiles.make_nwbfile(identifier="nds-zarr-nosubject", subject=None)
    write_zarr_nwb(nwb, tmp_path / "data" / "sub" / "bad.nwb.zarr")
    result = CliRunner().invoke(command, [str(good)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(command, ["--json", str(tmp_path / "data")])
    findings = json.loads(result.stdout)
    assert result.exit_code == 1
    blocking = {(Path(f["file"]).name, f["check"]) for f in findings if f["severity"] == "ERROR"}
    assert blocking == {("bad.nwb.zarr", "subject_missing")}, findings
    assert not any("good.nwb.zarr/" in f["file"] or "bad.nwb.zarr/" in f["file"] for f in findings)


def test_every_asset_route_answers_an_nwb_zarr_asset_without_500(live: Any, tmp_path: Path) -> None:
    import re

    from fastapi.routing import APIRoute, iter_route_contexts

    from neurodatashare.app import create_app

    alice = live.user("alice")
    ds = alice.create_dataset("nwbz-routes")
    root = write_zarr_nwb(ecephys(), tmp_path / "e.nwb.zarr")
    asset = alice.add_zarr(ds, "sub-mouse001/e.nwb.zarr", entries(root))
    alice.wait_for_checks(asset["asset_id"])
    fill = {"asset_id": asset["asset_id"], "dataset_id": ds, "version": "draft", "index": "0"}
    fill |= {"subject_id": "mouse001", "cell_id": "c"}
    paths = ["/units", "/acquisition/ElectricalSeries", "/general/extracellular_ephys/electrodes"]
    seen = 0
    for context in iter_route_contexts(create_app(archive=live.archive).routes):
        route, path = context.original_route, context.path or ""
        if not isinstance(route, APIRoute) or "{asset_id}" not in path:
            continue
        if not (route.methods or set()) & {"GET"}:
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(n not in fill for n in names):
            continue
        url = path
        for n in names:
            url = url.replace("{" + n + "}", fill[n])
        for obj in paths:
            query = {"path": obj, "start": "0", "end": "0.5", "index": "0", "width": "100"}
            r = alice.get(url, params=query)
            seen += 1
            assert r.status_code < 500, (url, obj, r.status_code, r.text[:300])
    assert seen > 30
    assert alice.get(f"/asset/{asset['asset_id']}").status_code == 200
