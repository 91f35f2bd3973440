"""A realistic, seeded, multi-modal demo dataset: 2 mice x 2 sessions of simultaneous
extracellular ephys, two-photon imaging and behaviour in a visual task, as NWB files laid
out the way ``dandi organize`` names them.

Everything is simulated from one seed, and the signals are consistent with each other:
the raw voltage holds the sorted units' spikes (at exactly their spike times, with their
mean waveforms) on top of the LFP and noise; visual-cortex units and ROIs are tuned to the
trials' grating orientation and scale with contrast; hippocampal units lock to the LFP's
theta rhythm, whose power follows running speed; licks follow the task's go trials.

The same seed gives byte-identical files (object ids, identifiers and creation dates are
all derived from the seed) for a given version of neurodatashare and its libraries on a
given machine; across machines the data values agree up to floating-point rounding of
the imaging model's matrix products.

The signal models here (:class:`EphysSignal`, :func:`simulate_session`) also feed the
acquisition-format writers in :mod:`neurodatashare.testing.formats`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pynwb import NWBFile

# --- fixed acquisition parameters --------------------------------------------------------

FS_RAW = 30_000.0  # Hz, raw extracellular sampling rate
FS_LFP = 1_000.0  # Hz
N_CHANNELS = 64
UV_PER_BIT = 0.195  # Intan-style amplifier resolution
FRAME_RATE = 30.0  # Hz, two-photon frame rate
FRAME_SHAPE = (128, 128)
UM_PER_PIXEL = 3.9  # 500 um field of view
BEHAVIOR_RATE = 50.0  # Hz
N_UNITS = 30
N_ROIS = 40
TEMPLATE_SAMPLES = 64  # 2.1 ms at 30 kHz
TROUGH_SAMPLE = 20
REFRACTORY_SAMPLES = 75  # 2.5 ms, longer than a template so a unit's spikes never overlap
NOISE_BLOCK = 16_384  # samples per independently seeded block of noise
NOISE_UV = 7.0
WAVEFORM_CHANNELS = 8  # nearest channels kept in the units table's mean waveforms
TZ = timezone(timedelta(hours=1), "CET")
NAMESPACE = uuid.UUID("5d0b6a7e-2f43-4c1e-9b1a-6f3f2d0e8a11")

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


# --- subjects and sessions ------------------------------------------------------------


@dataclass(frozen=True)
class DemoSubject:
    subject_id: str
    sex: str
    age_days: int  # at the first session
    genotype: str
    strain: str
    weight_kg: float
    first_session: datetime


DEMO_SUBJECTS: tuple[DemoSubject, ...] = (
    DemoSubject(
        subject_id="mouse01",
        sex="F",
        age_days=90,
        genotype="Camk2a-tTA/wt;tetO-GCaMP6s/wt",
        strain="C57BL/6J",
        weight_kg=0.022,
        first_session=datetime(2024, 3, 4, 10, 15, tzinfo=TZ),
    ),
    DemoSubject(
        subject_id="mouse02",
        sex="M",
        age_days=97,
        genotype="Camk2a-tTA/wt;tetO-GCaMP6s/wt",
        strain="C57BL/6J",
        weight_kg=0.026,
        first_session=datetime(2024, 3, 4, 14, 40, tzinfo=TZ),
    ),
)
DEMO_SESSIONS: tuple[str, ...] = ("day1", "day2")
MODALITIES = "behavior+ecephys+ophys"  # what `dandi organize` derives for these files (sorted)


def demo_relpath(subject_id: str, session_id: str) -> str:
    """The DANDI-style path of one demo file, e.g. ``sub-mouse01/sub-mouse01_ses-day1_...nwb``."""
    return f"sub-{subject_id}/sub-{subject_id}_ses-{session_id}_{MODALITIES}.nwb"


# --- probe ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A two-shank, 64-site silicon probe crossing visual cortex into the hippocampus."""

    x_um: np.ndarray  # across the shanks
    y_um: np.ndarray  # height above the tip (depth increases as y falls)
    shank: np.ndarray
    region: tuple[str, ...]

    @property
    def n_channels(self) -> int:
        return int(self.x_um.size)


def demo_probe(n_channels: int = N_CHANNELS) -> Probe:
    """Two shanks 250 um apart, sites every 50 um: DG at the tip, then CA1, then VISp."""
    per_shank = n_channels // 2
    site = np.arange(n_channels) % per_shank
    shank = np.arange(n_channels) // per_shank
    y = site * 50.0
    x = shank * 250.0 + np.where(site % 2 == 0, 0.0, 16.0)
    region = tuple("DG" if yy < 500 else "CA1" if yy < 1000 else "VISp" for yy in y)
    return Probe(x_um=x, y_um=y, shank=shank, region=region)


# --- task and behaviour --------------------------------------------------------------


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


