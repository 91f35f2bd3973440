"""/api/convert/ end to end on both databases: browse a folder under NDS_CONVERT_ROOTS,
expand a 2-subject x 2-session folder, get the metadata form, run a preview and a
conversion as jobs, add the file to a dataset; and every path trick refused, the routes
off when the setting is unset, another user's job a 404."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import neuroconv  # noqa: F401  (a test dependency, through [convert])
import pytest

from neurodatashare.testing import sources
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live

SUBJECT = {"subject_id": "mouseA", "species": "mouse", "sex": "F", "age": "P90D"}
SESSION = {
    "session_description": "Head-fixed recording",
    "experimenter": ["Doe, Jane"],
    "lab": "Test lab",
    "institution": "Test institute",
    "timezone": "Europe/Berlin",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root/<subject>/<session>/run_g0 (SpikeGLX) for 2 subjects x 2 sessions, a Phy
    folder, and a folder outside the root with a link to it from inside."""
    base = tmp_path_factory.mktemp("convert")
    base = Path(os.path.realpath(base))  # the roots are compared with links resolved
    root = base / "lab"
    for subject in ("mouseA", "mouseB"):
        for session in ("day1", "day2"):
            long = (subject, session) == ("mouseA", "day1")  # longer than a preview's 2 s
            sources.write_spikeglx(
                root / subject / session,
                duration_s=2.5 if long else 0.2,
                n_channels=8,
                run_name="run",
            )
    sources.write_phy(root / "mouseA" / "day1" / "phy", duration_s=0.2, n_units=3)
    outside = base / "outside"
    sources.write_phy(outside / "phy", duration_s=0.2, n_units=2)
    (root / "escape").symlink_to(outside)
    sources.write_spikeglx(outside, duration_s=0.2, n_channels=8, run_name="run")
    (root / "mouseC").mkdir()
    (root / "mouseC" / "day1").symlink_to(outside)  # a session that is really elsewhere
    return root


