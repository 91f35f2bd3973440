"""archive/reprocess.py: after an upgrade changes a producer, start-up queues exactly the
blobs whose results it made, and the pipeline redoes only the changed step."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from neurodatashare.archive import Archive, processing
from neurodatashare.archive.reprocess import REPROCESS_PRIORITY, queue_outdated
from neurodatashare.db.models import Job
from neurodatashare.formats.nwb import NWB_FORMAT
from neurodatashare.jobs import Worker
from neurodatashare.testing.nwbfiles import make_ephys_file

from .test_pipeline import _add, _derived, _new_blob, _setup


def _queued(archive: Archive) -> list[tuple[str, str, int]]:
    with archive.db.read() as s:
        rows = s.execute(select(Job.kind, Job.key, Job.priority).where(Job.state == "queued"))
        return sorted((kind, key, priority) for kind, key, priority in rows)


def test_an_upgraded_check_requeues_only_the_blobs_it_made(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, ident = _setup(archive)
    nwb = make_ephys_file(tmp_path / "a.nwb", n_channels=2, duration_s=0.2, n_units=2)
    notes = tmp_path / "notes.txt"
    notes.write_text("plain notes are never checked\n")
    nwb_blob = _new_blob(archive, user=alice, source=nwb)
    notes_blob = _new_blob(archive, user=alice, source=notes)
    _add(archive, user=alice, ident=ident, blob_id=nwb_blob, path="sub-1/sub-1_ecephys.nwb")
    _add(archive, user=alice, ident=ident, blob_id=notes_blob, path="notes.txt")
    Worker(archive.db, processing.handlers(archive)).drain()

    assert queue_outdated(archive) == 0  # everything is by today's tools
    assert _queued(archive) == []

    before = _derived(archive, nwb_blob)
    monkeypatch.setattr(NWB_FORMAT, "version", NWB_FORMAT.version + "-next")
    assert queue_outdated(archive) == 1
    assert _queued(archive) == [("blob.pipeline", nwb_blob, REPROCESS_PRIORITY)]
    assert queue_outdated(archive) == 1  # asking again keeps the one job
    assert len(_queued(archive)) == 1

    Worker(archive.db, processing.handlers(archive)).drain()
    after = _derived(archive, nwb_blob)
    assert after["validation"].producer == NWB_FORMAT.version
    assert after["lindi"].id == before["lindi"].id  # the index was current: not rebuilt
    assert queue_outdated(archive) == 0


def test_a_blob_never_described_is_left_alone(archive: Archive, tmp_path: Path) -> None:
    alice, ident = _setup(archive)
    broken = tmp_path / "broken.nwb"
    broken.write_bytes(b"not HDF5 at all")
    blob_id = _new_blob(archive, user=alice, source=broken)
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="broken.nwb")
    Worker(archive.db, processing.handlers(archive)).drain()
    # described as unreadable by today's tools, or not described: either way not stale
    assert queue_outdated(archive) == 0
    assert _queued(archive) == []


def test_a_file_a_format_now_checks_is_queued_once(archive: Archive, tmp_path: Path) -> None:
    """An `.asc` stored when no format checked `.asc` files has no job and no results; now
    that SWC claims them, start-up queues it (or its draft would stay Pending)."""
    from neurodatashare.archive.version_status import pending_count
    from neurodatashare.db.models import Version

    alice, ident = _setup(archive)
    eeg = tmp_path / "run.asc"
    eeg.write_text("1.0 2.0 3.0\n")
    blob_id = _new_blob(archive, user=alice, source=eeg)
    _add(archive, user=alice, ident=ident, blob_id=blob_id, path="eeg/run.asc")
    with archive.db.write() as s:  # as an older version left it: never queued
        for job in s.scalars(select(Job).where(Job.key == blob_id)):
            s.delete(job)
    assert queue_outdated(archive) == 1
    Worker(archive.db, processing.handlers(archive)).drain()
    assert _derived(archive, blob_id)["metadata"].payload["nds:format"] == "plain"
    with archive.db.read() as s:
        assert pending_count(s, s.scalars(select(Version)).one()) == 0
    assert queue_outdated(archive) == 0