def _smooth_noise(rng: np.random.Generator, n: int, rate: float, tau_s: float) -> np.ndarray:
    """Unit-variance Ornstein-Uhlenbeck noise with time constant ``tau_s``."""
    a = np.exp(-1.0 / (rate * tau_s))
    w = rng.standard_normal(n) * np.sqrt(1 - a * a)
    out = np.empty(n)
    acc = rng.standard_normal()
    for i in range(n):  # n is small (behaviour rate x duration)
        acc = a * acc + w[i]
        out[i] = acc
    return out


def simulate_behavior(
    seed: int, key: tuple[int, ...], duration_s: float, trials: Trials
) -> Behavior:
    rng = rng_for(seed, *key, "behavior")
    n = round(duration_s * BEHAVIOR_RATE)
    # running speed: bouts of running with rests, 0 to ~0.5 m/s, smoothed over 0.3 s
    drive = _smooth_noise(rng, n, BEHAVIOR_RATE, 4.0)
    speed = 0.05 * np.log1p(np.exp(3.0 * drive))
    kernel = np.ones(15) / 15
    speed = np.convolve(np.pad(speed, 7, mode="edge"), kernel, mode="valid")
    heading = np.cumsum(_smooth_noise(rng, n, BEHAVIOR_RATE, 1.0) * 0.08)
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


# --- LFP -----------------------------------------------------------------------------


def _pink(rng: np.random.Generator, n: int, rate: float, alpha: float = 1.0, lo: float = 0.5):
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    f[0] = 1.0
    spectrum /= np.maximum(f, lo) ** (alpha / 2)
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() + 1e-12)


def _bandpass(rng: np.random.Generator, n: int, rate: float, lo: float, hi: float) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() + 1e-12)


@dataclass(frozen=True)
class Lfp:
    rate: float
    uv: np.ndarray  # (n, channels) float32 microvolts
    theta_phase: np.ndarray  # (n,) radians


def simulate_lfp(
    seed: int,
    key: tuple[int, ...],
    duration_s: float,
    probe: Probe,
    behavior: Behavior,
    trials: Trials,
) -> Lfp:
    rng = rng_for(seed, *key, "lfp")
    n = round(duration_s * FS_LFP)
    t = np.arange(n) / FS_LFP
    speed = np.interp(t, behavior.t, behavior.speed)
    # theta: 6-9 Hz, stronger and faster while running
    freq = 6.5 + 6.0 * speed + 0.3 * _bandpass(rng, n, FS_LFP, 0.05, 0.5)
    phase = 2 * np.pi * np.cumsum(freq) / FS_LFP + rng.uniform(0, 2 * np.pi)
    theta = np.cos(phase) * (0.35 + 2.5 * speed)
    slow = _bandpass(rng, n, FS_LFP, 0.5, 4.0)
    gamma = _bandpass(rng, n, FS_LFP, 30.0, 70.0) * (
        0.2 + trials.stimulus_drive(t, preferred_deg=0.0, kappa=0.0)
    )
    common = _pink(rng, n, FS_LFP)
    y = probe.y_um
    hippo = np.clip((1000.0 - y) / 200.0, 0, 1)  # 1 in DG/CA1, 0 in cortex
    theta_gain = 220.0 * np.tanh((y - 650.0) / 150.0) * hippo + 30.0 * (1 - hippo)
    slow_gain = 40.0 + 110.0 * (1 - hippo)
    gamma_gain = 25.0 * (1 - hippo)
    uv = (
        theta[:, None] * theta_gain[None, :]
        + slow[:, None] * slow_gain[None, :]
        + gamma[:, None] * gamma_gain[None, :]
        + common[:, None] * 35.0
    )
    # a little independent 1/f activity per channel, smooth along the shank
    local = np.stack([_pink(rng, n, FS_LFP, lo=2.0) for _ in range(4)], axis=1)
    weights = np.exp(-np.abs(y[None, :] - np.array([200, 600, 1000, 1400])[:, None]) / 300.0)
    uv += 12.0 * local @ weights
    return Lfp(rate=FS_LFP, uv=uv.astype(np.float32), theta_phase=np.mod(phase, 2 * np.pi))


# --- units ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Units:
    fs: float
    spike_samples: list[np.ndarray]  # per unit, sample index of the trough, sorted
    templates: np.ndarray  # (units, TEMPLATE_SAMPLES, channels) float32 microvolts
    peak_channel: np.ndarray
    region: tuple[str, ...]
    quality: tuple[str, ...]

    @property
    def n_units(self) -> int:
        return len(self.spike_samples)

    def spike_times(self, unit: int) -> np.ndarray:
        return self.spike_samples[unit] / self.fs

    def nearest_channels(self, unit: int, probe: Probe, k: int = WAVEFORM_CHANNELS) -> np.ndarray:
        p = self.peak_channel[unit]
        d = np.hypot(probe.x_um - probe.x_um[p], probe.y_um - probe.y_um[p])
        return np.sort(np.argsort(d, kind="stable")[:k])


