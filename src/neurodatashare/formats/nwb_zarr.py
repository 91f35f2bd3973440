"""NWB stored as Zarr (`.nwb.zarr`, written by hdmf-zarr), a store format.

The same metadata and checks as HDF5 NWB (formats/nwb.py): the Zarr is opened from its
entries with hdmf-zarr's NWBZarrIO (nwb/zarr_read.py), and the open file goes through
nwb/extract.py and validation/run.py unchanged: pynwb's schema validation, the NWB
Inspector with DANDI's configuration, the structure findings and the archive's metadata
rules. Nothing is copied to disk: pynwb reads the attributes, the small arrays extraction
asks for, and two timestamps per series, each an entry of the Zarr.

The media type is `application/x-zarr`: DANDI's client writes it as the `encodingFormat` of
every Zarr asset, NWB-Zarr included (dandi/files/zarr.py, ZARR_MIME_TYPE).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.validation.run import VALIDATOR_VERSION

__all__ = ["NWB_ZARR", "NwbZarrFormat", "process_store"]

log = logging.getLogger("neurodatashare.formats.nwb_zarr")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from neurodatashare.nwb.extract import EXTRACTOR_VERSION

    try:
        hz = version("hdmf-zarr")
    except PackageNotFoundError:
        hz = "0"
    return f"{VALIDATOR_VERSION}+hdmf_zarr-{hz}+extract-{EXTRACTOR_VERSION}+nwbzarr-1"


def process_store(store: Mapping[str, bytes], *, path: str) -> Processed:
    """Metadata and findings of one NWB-Zarr; a file pynwb cannot read still gets its
    subject, session and stored types, and one that is not NWB its CRITICAL finding."""
    from neurodatashare.nwb.extract import asset_metadata_from_open
    from neurodatashare.nwb.read import NWBReadError
    from neurodatashare.nwb.zarr_read import open_nwb_zarr
    from neurodatashare.validation.run import (
        crash_as_warning,
        read_error_result,
        unreadable_result,
        validate_open_nwb,
    )

    metadata: dict[str, Any] | None
    try:
        with open_nwb_zarr(store, name=path.rstrip("/").rsplit("/", 1)[-1]) as nwb:
            results = validate_open_nwb(nwb)
            try:
                metadata = asset_metadata_from_open(nwb)
                error = None
            except Exception as exc:
                log.warning("metadata extraction failed for %s", path, exc_info=True)
                metadata, error = None, f"metadata extraction failed: {type(exc).__name__}"
    except NWBReadError as exc:
        results, metadata, error = [read_error_result(exc)], None, exc.message
    except Exception as exc:  # a store that fails to read (network, a damaged entry)
        log.warning("could not analyse %s", path, exc_info=True)
        error = f"The archive could not read this NWB-Zarr ({type(exc).__name__})."
        metadata = None
        results = [
            unreadable_result(
                error,
                how_to_fix="Open it with hdmf-zarr's NWBZarrIO to find the problem, or write "
                "it again.",
            )
        ]
    results = [crash_as_warning(r) for r in results]
    if metadata is not None:
        metadata["encodingFormat"] = NWB_ZARR.media_type
        metadata["nds:format"] = NWB_ZARR.name
    return Processed(metadata, [r.model_dump(mode="json") for r in results], error)


class NwbZarrFormat:
    name = "nwb-zarr"
    media_type = "application/x-zarr"
    suffixes: tuple[str, ...] = (".nwb.zarr",)
    version = _version()
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes = b"") -> bool:
        return path.lower().rstrip("/").endswith(self.suffixes)

    def process_store(self, store: Mapping[str, bytes], *, path: str) -> Processed:
        return process_store(store, path=path)

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["tree", "neurodata-types"]


NWB_ZARR = NwbZarrFormat()
