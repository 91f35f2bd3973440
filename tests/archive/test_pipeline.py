"""archive/pipeline.py in-process: one job per new blob reads it once, steps are skipped
when done, a failing step does not stop the others, and summaries are batched."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from neurodatashare.archive import Archive, blobs, processing
from neurodatashare.archive.assets import create_asset
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.users import create_user
from neurodatashare.db.models import Blob, Derived, Job, User, Version
from neurodatashare.formats.nwb import NWB_FORMAT, Artifact
from neurodatashare.jobs import Worker, enqueue
from neurodatashare.storage.digests import file_digests
from neurodatashare.testing.nwbfiles import make_ephys_file

KINDS = {"metadata", "validation", "lindi", "overview"}


@pytest.fixture(scope="module")
def nwb_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("pipeline")
    return [
        make_ephys_file(
            d / f"f{i}.nwb", n_channels=2, duration_s=0.2, n_units=2, identifier=f"pipe-{i}"
        )
        for i in range(5)
    ]


class CountingReader(io.FileIO):
    """A local file that counts the bytes read through it."""

    read_bytes = 0

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        data = super().read(size)
        CountingReader.read_bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer) or 0
        CountingReader.read_bytes += n
        return n


def _count_opens(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    opens: Counter[str] = Counter()

    def counting_open(key: str) -> CountingReader:
        opens[key] += 1
        return CountingReader(str(archive.store.local_path(key)), "rb")

    monkeypatch.setattr(archive.store, "open", counting_open)
    return opens


def _new_blob(archive: Archive, *, user: User, source: Path) -> str:
    """A blob as an HTTP upload leaves it: stored, its sha256 still to compute."""
    _sha, etag = file_digests(str(source))
    with archive.db.write() as s:
        blob, created = blobs.create_blob(
            s,
            user=user,
            etag=etag,
            size=source.stat().st_size,
            sha256=None,
            store_bytes=lambda key: archive.store.put_file(key, source),
        )
        assert created
        return blob.id


def _setup(archive: Archive) -> tuple[User, str]:
    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    return alice, ident


def _add(archive: Archive, *, user: User, ident: str, blob_id: str, path: str) -> None:
    create_asset(
        archive,
        dataset_id=ident,
        version="draft",
        user=user,
        metadata={"path": path},
        blob_id=blob_id,
    )


def _derived(archive: Archive, blob_id: str) -> dict[str, Derived]:
    with archive.db.read() as s:
        return {d.kind: d for d in s.scalars(select(Derived).where(Derived.blob_id == blob_id))}


def test_a_new_nwb_blob_is_opened_once(
    archive: Archive, nwb_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, ident = _setup(archive)
    blob_id = _new_blob(archive, user=alice, source=nwb_paths[0])
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="sub-1/sub-1_ecephys.nwb")
    with archive.db.read() as s:
        queued = sorted(s.scalars(select(Job.kind).where(Job.state == "queued")))
    assert queued == ["blob.pipeline", "version.summarize"]  # was 4 jobs, one per step
    opens = _count_opens(archive, monkeypatch)
    CountingReader.read_bytes = 0
    Worker(archive.db, processing.handlers(archive)).drain()
    with archive.db.read() as s:
        blob = s.get(Blob, blob_id)
        assert blob is not None and blob.sha256 == file_digests(str(nwb_paths[0]))[0]
        assert set(s.scalars(select(Job.state))) == {"done"}
    assert dict(opens) == {blob.key: 1}  # digest, process, index and overview: one open
    size = nwb_paths[0].stat().st_size
    # the digest reads every byte once; the index and overviews read through the same reader
    assert size <= CountingReader.read_bytes < 4 * size
    rows = _derived(archive, blob_id)
    assert set(rows) >= KINDS and all(rows[k].error is None for k in ("lindi", "overview"))
    assert rows["lindi"].storage_key and archive.store.read(rows["lindi"].storage_key)

    # the same bytes under another path: nothing left to do, so no job and no open
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="sub-2/sub-2_ecephys.nwb")
    Worker(archive.db, processing.handlers(archive)).drain()
    assert dict(opens) == {blob.key: 1}


def test_a_new_producer_version_reruns_only_its_step(
    archive: Archive, nwb_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, ident = _setup(archive)
    blob_id = _new_blob(archive, user=alice, source=nwb_paths[1])
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="a.nwb")
    Worker(archive.db, processing.handlers(archive)).drain()
    before = _derived(archive, blob_id)
    index = NWB_FORMAT.artifacts[0]
    newer = Artifact(index.kind, lambda: "lindi-next", index.build)
    monkeypatch.setattr(NWB_FORMAT, "artifacts", (newer, *NWB_FORMAT.artifacts[1:]))
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="b.nwb")
    Worker(archive.db, processing.handlers(archive)).drain()
    after = _derived(archive, blob_id)
    assert after["lindi"].producer == "lindi-next"
    for kind in ("metadata", "validation", "overview"):
        assert (after[kind].id, after[kind].producer) == (before[kind].id, before[kind].producer)


def test_a_failing_artifact_does_not_stop_the_others(
    archive: Archive, nwb_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(reader: Any, out: Path) -> None:
        raise ValueError("cannot index this")

    index = NWB_FORMAT.artifacts[0]
    failing = Artifact(index.kind, index.producer, broken)
    monkeypatch.setattr(NWB_FORMAT, "artifacts", (failing, *NWB_FORMAT.artifacts[1:]))
    alice, ident = _setup(archive)
    blob_id = _new_blob(archive, user=alice, source=nwb_paths[2])
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="a.nwb")
    Worker(archive.db, processing.handlers(archive)).drain()
    rows = _derived(archive, blob_id)
    assert rows["lindi"].storage_key is None and "cannot index this" in (rows["lindi"].error or "")
    assert rows["overview"].storage_key and rows["validation"].payload is not None
    with archive.db.read() as s:
        assert set(s.scalars(select(Job.state))) == {"done"}  # recorded, not retried
        report = processing.asset_report(s, blob_id=blob_id, path="a.nwb")
    assert report["status"] == "done"


def test_a_failing_process_step_fails_the_job_after_the_artifacts(
    archive: Archive, nwb_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(reader: Any, *, path: str) -> None:
        raise RuntimeError("extractor crashed")

    monkeypatch.setattr(NWB_FORMAT, "process", crash)
    alice, ident = _setup(archive)
    blob_id = _new_blob(archive, user=alice, source=nwb_paths[3])
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="a.nwb")
    worker = Worker(archive.db, processing.handlers(archive))
    for _ in range(3):  # the retries (each skips the steps already done)
        worker.drain()
        with archive.db.write() as s:
            for job in s.scalars(select(Job).where(Job.state == "queued")):
                job.run_after = job.created
    rows = _derived(archive, blob_id)
    assert {"lindi", "overview"} <= set(rows) and "validation" not in rows
    with archive.db.read() as s:
        state = s.scalar(select(Job.state).where(Job.kind == "blob.pipeline"))
        report = processing.asset_report(s, blob_id=blob_id, path="a.nwb")
        assert s.get(Blob, blob_id).sha256  # type: ignore[union-attr]
    assert state == "failed" and report["status"] == "failed"


def test_jobs_of_the_older_kinds_run_the_pipeline(archive: Archive, nwb_paths: list[Path]) -> None:
    alice, ident = _setup(archive)
    blob_id = _new_blob(archive, user=alice, source=nwb_paths[4])
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="a.nwb")
    with archive.db.write() as s:  # as a database written by an older version holds them
        for job in s.scalars(select(Job).where(Job.kind == "blob.pipeline")):
            s.delete(job)
        for kind in ("nwb.process", "nwb.index", "nwb.overview", "blob.sha256"):
            payload = {"blob_id": blob_id, **({"path": "a.nwb"} if kind == "nwb.process" else {})}
            enqueue(s, kind=kind, key=blob_id, payload=payload)
    with archive.db.read() as s:
        assert processing.asset_report(s, blob_id=blob_id, path="a.nwb")["status"] == "pending"
    Worker(archive.db, processing.handlers(archive)).drain()
    assert set(_derived(archive, blob_id)) >= KINDS
    with archive.db.read() as s:
        assert set(s.scalars(select(Job.state))) == {"done"}
        assert processing.asset_report(s, blob_id=blob_id, path="a.nwb")["status"] == "done"


def test_a_batch_of_files_is_summarized_once(
    archive: Archive, nwb_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, ident = _setup(archive)
    for i, source in enumerate(nwb_paths):
        blob_id = _new_blob(archive, user=alice, source=source)
        _add(archive, user=alice, ident=ident, blob_id=blob_id, path=f"sub-{i}/f.nwb")
    runs: list[int] = []
    handlers = processing.handlers(archive)
    summarize = handlers["version.summarize"]

    def counted(payload: dict[str, Any]) -> None:
        runs.append(payload["version_id"])
        summarize(payload)

    Worker(archive.db, {**handlers, "version.summarize": counted}).drain()
    assert len(runs) == 1  # was one per file (5) and more
    with archive.db.read() as s:
        pipelines = s.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "blob.pipeline")
        )
    assert pipelines == 5
    with archive.db.read() as s:
        draft = s.get(Version, runs[0])
        assert draft is not None and draft.status in {"Valid", "Invalid"}
        assert draft.meta["assetsSummary"]["numberOfFiles"] == 5