def _waveform(rng: np.random.Generator) -> np.ndarray:
    """A trough-then-peak extracellular spike, trough at TROUGH_SAMPLE, minimum -1."""
    t = (np.arange(TEMPLATE_SAMPLES) - TROUGH_SAMPLE) / FS_RAW * 1e3  # ms
    narrow = rng.random() < 0.3  # fast-spiking interneuron
    w_trough = 0.12 if narrow else 0.2
    w_peak = 0.18 if narrow else 0.35
    lag = 0.3 if narrow else 0.55
    w = -np.exp(-0.5 * (t / w_trough) ** 2) + rng.uniform(0.25, 0.45) * np.exp(
        -0.5 * ((t - lag) / w_peak) ** 2
    )
    return w / -w.min()


def simulate_units(
    seed: int,
    key: tuple[int, ...],
    duration_s: float,
    probe: Probe,
    lfp: Lfp,
    behavior: Behavior,
    trials: Trials,
    n_units: int = N_UNITS,
) -> Units:
    rng = rng_for(seed, *key, "units")
    n_samples = round(duration_s * FS_RAW)
    bin_s = 1e-3
    n_bins = round(duration_s / bin_s)
    tb = np.arange(n_bins) * bin_s
    speed = np.interp(tb, behavior.t, behavior.speed)
    theta_phase = lfp.theta_phase[np.minimum(np.arange(n_bins), lfp.theta_phase.size - 1)]
    spikes: list[np.ndarray] = []
    templates = np.zeros((n_units, TEMPLATE_SAMPLES, probe.n_channels), dtype=np.float32)
    peaks = np.empty(n_units, dtype=np.int64)
    regions: list[str] = []
    quality: list[str] = []
    for u in range(n_units):
        peak = int(rng.integers(0, probe.n_channels))
        peaks[u] = peak
        region = probe.region[peak]
        regions.append(region)
        # unit sits a little off its peak site; amplitude falls off with distance
        ux = probe.x_um[peak] + rng.uniform(-12, 12)
        uy = probe.y_um[peak] + rng.uniform(-20, 20)
        dist = np.hypot(probe.x_um - ux, probe.y_um - uy)
        spatial = np.exp(-dist / 35.0) * (probe.shank == probe.shank[peak])
        spatial /= spatial.max()
        amp = rng.uniform(60.0, 260.0)
        templates[u] = (_waveform(rng)[:, None] * spatial[None, :] * amp).astype(np.float32)
        base = float(np.exp(rng.normal(np.log(4.0), 0.8)))
        if region == "VISp":
            drive = trials.stimulus_drive(tb, preferred_deg=float(rng.choice(ORIENTATIONS)))
            rate = base * (0.5 + 0.5 * speed / 0.1) + rng.uniform(10, 30) * drive
        else:
            depth = rng.uniform(0.3, 0.9)
            rate = base * (1 + depth * np.cos(theta_phase - rng.uniform(0, 2 * np.pi)))
            rate *= 0.6 + 0.8 * np.clip(speed / 0.15, 0, 2)
        fired = np.flatnonzero(rng.random(n_bins) < rate * bin_s)
        samples = np.round(fired * bin_s * FS_RAW).astype(np.int64) + rng.integers(
            0, round(bin_s * FS_RAW), fired.size
        )
        samples = samples[(samples >= TROUGH_SAMPLE) & (samples < n_samples)]
        keep: list[int] = []
        last = -(10**9)
        for s in samples.tolist():
            if s - last >= REFRACTORY_SAMPLES:
                keep.append(s)
                last = s
        spikes.append(np.asarray(keep, dtype=np.int64))
        quality.append("good" if amp > 90 and len(keep) > 0.3 * duration_s else "mua")
    return Units(
        fs=FS_RAW,
        spike_samples=spikes,
        templates=templates,
        peak_channel=peaks,
        region=tuple(regions),
        quality=tuple(quality),
    )


# --- raw voltage ----------------------------------------------------------------------


