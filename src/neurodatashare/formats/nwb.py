"""NWB (HDF5): metadata from nwb/extract.py, checks from validation/run.py."""

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
    from neurodatashare.validation.run import read_error_result, validate_open_nwb
    from neurodatashare.validation.types import Severity, ValidationResult

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
            ValidationResult(
                severity=Severity.CRITICAL,
                origin="file",
                check="unreadable",
                message=error,
                how_to_fix="Open the file with pynwb to find the problem, or export it again.",
            )
        ]
    return Processed(metadata, [r.model_dump(mode="json") for r in results], error)


class NWB:
    name = "nwb"
    media_type = NWB_ENCODING_FORMAT
    suffixes: tuple[str, ...] = (".nwb",)
    version = VALIDATOR_VERSION
    metadata_version = f"extract-{EXTRACTOR_VERSION}"
    # the streaming index and overview pyramid are built by archive/streaming.py and
    # archive/explore.py, scheduled by archive/processing.py
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes) -> bool:
        return path.lower().endswith(self.suffixes)

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        with _as_path(reader) as local:
            return analyse(local)

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["download", "tree", "neurodata-types"]


NWB_FORMAT = NWB()