@pytest.fixture
def enabled(live: Live, lab: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(live.archive.settings, "convert_roots", str(lab))
    return lab


def _spikeglx(folder: Path) -> dict[str, Any]:
    return {
        "format": "SpikeGLXRecording",
        "source": {"folder_path": str(folder), "stream_id": "imec0.ap"},
    }


def _wait(caller: Caller, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = caller.get(f"/api/convert/jobs/{job_id}/")
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        if job["state"] in ("done", "failed"):
            return job
        assert 0 <= job["progress"] <= 1
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_browse_sessions_metadata_preview_convert_upload(live: Live, enabled: Path) -> None:
    alice = live.user("alice")
    root = enabled

    r = alice.get("/api/convert/browse/")
    assert r.status_code == 200, r.text
    assert r.json()["roots"] == [str(root)]
    assert [e["path"] for e in r.json()["entries"]] == [str(root)]
    r = alice.get("/api/convert/browse/", params={"path": str(root)})
    assert r.status_code == 200, r.text
    entries = {e["name"]: e["type"] for e in r.json()["entries"]}
    assert entries == {
        "mouseA": "folder",
        "mouseB": "folder",
        "mouseC": "folder",
        "escape": "symlink",
    }
    assert r.json()["parent"] is None

    pattern = "{subject_id}/{session_id}/run_g0"
    r = alice.post(
        "/api/convert/sessions/",
        json={
            "root": str(root),
            "streams": [
                {
                    "format": "SpikeGLXRecording",
                    "source": {"folder_path": pattern, "stream_id": "imec0.ap"},
                }
            ],
        },
    )
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["count"] == 4
    assert [(s["subject_id"], s["session_id"]) for s in found["results"]] == [
        ("mouseA", "day1"),
        ("mouseA", "day2"),
        ("mouseB", "day1"),
        ("mouseB", "day2"),
    ]
    assert found["refused"] == []  # mouseC/day1, a link out of the root, is not offered
    first = found["results"][0]
    assert first["streams"][0]["source"]["folder_path"] == str(root / "mouseA/day1/run_g0")
    assert first["metadata"]["Subject"]["subject_id"] == "mouseA"

    streams = [
        *first["streams"],
        {"format": "PhySorting", "source": {"folder_path": str(root / "mouseA/day1/phy")}},
    ]
    r = alice.post("/api/convert/metadata/", json={"streams": streams})
    assert r.status_code == 200, r.text
    form = r.json()
    assert "Ecephys" in form["schema"]["properties"]
    assert "session_start_time" in form["metadata"]["NWBFile"]  # read from the .meta file

    metadata = {
        **form["metadata"],
        "Subject": {**first["metadata"]["Subject"], **SUBJECT},
        "NWBFile": {**form["metadata"]["NWBFile"], **SESSION, "session_id": "day1"},
    }
    r = alice.post(
        "/api/convert/jobs/", json={"kind": "preview", "streams": streams, "metadata": metadata}
    )
    assert r.status_code == 201, r.text
    preview = _wait(alice, r.json()["id"])
    assert preview["state"] == "done", preview["error"]
    assert preview["result"]["file"] == "sub-mouseA_ses-day1.nwb"
    assert preview["result"]["validation"]["publishable"]
    dataset = alice.create_dataset("Converted")
    r = alice.post(f"/api/convert/jobs/{preview['id']}/upload/", json={"dataset_id": dataset})
    assert r.status_code == 409 and "preview" in r.json()["detail"]

    r = alice.post(
        "/api/convert/jobs/",
        json={"kind": "conversion", "streams": streams, "metadata": metadata},
    )
    assert r.status_code == 201, r.text
    job = _wait(alice, r.json()["id"])
    assert job["state"] == "done", job["error"]
    assert job["progress"] == 1.0
    counts = job["result"]["validation"]["counts"]
    assert not {"ERROR", "CRITICAL"} & set(counts), job["result"]["validation"]
    assert job["result"]["size"] > preview["result"]["size"]  # all samples, not the stub
    r = alice.get("/api/convert/jobs/")
    assert [j["id"] for j in r.json()["results"]] == [job["id"], preview["id"]]

    bob = live.user("bob")
    assert bob.get(f"/api/convert/jobs/{job['id']}/").status_code == 404
    r = bob.post(f"/api/convert/jobs/{job['id']}/upload/", json={"dataset_id": dataset})
    assert r.status_code == 404
    assert bob.get("/api/convert/jobs/").json()["count"] == 0

    r = alice.post(f"/api/convert/jobs/{job['id']}/upload/", json={"dataset_id": dataset})
    assert r.status_code == 201, r.text
    assert r.json()["path"] == "sub-mouseA/sub-mouseA_ses-day1.nwb"
    listed = alice.get(f"/api/dandisets/{dataset}/versions/draft/assets/").json()
    assert [a["path"] for a in listed["results"]] == ["sub-mouseA/sub-mouseA_ses-day1.nwb"]
    r = bob.post(f"/api/convert/jobs/{job['id']}/upload/", json={"dataset_id": dataset})
    assert r.status_code == 404


def test_a_failed_conversion_says_why(live: Live, enabled: Path) -> None:
    alice = live.user("alice")
    r = alice.post(
        "/api/convert/jobs/",
        json={
            "kind": "preview",
            "streams": [_spikeglx(enabled / "mouseA/day1/run_g0")],
            "metadata": {"Subject": {**SUBJECT, "species": "unicorn"}},
        },
    )
    assert r.status_code == 201, r.text
    job = _wait(alice, r.json()["id"])
    assert job["state"] == "failed"
    assert "Subject.species" in job["error"]


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("relative/path", 400, "relative"),
        ("{root}/../outside", 400, "'..'"),
        ("{root}/./mouseA", 400, "'..'"),
        ("{root}//mouseA", 400, "empty folder"),
        ("/etc", 403, "outside the folders"),
        ("{root}-sibling", 403, "outside the folders"),
        ("{root}/escape", 403, "symbolic link"),
        ("{root}/escape/phy", 403, "symbolic link"),
        ("{root}/mouseA\u202e", 400, "invisible"),
        ("{root}/nothing-here", 404, "no such file"),
    ],
)
def test_path_tricks_are_refused(
    live: Live, enabled: Path, path: str, status: int, words: str
) -> None:
    alice = live.user("alice")
    given = path.replace("{root}", str(enabled))
    r = alice.get("/api/convert/browse/", params={"path": given})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    phy = {"format": "PhySorting", "source": {"folder_path": given}}
    r = alice.post("/api/convert/jobs/", json={"kind": "preview", "streams": [phy]})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"] and "streams[0]" in r.json()["detail"]
    r = alice.post("/api/convert/metadata/", json={"streams": [phy]})
    assert r.status_code == status, r.text
    r = alice.post("/api/convert/sessions/", json={"root": given, "streams": [phy]})
    assert r.status_code == status, r.text