@dataclass
class EphysSignal:
    """The raw extracellular voltage of one recording, computed for any sample range.

    noise + LFP (linearly interpolated from 1 kHz) + every unit's template at each of its
    spikes. Noise comes in :data:`NOISE_BLOCK`-sample blocks seeded by their index, so a
    sample's value never depends on how the recording is read or written.
    """

    seed: int
    key: tuple[int, ...]
    n_samples: int
    lfp: Lfp
    units: Units
    fs: float = FS_RAW
    noise_uv: float = NOISE_UV
    _onsets: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._onsets = [s - TROUGH_SAMPLE for s in self.units.spike_samples]

    @property
    def n_channels(self) -> int:
        return int(self.lfp.uv.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def _noise(self, start: int, stop: int) -> np.ndarray:
        first, last = start // NOISE_BLOCK, (stop - 1) // NOISE_BLOCK
        parts = [
            rng_for(self.seed, *self.key, "noise", b).standard_normal(
                (NOISE_BLOCK, self.n_channels), dtype=np.float32
            )
            for b in range(first, last + 1)
        ]
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
        offset = start - first * NOISE_BLOCK
        return joined[offset : offset + (stop - start)]

    def block_uv(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of every channel, float32 microvolts."""
        start, stop = max(0, start), min(self.n_samples, stop)
        out = self._noise(start, stop) * np.float32(self.noise_uv)
        # LFP, linearly interpolated
        ratio = self.fs / self.lfp.rate
        pos = np.arange(start, stop) / ratio
        i0 = np.minimum(pos.astype(np.int64), self.lfp.uv.shape[0] - 1)
        i1 = np.minimum(i0 + 1, self.lfp.uv.shape[0] - 1)
        frac = (pos - i0).astype(np.float32)[:, None]
        lo, hi = self.lfp.uv[i0], self.lfp.uv[i1]
        out += lo
        out += (hi - lo) * frac
        # spikes
        grid = np.arange(TEMPLATE_SAMPLES)
        for u, onsets in enumerate(self._onsets):
            a = np.searchsorted(onsets, start - TEMPLATE_SAMPLES + 1)
            b = np.searchsorted(onsets, stop)
            if a >= b:
                continue
            rows = onsets[a:b, None] + grid[None, :] - start
            valid = (rows >= 0) & (rows < stop - start)
            tmpl = self.units.templates[u]
            out[rows[valid]] += tmpl[np.broadcast_to(grid, rows.shape)[valid]]
        return out

    def block_counts(self, start: int, stop: int, uv_per_bit: float = UV_PER_BIT) -> np.ndarray:
        """Samples ``start:stop`` as int16 amplifier counts of ``uv_per_bit`` microvolts."""
        x = self.block_uv(start, stop)
        x *= np.float32(1.0 / uv_per_bit)
        np.rint(x, out=x)
        np.clip(x, -32768, 32767, out=x)
        return x.astype(np.int16)

    def counts(self, uv_per_bit: float = UV_PER_BIT) -> np.ndarray:
        """The whole recording as int16 counts (fine for the few seconds format writers use)."""
        return self.block_counts(0, self.n_samples, uv_per_bit)


# --- two-photon imaging -----------------------------------------------------------------


@dataclass(frozen=True)
class Imaging:
    seed: int
    key: tuple[int, ...]
    n_frames: int
    masks: np.ndarray  # (rois, H, W) float32, peak 1
    f0: np.ndarray  # (rois,) baseline brightness of each cell
    dff: np.ndarray  # (frames, rois) true dF/F
    background: np.ndarray  # (H, W)
    neuropil: np.ndarray  # (frames,) slow multiplicative drift of the background
    rate: float = FRAME_RATE

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.masks.shape[1]), int(self.masks.shape[2]))

    def frames(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` as uint16 images (row, column), noise seeded per 64 frames."""
        start, stop = max(0, start), min(self.n_frames, stop)
        flat = self.masks.reshape(self.masks.shape[0], -1)
        cells = (self.f0[None, :] * (1.0 + self.dff[start:stop])) @ flat
        img = self.background.reshape(1, -1) * self.neuropil[start:stop, None] + cells
        first, last = start // 64, (stop - 1) // 64
        noise = np.concatenate(
            [
                rng_for(self.seed, *self.key, "frames", b).standard_normal(
                    (64, img.shape[1]), dtype=np.float32
                )
                for b in range(first, last + 1)
            ]
        )[start - first * 64 : stop - first * 64]
        img += noise * np.sqrt(np.maximum(img, 1.0)) * 1.5
        np.clip(img, 0, 65535, out=img)
        return img.reshape(stop - start, *self.shape).astype(np.uint16)

    def fluorescence(self) -> np.ndarray:
        """(frames, rois) mean brightness inside each mask, as a segmentation would measure."""
        flat = self.masks.reshape(self.masks.shape[0], -1).astype(np.float64)
        w = flat / flat.sum(axis=1, keepdims=True)
        overlap = w @ flat.T  # (rois, rois): how much of each cell falls in each mask
        bg = w @ self.background.reshape(-1)
        f = self.neuropil[:, None] * bg[None, :] + (self.f0[None, :] * (1 + self.dff)) @ overlap.T
        rng = rng_for(self.seed, *self.key, "calcium", 1)
        noise = rng.standard_normal(f.shape) * np.sqrt(f) * 1.5 / np.sqrt(flat.sum(axis=1))
        return (f + noise).astype(np.float32)


def simulate_imaging(
    seed: int,
    key: tuple[int, ...],
    duration_s: float,
    trials: Trials,
    n_rois: int = N_ROIS,
    shape: tuple[int, int] = FRAME_SHAPE,
) -> Imaging:
    rng = rng_for(seed, *key, "rois")
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    centers: list[tuple[float, float]] = []
    while len(centers) < n_rois:
        c = (rng.uniform(8, h - 8), rng.uniform(8, w - 8))
        if all(np.hypot(c[0] - a, c[1] - b) > 11 for a, b in centers):
            centers.append(c)
    masks = np.empty((n_rois, h, w), dtype=np.float32)
    for i, (cy, cx) in enumerate(centers):
        r = rng.uniform(3.5, 5.5)
        d = np.hypot(yy - cy, xx - cx)
        m = np.exp(-0.5 * (d / (0.6 * r)) ** 2)
        m[d > r * 1.6] = 0
        masks[i] = m / m.max()
    f0 = rng.uniform(150, 450, n_rois)
    # background: smooth neuropil texture with a couple of dark blood vessels
    tex = np.fft.irfft2(
        np.fft.rfft2(rng.standard_normal(shape))
        / (
            1
            + np.hypot(*np.meshgrid(np.fft.fftfreq(h) * h, np.fft.rfftfreq(w) * w, indexing="ij"))
            ** 1.5
        ),
        s=shape,
    )
    background = 120 + 40 * tex / (tex.std() + 1e-12)
    for _ in range(2):
        a, b = rng.uniform(-1, 1, 2)
        vessel = np.abs((yy - h / 2) * a - (xx - w / 2) * b + rng.uniform(-30, 30)) / np.hypot(a, b)
        background *= 1 - 0.6 * np.exp(-0.5 * (vessel / 2.5) ** 2)
    background = np.clip(background, 20, None).astype(np.float32)
    # calcium: events driven by tuned stimulus responses, GCaMP6s-like kernel
    crng = rng_for(seed, *key, "calcium")
    n_frames = round(duration_s * FRAME_RATE)
    tf = np.arange(n_frames) / FRAME_RATE
    kt = np.arange(round(4.0 * FRAME_RATE)) / FRAME_RATE
    kernel = (1 - np.exp(-kt / 0.08)) * np.exp(-kt / 0.9)
    kernel /= kernel.max()
    dff = np.empty((n_frames, n_rois))
    for i in range(n_rois):
        pref = float(crng.choice(ORIENTATIONS))
        rate = crng.uniform(0.05, 0.4) + crng.uniform(1.0, 4.0) * trials.stimulus_drive(tf, pref)
        events = crng.poisson(rate / FRAME_RATE) * crng.lognormal(np.log(0.4), 0.4, n_frames)
        dff[:, i] = np.convolve(events, kernel)[:n_frames]
    neuropil = (1.0 + 0.03 * _bandpass(crng, n_frames, FRAME_RATE, 0.02, 0.5)).astype(np.float32)
    return Imaging(
        seed=seed,
        key=key,
        n_frames=n_frames,
        masks=masks,
        f0=f0.astype(np.float32),
        dff=dff.astype(np.float32),
        background=background,
        neuropil=neuropil,
    )


# --- one session ---------------------------------------------------------------------


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


# --- NWB -----------------------------------------------------------------------------


def _block_iterator(
    get: Callable[[int, int], np.ndarray],
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    chunk_shape: tuple[int, ...],
    buffer_rows: int,
) -> Any:
    """A hdmf chunk iterator that asks ``get(start, stop)`` for rows along the first axis."""
    from hdmf.data_utils import GenericDataChunkIterator

    class _Rows(GenericDataChunkIterator):
        def __init__(self) -> None:
            super().__init__(
                chunk_shape=chunk_shape,
                buffer_shape=(min(shape[0], buffer_rows), *shape[1:]),
                display_progress=False,
            )

        def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
            rows = get(selection[0].start or 0, selection[0].stop)
            return rows[(slice(None), *selection[1:])]

        def _get_maxshape(self) -> tuple[int, ...]:
            return shape

        def _get_dtype(self) -> np.dtype[Any]:
            return dtype

    return _Rows()


def _freeze_object_ids(nwbfile: NWBFile, seed: int, key: tuple[int, ...]) -> None:
    """Give every object a UUID derived from the seed, so identical input -> identical bytes."""
    rng = rng_for(seed, *key, "ids")
    for obj in nwbfile.all_children():
        value = str(
            uuid.UUID(
                int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63)), version=4
            )
        )
        obj._AbstractContainer__object_id = value  # hdmf has no public setter


