"""NWB (HDF5): metadata from nwb/extract.py, checks from validation/run.py, and two
artifacts: the streaming index (LINDI) and the overview pyramids (nwb/overview.py)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.nwb.extract import EXTRACTOR_VERSION, NWB_ENCODING_FORMAT
from neurodatashare.validation.run import VALIDATOR_VERSION

log = logging.getLogger("neurodatashare.formats.nwb")
INDEX_KIND = "lindi"
OVERVIEW_KIND = "overview"
TEMPLATE = "{{u}}"  # the index's chunk URL; serving sets it to the asset's download URL
#: The index's side artifact: chunk tables of datasets with many chunks (nwb/chunk_tables.py)
TABLES_KIND = "lindi-chunks"


def index_producer() -> str:
    from importlib.metadata import version

    from neurodatashare.nwb.chunk_tables import VERSION

    # nds-3: pseudo-chunks of contiguous data for slices, chunk tables for many chunks
    return f"lindi-{version('lindi')}+nds-3.{VERSION}"


def overview_producer() -> str:
    from neurodatashare.nwb.overview import OVERVIEW_VERSION

    return f"overview-{OVERVIEW_VERSION}"


@contextmanager
def _as_path(reader: BinaryIO) -> Iterator[Path]:
    """nwb/read.py checks the container by path (truncated or split files), so a reader
    that is a local file is used by name; any other is copied to a temporary file."""
    name = getattr(reader, "name", None)
    if isinstance(name, str) and Path(name).is_file():
        yield Path(name)
        return
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "blob.nwb"
        reader.seek(0)
        with open(target, "wb") as dst:
            shutil.copyfileobj(reader, dst, 8 * 2**20)
        yield target


def analyse(path: Path) -> Processed:
    """Metadata and findings of one file. A file pynwb cannot read still gets metadata
    (subject, session, stored types) and its findings; only a file that is not NWB
    (HDF5) at all has no metadata."""
    from neurodatashare.nwb.extract import asset_metadata_from_open
    from neurodatashare.nwb.read import NWBReadError, open_nwb
    from neurodatashare.validation.run import (
        read_error_result,
        unreadable_result,
        validate_open_nwb,
    )

    try:
        with open_nwb(path) as nwb:
            results = validate_open_nwb(nwb)
            try:
                metadata: dict[str, Any] | None = asset_metadata_from_open(nwb)
                error = None
            except Exception as exc:
                log.warning("metadata extraction failed for %s", path, exc_info=True)
                metadata, error = None, f"metadata extraction failed: {type(exc).__name__}"
    except NWBReadError as exc:
        results, metadata, error = [read_error_result(exc)], None, exc.message
    except Exception as exc:
        log.warning("could not analyse %s", path, exc_info=True)
        error = f"The archive could not read this file ({type(exc).__name__})."
        metadata = None
        results = [
            unreadable_result(
                error,
                how_to_fix="Open the file with pynwb to find the problem, or export it again.",
            )
        ]
    return Processed(metadata, [r.model_dump(mode="json") for r in results], error)


def build_index(reader: BinaryIO, out: Path) -> None:
    """Write the LINDI reference file system of the open file, chunks pointing at {{u}};
    the chunk tables of datasets with many chunks go to the sidecar `TABLES_KIND` file
    beside `out` (nwb/chunk_tables.py)."""
    import json
    from dataclasses import asdict

    from lindi import LindiH5ZarrStore
    from lindi.LindiH5ZarrStore.LindiH5ZarrStoreOpts import LindiH5ZarrStoreOpts

    from neurodatashare.nwb.chunk_tables import INLINE_CHUNKS, PSEUDO_CHUNK_BYTES, move_to_tables
    from neurodatashare.nwb.links import INDEX_LINKS_KEY, external_links, without_external_links

    # lindi leaves the chunks of a dataset with more than INLINE_CHUNKS out (an "external
    # array link"); move_to_tables lists them in the side table. Contiguous data is split
    # into pseudo-chunks of about 1 MiB (lindi's default is 20 MB) so a slice fetches
    # little more than its rows.
    opts = LindiH5ZarrStoreOpts(
        num_dataset_chunks_threshold=INLINE_CHUNKS,
        contiguous_dataset_max_chunk_size=PSEUDO_CHUNK_BYTES,
    )
    # LindiH5ZarrStore.from_file takes only a file name or URL; its constructor is what
    # from_file calls with the file it opened, here the pipeline's reader (left open).
    store = LindiH5ZarrStore(_file=reader, _url=TEMPLATE, _opts=opts, _entities_to_close=[])
    with store:
        # External links are left out (lindi cannot represent them) and listed first in
        # the document, so serving can add the linked objects of sibling files.
        external = external_links(store._h5f)
        if external:
            store._h5f = without_external_links(store._h5f)
        rfs = store.to_reference_file_system()
        move_to_tables(rfs, store._h5f, TEMPLATE, out.parent / TABLES_KIND)
    rfs.pop("templates", None)
    if external:
        rfs = {INDEX_LINKS_KEY: [asdict(link) for link in external], **rfs}
    out.write_bytes(json.dumps(rfs, separators=(",", ":")).encode())


def build_overview(reader: BinaryIO, out: Path) -> Any:
    """Write the min/max pyramids of every long series of the open file."""
    import h5py

    from neurodatashare.nwb.overview import build_overviews

    with h5py.File(reader, "r") as h5:
        return build_overviews(h5, out)


class NWB:
    name = "nwb"
    media_type = NWB_ENCODING_FORMAT
    suffixes: tuple[str, ...] = (".nwb",)
    version = VALIDATOR_VERSION
    metadata_version = f"extract-{EXTRACTOR_VERSION}"
    # built in this order by archive/pipeline.py; the index first, as it serves readers
    artifacts: Sequence[Artifact] = (
        Artifact(INDEX_KIND, index_producer, build_index, sidecars=(TABLES_KIND,)),
        Artifact(OVERVIEW_KIND, overview_producer, build_overview),
    )

    def claims(self, path: str, head: bytes) -> bool:
        return path.lower().endswith(self.suffixes)

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        with _as_path(reader) as local:
            return analyse(local)

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["download", "tree", "neurodata-types"]


NWB_FORMAT = NWB()
