"""Asset formats as plugins: `register(fmt)` adds one, `format_for(path, head)` picks one.

Formats are tried in registration order (NWB first, then the community formats of other
scales: AnnData, SWC, NeuroML); plain files are the fallback.
"""

from __future__ import annotations

from neurodatashare.formats.anndata import ANNDATA
from neurodatashare.formats.base import Artifact, Format, Processed, StoreFormat
from neurodatashare.formats.neuroml import NEUROML
from neurodatashare.formats.nwb import NWB_FORMAT
from neurodatashare.formats.nwb_zarr import NWB_ZARR
from neurodatashare.formats.ome_zarr import OME_ZARR
from neurodatashare.formats.plain import PLAIN
from neurodatashare.formats.swc import SWC

__all__ = [
    "ZARR_FORMAT_NAME",
    "ZARR_MEDIA_TYPE",
    "Artifact",
    "Format",
    "Processed",
    "StoreFormat",
    "format_for",
    "formats",
    "register",
    "register_store_format",
    "store_format_for",
    "store_formats",
    "unregister",
    "unregister_store_format",
]

_FORMATS: list[Format] = [NWB_FORMAT, ANNDATA, SWC, NEUROML]
# Formats of Zarr assets (OME-Zarr, NWB-Zarr, ...); a Zarr none claims is a plain Zarr.
_STORE_FORMATS: list[StoreFormat] = [OME_ZARR, NWB_ZARR]
ZARR_FORMAT_NAME, ZARR_MEDIA_TYPE = "zarr", "application/x-zarr"  # as the dandi client sets


def register(fmt: Format) -> None:
    """Add a format (a later registration of the same name replaces the earlier one)."""
    unregister(fmt.name)
    _FORMATS.append(fmt)


def unregister(name: str) -> None:
    _FORMATS[:] = [f for f in _FORMATS if f.name != name]


def formats() -> list[Format]:
    """The registered formats, in the order they are tried (plain not included)."""
    return list(_FORMATS)


def format_for(path: str, head: bytes = b"") -> Format:
    for fmt in _FORMATS:
        if fmt.claims(path, head):
            return fmt
    return PLAIN


def media_type(path: str, head: bytes = b"") -> str:
    """The format's media type for `path` (its `media_type_for(path)` when it has one)."""
    fmt = format_for(path, head)
    by_path = getattr(fmt, "media_type_for", None)
    return by_path(path) if callable(by_path) else fmt.media_type


def register_store_format(fmt: StoreFormat) -> None:
    """Add a Zarr format (a later registration of the same name replaces the earlier one).
    Later registrations are tried first, so a specific suffix (".ome.zarr") registered
    after a general one wins."""
    unregister_store_format(fmt.name)
    _STORE_FORMATS.insert(0, fmt)


def unregister_store_format(name: str) -> None:
    _STORE_FORMATS[:] = [f for f in _STORE_FORMATS if f.name != name]


def store_formats() -> list[StoreFormat]:
    return list(_STORE_FORMATS)


def store_format_for(path: str) -> StoreFormat | None:
    """The format of the Zarr asset at `path`, or None for a plain Zarr."""
    for fmt in _STORE_FORMATS:
        if fmt.claims(path):
            return fmt
    return None