def build_demo_nwbfile(
    session: Session,
    subject: DemoSubject,
    session_index: int,
    session_id: str,
) -> NWBFile:
    """The in-memory NWBFile of one demo session (large series stream from ``session``)."""
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBFile, TimeSeries
    from pynwb.behavior import Position, SpatialSeries
    from pynwb.device import Device, DeviceModel
    from pynwb.ecephys import LFP, ElectricalSeries
    from pynwb.file import Subject
    from pynwb.misc import Units as NWBUnits
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        RoiResponseSeries,
        TwoPhotonSeries,
    )

    from neurodatashare import __version__
    from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks, imaging_chunks

    s = session
    start_time = subject.first_session + timedelta(days=session_index, minutes=7 * session_index)
    ident = uuid.uuid5(NAMESPACE, f"{s.seed}/{subject.subject_id}/{session_id}")
    nwbfile = NWBFile(
        session_description=(
            "Synthetic demo session (all data simulated by neurodatashare): a head-fixed mouse "
            "runs in a virtual arena and licks for 0 and 45 degree gratings, while a two-shank "
            "64-site probe records visual cortex and hippocampus and a two-photon microscope "
            "images GCaMP6s-expressing layer 2/3 neurons in VISp."
        ),
        identifier=str(ident),
        session_start_time=start_time,
        file_create_date=[start_time + timedelta(hours=2)],
        timestamps_reference_time=start_time,
        session_id=session_id,
        experimenter=["Doe, Jane", "Roe, Richard"],
        experiment_description=(
            "Orientation discrimination (go: 0 and 45 degrees; no-go: 90 and 135 degrees) at four "
            "contrasts, with simultaneous extracellular electrophysiology and two-photon imaging."
        ),
        institution="Neurodatashare Demo Institute",
        lab="Synthetic Systems Neuroscience Lab",
        keywords=[
            "synthetic data",
            "demo",
            "visual cortex",
            "hippocampus",
            "extracellular electrophysiology",
            "two-photon imaging",
            "orientation discrimination",
        ],
        notes=(
            f"Generated by neurodatashare {__version__} with seed {s.seed}; nothing was recorded."
        ),
        surgery="Headpost implantation and 3 mm cranial window over left VISp, 3 weeks before.",
        virus="None (transgenic GCaMP6s expression).",
        was_generated_by=[["neurodatashare", __version__]],
        subject=Subject(
            subject_id=subject.subject_id,
            species="Mus musculus",
            sex=subject.sex,
            age=f"P{subject.age_days + session_index}D",
            genotype=subject.genotype,
            strain=subject.strain,
            weight=f"{subject.weight_kg} kg",
            description="Simulated adult mouse, water-restricted for the task.",
        ),
    )

    # ---------------- ecephys ----------------
    probe_model = DeviceModel(
        name="Two-shank 64-site probe",
        manufacturer="Simulated (neurodatashare demo)",
        model_number="DEMO-2x32",
        description="Two shanks 250 um apart, 32 sites each at 50 um pitch.",
    )
    nwbfile.add_device_model(probe_model)
    probe_device = Device(
        name="Probe",
        description="Two-shank silicon probe with an Intan-style 64-channel headstage.",
        serial_number=f"DEMO-{subject.subject_id}",
        model=probe_model,
    )
    nwbfile.add_device(probe_device)
    groups = []
    for sh in range(2):
        regions = sorted({s.probe.region[c] for c in np.flatnonzero(s.probe.shank == sh)})
        groups.append(
            nwbfile.create_electrode_group(
                name=f"shank{sh}",
                description=f"Shank {sh} of the probe, 32 sites at 50 um pitch.",
                location=", ".join(regions),
                device=probe_device,
            )
        )
    for c in range(s.probe.n_channels):
        nwbfile.add_electrode(
            group=groups[int(s.probe.shank[c])],
            location=s.probe.region[c],
            rel_x=float(s.probe.x_um[c]),
            rel_y=float(s.probe.y_um[c]),
            imp=1.0e6,
            filtering="Hardware band-pass 0.1-7500 Hz",
            reference="Cerebellar skull screw",
        )
    all_electrodes = nwbfile.create_electrode_table_region(
        region=list(range(s.probe.n_channels)), description="All 64 probe sites."
    )
    n = s.ephys.n_samples
    chunks = ephys_chunks(n, s.probe.n_channels, 2)
    raw = ElectricalSeries(
        name="ElectricalSeries",
        description="Wide-band extracellular voltage, 30 kHz, int16 counts of 0.195 uV.",
        data=H5DataIO(
            _block_iterator(
                s.ephys.block_counts,
                (n, s.probe.n_channels),
                np.dtype("int16"),
                chunks,
                chunks[0] * 8,
            ),
            chunks=chunks,
            **COMPRESSION,
        ),
        electrodes=all_electrodes,
        starting_time=0.0,
        rate=FS_RAW,
        conversion=UV_PER_BIT * 1e-6,
        resolution=UV_PER_BIT * 1e-6,
        filtering="Hardware band-pass 0.1-7500 Hz",
    )
    nwbfile.add_acquisition(raw)

    lfp_rng = rng_for(s.seed, *s.key, "lfp_noise")
    lfp_uv = s.lfp.uv + lfp_rng.standard_normal(s.lfp.uv.shape, dtype=np.float32) * 1.5
    lfp_counts = np.clip(np.rint(lfp_uv / UV_PER_BIT), -32768, 32767).astype(np.int16)
    ecephys = nwbfile.create_processing_module(
        "ecephys", "Processed extracellular electrophysiology: LFP and spike sorting."
    )
    lfp_container = LFP(name="LFP")
    ecephys.add(lfp_container)  # attach first, so the electrode region shares an ancestor
    lfp_container.add_electrical_series(
        ElectricalSeries(
            name="LFP",
            description="Local field potential: wide-band signal low-passed at 300 Hz, 1 kHz.",
            data=H5DataIO(
                lfp_counts,
                chunks=ephys_chunks(lfp_counts.shape[0], lfp_counts.shape[1], 2),
                **COMPRESSION,
            ),
            electrodes=nwbfile.create_electrode_table_region(
                region=list(range(s.probe.n_channels)), description="All 64 probe sites."
            ),
            starting_time=0.0,
            rate=FS_LFP,
            conversion=UV_PER_BIT * 1e-6,
            filtering="Software low-pass 300 Hz (4th-order Butterworth), decimated to 1 kHz",
        )
    )

    units_table = NWBUnits(
        name="units",
        description="Units from spike sorting of the wide-band signal (Kilosort-style).",
        waveform_rate=FS_RAW,
        waveform_unit="volts",
        resolution=1.0 / FS_RAW,
        electrode_table=nwbfile.electrodes,
    )
    nwbfile.units = units_table
    units_table.add_column("quality", "Curation label: 'good' (single unit) or 'mua'.")
    units_table.add_column("peak_channel", "Index of the electrode with the largest waveform.")
    for u in range(s.units.n_units):
        chans = s.units.nearest_channels(u, s.probe)
        wf = s.units.templates[u][:, chans] * 1e-6
        units_table.add_unit(
            spike_times=s.units.spike_times(u),
            obs_intervals=[[0.0, float(s.duration_s)]],
            electrodes=chans.tolist(),
            electrode_group=groups[int(s.probe.shank[s.units.peak_channel[u]])],
            waveform_mean=wf.astype(np.float32),
            waveform_sd=np.full_like(wf, NOISE_UV * 1e-6, dtype=np.float32),
            quality=s.units.quality[u],
            peak_channel=int(s.units.peak_channel[u]),
        )

    # ---------------- ophys ----------------
    scope_model = DeviceModel(
        name="Resonant two-photon microscope",
        manufacturer="Simulated (neurodatashare demo)",
        model_number="DEMO-2P",
        description="8 kHz resonant scanner, 16x/0.8 NA objective, GaAsP PMT.",
    )
    nwbfile.add_device_model(scope_model)
    scope = Device(
        name="Microscope",
        description="Resonant-scanning two-photon microscope.",
        serial_number="DEMO-2P-0001",
        model=scope_model,
    )
    nwbfile.add_device(scope)
    plane = nwbfile.create_imaging_plane(
        name="ImagingPlane",
        optical_channel=OpticalChannel(
            name="Green", description="GCaMP6s emission, 525/50 nm filter.", emission_lambda=525.0
        ),
        description="Layer 2/3 of left VISp, 180 um below the pia.",
        device=scope,
        excitation_lambda=920.0,
        indicator="GCaMP6s",
        location="VISp",
        imaging_rate=FRAME_RATE,
        origin_coords=[0.0, 0.0, 180e-6],
        origin_coords_unit="meters",
        grid_spacing=[UM_PER_PIXEL * 1e-6, UM_PER_PIXEL * 1e-6],
        grid_spacing_unit="meters",
        reference_frame="Origin at the top-left pixel of the field of view, depth from the pia.",
    )
    img = s.imaging
    ichunks = imaging_chunks(img.n_frames, (img.shape[1], img.shape[0]), 2)
    tps = TwoPhotonSeries(
        name="TwoPhotonSeries",
        description="Raw two-photon frames, 128 x 128 pixels at 30 Hz.",
        data=H5DataIO(
            _block_iterator(
                lambda a, b: img.frames(a, b).transpose(0, 2, 1),  # NWB stores (frame, x, y)
                (img.n_frames, img.shape[1], img.shape[0]),
                np.dtype("uint16"),
                ichunks,
                ichunks[0] * 8,
            ),
            chunks=ichunks,
            **COMPRESSION,
        ),
        imaging_plane=plane,
        unit="a.u.",
        rate=FRAME_RATE,
        starting_time=0.0,
        field_of_view=[img.shape[0] * UM_PER_PIXEL * 1e-6, img.shape[1] * UM_PER_PIXEL * 1e-6],
        pmt_gain=600.0,
        scan_line_rate=FRAME_RATE * img.shape[0],
    )
    nwbfile.add_acquisition(tps)
    ophys = nwbfile.create_processing_module(
        "ophys", "Processed two-photon data: segmentation and fluorescence traces."
    )
    segmentation = ImageSegmentation(name="ImageSegmentation")
    ps = segmentation.create_plane_segmentation(
        name="PlaneSegmentation",
        description="Cell bodies found by segmentation of the motion-corrected movie.",
        imaging_plane=plane,
        reference_images=tps,
    )
    for m in img.masks:
        ps.add_roi(image_mask=m.T)  # (x, y), as NWB and NeuroConv store masks
    ophys.add(segmentation)
    f = img.fluorescence()
    f0 = np.percentile(f, 10, axis=0, keepdims=True)
    traces = [
        (Fluorescence(name="Fluorescence"), f, "a.u.", "Mean fluorescence inside each ROI mask."),
        (
            DfOverF(name="DfOverF"),
            ((f - f0) / f0).astype(np.float32),
            "n.a.",
            "(F - F0) / F0 with F0 the 10th percentile of each ROI's trace.",
        ),
    ]
    for container, values, unit, description in traces:
        ophys.add(container)  # attach first, so the ROI region shares an ancestor with its table
        container.add_roi_response_series(
            RoiResponseSeries(
                name="RoiResponseSeries",
                description=description,
                data=values,
                rois=ps.create_roi_table_region(
                    region=list(range(img.masks.shape[0])), description="All segmented cells."
                ),
                unit=unit,
                rate=FRAME_RATE,
                starting_time=0.0,
            )
        )

    # ---------------- behaviour ----------------
    b = s.behavior
    behavior = nwbfile.create_processing_module(
        "behavior", "Position, running speed and licking in the virtual arena."
    )
    behavior.add(
        Position(
            spatial_series=SpatialSeries(
                name="position",
                description="Position of the mouse in the 1 m x 1 m virtual arena.",
                data=b.xy,
                reference_frame="(0, 0) is the south-west corner; x points east, y north.",
                unit="meters",
                rate=b.rate,
                starting_time=0.0,
            )
        )
    )
    behavior.add(
        TimeSeries(
            name="running_speed",
            description="Running speed measured by the treadmill's rotary encoder.",
            data=b.speed,
            unit="m/s",
            rate=b.rate,
            starting_time=0.0,
        )
    )
    behavior.add(
        TimeSeries(
            name="licks",
            description="Lick contacts on the capacitive reward spout: one entry (1) per lick.",
            data=np.ones(b.lick_times.size, dtype=np.uint8),
            timestamps=b.lick_times,
            unit="lick",
            continuity="instantaneous",
        )
    )
    tr = s.trials
    for name, desc in [
        ("stimulus_start_time", "Grating onset (s)."),
        ("stimulus_stop_time", "Grating offset (s)."),
        ("stimulus_orientation", "Drifting grating orientation (degrees)."),
        ("stimulus_contrast", "Michelson contrast of the grating (0-1)."),
        ("go", "True for go stimuli (0 and 45 degrees), where licking is rewarded."),
        ("correct", "True if the mouse licked on a go trial or withheld on a no-go trial."),
        ("response_time", "Time of the first lick in the response window (s); NaN if none."),
    ]:
        nwbfile.add_trial_column(name=name, description=desc)
    for i in range(len(tr)):
        nwbfile.add_trial(
            start_time=float(tr.start[i]),
            stop_time=float(tr.stop[i]),
            stimulus_start_time=float(tr.stim_on[i]),
            stimulus_stop_time=float(tr.stim_off[i]),
            stimulus_orientation=float(tr.orientation[i]),
            stimulus_contrast=float(tr.contrast[i]),
            go=bool(tr.go[i]),
            correct=bool(tr.correct[i]),
            response_time=float(tr.response_time[i]),
        )
    _freeze_object_ids(nwbfile, s.seed, s.key)
    return nwbfile


