"""A conversion's file before it is uploaded: opened by the explorer's own routes under
the id `conversion-<job>`, on the wizard's page, downloaded, and deleted; on both
databases. Only its owner sees it: anyone else gets the answer of an absent asset."""

from __future__ import annotations

import io
import os
from pathlib import Path

import h5py
import neuroconv  # noqa: F401  (a test dependency, through [convert])
import pytest

from neurodatashare.testing import sources
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live
from test_convert_api import SESSION, SUBJECT, _spikeglx, _wait
from test_web_convert import _signed_in


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("convert-files"))) / "lab"
    sources.write_spikeglx(root / "mouseA" / "day1", duration_s=0.2, n_channels=8, run_name="run")
    return root


@pytest.fixture
def enabled(live: Live, lab: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(live.archive.settings, "convert_roots", str(lab))
    return lab


def _preview(alice: Caller, lab: Path) -> dict[str, object]:
    r = alice.post(
        "/api/convert/jobs/",
        json={
            "kind": "preview",
            "streams": [_spikeglx(lab / "mouseA/day1/run_g0")],
            "metadata": {"Subject": SUBJECT, "NWBFile": {**SESSION, "session_id": "day1"}},
        },
    )
    assert r.status_code == 201, r.text
    job = _wait(alice, r.json()["id"])
    assert job["state"] == "done", job["error"]
    return job


def test_a_preview_opens_in_the_explorer_for_its_owner_only(live: Live, enabled: Path) -> None:
    alice, bob, nobody = _signed_in(live, "alice"), _signed_in(live, "bob"), live.anonymous()
    job = _preview(alice, enabled)
    job_id = str(job["id"])
    file_id = f"conversion-{job_id}"
    assert job["links"] == {
        "explore": f"/convert/jobs/{job_id}",
        "file": f"/api/convert/jobs/{job_id}/file",
    }

    tree = alice.get(f"/api/assets/{file_id}/explore/tree")
    assert tree.status_code == 200, tree.text
    assert tree.json()["asset_id"] == file_id
    series = [
        n["path"] for n in tree.json()["nodes"] if n.get("neurodata_type") == "ElectricalSeries"
    ]
    assert len(series) == 1, tree.json()["nodes"]
    info = alice.get(f"/api/assets/{file_id}/explore/series", params={"path": series[0]})
    assert info.status_code == 200, info.text
    start = info.json()["t_start"]
    window = alice.get(
        f"/api/assets/{file_id}/explore/window",
        params={"path": series[0], "start": start, "end": start + 0.002, "channels": "0-3"},
    )
    assert window.status_code == 200, window.text
    assert window.headers["content-type"] == "application/octet-stream" and window.content

    page = alice.get(f"/convert/jobs/{job_id}")
    assert page.status_code == 200 and "not uploaded" in page.text
    assert f'data-asset-id="{file_id}"' in page.text
    data = alice.get(f"/convert/jobs/{job_id}.json").json()
    assert data["links"]["explore_api"] == f"/api/assets/{file_id}/explore/"
    assert data["path"] == "sub-mouseA_ses-day1.nwb"

    got = alice.get(f"/api/convert/jobs/{job_id}/file")
    assert got.status_code == 200
    assert "sub-mouseA_ses-day1.nwb" in got.headers["content-disposition"]
    with h5py.File(io.BytesIO(got.content), "r") as f:
        assert f.attrs["namespace"] == "core"

    # another user, or nobody, learns nothing: the same answers as for an id never used
    never = "conversion-" + "0" * 16
    for caller, status in ((bob, 404), (nobody, 401)):
        for route in ("explore/tree", f"explore/series?path={series[0]}"):
            seen = caller.get(f"/api/assets/{file_id}/{route}")
            absent = caller.get(f"/api/assets/{never}/{route}")
            assert seen.status_code == absent.status_code == status, (seen.text, absent.text)
            assert seen.json()["detail"].replace(file_id, never) == absent.json()["detail"]
        assert caller.get(f"/api/convert/jobs/{job_id}/file").status_code == status
        assert caller.get(f"/convert/jobs/{job_id}.json").status_code == status
        assert caller.delete(f"/api/convert/jobs/{job_id}/").status_code == status

    (written,) = (live.archive.settings.home / "conversions").glob(f"*/{job_id}/*.nwb")
    assert written.name == "sub-mouseA_ses-day1.nwb"
    assert alice.delete(f"/api/convert/jobs/{job_id}/").status_code == 204
    assert not written.parent.exists()
    assert alice.get(f"/api/convert/jobs/{job_id}/").status_code == 404
    assert alice.get(f"/api/assets/{file_id}/explore/tree").status_code == 404
    assert alice.get(f"/api/convert/jobs/{job_id}/file").status_code == 404


@pytest.mark.parametrize(
    "trick", ["conversion-..", "conversion-%2e%2e", "conversion-", "conversion-' OR '1'='1"]
)
def test_odd_conversion_ids_are_absent(live: Live, enabled: Path, trick: str) -> None:
    r = live.user("alice").get(f"/api/assets/{trick}/explore/tree")
    assert r.status_code == 404 and "was not found" in r.json()["detail"], r.text


def test_an_unfinished_job_is_neither_opened_nor_deleted(live: Live, enabled: Path) -> None:
    """A job still running has no file yet: a 409 that says so, and it stays."""
    from neurodatashare.db.models import Conversion, User, utcnow

    alice = live.user("alice")
    with live.archive.db.write() as s:
        owner = s.query(User).filter_by(username="alice").one()
        s.add(
            Conversion(
                id="f" * 16,
                owner_id=owner.id,
                kind="conversion",
                state="running",
                stage="writing the NWB file",
                request={},
                created=utcnow(),
            )
        )
    for r in (
        alice.get(f"/api/convert/jobs/{'f' * 16}/file"),
        alice.get(f"/api/assets/conversion-{'f' * 16}/explore/tree"),
        alice.delete(f"/api/convert/jobs/{'f' * 16}/"),
    ):
        assert r.status_code == 409 and "running" in r.json()["detail"], r.text
    assert alice.get(f"/api/convert/jobs/{'f' * 16}/").json()["state"] == "running"


def test_old_conversions_are_removed_with_their_files(live: Live, enabled: Path) -> None:
    """NDS_CONVERT_KEEP_DAYS: finished jobs older than that go, with their folders, when
    a conversion is started (and at start-up); newer ones and running ones stay."""
    from datetime import timedelta

    from neurodatashare.archive.conversions import discard_old
    from neurodatashare.db.models import Conversion

    alice = live.user("alice")
    old, new = _preview(alice, enabled), _preview(alice, enabled)
    with live.archive.db.write() as s:
        row = s.get(Conversion, old["id"])
        assert row is not None and row.finished is not None
        row.finished -= timedelta(days=live.archive.settings.convert_keep_days + 1)
    folders = {
        j["id"]: next((live.archive.settings.home / "conversions").glob(f"*/{j['id']}"))
        for j in (old, new)
    }
    assert discard_old(live.archive) == 1
    assert not folders[old["id"]].exists() and folders[new["id"]].is_dir()
    assert alice.get(f"/api/convert/jobs/{old['id']}/").status_code == 404
    assert alice.get(f"/api/convert/jobs/{new['id']}/").json()["state"] == "done"
    assert discard_old(live.archive) == 0


def test_the_wizards_probe_and_region_reach_the_file(live: Live, enabled: Path) -> None:
    """`hardware` (the YAML's devices and ecephys sections) beside NeuroConv's metadata."""
    alice = live.user("alice")
    request = {
        "kind": "preview",
        "streams": [_spikeglx(enabled / "mouseA/day1/run_g0")],
        "metadata": {"Subject": SUBJECT, "NWBFile": {**SESSION, "session_id": "day1"}},
    }
    bad = alice.post(
        "/api/convert/jobs/", json={**request, "hardware": {"ecephys": {"device": "Probe"}}}
    )
    assert bad.status_code == 400 and "hardware.ecephys.device" in bad.json()["detail"], bad.text
    odd = alice.post("/api/convert/jobs/", json={**request, "hardware": {"probe": "x"}})
    assert odd.status_code == 400 and "hardware.probe: unknown key" in odd.json()["detail"]
    hardware = {
        "devices": [{"name": "NP1", "manufacturer": "IMEC", "description": "Neuropixels 1.0"}],
        "ecephys": {"device": "NP1", "location": "CA1"},
    }
    r = alice.post("/api/convert/jobs/", json={**request, "hardware": hardware})
    assert r.status_code == 201, r.text
    assert r.json()["request"]["hardware"] == hardware
    job = _wait(alice, r.json()["id"])
    assert job["state"] == "done", job["error"]
    assert not [f for f in job["result"]["validation"]["findings"] if "location" in f["check"]]
    got = alice.get(f"/api/convert/jobs/{job['id']}/file")
    with h5py.File(io.BytesIO(got.content), "r") as f:
        assert f["general/devices/NP1"].attrs["manufacturer"] == "IMEC"
        groups = f["general/extracellular_ephys"]
        locations = {groups[g].attrs["location"] for g in groups if g != "electrodes"}
        assert locations == {"CA1"}
