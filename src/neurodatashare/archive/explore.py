"""The explorer's overviews: min/max pyramids of an NWB blob's long series, built once.

The explorer's views themselves are served by archive/explorer.py.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Blob
from neurodatashare.errors import NDSError

log = logging.getLogger("neurodatashare.explore")
OVERVIEW_KIND = "overview"


class Unreadable(NDSError):
    status_code = 422


def overview_producer() -> str:
    from neurodatashare.nwb.overview import OVERVIEW_VERSION

    return f"overview-{OVERVIEW_VERSION}"


def overview_key(blob_id: str) -> str:
    from neurodatashare.archive.derived import storage_key

    return storage_key(blob_id, OVERVIEW_KIND)


def build_overview(archive: Archive, payload: dict[str, Any]) -> None:
    """The `nwb.overview` job: min/max pyramids of every long series in the blob."""
    import h5py

    from neurodatashare.archive.derived import build_artifact, local_copy
    from neurodatashare.nwb.overview import build_overviews

    blob_id = payload["blob_id"]

    def build(blob: Blob) -> Any:
        with local_copy(archive, blob) as path, tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "overview.h5"
            with h5py.File(path, "r") as h5:
                summary = build_overviews(h5, out)
            archive.store.put_file(overview_key(blob_id), out)
        return summary

    build_artifact(
        archive, blob_id=blob_id, kind=OVERVIEW_KIND, producer=overview_producer(), build=build
    )