def test_source_options_are_checked_by_name(live: Live, enabled: Path) -> None:
    alice = live.user("alice")
    bad = {
        "format": "SpikeGLXRecording",
        "source": {"folder_path": str(enabled / "mouseA/day1/run_g0"), "verbose": "loud"},
    }
    r = alice.post("/api/convert/metadata/", json={"streams": [bad]})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "'stream_id' of SpikeGLXRecording is required" in detail
    r = alice.post(
        "/api/convert/metadata/", json={"streams": [{"format": "NoSuchThing", "source": {}}]}
    )
    assert r.status_code == 400 and "Unknown format 'NoSuchThing'" in r.json()["detail"]
    r = alice.post(
        "/api/convert/sessions/",
        json={
            "root": str(enabled),
            "streams": [{"format": "PhySorting", "source": {"folder_path": "../{subject_id}"}}],
        },
    )
    assert r.status_code == 400 and "'..'" in r.json()["detail"]


def test_off_unless_the_administrator_sets_roots(live: Live) -> None:
    assert not live.archive.settings.convert_roots
    alice = live.user("alice")
    for method, url, body in [
        ("GET", "/api/convert/browse/", None),
        ("POST", "/api/convert/sessions/", {"root": "/", "streams": []}),
        ("POST", "/api/convert/metadata/", {"streams": []}),
        ("POST", "/api/convert/jobs/", {"streams": []}),
        ("GET", "/api/convert/jobs/", None),
        ("GET", "/api/convert/jobs/abc/", None),
        ("POST", "/api/convert/jobs/abc/upload/", {"dataset_id": "000001"}),
    ]:
        r = alice.http.request(method, url, json=body)
        assert r.status_code == 403, (url, r.text)
        assert "Conversion is not enabled on this archive" in r.json()["detail"]
    assert live.anonymous().get("/api/convert/browse/").status_code == 401
    assert alice.get("/api/convert/formats/").status_code == 200  # the list stays public


def test_roots_setting_is_read_like_path(tmp_path: Path) -> None:
    from neurodatashare.config import Settings

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    os.symlink(tmp_path / "b", tmp_path / "link")
    s = Settings(home=tmp_path, convert_roots=f"{tmp_path / 'a'}:{tmp_path / 'link'}")
    assert s.resolved_convert_roots == [tmp_path / "a", tmp_path / "b"]
    assert Settings(home=tmp_path).resolved_convert_roots == []


def test_a_session_found_through_a_link_is_refused(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the path expander ever follow a link, the session is left out, with why."""
    from neurodatashare.archive import Archive, conversions
    from neurodatashare.config import Settings
    from neurodatashare.nwb.convert import sessions

    def through_the_link(**_kw: Any) -> list[dict[str, Any]]:
        run = str(lab / "mouseC" / "day1" / "run_g0")
        stream = {
            "format": "SpikeGLXRecording",
            "source": {"folder_path": run, "stream_id": "imec0.ap"},
        }
        return [{"subject_id": "mouseC", "session_id": "day1", "streams": [stream], "metadata": {}}]

    monkeypatch.setattr(sessions, "expand_sessions", through_the_link)
    archive = Archive.open(Settings(home=tmp_path, convert_roots=str(lab)))
    try:
        found = conversions.expand(archive, root=str(lab), streams=[])
    finally:
        archive.close()
    assert found["count"] == 0
    (refused,) = found["refused"]
    assert (refused["subject_id"], refused["session_id"]) == ("mouseC", "day1")
    assert "is a symbolic link" in refused["reason"]
