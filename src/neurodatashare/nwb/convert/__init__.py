"""Importers into NWB: NeuroConv interfaces for acquisition formats plus our own importers
for plain time series and CSV tables, behind one function, :func:`convert`.

Heavy libraries (pynwb, neuroconv, spikeinterface) are imported inside the functions
that use them, so importing this package is cheap.
"""

from __future__ import annotations

from neurodatashare.nwb.convert.formats import FORMATS, FormatSpec
from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks, imaging_chunks
from neurodatashare.nwb.convert.metadata import (
    EXAMPLE_YAML,
    ConversionMetadata,
    MetadataError,
    load_metadata,
    parse_metadata,
)
from neurodatashare.nwb.convert.pipeline import ConversionResult, convert

__all__ = [
    "COMPRESSION",
    "EXAMPLE_YAML",
    "FORMATS",
    "ConversionMetadata",
    "ConversionResult",
    "FormatSpec",
    "MetadataError",
    "convert",
    "ephys_chunks",
    "imaging_chunks",
    "load_metadata",
    "parse_metadata",
]
