"""How we lay large datasets out on disk: one rule for chunks and compression, shared by
the demo generator and every converter.

Why these chunks
----------------
A later step streams NWB files over HTTP (one Range request per chunk, found through a
LINDI-style index), so the chunk is the unit a remote reader pays for. The two reads a
viewer makes of a raw extracellular recording are "one channel for about a second" (a
trace) and "every channel for about a second" (a raster/heat map or a spike-sorting
preview). With chunks that span *all* channels (up to 64) and a short stretch of time:

* an all-channel 1 s read touches 2-3 chunks whose bytes are almost all wanted;
* a one-channel 1 s read touches the same 2-3 chunks. It over-reads by the channel count,
  but for 64 int16 channels at 30 kHz that is ~4-6 MiB uncompressed (~2.5-3.5 MB on the
  wire): one or two round trips, fast on any network. Splitting channels finer would make
  the all-channel read cost 4-16 requests instead.

``ephys_chunks`` therefore keeps up to :data:`MAX_CHUNK_CHANNELS` (64) channels per chunk
(the same channel block NeuroConv and Neurosift use) and fills the chunk with time up to
:data:`EPHYS_CHUNK_BYTES` (2 MiB). For 64 int16 channels that is 16,384 samples (0.55 s at
30 kHz; 16 s for a 1 kHz LFP). 2 MiB rather than NeuroConv's 10 MB keeps the over-read of a
random 1 s window near 1.5x instead of 3.6x, while a one-hour 64-channel 30 kHz recording
still has only ~6,600 chunks, a modest index. The channel block is all channels of a
typical probe, so "one time window" is always a contiguous run of chunks in write order.

Why this compression
--------------------
gzip level 1 after the byte-shuffle filter. Both are built into every HDF5 library
(MATLAB, h5wasm in the browser, numcodecs for a LINDI/Zarr view), so no reader needs a
plugin. Measured on the demo's 64-channel int16 ephys (noise + LFP + spikes) on this
2-core machine, 20 chunks of (16384, 64):

=====================  ===========  ==========================
filters                write speed  stored size (of raw)
=====================  ===========  ==========================
shuffle + gzip 1       ~90 MB/s     59%  (decode ~4.5 ms/chunk)
gzip 1                 ~70 MB/s     72%
shuffle + gzip 4       ~75 MB/s     57%
lzf (h5py only)        ~260 MB/s    99%
none                   disk speed   100%
=====================  ===========  ==========================

shuffle + gzip 1 is the fastest filter that actually compresses: it streams 40% fewer
bytes than no compression, costs a one-channel 1 s read ~5 ms of decoding, and keeps the
four-file, 60 s demo (4 x 230 MB of raw ephys plus imaging) at ~30 s on one core and
~15 s on two, inside the one-minute budget. Higher gzip levels buy 2% for 20% more time.
"""

from __future__ import annotations

import math
from typing import Any

#: Upper bound on the uncompressed size of one ephys chunk.
EPHYS_CHUNK_BYTES = 2 * 1024 * 1024
#: Channels kept together in one chunk (every channel of a 64-site probe).
MAX_CHUNK_CHANNELS = 64
#: Upper bound on the uncompressed size of one imaging chunk (a handful of frames).
IMAGING_CHUNK_BYTES = 1024 * 1024

#: HDF5 filter settings for large numeric series: byte shuffle, then gzip level 1.
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


def ephys_chunks(n_samples: int, n_channels: int, itemsize: int) -> tuple[int, int]:
    """The chunk shape (samples, channels) for an extracellular series of this shape.

    Up to 64 channels per chunk and as many samples as fit in 2 MiB, rounded down to a
    multiple of 1024 samples, never more than the series holds (see the module docstring).

    >>> ephys_chunks(1_800_000, 64, 2)
    (16384, 64)
    >>> ephys_chunks(1_800_000, 384, 2)
    (16384, 64)
    >>> ephys_chunks(5_000, 4, 4)
    (5000, 4)
    """
    if n_samples < 1 or n_channels < 1 or itemsize < 1:
        raise ValueError(f"cannot chunk a series of shape ({n_samples}, {n_channels})")
    channels = min(n_channels, MAX_CHUNK_CHANNELS)
    samples = EPHYS_CHUNK_BYTES // (channels * itemsize)
    if samples >= 1024:
        samples -= samples % 1024
    return (max(1, min(samples, n_samples)), channels)


def imaging_chunks(n_frames: int, frame_shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """The chunk shape for an imaging series: whole frames, as many as fit in 1 MiB.

    A viewer scrubs through frames, so a chunk holds complete frames (one request per few
    frames); a ROI trace is served from the segmentation's response series, not from here.

    >>> imaging_chunks(1800, (128, 128), 2)
    (32, 128, 128)
    """
    if n_frames < 1:
        raise ValueError("cannot chunk an empty imaging series")
    frame_bytes = math.prod(frame_shape) * itemsize
    frames = max(1, IMAGING_CHUNK_BYTES // max(1, frame_bytes))
    return (min(frames, n_frames), *frame_shape)


def compression_for_neuroconv() -> tuple[list[str], list[dict[str, Any] | None]]:
    """:data:`COMPRESSION` in the form of NeuroConv's dataset configuration fields.

    Returns ``(compressors, compressor_options)`` for an ``HDF5DatasetIOConfiguration``.
    """
    return ["shuffle", "gzip"], [None, {"level": COMPRESSION["compression_opts"]}]
