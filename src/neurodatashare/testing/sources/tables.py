"""Plain tables and series as lab scripts export them: ``.npy`` arrays and CSV files of
samples, trials and point events."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from neurodatashare.demo.simulate import simulate_trials


def write_timeseries_npy(
    path: Path, *, n_samples: int = 500, n_channels: int = 3, seed: int = 0
) -> np.ndarray:
    """A (samples, channels) float32 ``.npy`` of smooth signals (e.g. a photometry export)."""
    rng = np.random.default_rng([seed, 101])
    t = np.arange(n_samples)[:, None]
    data = np.sin(t / 20.0 + rng.uniform(0, 6, n_channels)) + 0.1 * rng.standard_normal(
        (n_samples, n_channels)
    )
    data = data.astype(np.float32)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.save(path, data)
    return data


def write_timeseries_csv(
    path: Path, *, n_samples: int = 300, rate: float = 50.0, seed: int = 0, with_time: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A CSV of samples: ``time,speed,pupil_area`` (or without ``time``); returns (t, data)."""
    rng = np.random.default_rng([seed, 102])
    t = np.arange(n_samples) / rate + 0.25
    data = np.stack(
        [
            np.abs(np.cumsum(rng.standard_normal(n_samples)) * 0.01).round(4),
            (200 + 20 * np.sin(t)).round(3),
        ],
        axis=1,
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow((["time"] if with_time else []) + ["speed", "pupil_area"])
        for i in range(n_samples):
            w.writerow(([f"{t[i]:.4f}"] if with_time else []) + [data[i, 0], data[i, 1]])
    return t.round(4), data


def write_trials_csv(path: Path, *, n_trials: int = 20, seed: int = 0) -> list[dict[str, object]]:
    """A behavioural-task export: one row per trial with stimulus and outcome columns."""
    trials = simulate_trials(seed, (9, 2), 4.5 * n_trials + 5)
    rows: list[dict[str, object]] = []
    for i in range(min(n_trials, len(trials))):
        rows.append(
            {
                "start_time": round(float(trials.start[i]), 4),
                "stop_time": round(float(trials.stop[i]), 4),
                "stimulus_orientation": float(trials.orientation[i]),
                "stimulus_contrast": float(trials.contrast[i]),
                "stimulus_name": f"grating_{int(trials.orientation[i])}deg",
                "correct": bool(trials.correct[i]),
                "response_time": (
                    round(float(trials.response_time[i]), 4)
                    if np.isfinite(trials.response_time[i])
                    else ""
                ),
            }
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow(
                {k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()}
            )
    return rows


def write_events_csv(path: Path, *, n_events: int = 40, seed: int = 0) -> list[dict[str, object]]:
    """Point events (e.g. rewards): ``timestamp,label,volume_ul`` rows."""
    rng = np.random.default_rng([seed, 103])
    t = np.sort(rng.uniform(0, 60, n_events)).round(4)
    rows: list[dict[str, object]] = [
        {"timestamp": float(x), "label": "reward", "volume_ul": float(rng.choice([2.0, 4.0]))}
        for x in t
    ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows
