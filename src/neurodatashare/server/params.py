"""Typed, bounded query parameters shared by every route.

Each number a URL can carry has a type here with its range; FastAPI checks it before the
route runs and the validation handler (server/errors.py) answers 400 naming the parameter.
So `inf`, `nan`, `1e308`, `5e-324` or a 400-digit integer never reach the code below.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

# Times in seconds: a century either side of the file's zero is more than any recording.
MAX_SECONDS = 100 * 365.25 * 86400
# Counts and offsets: far beyond any real table, well inside a 64-bit database integer.
MAX_COUNT = 2**40
MAX_PAGE = 2**31 - 1

Seconds = Annotated[
    float,
    Query(
        allow_inf_nan=False,
        ge=-MAX_SECONDS,
        le=MAX_SECONDS,
        description="A time in seconds (finite, within a century of the file's zero).",
    ),
]
Duration = Annotated[
    float,
    Query(
        allow_inf_nan=False,
        ge=0,
        le=86400,
        description="A duration in seconds, 0 to 86400.",
    ),
]
BinWidth = Annotated[
    float,
    Query(
        allow_inf_nan=False,
        ge=1e-6,
        le=86400,
        description="A bin width in seconds, 0.000001 to 86400.",
    ),
]
#: Byte ranges of one request (repeated `offset` and `length`), at most this many.
MAX_RANGES = 100
ByteOffsets = Annotated[
    list[Annotated[int, Field(ge=0, le=2**50)]],
    Query(min_length=1, max_length=MAX_RANGES, description="Byte offsets, from 0 (1 to 100)."),
]
ByteLengths = Annotated[
    list[Annotated[int, Field(ge=1, le=2**30)]],
    Query(
        min_length=1,
        max_length=MAX_RANGES,
        description="Numbers of bytes, 1 to 1 GiB each, one for each offset.",
    ),
]
Index = Annotated[int, Query(ge=0, le=MAX_COUNT, description="A row or frame index, from 0.")]
Offset = Annotated[int, Query(ge=0, le=MAX_COUNT, description="Rows to skip, from 0.")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
Limit = Annotated[int, Query(ge=1, le=MAX_COUNT, description="At most this many items.")]
PixelWidth = Annotated[
    int, Query(ge=10, le=10_000, description="The plot's width in pixels, 10 to 10,000.")
]
# Fields of signed links: checked by their signature; bounded so arithmetic never overflows.
Epoch = Annotated[int, Query(ge=0, le=2**62, description="Expiry, in seconds since 1970.")]
Size = Annotated[int, Query(ge=0, le=2**62, description="A size in bytes.")]
PartNumber = Annotated[int, Path(ge=1, le=10_000, description="Upload part number, from 1.")]
# Sholl radii steps, in the morphology's own units (µm, or nm for files in nanometres).
RadiusStep = Annotated[
    float,
    Query(
        allow_inf_nan=False,
        gt=0,
        le=1e9,
        description="A radius step in the morphology's units, above 0 and at most 10^9.",
    ),
]
# Embedding windows (expression views): plot coordinates, whatever the embedding's scale.
MAX_COORDINATE = 1e15
Coordinate = Annotated[
    float,
    Query(
        allow_inf_nan=False,
        ge=-MAX_COORDINATE,
        le=MAX_COORDINATE,
        description="A plot coordinate (finite, within ±1e15).",
    ),
]
PixelHeight = Annotated[
    int, Query(ge=10, le=10_000, description="The plot's height in pixels, 10 to 10,000.")
]
BinPixels = Annotated[int, Query(ge=1, le=64, description="Pixels per density bin, 1 to 64.")]
# The slice viewer (routes/volumes.py): positions in a volume's full-resolution voxels, the
# image's size in pixels (capped: one image reads O(screen) chunks), a pyramid level.
MAX_VOXEL = 2**40
Voxel = Annotated[
    float,
    Query(
        allow_inf_nan=False,
        ge=-MAX_VOXEL,
        le=MAX_VOXEL,
        description="A position in full-resolution voxels (finite, within ±2^40).",
    ),
]
ImagePixels = Annotated[
    int, Query(ge=1, le=2048, description="An image side in pixels, 1 to 2,048.")
]
VolumeLevel = Annotated[
    int, Query(ge=0, le=64, description="A pyramid level, 0 (full resolution) to 64.")
]
