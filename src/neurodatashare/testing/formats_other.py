"""Small valid samples of the behaviour, imaging, audio/video and table formats NeuroConv
reads, each written by the library the acquisition or analysis software uses (pandas for
DeepLabCut, h5py in CaImAn's layout, scipy for WAV, OpenCV for video, Pillow for images),
or as the software writes its text output (FicTrac).

=================  ============================  ==========================================
sample             NeuroConv interface           written by
=================  ============================  ==========================================
``kilosort``       KiloSortSortingInterface      numpy (Kilosort 2.5's output folder)
``deeplabcut``     DeepLabCutInterface           pandas MultiIndex ``to_hdf`` (DLC's layout)
``fictrac``        FicTracDataInterface          FicTrac 2.1 ``.dat`` (25 CSV columns)
``caiman``         CaimanSegmentationInterface   h5py, CaImAn ``Estimates.save`` layout
``hdf5-imaging``   Hdf5ImagingInterface          h5py ``mov`` dataset (CaImAn motion corr.)
``image``          ImageInterface                Pillow PNG
``audio``          AudioInterface                scipy.io.wavfile
``video``          ExternalVideoInterface        OpenCV VideoWriter (MJPG .avi)
``trials-csv``     CsvTimeIntervalsInterface     pandas ``to_csv``
=================  ============================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurodatashare.testing.formats_base import FormatSample


def _folder(folder: Path) -> Path:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_deeplabcut(folder: Path, *, n_frames: int = 300, seed: int = 10) -> FormatSample:
    """DeepLabCut's pose output: a DataFrame with columns (scorer, bodyparts, coords)
    saved under the key ``df_with_missing``, as ``analyze_videos`` writes it, plus the CSV
    it writes beside it."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    scorer = "DLC_resnet50_openfieldMar4shuffle1_200000"
    parts = ["snout", "leftear", "rightear", "tailbase"]
    columns = pd.MultiIndex.from_product(
        [[scorer], parts, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    walk = np.cumsum(rng.normal(0, 1.5, size=(n_frames, 2)), axis=0) + 240
    values = []
    for i in range(len(parts)):
        xy = walk + 10 * i + rng.normal(0, 0.5, size=walk.shape)
        values += [xy[:, 0], xy[:, 1], rng.uniform(0.8, 1.0, n_frames)]
    df = pd.DataFrame(np.column_stack(values), columns=columns)
    out = _folder(folder)
    stem = f"openfield_mouse01{scorer}"
    df.to_hdf(out / f"{stem}.h5", key="df_with_missing", format="table", mode="w")
    df.to_csv(out / f"{stem}.csv")
    return FormatSample(
        "deeplabcut",
        "DeepLabCutInterface",
        {"file_path": str(out / f"{stem}.h5"), "sampling_frequency": 30.0},
        "pandas MultiIndex to_hdf (DeepLabCut layout)",
    )


def write_fictrac(folder: Path, *, n_frames: int = 600, seed: int = 11) -> FormatSample:
    """FicTrac 2.1 output, ``<video>-<date>.dat``: one comma-separated line per frame with
    the 25 documented columns (frame, rotation deltas and errors, absolute rotations,
    integrated position, heading, direction, speed, forward/side motion, timestamp in ms,
    sequence counter, delta timestamp, alt. timestamp)."""
    rng = np.random.default_rng(seed)
    dt_ms = 1000 / 60
    d_cam = rng.normal(0, 0.01, size=(n_frames, 3))
    d_lab = d_cam[:, [2, 0, 1]]
    cols = np.zeros((n_frames, 25))
    cols[:, 0] = np.arange(1, n_frames + 1)
    cols[:, 1:4] = d_cam
    cols[:, 4] = rng.uniform(0, 0.01, n_frames)
    cols[:, 5:8] = d_lab
    cols[:, 8:11] = np.cumsum(d_cam, axis=0)
    cols[:, 11:14] = np.cumsum(d_lab, axis=0)
    heading = np.mod(np.cumsum(d_lab[:, 2]), 2 * np.pi)
    speed = np.hypot(d_lab[:, 0], d_lab[:, 1])
    cols[:, 14] = np.cumsum(speed * np.cos(heading))
    cols[:, 15] = np.cumsum(speed * np.sin(heading))
    cols[:, 16] = heading
    cols[:, 17] = np.mod(np.arctan2(d_lab[:, 1], d_lab[:, 0]), 2 * np.pi)
    cols[:, 18] = speed
    cols[:, 19] = np.cumsum(d_lab[:, 0])
    cols[:, 20] = np.cumsum(d_lab[:, 1])
    cols[:, 21] = np.arange(n_frames) * dt_ms
    cols[:, 22] = np.arange(n_frames)
    cols[:, 23] = dt_ms
    cols[:, 24] = cols[:, 21]
    out = _folder(folder)
    path = out / "fly01-20240304_101500.dat"
    fmt = ["%d"] + ["%.10g"] * 20 + ["%.3f", "%d", "%.3f", "%.3f"]
    np.savetxt(path, cols, fmt=fmt, delimiter=", ")
    return FormatSample(
        "fictrac",
        "FicTracDataInterface",
        {"file_path": str(path), "radius": 0.0045},
        "FicTrac 2.1 .dat text (25 columns)",
    )


def _cells(h: int, w: int, k: int, seed: int) -> np.ndarray:
    """(h*w, k) Gaussian footprints, pixels in Fortran order as CaImAn stores A."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    masks = []
    for _ in range(k):
        cy, cx = rng.uniform(4, h - 4), rng.uniform(4, w - 4)
        m = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 6.0)
        m[m < 0.05] = 0
        masks.append(m.ravel(order="F"))
    return np.stack(masks, axis=1)


def write_caiman(folder: Path, *, n_frames: int = 200, seed: int = 12) -> FormatSample:
    """A CNMF result as ``Estimates``/``CNMF.save`` writes it (caiman.utils.utils.
    save_dict_to_hdf5): ``estimates/A`` as a CSC sparse group (data, indices, indptr,
    shape), ``C``/``S``/``YrA`` (cells x frames), ``b``/``f`` background, ``Cn``,
    ``idx_components``, and ``params/data/{fr, dims}``."""
    import h5py
    from scipy import sparse

    h, w, k = 32, 40, 6
    rng = np.random.default_rng(seed)
    a = sparse.csc_matrix(_cells(h, w, k, seed))
    spikes = (rng.uniform(size=(k, n_frames)) > 0.97).astype(np.float64)
    kernel = np.exp(-np.arange(30) / 8.0)
    c = np.stack([np.convolve(s, kernel)[:n_frames] for s in spikes])
    out = _folder(folder)
    path = out / "caiman_analysis.hdf5"
    with h5py.File(path, "w") as f:
        est = f.create_group("estimates")
        ga = est.create_group("A")
        ga["data"], ga["indices"], ga["indptr"] = a.data, a.indices, a.indptr
        ga["shape"] = np.array(a.shape)
        est["C"], est["S"] = c, spikes
        est["YrA"] = rng.normal(0, 0.05, size=c.shape)
        est["b"] = rng.uniform(0.5, 1.0, size=(h * w, 1))
        est["f"] = rng.uniform(0.9, 1.1, size=(1, n_frames))
        est["Cn"] = rng.uniform(0, 1, size=(h, w))
        est["idx_components"] = np.arange(k)
        est["SNR_comp"] = rng.uniform(2, 10, k)
        est["r_values"] = rng.uniform(0.7, 1.0, k)
        params = f.create_group("params").create_group("data")
        params["fr"] = 30.0
        params["dims"] = np.array([h, w])
        params["decay_time"] = 0.4
    return FormatSample(
        "caiman",
        "CaimanSegmentationInterface",
        {"file_path": str(path)},
        "h5py in CaImAn's save_dict_to_hdf5 layout",
    )


def write_hdf5_imaging(folder: Path, *, n_frames: int = 100, seed: int = 13) -> FormatSample:
    """A motion-corrected movie in one HDF5 ``mov`` dataset, as CaImAn's ``movie.save``
    writes it, with the leading channel axis roiextractors' reader expects (channels x
    frames x height x width)."""
    import h5py

    rng = np.random.default_rng(seed)
    h, w = 32, 40
    base = _cells(h, w, 5, seed).sum(axis=1).reshape((h, w), order="F")
    frames = (200 + 800 * base[None] * rng.uniform(0.5, 1.5, (n_frames, 1, 1))).astype(np.uint16)
    out = _folder(folder)
    path = out / "movie_els__d1_32_d2_40_d3_1_order_C_frames_100_.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("mov", data=frames[None])
    return FormatSample(
        "hdf5-imaging",
        "Hdf5ImagingInterface",
        {"file_path": str(path), "sampling_frequency": 30.0},
        "h5py 'mov' dataset (CaImAn movie.save)",
        metadata={"Ophys": {"Device": [{"name": "Microscope"}]}},
    )


def write_images(folder: Path, *, seed: int = 14) -> FormatSample:
    """Two PNGs written by Pillow: an 8-bit grayscale field of view and an RGB snapshot."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = _folder(folder)
    gray = (rng.uniform(0, 1, (48, 64)) * 255).astype(np.uint8)
    rgb = (rng.uniform(0, 1, (48, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(gray, mode="L").save(out / "fov.png")
    Image.fromarray(rgb, mode="RGB").save(out / "rig_photo.png")
    return FormatSample(
        "image",
        "ImageInterface",
        {"file_paths": [str(out / "fov.png"), str(out / "rig_photo.png")], "verbose": False},
        "Pillow PNG",
    )


def write_audio(folder: Path, *, duration_s: float = 1.0, seed: int = 15) -> FormatSample:
    """An ultrasonic-vocalisation microphone recording, 250 kHz 16-bit mono WAV, written
    by scipy.io.wavfile."""
    from scipy.io import wavfile

    rate = 250_000
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate)) / rate
    chirp = np.sin(2 * np.pi * (60_000 + 20_000 * t) * t) * (np.sin(2 * np.pi * 3 * t) > 0.7)
    signal = (8000 * chirp + rng.normal(0, 300, t.size)).astype(np.int16)
    out = _folder(folder)
    path = out / "usv_mic1.wav"
    wavfile.write(path, rate, signal)
    return FormatSample(
        "audio",
        "AudioInterface",
        {"file_paths": [str(path)]},
        "scipy.io.wavfile",
        metadata={"Behavior": {"Audio": [{"name": "AcousticWaveformSeries"}]}},
    )


def write_video(folder: Path, *, n_frames: int = 60, seed: int = 16) -> FormatSample:
    """A behaviour camera clip, 30 fps MJPG ``.avi``, written by OpenCV's VideoWriter."""
    import cv2

    rng = np.random.default_rng(seed)
    out = _folder(folder)
    path = out / "behavior_cam.avi"
    h, w = 120, 160
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (w, h))
    pos = np.array([60.0, 80.0])
    for _ in range(n_frames):
        pos = np.clip(pos + rng.normal(0, 2, 2), 10, [h - 10, w - 10])
        frame = np.full((h, w, 3), 40, np.uint8)
        cv2.circle(frame, (int(pos[1]), int(pos[0])), 8, (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    return FormatSample(
        "video",
        "ExternalVideoInterface",
        {"file_paths": [str(path)]},
        "OpenCV VideoWriter (MJPG)",
    )


def write_trials_csv(folder: Path, *, n_trials: int = 20, seed: int = 17) -> FormatSample:
    """A behaviour task's trial table as pandas writes it: start/stop times and columns."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = np.cumsum(rng.uniform(2, 4, n_trials))
    df = pd.DataFrame(
        {
            "start_time": start,
            "stop_time": start + rng.uniform(0.5, 1.5, n_trials),
            "stimulus": rng.choice(["left", "right"], n_trials),
            "correct": rng.uniform(size=n_trials) > 0.3,
            "reaction_time": rng.uniform(0.2, 0.6, n_trials),
        }
    )
    out = _folder(folder)
    path = out / "trials.csv"
    df.to_csv(path, index=False)
    return FormatSample(
        "trials-csv",
        "CsvTimeIntervalsInterface",
        {"file_path": str(path)},
        "pandas to_csv",
    )


def write_kilosort(folder: Path) -> FormatSample:
    """A Kilosort 2.5 output folder, read as Kilosort's own (``cluster_KSLabel.tsv``
    labels) rather than after Phy curation: the folder :func:`sources.write_phy` writes."""
    from neurodatashare.testing.sources import write_phy

    fixture = write_phy(Path(folder) / "kilosort2_5_output", with_recording=False)
    return FormatSample(
        "kilosort",
        "KiloSortSortingInterface",
        {"folder_path": str(fixture.path)},
        "numpy .npy + TSV (Kilosort's layout, testing/sources/sorting.py)",
    )


WRITERS: dict[str, Callable[[Path], FormatSample]] = {
    "kilosort": write_kilosort,
    "deeplabcut": write_deeplabcut,
    "fictrac": write_fictrac,
    "caiman": write_caiman,
    "hdf5-imaging": write_hdf5_imaging,
    "image": write_images,
    "audio": write_audio,
    "video": write_video,
    "trials-csv": write_trials_csv,
}
