"""NWB files whose objects need a view chosen by neurodata type, not by shape.

One small file (about 2 MB) written with pynwb the way other labs' pipelines write them,
holding one object of every type the explorer draws specially:

* ``SpikeEventSeries`` (events x channels x samples) of spike snippets, two units' shapes;
* ``DecompositionSeries`` (time x channels x bands) of band power, with its bands table;
* a colour ``ImageSeries`` (frames, x, y, 3) of a moving dot (behaviour video);
* ``Images`` holding a ``GrayscaleImage``, an ``RGBImage`` and an ``RGBAImage``;
* an ``IntervalSeries`` of stimulus on/off times;
* an event table: a ``DynamicTable`` whose only column is ``timestamp``;
* electrodes (two groups), devices, a subject and full session metadata, so the asset
  page's overview has something to show.

The series start at 100 s, far from 0, so a view that opens on a window holding none of
its data must move the window to the object's span. ``write_views_file(path)`` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodatashare.testing.nwbfiles import make_nwbfile

#: Where the views file keeps each object (what the tests open).
SPIKE_EVENTS = "/processing/ecephys/SpikeEvents"
DECOMPOSITION = "/processing/ecephys/BandPower"
COLOUR_VIDEO = "/acquisition/BehaviorVideo"
IMAGES = "/acquisition/StimulusImages"
GRAY_IMAGE = f"{IMAGES}/gray"
RGB_IMAGE = f"{IMAGES}/rgb"
RGBA_IMAGE = f"{IMAGES}/rgba"
INTERVALS = "/stimulus/presentation/StimulusOnOff"
EVENT_TABLE = "/processing/behavior/RewardEvents"
T_START = 100.0  # s: every series starts here, not at 0
N_SNIPPETS = 600
SNIPPET_SAMPLES = 40
SNIPPET_CHANNELS = 4
BANDS = (("theta", 4.0, 8.0), ("alpha", 8.0, 12.0), ("beta", 13.0, 30.0), ("gamma", 30.0, 80.0))


def _snippets(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(times, data in volts): two spike shapes on 4 channels, with noise."""
    t = np.arange(SNIPPET_SAMPLES)
    trough = -np.exp(-0.5 * ((t - 12) / 2.0) ** 2) + 0.35 * np.exp(-0.5 * ((t - 20) / 4.0) ** 2)
    shapes = np.stack(
        [
            np.outer(trough, [1.0, 0.6, 0.25, 0.1]) * 80e-6,
            np.outer(np.roll(trough, 3), [0.1, 0.3, 0.9, 0.5]) * 120e-6,
        ]
    )
    which = rng.integers(0, 2, N_SNIPPETS)
    data = shapes[which] + rng.normal(0, 6e-6, (N_SNIPPETS, SNIPPET_SAMPLES, SNIPPET_CHANNELS))
    times = T_START + np.sort(rng.uniform(0, 60, N_SNIPPETS))
    # NWB stores SpikeEventSeries data as (events, channels, samples)
    return times, np.ascontiguousarray(data.transpose(0, 2, 1)).astype(np.float32)


def _band_power(rng: np.random.Generator, n: int, rate: float, channels: int) -> np.ndarray:
    """(time, channels, bands): slowly varying power, theta waxing and waning."""
    t = np.arange(n) / rate
    base = np.array([4.0, 2.0, 1.0, 0.5])
    out = np.empty((n, channels, len(BANDS)), dtype=np.float32)
    for c in range(channels):
        for b in range(len(BANDS)):
            wave = 1 + 0.6 * np.sin(2 * np.pi * t / (8 + 3 * b) + c)
            out[:, c, b] = base[b] * wave * rng.lognormal(0, 0.1, n)
    return out


