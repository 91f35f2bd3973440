"""Two writers changing one draft at once take its row before its summary job's, so they
wait for each other instead of deadlocking (both backends; PostgreSQL is where it bit: an
upload's asset creation against a worker finishing a file, in the deployed stack)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from neurodatashare.archive.version_status import SUMMARIZE, refresh_draft
from neurodatashare.db.models import Job, Version, utcnow
from neurodatashare.testing.live import Live


def _draft(live: Live) -> Version:
    identifier = live.user("alice").create_dataset("Locks")
    with live.archive.db.read() as s:
        return s.scalars(
            select(Version).where(Version.version == "draft", Version.dataset_id == int(identifier))
        ).one()


def test_two_writers_of_one_draft_do_not_deadlock(live: Live) -> None:
    draft_id = _draft(live).id
    db = live.archive.db
    errors: list[BaseException] = []
    first_queued = threading.Event()

    def like_an_asset_creation() -> None:
        # refresh_draft (queues the summary), then the draft's modified time, as
        # versions.touch_draft does
        try:
            with db.write() as s:
                draft = s.get(Version, draft_id)
                assert draft is not None
                refresh_draft(s, draft)
                first_queued.set()
                time.sleep(1.5)  # the other writer starts meanwhile
                draft.modified = utcnow()
                s.flush()
        except BaseException as exc:
            errors.append(exc)
            first_queued.set()

    def like_a_finished_file() -> None:
        # the draft's row changed first, then refresh_draft, as a pipeline step does
        try:
            with db.write() as s:
                draft = s.get(Version, draft_id)
                assert draft is not None
                draft.status = "Pending"
                s.flush()
                refresh_draft(s, draft)
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=like_an_asset_creation)
    first.start()
    assert first_queued.wait(30)
    second = threading.Thread(target=like_a_finished_file)
    second.start()
    first.join(60)
    second.join(60)
    assert not first.is_alive() and not second.is_alive()
    assert errors == []  # PostgreSQL aborted one of them with a deadlock before
    with db.read() as s:
        kinds = s.scalars(select(Job.kind).where(Job.key == str(draft_id))).all()
    assert SUMMARIZE in kinds
