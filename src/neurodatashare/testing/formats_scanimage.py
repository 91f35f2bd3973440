"""A ScanImage 2020+ two-photon acquisition: a BigTIFF with ScanImage's own header.

ScanImage's files are BigTIFFs whose bytes 16.. hold a block of their own (the "ScanImage
BigTiff Specification" in ScanImage's documentation): uint32 magic 0x07030301, uint32
version 3, the byte lengths of the non-varying frame data and of the ROI data, the
non-varying data as MATLAB ``SI.key = value`` lines (NUL terminated), then the ROI groups
as JSON. Each page's ImageDescription carries the per-frame data (frame number,
timestamps, epoch) and the Software/Artist tags repeat the two blocks. tifffile reads all
of it (``read_scanimage_metadata``) but writes none of it, so the pages are laid out here
from the BigTIFF spec (16-byte header, 20-byte IFD entries, 64-bit offsets).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from neurodatashare.testing.formats_base import START, FormatSample

_SHORT, _ASCII, _LONG, _LONG8 = 3, 2, 4, 16


def _si_text(rate: float, n_frames: int) -> str:
    lines = {
        "SI.VERSION_MAJOR": "2020",
        "SI.VERSION_MINOR": "1",
        "SI.acqState": "'grab'",
        "SI.hChannels.channelSave": "1",
        "SI.hChannels.channelsActive": "1",
        "SI.hChannels.channelName": "{'Channel 1' 'Channel 2' 'Channel 3' 'Channel 4'}",
        "SI.hRoiManager.scanFrameRate": f"{rate:g}",
        "SI.hRoiManager.scanVolumeRate": f"{rate:g}",
        "SI.hRoiManager.linesPerFrame": "64",
        "SI.hRoiManager.pixelsPerLine": "64",
        "SI.hScan2D.logFramesPerFile": "Inf",
        "SI.hStackManager.enable": "false",
        "SI.hStackManager.numSlices": "1",
        "SI.hStackManager.framesPerSlice": str(n_frames),
        "SI.hStackManager.stackMode": "'slow'",
        "SI.hStackManager.numFramesPerVolume": "1",
        "SI.hStackManager.numFramesPerVolumeWithFlyback": "1",
        "SI.hFastZ.enable": "false",
        "SI.hScan2D.scanMode": "'resonant'",
    }
    return "\n".join(f"{k} = {v}" for k, v in lines.items()) + "\n"


def _entry(tag: int, typ: int, count: int, value: bytes) -> bytes:
    return struct.pack("<HHQ", tag, typ, count) + value.ljust(8, b"\0")


def write_scanimage(
    folder: Path, *, n_frames: int = 40, size: int = 64, rate: float = 30.0, seed: int = 18
) -> FormatSample:
    """``<name>_00001.tif``: ``n_frames`` int16 frames of ``size`` x ``size``, one channel,
    one plane, as a ScanImage 2020 "grab" writes them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    cell = np.exp(-((yy - size / 2) ** 2 + (xx - size / 3) ** 2) / 20.0)
    frames = (50 + 400 * cell[None] * rng.uniform(0.5, 1.5, (n_frames, 1, 1))).astype(np.int16)
    frames += rng.normal(0, 10, frames.shape).astype(np.int16)

    non_varying = _si_text(rate, n_frames).encode() + b"\0"
    rois = json.dumps(
        {"RoiGroups": {"imagingRoiGroup": {"ver": 1, "name": "Default", "rois": {}}}}
    ).encode()
    si_block = struct.pack("<IIII", 0x07030301, 3, len(non_varying), len(rois))
    si_block += non_varying + rois

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mouse01_fov1_00001.tif"
    body = bytearray(b"II" + struct.pack("<HHHQ", 43, 8, 0, 0) + si_block)
    next_ifd_at = 8  # where the previous IFD's "next IFD" offset goes
    epoch = f"[{START.year} {START.month} {START.day} {START.hour} {START.minute} {START.second}]"
    for i, frame in enumerate(frames):
        description = (
            f"frameNumbers = {i + 1}\nacquisitionNumbers = 1\nframeNumberAcquisition = {i + 1}\n"
            f"frameTimestamps_sec = {i / rate:.6f}\nacqTriggerTimestamps_sec = 0.000000\n"
            f"nextFileMarkerTimestamps_sec = -1.000000\nendOfAcquisition = "
            f"{int(i == n_frames - 1)}\nendOfAcquisitionMode = 0\ndcOverVoltage = 0\n"
            f"epoch = {epoch}\nauxTrigger0 = []\nauxTrigger1 = []\nauxTrigger2 = []\n"
            "auxTrigger3 = []\nI2CData = {}\n"
        ).encode() + b"\0"
        blobs: dict[int, int] = {}  # tag -> offset of its out-of-line value
        for tag, blob in ((270, description), (305, non_varying), (315, rois + b"\0")):
            blobs[tag] = len(body)
            body += blob
        data_at = len(body)
        body += frame.astype("<i2").tobytes()
        if len(body) % 2:
            body += b"\0"
        entries = [
            _entry(256, _LONG, 1, struct.pack("<I", size)),
            _entry(257, _LONG, 1, struct.pack("<I", size)),
            _entry(258, _SHORT, 1, struct.pack("<H", 16)),
            _entry(259, _SHORT, 1, struct.pack("<H", 1)),  # no compression
            _entry(262, _SHORT, 1, struct.pack("<H", 1)),  # black is zero
            _entry(270, _ASCII, len(description), struct.pack("<Q", blobs[270])),
            _entry(273, _LONG8, 1, struct.pack("<Q", data_at)),
            _entry(277, _SHORT, 1, struct.pack("<H", 1)),
            _entry(278, _LONG, 1, struct.pack("<I", size)),
            _entry(279, _LONG8, 1, struct.pack("<Q", frame.nbytes)),
            _entry(284, _SHORT, 1, struct.pack("<H", 1)),
            _entry(305, _ASCII, len(non_varying), struct.pack("<Q", blobs[305])),
            _entry(315, _ASCII, len(rois) + 1, struct.pack("<Q", blobs[315])),
            _entry(339, _SHORT, 1, struct.pack("<H", 2)),  # signed integers
        ]
        ifd_at = len(body)
        body[next_ifd_at : next_ifd_at + 8] = struct.pack("<Q", ifd_at)
        body += struct.pack("<Q", len(entries)) + b"".join(entries)
        next_ifd_at = len(body)
        body += struct.pack("<Q", 0)
    path.write_bytes(bytes(body))
    return FormatSample(
        "scanimage",
        "ScanImageImagingInterface",
        {"file_path": str(path)},
        "BigTIFF + ScanImage header spec (tifffile reads, does not write it)",
        metadata={"Ophys": {"Device": [{"name": "Microscope"}]}},
    )
