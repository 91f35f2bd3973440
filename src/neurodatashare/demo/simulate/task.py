"""The visual task (trials of drifting gratings) and the mouse's behaviour in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodatashare.demo.simulate.noise import rng_for, smooth_noise

BEHAVIOR_RATE = 50.0  # Hz


@dataclass(frozen=True)
class Trials:
    start: np.ndarray
    stop: np.ndarray
    stim_on: np.ndarray
    stim_off: np.ndarray
    orientation: np.ndarray  # degrees
    contrast: np.ndarray
    go: np.ndarray  # bool: lick to 0 and 45 degree gratings
    correct: np.ndarray
    response_time: np.ndarray  # first lick in the response window, NaN if none

    def __len__(self) -> int:
        return int(self.start.size)

    def stimulus_drive(self, t: np.ndarray, preferred_deg: float, kappa: float = 2.0) -> np.ndarray:
        """0..1: how strongly the grating on screen at times ``t`` drives a tuned cell."""
        out = np.zeros_like(t, dtype=np.float64)
        for on, off, ori, c in zip(
            self.stim_on, self.stim_off, self.orientation, self.contrast, strict=True
        ):
            a, b = np.searchsorted(t, [on, off])
            delta = np.deg2rad(ori - preferred_deg) * 2.0  # orientation has a 180 deg period
            out[a:b] = c * np.exp(kappa * (np.cos(delta) - 1.0))
        return out


@dataclass(frozen=True)
class Behavior:
    rate: float
    xy: np.ndarray  # (n, 2) metres in a 1 m x 1 m virtual arena
    speed: np.ndarray  # (n,) m/s
    lick_times: np.ndarray

    @property
    def t(self) -> np.ndarray:
        return np.arange(self.speed.size) / self.rate


ORIENTATIONS = np.array([0.0, 45.0, 90.0, 135.0])
CONTRASTS = np.array([0.1, 0.25, 0.5, 1.0])


def simulate_trials(seed: int, key: tuple[int, ...], duration_s: float) -> Trials:
    rng = rng_for(seed, *key, "trials")
    starts: list[float] = []
    t = 0.5 + rng.uniform(0, 0.5)
    while t + 3.0 <= duration_s:
        starts.append(t)
        t += 3.0 + rng.uniform(0.5, 1.5)
    n = len(starts)
    start = np.array(starts)
    stim_on = start + 0.5
    stim_off = stim_on + 1.0
    stop = start + 3.0
    orientation = rng.choice(ORIENTATIONS, n)
    contrast = rng.choice(CONTRASTS, n)
    go = orientation < 90
    p_correct = 0.55 + 0.4 * contrast
    correct = rng.random(n) < p_correct
    licked = go == correct
    response_time = np.where(licked, stim_on + rng.uniform(0.25, 0.8, n), np.nan)
    return Trials(
        start=start,
        stop=stop,
        stim_on=stim_on,
        stim_off=stim_off,
        orientation=orientation,
        contrast=contrast,
        go=go,
        correct=correct,
        response_time=response_time,
    )


def simulate_behavior(
    seed: int, key: tuple[int, ...], duration_s: float, trials: Trials
) -> Behavior:
    rng = rng_for(seed, *key, "behavior")
    n = round(duration_s * BEHAVIOR_RATE)
    # running speed: bouts of running with rests, 0 to ~0.5 m/s, smoothed over 0.3 s
    drive = smooth_noise(rng, n, BEHAVIOR_RATE, 4.0)
    speed = 0.05 * np.log1p(np.exp(3.0 * drive))
    kernel = np.ones(15) / 15
    speed = np.convolve(np.pad(speed, 7, mode="edge"), kernel, mode="valid")
    heading = np.cumsum(smooth_noise(rng, n, BEHAVIOR_RATE, 1.0) * 0.08)
    xy = np.empty((n, 2))
    pos = np.array([0.5, 0.5])
    dt = 1.0 / BEHAVIOR_RATE
    for i in range(n):
        step = speed[i] * dt * np.array([np.cos(heading[i]), np.sin(heading[i])])
        pos = pos + step
        for d in range(2):  # reflect at the walls
            if pos[d] < 0.02:
                pos[d] = 0.04 - pos[d]
                heading[i:] += np.pi / 2
            elif pos[d] > 0.98:
                pos[d] = 1.96 - pos[d]
                heading[i:] += np.pi / 2
        xy[i] = pos
    # licks: ~7 Hz bursts from each response, plus rare spontaneous licks
    licks: list[np.ndarray] = []
    for rt in trials.response_time[np.isfinite(trials.response_time)]:
        k = int(rng.integers(3, 9))
        licks.append(rt + np.cumsum(rng.normal(0.14, 0.015, k)) - 0.14)
    n_spont = max(1, int(rng.poisson(0.05 * duration_s)))
    licks.append(rng.uniform(0, duration_s, n_spont))
    lick_times = np.sort(np.concatenate(licks)) if licks else np.array([])
    lick_times = lick_times[(lick_times > 0) & (lick_times < duration_s)]
    return Behavior(
        rate=BEHAVIOR_RATE, xy=xy.round(5), speed=speed.round(5), lick_times=lick_times.round(4)
    )
