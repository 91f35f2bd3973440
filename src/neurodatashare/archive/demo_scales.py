"""The demo's second dataset (demo/patchseq.py): one mouse's cells at every scale, linked
by subject and cell id, published by the demo user beside the first demo dataset."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from neurodatashare.archive import datasets, publish
from neurodatashare.archive.context import Archive
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.db.models import Dataset, DatasetOwner, User, Version

PATCHSEQ_NAME = "neurodatashare demo: Patch-seq cells of visual cortex, sweeps + shape + genes"
PATCHSEQ_METADATA: dict[str, Any] = {
    "description": (
        "A synthetic, deterministic Patch-seq-style dataset made by `nds demo`: four cells of "
        "one mouse, each with current-clamp sweeps (NWB), a reconstruction (SWC) and a row of "
        "gene counts in one AnnData file with a UMAP embedding; a NeuroML model of one cell; "
        "and a two-photon session of the same mouse. Open a subject or a cell to see its "
        "files side by side."
    ),
    "license": ["spdx:CC-BY-4.0"],
    "keywords": ["demo", "Patch-seq", "icephys", "morphology", "transcriptomics", "synthetic"],
    "contributor": [
        {
            "schemaKey": "Person",
            "name": "Demo, Data",
            "email": "demo@example.org",
            "roleName": ["dcite:ContactPerson", "dcite:Author"],
        }
    ],
}


def find_patchseq(archive: Archive, user: User) -> str | None:
    """The demo user's published Patch-seq dataset, if it exists."""
    with archive.db.read() as s:
        number = s.scalar(
            select(Dataset.id)
            .join(DatasetOwner, DatasetOwner.dataset_id == Dataset.id)
            .join(Version, Version.dataset_id == Dataset.id)
            .where(
                DatasetOwner.user_id == user.id,
                Version.name == PATCHSEQ_NAME,
                Version.version != "draft",
            )
            .limit(1)
        )
    return f"{number:06d}" if number is not None else None


def ensure_patchseq_demo(
    archive: Archive, *, user: User, root: Path, finish: Callable[[Archive], None]
) -> str:
    """The Patch-seq demo dataset, written under `root` and loaded once; its id.
    `finish` runs the queued checks (archive/demo.py `finish_jobs`)."""
    from neurodatashare.demo.patchseq import write_patchseq_dataset

    existing = find_patchseq(archive, user)
    if existing is not None:
        return existing
    if not root.exists():
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        write_patchseq_dataset(partial)
        partial.rename(root)
    created = datasets.create_dataset(
        archive, user=user, name=PATCHSEQ_NAME, metadata=dict(PATCHSEQ_METADATA)
    )
    dataset_id = str(created["identifier"])
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        ingest_file(
            archive, user=user, dataset_id=dataset_id, path=f.relative_to(root).as_posix(), source=f
        )
    finish(archive)
    publish.publish(archive, dataset_id=dataset_id, user=user)
    return dataset_id
