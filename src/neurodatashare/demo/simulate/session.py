"""One demo session: every signal model run from one seed and one (subject, session) key."""

from __future__ import annotations

from dataclasses import dataclass

from neurodatashare.demo.simulate.ephys import (
    FS_RAW,
    N_CHANNELS,
    N_UNITS,
    EphysSignal,
    Lfp,
    Probe,
    Units,
    demo_probe,
    simulate_lfp,
    simulate_units,
)
from neurodatashare.demo.simulate.imaging import FRAME_SHAPE, N_ROIS, Imaging, simulate_imaging
from neurodatashare.demo.simulate.task import Behavior, Trials, simulate_behavior, simulate_trials


@dataclass(frozen=True)
class Session:
    seed: int
    key: tuple[int, ...]
    duration_s: float
    probe: Probe
    trials: Trials
    behavior: Behavior
    lfp: Lfp
    units: Units
    ephys: EphysSignal
    imaging: Imaging


def simulate_session(
    seed: int = 0,
    key: tuple[int, ...] = (0, 0),
    duration_s: float = 60.0,
    *,
    n_channels: int = N_CHANNELS,
    n_units: int = N_UNITS,
    n_rois: int = N_ROIS,
    frame_shape: tuple[int, int] = FRAME_SHAPE,
) -> Session:
    """Simulate one session's signals (cheap: the raw voltage is computed when read)."""
    probe = demo_probe(n_channels)
    trials = simulate_trials(seed, key, duration_s)
    behavior = simulate_behavior(seed, key, duration_s, trials)
    lfp = simulate_lfp(seed, key, duration_s, probe, behavior, trials)
    units = simulate_units(seed, key, duration_s, probe, lfp, behavior, trials, n_units)
    ephys = EphysSignal(
        seed=seed, key=key, n_samples=round(duration_s * FS_RAW), lfp=lfp, units=units
    )
    imaging = simulate_imaging(seed, key, duration_s, trials, n_rois, frame_shape)
    return Session(seed, key, duration_s, probe, trials, behavior, lfp, units, ephys, imaging)


def simulate_ephys(
    seed: int = 0,
    duration_s: float = 3.0,
    *,
    n_channels: int = N_CHANNELS,
    n_units: int = 12,
    key: tuple[int, ...] = (9, 0),
) -> tuple[Probe, Units, EphysSignal]:
    """Just the extracellular part of a session (for the acquisition-format writers)."""
    probe = demo_probe(n_channels)
    trials = simulate_trials(seed, key, max(duration_s, 3.0))
    behavior = simulate_behavior(seed, key, duration_s, trials)
    lfp = simulate_lfp(seed, key, duration_s, probe, behavior, trials)
    units = simulate_units(seed, key, duration_s, probe, lfp, behavior, trials, n_units)
    signal = EphysSignal(
        seed=seed, key=key, n_samples=round(duration_s * FS_RAW), lfp=lfp, units=units
    )
    return probe, units, signal
