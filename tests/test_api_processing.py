"""What the archive learns from NWB files: extraction, validation, summaries, publishing."""

from __future__ import annotations

from pathlib import Path

import pytest
from dandischema.models import AssetsSummary
from sqlalchemy import func, select

from neurodatashare.db.models import Job
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ephys_file, make_ophys_file, write_truncated_copy


@pytest.fixture(scope="module")
def nwb_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("nwb")
    ephys = make_ephys_file(d / "ephys.nwb", n_channels=8, n_units=6, locations=("CA1", "DG"))
    ophys = make_ophys_file(d / "ophys.nwb", n_rois=5)
    broken = write_truncated_copy(ephys, d / "broken.nwb")
    return {
        name: Path(p).read_bytes()
        for name, p in (("ephys", ephys), ("ophys", ophys), ("broken", broken))
    }


def test_extraction_fills_asset_and_version_metadata(
    live: Live, nwb_files: dict[str, bytes]
) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("processed")
    a = alice.add_file(ds, "sub-mouse001/sub-mouse001_ses-1_ecephys.nwb", nwb_files["ephys"])
    b = alice.add_file(ds, "sub-mouse001/sub-mouse001_ses-2_ophys.nwb", nwb_files["ophys"])
    report = alice.wait_for_checks(a["asset_id"])
    assert report["status"] == "done"
    assert not [r for r in report["results"] if r["severity"] in ("ERROR", "CRITICAL")]
    alice.wait_for_checks(b["asset_id"])
    meta = alice.get(f"/api/assets/{a['asset_id']}/").json()
    participant = meta["wasAttributedTo"][0]
    assert participant["species"]["name"].startswith("Mus musculus")
    assert participant["identifier"] == "mouse001"
    summary = meta["nds:summary"]
    assert summary["electrode_count"] == 8 and summary["unit_count"] == 6
    assert summary["brain_locations"] == ["CA1", "DG"]
    ophys = alice.get(f"/api/assets/{b['asset_id']}/").json()["nds:summary"]
    assert ophys["roi_count"] == 5
    info = alice.wait_for_status(ds)
    assert info["status"] == "Valid", info
    # the summary job runs right after; poll for it like a client would
    import time

    for _ in range(100):
        version = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
        if version["assetsSummary"].get("species"):
            break
        time.sleep(0.1)
    summary = version["assetsSummary"]
    AssetsSummary(**summary)
    assert summary["numberOfFiles"] == 2 and summary["numberOfSubjects"] == 1
    assert summary["species"][0]["name"].startswith("Mus musculus")
    published = alice.publish(ds)
    frozen = alice.get(f"/api/dandisets/{ds}/versions/{published['version']}/").json()
    assert frozen["assetsSummary"]["species"][0]["name"].startswith("Mus musculus")


def test_same_bytes_are_processed_once(live: Live, nwb_files: dict[str, bytes]) -> None:
    alice = live.user("alice")
    ds1, ds2 = alice.create_dataset("one"), alice.create_dataset("two")
    a = alice.add_file(ds1, "a.nwb", nwb_files["ophys"])
    alice.wait_for_checks(a["asset_id"])

    def pipelines() -> int:
        with live.archive.db.read() as s:
            query = select(func.count()).select_from(Job).where(Job.kind == "blob.pipeline")
            return int(s.scalar(query) or 0)

    before = pipelines()
    assert before >= 1
    b = alice.add_file(ds2, "copy/b.nwb", nwb_files["ophys"])
    report = alice.get(f"/api/assets/{b['asset_id']}/validation/").json()
    assert report["status"] == "done" and report["path"] == "copy/b.nwb"
    assert pipelines() == before  # nothing left to do for the same bytes


def test_broken_file_blocks_publishing_with_reasons(
    live: Live, nwb_files: dict[str, bytes]
) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("broken")
    good = alice.add_file(ds, "good.nwb", nwb_files["ephys"])
    bad = alice.add_file(ds, "sub-1/broken.nwb", nwb_files["broken"])
    report = alice.wait_for_checks(bad["asset_id"])
    assert [r["severity"] for r in report["results"]] == ["CRITICAL"]
    assert report["results"][0]["origin"] == "file"
    alice.wait_for_checks(good["asset_id"])
    info = alice.wait_for_status(ds)
    assert info["status"] == "Invalid"
    assert {e["path"] for e in info["asset_validation_errors"]} == {"sub-1/broken.nwb"}
    r = alice.post(f"/api/dandisets/{ds}/versions/draft/publish/")
    assert r.status_code == 400
    assert "sub-1/broken.nwb" in r.json()["detail"] and "Fix:" in r.json()["detail"]
    summary = alice.get(f"/api/dandisets/{ds}/versions/draft/validation/").json()
    assert summary["counts"]["CRITICAL"] == 1
    assert [f["path"] for f in summary["files"]] == ["good.nwb", "sub-1/broken.nwb"]
    # removing the broken file makes the draft publishable again
    alice.delete(f"/api/dandisets/{ds}/versions/draft/assets/{bad['asset_id']}/")
    assert alice.wait_for_status(ds)["status"] == "Valid"
    assert alice.publish(ds)["asset_count"] == 1


def test_reports_follow_access_rules(live: Live, nwb_files: dict[str, bytes]) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("secret", access="private")
    a = alice.add_file(ds, "a.nwb", nwb_files["ophys"])
    assert bob.get(f"/api/assets/{a['asset_id']}/validation/").status_code == 404
    assert live.anonymous().get(f"/api/assets/{a['asset_id']}/validation/").status_code == 401
    assert bob.get(f"/api/dandisets/{ds}/versions/draft/validation/").status_code == 404


def test_non_nwb_files_are_not_applicable(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    a = alice.add_file(ds, "notes.txt", b"hello")
    report = alice.get(f"/api/assets/{a['asset_id']}/validation/").json()
    assert report["status"] == "not-applicable"
    assert alice.wait_for_status(ds)["status"] == "Valid"
