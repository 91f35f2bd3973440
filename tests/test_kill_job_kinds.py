"""Kill loops, continued (tests/test_kill_loops.py has the rig): `nds serve` SIGKILLed
while each remaining kind of job runs, on SQLite and PostgreSQL, and during each POST of
`nds upload` of a Zarr folder. After each kill the job is re-queued at the restart (the
lease is a minute) and done within 30 s, once: the killed job's own row runs again (its
attempts count 2), and what it makes exists once.

A job is caught by watching the jobs table as fast as it answers; once a row shows the
job running, the server is SIGSTOPped and the row read again, so the job is certainly
still running when the server dies. A job that is over before it is seen is tried again
with new work (bounded). `doi.publish` is held by the DataCite stand-in instead: its call
that makes the DOI findable waits until the server is dead.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from neurodatashare.testing import sources
from neurodatashare.testing.datacite import FakeDataCite, run_datacite
from neurodatashare.testing.factories import publishable_metadata
from neurodatashare.testing.nwbfiles import make_ephys_file
from neurodatashare.testing.volumes import write_sparse
from test_api_zarr import local_checksum, write_zarr
from test_kill_loops import RECOVERY_LIMIT, Rig, _cut_answer, _finish, _until, open_rig

# every kind a worker runs (archive/processing.py `handlers`), but the older per-step
# kinds, which only an old queue holds and which run blob.pipeline's handler
KINDS = (
    "blob.pipeline",  # tests/test_kill_loops.py
    "blob.artifacts",
    "version.summarize",
    "convert.run",
    "zarr.ingest",
    "zarr.pipeline",
    "zarr.pyramid",
    "doi.publish",
)
TRIES = 8  # new work for a job that ended before it was seen running
STEP = 0.001  # seconds the server runs between two looks at the jobs table
BUSY = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND state = 'active'"
)
SUBJECT = {"subject_id": "mouseA", "species": "mouse", "sex": "F", "age": "P90D"}
SESSION = {"session_description": "Head-fixed", "lab": "L", "timezone": "Europe/Berlin"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("convert"))) / "lab"
    sources.write_spikeglx(root / "day1", duration_s=1.0, n_channels=8, run_name="run")
    return root


@pytest.fixture
def datacite() -> Iterator[FakeDataCite]:
    with run_datacite() as dc:
        yield dc
        dc.hold = False  # a held call would keep the stand-in from stopping


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(
    request: pytest.FixtureRequest, tmp_path: Path, lab: Path, datacite: FakeDataCite
) -> Iterator[Rig]:
    env = {"NDS_CONVERT_ROOTS": str(lab), "NDS_DOI_PROVIDER": "datacite"}
    env.update({f"NDS_{k.upper()}": str(v) for k, v in datacite.settings().items()})
    with open_rig(request.param, tmp_path, env) as made:
        yield made


def _last_id(rig: Rig) -> int:
    with rig.jobs.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM jobs")).scalar() or 0)


def _freeze_running(
    rig: Rig, kind: str, *, after: int, also: str | None = None, **params: Any
) -> int | None:
    """The id of a `kind` job newer than `after`, frozen (server SIGSTOPped) while it
    runs and while the query `also` (if given) answers true; None once the queue is idle
    without such a moment. Leaves the server stopped when it returns an id."""
    pid = rig.server.process.pid
    look = text(
        "SELECT id, kind, state FROM jobs WHERE state IN ('queued', 'running') "
        "OR (kind = :kind AND id > :after)"
    )
    deadline = time.monotonic() + 60
    with rig.jobs.connect() as conn:

        def running() -> tuple[list[int], bool]:
            rows = conn.execute(look, {"kind": kind, "after": after}).all()
            mine = [r.id for r in rows if r.kind == kind and r.id > after and r.state == "running"]
            ok = bool(mine) and (also is None or bool(conn.execute(text(also), params).scalar()))
            conn.rollback()
            return (mine if ok else []), all(r.state not in ("queued", "running") for r in rows)

        # The server is looked at only while it is stopped, and runs a few milliseconds
        # between two looks: a job of milliseconds cannot start and end unseen, however
        # slow the look is on a loaded machine.
        def quiet() -> bool:  # none of the stopped server's statements still in PostgreSQL
            if rig.jobs.dialect.name != "postgresql":
                return True  # SQLite commits inside the server's process, stopped with it
            done = conn.execute(BUSY).scalar() == 0
            conn.rollback()
            return done

        while time.monotonic() < deadline:
            os.kill(pid, signal.SIGSTOP)
            idle = False
            if quiet():
                mine, idle = running()
                if mine:
                    return mine[0]
            os.kill(pid, signal.SIGCONT)
            if idle:
                return None
            time.sleep(STEP)
    return None


def _kill_and_recover(rig: Rig, job_id: int, kind: str, times: dict[str, float]) -> None:
    """SIGKILL the frozen server, start it again, and wait until job `job_id` ran again
    to its end; record how long that took from the new process's start (its boot, some
    2 s, included: it re-queues and may run the job before it answers requests)."""
    offset = rig.server.log_offset()
    started = time.monotonic()
    ready = rig.crash_and_restart()
    look = text("SELECT state, attempts FROM jobs WHERE id = :id")
    while True:
        with rig.jobs.connect() as conn:
            state, attempts = conn.execute(look, {"id": job_id}).one()
        if state == "done":
            break
        assert state != "failed", rig.server.log_text()[-3000:]
        assert time.monotonic() - ready < RECOVERY_LIMIT, (
            f"job {job_id} ({kind}) still {state} {RECOVERY_LIMIT:.0f} s after the restart\n"
            f"{rig.server.log_text()[-3000:]}"
        )
        time.sleep(0.02)
    times[kind] = time.monotonic() - started
    log = rig.server.log_since(offset)
    assert f"job {job_id} ({kind} " in log and "re-queued" in log, log[-3000:]
    # the killed job itself ran again, not a new one; a summary asked for again while it
    # ran is run once more from the queue, its count started anew (jobs/queue.py `finish`)
    assert attempts == 2 or (kind == "version.summarize" and attempts == 1), attempts


TRIED: dict[str, int] = {}  # kind -> how many starts it took to catch one running


def _catch(rig: Rig, kind: str, start: Callable[[int], object]) -> tuple[int, object]:
    """Start new work with `start(n)` until a `kind` job of it is frozen while running;
    (the job's id, what `start` returned)."""
    for n in range(TRIES):
        after = _last_id(rig)
        made = start(n)
        job = _freeze_running(rig, kind, after=after)
        TRIED[kind] = n + 1
        if job is not None:
            return job, made
    pytest.fail(f"{TRIES} {kind} jobs in a row ended before they were seen running")


def _stored(rig: Rig, key: str) -> bool:
    return (rig.server.home / "blobs" / key).is_file()


def test_kill_during_every_kind_of_job(rig: Rig, datacite: FakeDataCite, lab: Path) -> None:
    times: dict[str, float] = {}
    alice = rig.caller()
    ds = alice.create_dataset("kinds", metadata=publishable_metadata())

    # blob.artifacts: built by a later job while other files wait for their checks
    def three_files(n: int) -> list[dict[str, Any]]:
        made = []
        for i in range(3):
            path = make_ephys_file(
                rig.tmp / f"a{n}-{i}.nwb", duration_s=2.0, identifier=f"kinds-{n}-{i}"
            )
            made.append(alice.add_file(ds, f"sub-{n}/sub-{n}_ses-{i}.nwb", path.read_bytes()))
        return made

    job, made = _catch(rig, "blob.artifacts", three_files)
    _kill_and_recover(rig, job, "blob.artifacts", times)
    alice = rig.caller()
    rig.wait_idle(time.monotonic())
    alice = rig.caller()
    assert isinstance(made, list)
    for asset in made:
        assert alice.get(f"/api/assets/{asset['asset_id']}/lindi.json").status_code == 200
    with rig.jobs.connect() as conn:
        (key,) = conn.execute(text("SELECT key FROM jobs WHERE id = :id"), {"id": job}).one()
        rows = conn.execute(
            text("SELECT kind, storage_key, error FROM derived WHERE blob_id = :b"), {"b": key}
        ).all()
    kinds = [r.kind for r in rows]
    assert len(kinds) == len(set(kinds)) and {"lindi", "overview"} <= set(kinds), rows
    assert all(r.error is None for r in rows), rows
    assert all(_stored(rig, r.storage_key) for r in rows if r.storage_key), rows

    # version.summarize: each new file changes the draft's summary
    def a_note(n: int) -> None:
        alice.add_file(ds, f"notes/n{n}.txt", f"note {n}".encode())

    job, _ = _catch(rig, "version.summarize", a_note)
    _kill_and_recover(rig, job, "version.summarize", times)
    alice = rig.caller()
    rig.wait_idle(time.monotonic())
    alice = rig.caller()
    listed = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["count"]
    draft = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
    assert draft["assetsSummary"]["numberOfFiles"] == listed, (draft["assetsSummary"], listed)

    # convert.run
    stream = {
        "format": "SpikeGLXRecording",
        "source": {"folder_path": str(lab / "day1" / "run_g0"), "stream_id": "imec0.ap"},
    }
    form = alice.post("/api/convert/metadata/", json={"streams": [stream]}).json()
    metadata = {
        **form["metadata"],
        "Subject": SUBJECT,
        "NWBFile": {**form["metadata"]["NWBFile"], **SESSION, "session_id": "day1"},
    }

    def a_conversion(n: int) -> str:
        body = {"kind": "conversion", "streams": [stream], "metadata": metadata}
        r = alice.post("/api/convert/jobs/", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    job, conversion = _catch(rig, "convert.run", a_conversion)
    _kill_and_recover(rig, job, "convert.run", times)
    alice = rig.caller()
    row = alice.get(f"/api/convert/jobs/{conversion}/").json()
    assert row["state"] == "done" and row["progress"] == 1.0, (row["error"], row["stage"])
    folder = next((rig.server.home / "conversions").glob(f"*/{conversion}"))
    assert [p.name for p in folder.iterdir()] == [row["result"]["file"]]
    assert (folder / row["result"]["file"]).stat().st_size == row["result"]["size"]

    # zarr.ingest (killed once the Zarr shows Ingesting), zarr.pipeline, zarr.pyramid
    vols = alice.create_dataset("volumes")
    numbers = itertools.count()

    def a_volume(_try: int, finalize: bool = True) -> tuple[str, str]:
        n = next(numbers)
        vol = rig.tmp / f"flat{n}.ome.zarr"
        write_sparse(vol, shape=(8, 4096, 4096), chunks=(8, 256, 256), levels=1)
        files = {
            p.relative_to(vol).as_posix(): p.read_bytes() for p in vol.rglob("*") if p.is_file()
        }
        z = alice.post("/api/zarr/", json={"name": f"v{n}.ome.zarr", "dandiset": vols}).json()
        r = alice.post(
            f"/api/dandisets/{vols}/versions/draft/assets/",
            json={"metadata": {"path": f"v{n}.ome.zarr"}, "zarr_id": z["zarr_id"]},
        )
        assert r.status_code == 200, r.text
        alice.put_zarr_files(z["zarr_id"], files)
        if finalize:
            assert alice.post(f"/api/zarr/{z['zarr_id']}/finalize/").status_code == 204
        return z["zarr_id"], local_checksum(files)

    ingesting = "SELECT count(*) FROM zarrs WHERE id = :zarr AND status = 'Ingesting'"
    for n in range(TRIES):
        after = _last_id(rig)
        zarr_id, expected = a_volume(n)
        job_id = _freeze_running(rig, "zarr.ingest", after=after, also=ingesting, zarr=zarr_id)
        TRIED["zarr.ingest"] = n + 1
        if job_id is not None:
            break
    else:
        pytest.fail("every zarr.ingest ended before it was seen running")
    after = _last_id(rig)
    _kill_and_recover(rig, job_id, "zarr.ingest", times)
    alice = rig.caller()
    z = alice.get(f"/api/zarr/{zarr_id}/").json()  # not left Ingesting by the killed run
    assert z["status"] == "Complete" and z["checksum"] == expected, z

    # A volume's pipeline job takes tens of milliseconds: new volumes come four at a time,
    # finalized together, so that their jobs queue behind each other and one of them is
    # seen running.
    def four_volumes(n: int) -> list[tuple[str, str]]:
        made = [a_volume(n, finalize=False) for _ in range(4)]
        for zarr_id, _ in made:
            assert alice.post(f"/api/zarr/{zarr_id}/finalize/").status_code == 204
        return made

    volumes = [(zarr_id, expected)]
    for kind in ("zarr.pipeline", "zarr.pyramid"):  # the jobs that follow, or new volumes
        found = _freeze_running(rig, kind, after=after)
        TRIED[kind] = 1  # caught after the first volume's kill, or by new volumes below
        if found is None:
            found, made = _catch(rig, kind, four_volumes)
            assert isinstance(made, list)
            volumes += made
        after = _last_id(rig)
        _kill_and_recover(rig, found, kind, times)
        alice = rig.caller()
    rig.wait_idle(time.monotonic())
    listed = alice.get(f"/api/dandisets/{vols}/versions/draft/assets/").json()["results"]
    for zarr_id, expected in volumes:
        z = alice.get(f"/api/zarr/{zarr_id}/").json()
        assert z["status"] == "Complete" and z["checksum"] == expected, z
        with rig.jobs.connect() as conn:
            rows = conn.execute(
                text("SELECT kind, storage_key, error FROM derived WHERE zarr_checksum = :c"),
                {"c": expected},
            ).all()
        assert sorted(r.kind for r in rows) == ["metadata", "pyramid", "validation"], rows
        assert all(r.error is None for r in rows), rows
        (asset,) = [a for a in listed if a["zarr"] == zarr_id]
        layout = alice.get(f"/api/assets/{asset['asset_id']}/explore/volume").json()
        assert len(layout["levels"]) >= 3, layout  # the pyramid's levels, from storage

    # doi.publish: DataCite holds the call that makes the version's DOI findable
    assert alice.wait_for_status(ds)["status"] == "Valid"
    datacite.hold = True
    after = _last_id(rig)
    version = alice.publish(ds)["version"]
    _until(lambda: datacite.waiting > 0, what="the findable DOI call")
    job = _freeze_running(rig, "doi.publish", after=after)
    assert job is not None
    rig.server.kill()
    calls = len(datacite.calls)
    datacite.hold = False  # DataCite may still apply the call the dead server sent
    _kill_and_recover(rig, job, "doi.publish", times)
    alice = rig.caller()
    versions = alice.get(f"/api/dandisets/{ds}/versions/").json()["results"]
    assert [v["version"] for v in versions if v["version"] != "draft"] == [version]
    doi = alice.get(f"/api/dandisets/{ds}/versions/{version}/").json()["doi"]
    concept = doi.rsplit("/", 1)[0]
    assert datacite.state(doi.lower()) == "findable" and datacite.state(concept.lower()) == (
        "findable"
    ), datacite.dois.keys()
    again = datacite.calls[calls:]
    assert ("PUT", doi.lower()) in [(m, d.lower()) for m, d in again], again
    alice.close()

    assert set(times) | {"blob.pipeline"} == set(KINDS), times
    print("restart -> killed job done (s):", {k: round(t, 2) for k, t in times.items()})
    print("starts until caught running:", TRIED)


def _md5s(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_a_zarr_upload_rides_through_restarts(rig: Rig) -> None:
    """`nds upload` of a Zarr folder, the server killed once it acted on each POST (and
    the DELETE of a re-upload) and before the client heard, then `nds download` of it
    killed as it sends a file: each client exits 0."""
    alice = rig.caller()
    ds = alice.create_dataset("zarr kills")
    alice.close()
    folder = rig.tmp / "zarrs"
    zarr_request = r"/api/zarr/[0-9a-f-]{36}"
    cuts = [
        ("create", "a.zarr", r"POST /api/zarr/ "),
        ("file URLs", "b.zarr", rf"POST {zarr_request}/files/ "),
        ("finalize", "c.zarr", rf"POST {zarr_request}/finalize/ "),
        ("delete", "a.zarr", rf"DELETE {zarr_request}/files/ "),
    ]
    for label, name, request_line in cuts:
        local = folder / name
        if local.exists():  # the re-upload: one file fewer, one changed
            (local / "labels" / "cells" / "mask" / ".zarray").unlink()
            (local / ".zattrs").write_text('{"title": "changed"}')
        else:
            write_zarr(local)
        rig.proxy.arm(request_line)
        client = rig.nds("upload", str(local), "-d", ds)
        ready = _cut_answer(rig, client, request_line)
        err = _finish(client)
        assert "Waiting for the archive to come back" in err, (label, err)
        rig.wait_idle(ready)
        alice = rig.caller()
        (asset,) = [
            a
            for a in alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["results"]
            if a["path"] == name
        ]
        zarr = alice.get(f"/api/zarr/{asset['zarr']}/").json()
        files = {p: (local / p).read_bytes() for p in _md5s(local)}
        assert zarr["status"] == "Complete" and zarr["checksum"] == local_checksum(files), (
            label,
            zarr,
        )
        listed = alice.get(f"/api/zarr/{asset['zarr']}/files/", params={"limit": 1000}).json()
        assert {e["Key"]: e["ETag"] for e in listed["results"]} == _md5s(local), label
        alice.close()
    # and `nds download` of it, cut as it fetches one of its files
    request_line = rf"GET {zarr_request}/files/\?prefix="
    rig.proxy.arm(request_line)
    client = rig.nds("download", f"{ds}/a.zarr", "-o", str(rig.tmp / "out"))
    ready = _cut_answer(rig, client, request_line)
    _finish(client)  # (its first retries are quick and silent, as for any transfer)
    rig.wait_idle(ready)
    assert _md5s(rig.tmp / "out" / "a.zarr") == _md5s(folder / "a.zarr")
    assert all(t < RECOVERY_LIMIT for t in rig.recoveries), rig.recoveries
    print(f"zarr upload recoveries (s): {[round(t, 2) for t in rig.recoveries]}")
