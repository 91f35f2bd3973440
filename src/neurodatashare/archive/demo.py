"""`nds serve --demo`: a published demo dataset owned by a demo user, so a newcomer sees
real content at once."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from neurodatashare.archive import datasets, publish, users
from neurodatashare.archive.context import Archive
from neurodatashare.archive.demo_scales import ensure_patchseq_demo
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.processing import handlers
from neurodatashare.db.models import Dataset, DatasetOwner, Job, User, Version
from neurodatashare.demo.write import write_demo_dataset
from neurodatashare.jobs import Worker

DEMO_USER = "demo"
DEMO_NAME = "neurodatashare demo: visual cortex and hippocampus, ephys + 2-photon + behaviour"
DEMO_METADATA: dict[str, Any] = {
    "description": (
        "A synthetic, deterministic multi-modal dataset made by `nds demo`: two mice, two "
        "sessions each. Every file holds a 64-channel 30 kHz extracellular recording with "
        "LFP and sorted units, two-photon imaging with ROIs and dF/F traces, and behaviour "
        "(position, running speed, licks) with a trials table of visual stimuli."
    ),
    "license": ["spdx:CC-BY-4.0"],
    "keywords": ["demo", "ecephys", "ophys", "behavior", "synthetic"],
    "contributor": [
        {
            "schemaKey": "Person",
            "name": "Demo, Data",
            "email": "demo@example.org",
            "roleName": ["dcite:ContactPerson", "dcite:Author"],
        }
    ],
}


def find_demo(archive: Archive) -> tuple[User | None, str | None]:
    """The demo user and its published demo dataset, if they exist."""
    with archive.db.read() as s:
        user = s.scalar(select(User).where(User.username == DEMO_USER))
        if user is None:
            return None, None
        dataset_id = s.scalar(
            select(Dataset.id)
            .join(DatasetOwner, DatasetOwner.dataset_id == Dataset.id)
            .join(Version, Version.dataset_id == Dataset.id)
            .where(DatasetOwner.user_id == user.id, Version.version != "draft")
            .order_by(Dataset.id)  # the first one; the Patch-seq demo comes second
            .limit(1)
        )
    return user, f"{dataset_id:06d}" if dataset_id is not None else None


def finish_jobs(archive: Archive, *, timeout: float = 600) -> None:
    """Run queued jobs here, and wait for any that another worker is running."""
    worker = Worker(archive.db, handlers(archive))
    deadline = time.monotonic() + timeout
    while True:
        worker.drain()
        with archive.db.read() as s:
            active = s.scalar(
                select(func.count()).select_from(Job).where(Job.state.in_(["queued", "running"]))
            )
        if not active:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("background jobs did not finish in time")
        time.sleep(0.2)


def load_demo(archive: Archive, *, files: list[Path], root: Path) -> tuple[str, str]:
    """Create (once) the demo user and dataset from `files`; return (dataset id, new key)."""
    user, dataset_id = find_demo(archive)
    if user is None:
        user = users.create_user(archive, username=DEMO_USER, email="demo@example.org")
    if dataset_id is None:
        created = datasets.create_dataset(
            archive, user=user, name=DEMO_NAME, metadata=dict(DEMO_METADATA)
        )
        dataset_id = created["identifier"]
        for f in files:
            ingest_file(
                archive,
                user=user,
                dataset_id=dataset_id,
                path=f.relative_to(root).as_posix(),
                source=f,
            )
        # check and index the files now, so the published version is complete at once
        finish_jobs(archive)
        publish.publish(archive, dataset_id=dataset_id, user=user)
    patchseq = root.with_name(root.name + "-patchseq")
    ensure_patchseq_demo(archive, user=user, root=patchseq, finish=finish_jobs)
    return dataset_id, users.new_api_key(archive, user=user)


def ensure_demo(
    archive: Archive,
    *,
    root: Path,
    say: Callable[[str], None] = lambda _message: None,
    duration_s: float = 60.0,
    jobs: int = 2,
) -> tuple[str, str]:
    """The demo dataset, made on first use; return (dataset id, a new API key of its user).

    The files are written once under ``root`` (through ``root``'s sibling ``demo.partial``
    and a rename, so a crash never leaves half a demo), then loaded, checked and published.
    Later calls reuse both the files and the dataset. ``say`` hears what is being done.
    """
    _user, existing = find_demo(archive)
    files = sorted(root.rglob("*.nwb")) if root.exists() else []
    if existing is None and not files:
        say(f"Writing the demo dataset to {root} (under a minute)...")
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        write_demo_dataset(partial, duration_s=duration_s, jobs=jobs)
        partial.rename(root)
        files = sorted(root.rglob("*.nwb"))
    if existing is None:
        say("Loading it into the archive (checking and indexing every file)...")
    return load_demo(archive, files=files, root=root)
