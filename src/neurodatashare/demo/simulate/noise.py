"""Seeded random streams and the coloured noises the demo's signal models are built from."""

from __future__ import annotations

import numpy as np

# --- random streams: one independent stream per purpose, so changing one model never ---
# --- reshuffles another's numbers ------------------------------------------------------

_STREAMS = {
    "trials": 1,
    "behavior": 2,
    "lfp": 3,
    "units": 4,
    "noise": 5,
    "rois": 6,
    "calcium": 7,
    "frames": 8,
    "lfp_noise": 9,
    "ids": 10,
}


def rng_for(seed: int, *keys: int | str) -> np.random.Generator:
    """A generator for one purpose of one recording: independent of every other stream."""
    entropy = [seed] + [_STREAMS[k] if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(entropy)


def smooth_noise(rng: np.random.Generator, n: int, rate: float, tau_s: float) -> np.ndarray:
    """Unit-variance Ornstein-Uhlenbeck noise with time constant ``tau_s``."""
    a = np.exp(-1.0 / (rate * tau_s))
    w = rng.standard_normal(n) * np.sqrt(1 - a * a)
    out = np.empty(n)
    acc = rng.standard_normal()
    for i in range(n):  # n is small (behaviour rate x duration)
        acc = a * acc + w[i]
        out[i] = acc
    return out


def pink_noise(rng: np.random.Generator, n: int, rate: float, alpha: float = 1.0, lo: float = 0.5):
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    f[0] = 1.0
    spectrum /= np.maximum(f, lo) ** (alpha / 2)
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() + 1e-12)


def bandpass_noise(
    rng: np.random.Generator, n: int, rate: float, lo: float, hi: float
) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() + 1e-12)
