"""Extracellular electrophysiology: the probe, LFP, sorted units and the raw voltage that
holds them (computed for any sample range, so hours of data never sit in memory)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodatashare.demo.simulate.noise import bandpass_noise, pink_noise, rng_for
from neurodatashare.demo.simulate.task import ORIENTATIONS, Behavior, Trials

FS_RAW = 30_000.0  # Hz, raw extracellular sampling rate
FS_LFP = 1_000.0  # Hz
N_CHANNELS = 64
UV_PER_BIT = 0.195  # Intan-style amplifier resolution
N_UNITS = 30
TEMPLATE_SAMPLES = 64  # 2.1 ms at 30 kHz
TROUGH_SAMPLE = 20
REFRACTORY_SAMPLES = 75  # 2.5 ms, longer than a template so a unit's spikes never overlap
NOISE_BLOCK = 16_384  # samples per independently seeded block of noise
NOISE_UV = 7.0
WAVEFORM_CHANNELS = 8  # nearest channels kept in the units table's mean waveforms

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
    freq = 6.5 + 6.0 * speed + 0.3 * bandpass_noise(rng, n, FS_LFP, 0.05, 0.5)
    phase = 2 * np.pi * np.cumsum(freq) / FS_LFP + rng.uniform(0, 2 * np.pi)
    theta = np.cos(phase) * (0.35 + 2.5 * speed)
    slow = bandpass_noise(rng, n, FS_LFP, 0.5, 4.0)
    gamma = bandpass_noise(rng, n, FS_LFP, 30.0, 70.0) * (
        0.2 + trials.stimulus_drive(t, preferred_deg=0.0, kappa=0.0)
    )
    common = pink_noise(rng, n, FS_LFP)
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
    local = np.stack([pink_noise(rng, n, FS_LFP, lo=2.0) for _ in range(4)], axis=1)
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
