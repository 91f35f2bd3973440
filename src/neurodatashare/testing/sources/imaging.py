"""Two-photon imaging as the microscope and Suite2p write it: a multi-page TIFF of frames
and a ``suite2p/plane0`` folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurodatashare.demo.simulate import FRAME_RATE, Imaging, simulate_imaging, simulate_trials


def _imaging(seed: int, duration_s: float, shape: tuple[int, int], n_rois: int) -> Imaging:
    trials = simulate_trials(seed, (9, 1), max(duration_s, 3.0))
    return simulate_imaging(seed, (9, 1), duration_s, trials, n_rois, shape)


def write_tiff_stack(
    path: Path,
    *,
    n_frames: int = 150,
    shape: tuple[int, int] = (64, 64),
    seed: int = 0,
) -> np.ndarray:
    """A multi-page uint16 TIFF of two-photon frames (one page per frame); returns the frames."""
    import tifffile

    img = _imaging(seed, n_frames / FRAME_RATE, shape, n_rois=12)
    frames = img.frames(0, n_frames)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, frames, photometric="minisblack", metadata={"axes": "TYX"})
    return frames


@dataclass(frozen=True)
class Suite2pFixture:
    path: Path  # the ``suite2p`` folder
    F: np.ndarray  # (rois, frames)
    iscell: np.ndarray
    shape: tuple[int, int]
    rate: float


def write_suite2p(
    folder: Path,
    *,
    n_frames: int = 150,
    shape: tuple[int, int] = (64, 64),
    n_rois: int = 12,
    seed: int = 0,
) -> Suite2pFixture:
    """A Suite2p output folder, ``folder/suite2p/plane0/{ops,stat,F,Fneu,spks,iscell}.npy``."""
    img = _imaging(seed, n_frames / FRAME_RATE, shape, n_rois=n_rois)
    plane = Path(folder) / "suite2p" / "plane0"
    plane.mkdir(parents=True, exist_ok=True)
    frames = img.frames(0, n_frames).astype(np.float32)
    stat = np.empty(n_rois, dtype=object)
    for i, m in enumerate(img.masks):
        ypix, xpix = np.nonzero(m > 0.05)
        lam = m[ypix, xpix].astype(np.float32)
        stat[i] = {
            "ypix": ypix.astype(np.int32),
            "xpix": xpix.astype(np.int32),
            "lam": lam / lam.sum(),
            "med": [int(np.median(ypix)), int(np.median(xpix))],
            "npix": int(ypix.size),
            "radius": float(np.sqrt(ypix.size / np.pi)),
            "compact": 1.05,
            "footprint": 1.0,
            "aspect_ratio": 1.1,
            "skew": 1.5,
            "std": 40.0,
            "overlap": np.zeros(ypix.size, dtype=bool),
        }
    flat = img.masks.reshape(n_rois, -1)
    w = flat / flat.sum(axis=1, keepdims=True)
    F = (w @ frames.reshape(n_frames, -1).T).astype(np.float32)  # (rois, frames)
    ring = (flat > 0).astype(np.float32)
    Fneu = 0.7 * F + 0.3 * (ring @ frames.reshape(n_frames, -1).T) / ring.sum(1, keepdims=True)
    spks = np.maximum(np.diff(F, axis=1, prepend=F[:, :1]), 0).astype(np.float32)
    iscell = np.stack(
        [(np.arange(n_rois) % 5 != 4).astype(float), np.linspace(0.95, 0.4, n_rois)], 1
    )
    mean_img = frames.mean(axis=0)
    ops = {
        "fs": FRAME_RATE,
        "nframes": n_frames,
        "Ly": shape[0],
        "Lx": shape[1],
        "nplanes": 1,
        "nchannels": 1,
        "functional_chan": 1,
        "tau": 1.0,
        "meanImg": mean_img,
        "meanImgE": mean_img / mean_img.max(),
        "max_proj": frames.max(axis=0),
        "Vcorr": np.ones(shape, dtype=np.float32) * 0.1,
        "xrange": [0, shape[1]],
        "yrange": [0, shape[0]],
        "save_path": str(plane),
        "data_path": [str(Path(folder) / "raw")],
        "suite2p_version": "0.14.4",
    }
    np.save(plane / "ops.npy", np.array(ops, dtype=object), allow_pickle=True)
    np.save(plane / "stat.npy", stat, allow_pickle=True)
    np.save(plane / "F.npy", F)
    np.save(plane / "Fneu.npy", Fneu.astype(np.float32))
    np.save(plane / "spks.npy", spks)
    np.save(plane / "iscell.npy", iscell)
    return Suite2pFixture(path=plane.parent, F=F, iscell=iscell, shape=shape, rate=FRAME_RATE)