def write_demo_session(
    path: Path,
    *,
    subject: DemoSubject,
    session_index: int,
    seed: int = 0,
    duration_s: float = 60.0,
    subject_index: int = 0,
) -> Path:
    """Simulate and write one demo NWB file to ``path``."""
    from pynwb import NWBHDF5IO

    session_id = _session_id(session_index)
    session = simulate_session(seed, (subject_index, session_index), duration_s)
    nwbfile = build_demo_nwbfile(session, subject, session_index, session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.nwb")
    with NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwbfile)
    tmp.replace(path)
    return path


def _session_id(k: int) -> str:
    return DEMO_SESSIONS[k] if k < len(DEMO_SESSIONS) else f"day{k + 1}"


def _write_job(job: tuple[Path, DemoSubject, int, int, int, float]) -> Path:
    path, subject, k, seed, si, duration_s = job
    return write_demo_session(
        path,
        subject=subject,
        session_index=k,
        seed=seed,
        duration_s=duration_s,
        subject_index=si,
    )


def write_demo_dataset(
    out: Path,
    *,
    seed: int = 0,
    duration_s: float = 60.0,
    subjects: Sequence[DemoSubject] = DEMO_SUBJECTS,
    n_sessions: int = len(DEMO_SESSIONS),
    jobs: int = 1,
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the demo dataset under ``out`` and return the file paths, in a stable order.

    ``duration_s`` shortens every recording (tests use a few seconds); the default, 60 s,
    gives four files of ~175 MB (230 MB of raw int16 ephys each, before compression).
    ``jobs`` > 1 writes that many files at once in worker processes (same bytes either
    way); ``progress`` is called with each path as it is finished.
    """
    if duration_s < 5:
        raise ValueError("duration_s must be at least 5 seconds (one trial is 3-4.5 s)")
    out = Path(out)
    work = [
        (out / demo_relpath(subject.subject_id, _session_id(k)), subject, k, seed, si, duration_s)
        for si, subject in enumerate(subjects)
        for k in range(n_sessions)
    ]
    if jobs <= 1 or len(work) == 1:
        for job in work:
            _write_job(job)
            if progress is not None:
                progress(job[0])
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")  # safe beside threads (servers, test runners)
        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=ctx) as pool:
            futures = [pool.submit(_write_job, job) for job in work]
            for future in as_completed(futures):
                path = future.result()
                if progress is not None:
                    progress(path)
    return [job[0] for job in work]


__all__ = [
    "DEMO_SESSIONS",
    "DEMO_SUBJECTS",
    "EphysSignal",
    "Imaging",
    "Session",
    "build_demo_nwbfile",
    "demo_relpath",
    "simulate_session",
    "write_demo_dataset",
    "write_demo_session",
]
