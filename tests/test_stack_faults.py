"""Faults on the deployed stack (testing/stack.py: nginx, two API processes, two workers,
PostgreSQL, SeaweedFS): an API process or a worker SIGKILLed mid-upload or mid-job, and
S3 frozen for 5 s. The real client (`nds upload`, a subprocess) must finish, the bytes
must be identical, and no row or object may be left half-written."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.nwbfiles import make_ephys_file
from neurodatashare.testing.server import nds_executable
from neurodatashare.testing.stack import Stack

MiB = 1024 * 1024
PART = 64 * MiB  # the dandi-etag plan's part size for files this small


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # a short lease so that a killed worker's job is taken over within seconds
    with Stack(tmp_path_factory.mktemp("stack"), env={"NDS_JOB_LEASE_SECONDS": "3"}) as s:
        yield s


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[Engine]:
    assert stack.pg is not None
    engine = create_engine(stack.pg.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def jane(stack: Stack) -> Iterator[tuple[Caller, str]]:
    key = stack.create_user("jane")
    caller = Caller(stack.url, key, username="jane")
    yield caller, key
    caller.close()


def _random_file(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(MiB, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def _start_upload(stack: Stack, key: str, dataset: str, path: Path, home: Path) -> Any:
    """`nds upload` as a user runs it: a subprocess that knows only the proxy's URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NDS_")}
    home.mkdir(exist_ok=True)
    env.update(NDS_URL=stack.url, NDS_API_KEY=key, HOME=str(home), XDG_CACHE_HOME=str(home))
    return subprocess.Popen(
        [str(nds_executable()), "upload", "-d", dataset, "-j", "1", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(db: Engine, sql: str, *, timeout: float = 60, **params: Any) -> Any:
    """Poll the database until `sql` returns a row; return that row."""
    deadline = time.monotonic() + timeout
    while True:
        with db.connect() as conn:
            row = conn.execute(text(sql), params).first()
        if row is not None:
            return row
        assert time.monotonic() < deadline, f"no row for {sql} in {timeout} s"
        time.sleep(0.02)


def _finish(upload: Any, stack: Stack, timeout: float = 180) -> str:
    try:
        out: str = upload.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        os.killpg(upload.pid, signal.SIGKILL)
        out = upload.communicate()[0]
    assert upload.returncode == 0, f"nds upload failed:\n{out}\n{stack.logs()}"
    return out


def _downloaded_sha256(caller: Caller, dataset: str, path: str) -> str:
    assets = caller.get(f"/api/dandisets/{dataset}/versions/draft/assets/", params={"path": path})
    assert assets.status_code == 200, assets.text
    [asset] = [a for a in assets.json()["results"] if a["path"] == path]
    h = hashlib.sha256()
    url = f"/api/assets/{asset['asset_id']}/download/"
    with caller.http.stream("GET", url, follow_redirects=True) as r:
        assert r.status_code == 200, r.read()
        for block in r.iter_bytes(MiB):
            h.update(block)
    return h.hexdigest()


def _nothing_half_written(stack: Stack, db: Engine) -> None:
    """No upload in progress, no multipart upload left in S3, every blob row's object there
    with the row's size."""
    assert stack.s3 is not None
    import boto3

    s3 = boto3.client("s3", **_boto_args(stack))
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM uploads")).scalar() == 0
        blobs = conn.execute(text("SELECT key, size FROM blobs")).all()
    pending = s3.list_multipart_uploads(Bucket=stack.s3.bucket).get("Uploads", [])
    assert not pending, pending
    for key, size in blobs:
        head = s3.head_object(Bucket=stack.s3.bucket, Key=key)
        assert head["ContentLength"] == size, (key, head["ContentLength"], size)


def _boto_args(stack: Stack) -> dict[str, Any]:
    assert stack.s3 is not None
    s = stack.s3.settings()
    return {
        "endpoint_url": s["s3_endpoint_url"],
        "aws_access_key_id": s["s3_access_key_id"],
        "aws_secret_access_key": s["s3_secret_access_key"],
        "region_name": s["s3_region"],
    }


def test_upload_survives_an_api_process_killed_mid_upload(
    stack: Stack, db: Engine, jane: tuple[Caller, str], tmp_path: Path
) -> None:
    caller, key = jane
    dataset = caller.create_dataset("API process lost")
    path = tmp_path / "three-parts.bin"
    digest = _random_file(path, 2 * PART + MiB)  # three parts
    upload = _start_upload(stack, key, dataset, path, tmp_path / "client")
    try:
        # mid-upload: the archive has started it, the parts are on their way
        _wait_for(db, "SELECT id FROM uploads")
        stack.kill_api(0)
        assert upload.poll() is None, "the upload was over before the kill"
        _finish(upload, stack)
    finally:
        if upload.poll() is None:
            os.killpg(upload.pid, signal.SIGKILL)
        stack.restart_api(0)
    stack.wait_healthy()
    assert _downloaded_sha256(caller, dataset, "three-parts.bin") == digest
    _nothing_half_written(stack, db)


def test_a_job_of_a_killed_worker_is_finished_by_the_other(
    stack: Stack, db: Engine, jane: tuple[Caller, str], tmp_path: Path
) -> None:
    caller, _ = jane
    dataset = caller.create_dataset("Worker lost")
    pids = [w.pid for w in stack.workers]
    # A small file's pipeline can end between the poll that sees it running and the
    # SIGSTOP: then another file is sent (a long recording, so that this is rare).
    for attempt in range(4):
        path = make_ephys_file(
            tmp_path / f"rec{attempt}.nwb",
            locations=("CA1",),
            duration_s=20.0,
            identifier=f"worker-lost-{attempt}",
        )
        asset = caller.add_file(
            dataset, f"sub-m1/sub-m1_ses-{attempt}_ecephys.nwb", path.read_bytes()
        )
        job_id, owner, state = _wait_for(
            db,
            "SELECT id, worker, state FROM jobs WHERE kind = 'blob.pipeline'"
            " AND state != 'queued' AND key = :blob",
            blob=asset["blob"],
        )
        if state != "running":
            continue
        victim = pids.index(int(owner.rsplit(":", 1)[1]))
        # frozen first, so that the job is certainly still its own when it dies
        os.kill(pids[victim], signal.SIGSTOP)
        with db.connect() as conn:
            state, worker = conn.execute(
                text("SELECT state, worker FROM jobs WHERE id = :id"), {"id": job_id}
            ).one()
        if state == "running" and worker == owner:
            break
        os.kill(pids[victim], signal.SIGCONT)
    else:
        pytest.fail("four pipelines in a row finished before their worker could be frozen")
    stack.kill_worker(victim)
    try:
        report = caller.wait_for_checks(asset["asset_id"], timeout=120)
        assert report["status"] == "done" and report["metadata"], report
        row = _wait_for(db, "SELECT worker FROM jobs WHERE id = :id AND state = 'done'", id=job_id)
        assert row[0].rsplit(":", 1)[1] == str(pids[1 - victim]), (owner, row[0])
    finally:
        stack.restart_worker(victim)


def test_s3_frozen_for_five_seconds(
    stack: Stack, db: Engine, jane: tuple[Caller, str], tmp_path: Path
) -> None:
    """SIGSTOP of SeaweedFS during an upload, a download and metadata requests: the
    metadata answers at once (it needs no S3), the transfers wait or retry, and all of
    them complete after SIGCONT."""
    caller, key = jane
    dataset = caller.create_dataset("S3 frozen")
    first = tmp_path / "before.bin"
    first_digest = _random_file(first, 3 * MiB)
    _finish(_start_upload(stack, key, dataset, first, tmp_path / "client"), stack)
    path = tmp_path / "two-parts.bin"
    digest = _random_file(path, PART + 5 * MiB)
    upload = _start_upload(stack, key, dataset, path, tmp_path / "client")
    results: dict[str, Any] = {}

    def download() -> None:
        results["download"] = _downloaded_sha256(caller, dataset, "before.bin")

    try:
        _wait_for(db, "SELECT id FROM uploads")
        with stack.s3_stopped():
            fetcher = threading.Thread(target=download)
            fetcher.start()
            started = time.monotonic()
            for _ in range(4):  # both API processes answer from the database alone
                r = caller.get(f"/api/dandisets/{dataset}/versions/draft/")
                assert r.status_code == 200, r.text
            assert time.monotonic() - started < 4, "metadata waited for S3"
            time.sleep(max(0.0, 5 - (time.monotonic() - started)))
            assert fetcher.is_alive(), "the download finished while S3 was frozen"
            assert upload.poll() is None, "the upload finished while S3 was frozen"
        fetcher.join(120)
        _finish(upload, stack)
    finally:
        if upload.poll() is None:
            os.killpg(upload.pid, signal.SIGKILL)
    assert results.get("download") == first_digest
    assert _downloaded_sha256(caller, dataset, "two-parts.bin") == digest
    _nothing_half_written(stack, db)
