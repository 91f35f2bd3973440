"""Re-processing after an upgrade: blobs whose results were made by older tools get a job.

Results are stored per blob with the producer version that made them (archive/derived.py).
When a new release changes a format's checks, its description or one of its artifacts,
the stored results are stale but nothing new arrives to queue the blob again; this finds
those blobs at start-up and queues their pipeline behind new uploads. The pipeline itself
skips every step whose result is current, so a queued blob redoes only what changed.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from neurodatashare.archive.context import Archive
from neurodatashare.archive.derived import _path_of, producers
from neurodatashare.archive.pipeline import queue_pipeline
from neurodatashare.db.models import Asset, Derived, Job
from neurodatashare.formats import formats

REPROCESS_PRIORITY = 150  # after every new upload's checks (100) and artifacts (120)


def queue_outdated(archive: Archive) -> int:
    """Queue the pipeline of every described blob whose results of some checked asset's
    format are by older tools or missing, and of every blob of a checked asset that no job
    ever had; returns how many were queued."""
    stale: set[str] = set()
    with archive.db.read() as s:
        for fmt in formats():
            if not fmt.suffixes:
                continue
            wanted = producers(fmt) | {a.kind: a.producer() for a in fmt.artifacts}
            blob_ids = select(Asset.blob_id).where(_path_of(fmt)).distinct()
            have: dict[str, dict[str, str]] = {}
            rows = s.execute(
                select(Derived.blob_id, Derived.kind, Derived.producer).where(
                    Derived.blob_id.in_(blob_ids), Derived.kind.in_(list(wanted))
                )
            )
            for blob_id, kind, producer in rows:
                if blob_id is not None:  # (a Zarr's rows have none, and are not joined here)
                    have.setdefault(blob_id, {})[kind] = producer
            # A blob with no description yet was never processed to the end (it is queued,
            # or its file is broken and its job failed): that is not an upgrade's business.
            stale.update(
                blob_id for blob_id, made in have.items() if "metadata" in made and made != wanted
            )
            # ...but a blob that no job ever had was stored when no format checked such
            # files (an `.asc` before SWC claimed them): nothing else will queue it
            never = (
                select(Asset.blob_id)
                .where(_path_of(fmt))
                .where(~exists().where(Job.key == Asset.blob_id))
                .where(
                    ~exists().where(Derived.blob_id == Asset.blob_id, Derived.kind == "metadata")
                )
                .distinct()
            )
            stale.update(s.scalars(never))
    if stale:
        with archive.db.write() as s:
            for blob_id in sorted(stale):
                queue_pipeline(s, blob_id=blob_id, priority=REPROCESS_PRIORITY)
    return len(stale)