def _video(n_frames: int, size: int) -> np.ndarray:
    """(frames, x, y, 3) uint8: a red dot circling on a blue-green gradient."""
    x = np.arange(size)[:, None]
    y = np.arange(size)[None, :]
    frames = np.empty((n_frames, size, size, 3), dtype=np.uint8)
    for i in range(n_frames):
        angle = 2 * np.pi * i / n_frames
        cx = size / 2 + size / 3 * np.cos(angle)
        cy = size / 2 + size / 3 * np.sin(angle)
        dot = (x - cx) ** 2 + (y - cy) ** 2 < (size / 10) ** 2
        frames[i, ..., 0] = np.where(dot, 230, 20)
        frames[i, ..., 1] = np.where(dot, 30, (y * 200 // size).astype(np.uint8))
        frames[i, ..., 2] = np.where(dot, 30, (x * 200 // size).astype(np.uint8))
    return frames


def _pictures(size: int) -> dict[str, np.ndarray]:
    """Stored as NWB does, (x, y[, channels]): a grey ramp, RGB stripes, RGBA fading."""
    x = np.arange(size)[:, None] * np.ones((1, size))
    y = np.ones((size, 1)) * np.arange(size)[None, :]
    gray = (x + y) * 255 / (2 * size - 2)
    rgb = np.zeros((size, size, 3))
    rgb[..., 0] = np.where(x < size / 3, 255, 0)
    rgb[..., 1] = np.where((x >= size / 3) & (x < 2 * size / 3), 255, 0)
    rgb[..., 2] = np.where(x >= 2 * size / 3, 255, 0)
    rgba = np.concatenate([rgb[..., ::-1], (y * 255 / (size - 1))[..., None]], axis=2)
    return {
        "gray": gray.astype(np.uint8),
        "rgb": rgb.astype(np.uint8),
        "rgba": rgba.astype(np.uint8),
    }


def build_views_nwbfile(*, seed: int = 7) -> Any:
    """The NWBFile (not written): see the module docs for what it holds."""
    from hdmf.common import DynamicTable, VectorData
    from pynwb.base import Images
    from pynwb.ecephys import SpikeEventSeries
    from pynwb.image import GrayscaleImage, ImageSeries, RGBAImage, RGBImage
    from pynwb.misc import DecompositionSeries, FrequencyBandsTable, IntervalSeries

    rng = np.random.default_rng(seed)
    nwb = make_nwbfile(
        identifier="nds-views-0001",
        session_description="Views corpus: one object of every type with its own view",
        keywords=["views", "spike snippets", "band power"],
    )
    probe = nwb.create_device(name="probe", description="4-shank silicon probe")
    nwb.create_device(name="camera", description="behaviour camera")
    groups = [
        nwb.create_electrode_group(
            name=f"shank{k}", description=f"shank {k}", location="CA1", device=probe
        )
        for k in range(2)
    ]
    for i in range(8):
        nwb.add_electrode(group=groups[i // 4], location="CA1" if i < 4 else "DG")

    ecephys = nwb.create_processing_module("ecephys", "spike snippets and band power")
    times, snippets = _snippets(rng)
    region = nwb.create_electrode_table_region(list(range(SNIPPET_CHANNELS)), "shank0 channels")
    ecephys.add(
        SpikeEventSeries(
            name="SpikeEvents",
            description="threshold crossings, 40 samples at 30 kHz",
            data=snippets,
            timestamps=times,
            electrodes=region,
        )
    )
    rate = 50.0
    n = int(60 * rate)
    bands = FrequencyBandsTable()
    for name, low, high in BANDS:
        bands.add_band(band_name=name, band_limits=[low, high])
    ecephys.add(
        DecompositionSeries(
            name="BandPower",
            description="band power of the LFP",
            data=_band_power(rng, n, rate, 2),
            metric="power",
            unit="uV^2",
            rate=rate,
            starting_time=T_START,
            bands=bands,
        )
    )

    nwb.add_acquisition(
        ImageSeries(
            name="BehaviorVideo",
            description="colour video of the arena",
            data=_video(30, 48),
            unit="n.a.",
            rate=10.0,
            starting_time=T_START,
        )
    )
    pics = _pictures(32)
    nwb.add_acquisition(
        Images(
            name="StimulusImages",
            description="the stimulus pictures",
            images=[
                GrayscaleImage(name="gray", data=pics["gray"], description="grey ramp"),
                RGBImage(name="rgb", data=pics["rgb"], description="red, green, blue stripes"),
                RGBAImage(name="rgba", data=pics["rgba"], description="stripes fading in"),
            ],
        )
    )
    on = T_START + np.arange(0, 60, 5.0)
    stamps = np.sort(np.concatenate([on, on + 2.0]))
    values = np.tile([1, -1], len(on)).astype(np.int8)
    nwb.add_stimulus(
        IntervalSeries(
            name="StimulusOnOff",
            description="stimulus on (1) and off (-1)",
            data=values,
            timestamps=stamps,
        )
    )
    behavior = nwb.create_processing_module("behavior", "rewards")
    rewards = T_START + np.sort(rng.uniform(0, 60, 25))
    behavior.add(
        DynamicTable(
            name="RewardEvents",
            description="times of water rewards",
            columns=[VectorData(name="timestamp", description="reward time (s)", data=rewards)],
        )
    )
    return nwb


def write_views_file(path: Path, *, seed: int = 7) -> Path:
    """Write the views file to ``path`` (a ``.nwb``) and return the path."""
    from pynwb import NWBHDF5IO

    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(build_views_nwbfile(seed=seed))
    return path
