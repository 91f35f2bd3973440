"""Asset formats as plugins: `register(fmt)` adds one, `format_for(path, head)` picks one.

Formats are tried in registration order (NWB first, then the community formats of other
scales: AnnData, SWC, NeuroML); plain files are the fallback.
"""

from __future__ import annotations

from neurodatashare.formats.anndata import ANNDATA
from neurodatashare.formats.base import Artifact, Format, Processed
from neurodatashare.formats.neuroml import NEUROML
from neurodatashare.formats.nwb import NWB_FORMAT
from neurodatashare.formats.plain import PLAIN
from neurodatashare.formats.swc import SWC

__all__ = ["Artifact", "Format", "Processed", "format_for", "formats", "register", "unregister"]

_FORMATS: list[Format] = [NWB_FORMAT, ANNDATA, SWC, NEUROML]


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
