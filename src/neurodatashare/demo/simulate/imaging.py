"""Two-photon calcium imaging: cell masks, a textured background with vessels, dF/F driven
by the task, and the raw frames (computed for any frame range)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodatashare.demo.simulate.noise import bandpass_noise, rng_for
from neurodatashare.demo.simulate.task import ORIENTATIONS, Trials

FRAME_RATE = 30.0  # Hz, two-photon frame rate
FRAME_SHAPE = (128, 128)
UM_PER_PIXEL = 3.9  # 500 um field of view
N_ROIS = 40


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
    drift = bandpass_noise(crng, n_frames, FRAME_RATE, 0.02, 0.5)
    neuropil = (1.0 + 0.03 * drift).astype(np.float32)
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
