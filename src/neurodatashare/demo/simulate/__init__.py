"""The demo's signal models, seeded per purpose (numpy only; pynwb is not needed here)."""

from neurodatashare.demo.simulate.ephys import (
    FS_LFP,
    FS_RAW,
    N_CHANNELS,
    N_UNITS,
    NOISE_UV,
    TEMPLATE_SAMPLES,
    TROUGH_SAMPLE,
    UV_PER_BIT,
    EphysSignal,
    Lfp,
    Probe,
    Units,
    demo_probe,
    simulate_lfp,
    simulate_units,
)
from neurodatashare.demo.simulate.imaging import (
    FRAME_RATE,
    FRAME_SHAPE,
    N_ROIS,
    UM_PER_PIXEL,
    Imaging,
    simulate_imaging,
)
from neurodatashare.demo.simulate.noise import rng_for
from neurodatashare.demo.simulate.session import Session, simulate_ephys, simulate_session
from neurodatashare.demo.simulate.task import (
    BEHAVIOR_RATE,
    Behavior,
    Trials,
    simulate_behavior,
    simulate_trials,
)

__all__ = [
    "BEHAVIOR_RATE",
    "FRAME_RATE",
    "FRAME_SHAPE",
    "FS_LFP",
    "FS_RAW",
    "NOISE_UV",
    "N_CHANNELS",
    "N_ROIS",
    "N_UNITS",
    "TEMPLATE_SAMPLES",
    "TROUGH_SAMPLE",
    "UM_PER_PIXEL",
    "UV_PER_BIT",
    "Behavior",
    "EphysSignal",
    "Imaging",
    "Lfp",
    "Probe",
    "Session",
    "Trials",
    "Units",
    "demo_probe",
    "rng_for",
    "simulate_behavior",
    "simulate_ephys",
    "simulate_imaging",
    "simulate_lfp",
    "simulate_session",
    "simulate_trials",
    "simulate_units",
]
