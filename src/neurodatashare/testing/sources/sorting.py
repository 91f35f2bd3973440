"""Spike-sorting output: a Kilosort 2.5 folder after curation in Phy."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurodatashare.demo.simulate import (
    FS_RAW,
    TEMPLATE_SAMPLES,
    TROUGH_SAMPLE,
    UV_PER_BIT,
    simulate_ephys,
)


@dataclass(frozen=True)
class SortingFixture:
    path: Path
    spike_times_s: dict[int, np.ndarray]  # cluster id -> spike times (s)
    groups: dict[int, str]  # cluster id -> 'good' / 'mua' / 'noise'
    sampling_rate: float


def write_phy(
    folder: Path,
    *,
    duration_s: float = 3.0,
    n_channels: int = 32,
    n_units: int = 12,
    seed: int = 0,
    with_recording: bool = True,
) -> SortingFixture:
    """A Kilosort 2.5 output folder after curation in Phy.

    ``spike_times.npy``, ``spike_clusters.npy``, ``spike_templates.npy``, ``amplitudes.npy``,
    ``templates.npy``, ``channel_map.npy``, ``channel_positions.npy``, ``params.py``,
    ``cluster_group.tsv``, ``cluster_KSLabel.tsv``, ``cluster_ContamPct.tsv``,
    ``cluster_Amplitude.tsv`` and (``with_recording``) the ``recording.dat`` it sorted.
    Cluster ids are not 0..n-1: two clusters were merged in Phy (a new id) and one marked noise.
    """
    probe, units, signal = simulate_ephys(seed, duration_s, n_channels=n_channels, n_units=n_units)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    # Kilosort's template ids are 0..n-1; Phy curation gives merged clusters new ids
    cluster_of_template = {u: u for u in range(n_units)}
    merged_id = n_units + 3
    cluster_of_template[1] = merged_id
    cluster_of_template[2] = merged_id
    times, templates_of_spike = [], []
    for u in range(n_units):
        times.append(units.spike_samples[u])
        templates_of_spike.append(np.full(units.spike_samples[u].size, u, dtype=np.uint32))
    st = np.concatenate(times)
    tmpl = np.concatenate(templates_of_spike)
    order = np.argsort(st, kind="stable")
    st, tmpl = st[order], tmpl[order]
    clusters = np.array([cluster_of_template[int(t)] for t in tmpl], dtype=np.int32)
    rng = np.random.default_rng([seed, 77])
    np.save(out / "spike_times.npy", st.astype(np.uint64)[:, None])
    np.save(out / "spike_templates.npy", tmpl)
    np.save(out / "spike_clusters.npy", clusters)
    np.save(out / "amplitudes.npy", rng.normal(20.0, 3.0, st.size)[:, None])
    whitened = units.templates / np.abs(units.templates).max(axis=(1, 2), keepdims=True)
    # Kilosort templates are 82 samples long with the trough at sample 41
    ks_templates = np.zeros((n_units, 82, n_channels), dtype=np.float32)
    a = 41 - TROUGH_SAMPLE
    b = min(82, a + TEMPLATE_SAMPLES)
    ks_templates[:, a:b] = whitened[:, : b - a]
    np.save(out / "templates.npy", ks_templates)
    np.save(out / "channel_map.npy", np.arange(n_channels, dtype=np.int32)[:, None])
    np.save(out / "channel_positions.npy", np.stack([probe.x_um, probe.y_um], axis=1))
    if with_recording:
        signal.counts(UV_PER_BIT).tofile(out / "recording.dat")
    (out / "params.py").write_text(
        "dat_path = 'recording.dat'\n"
        f"n_channels_dat = {n_channels}\n"
        "dtype = 'int16'\n"
        "offset = 0\n"
        f"sample_rate = {FS_RAW}\n"
        "hp_filtered = False\n"
    )
    ids = sorted(set(cluster_of_template.values()))
    groups = {}
    for cid in ids:
        groups[cid] = "good" if units.quality[min(cid, n_units - 1)] == "good" else "mua"
    groups[ids[-2]] = "noise"
    _write_tsv(out / "cluster_group.tsv", ["cluster_id", "group"], [[c, groups[c]] for c in ids])
    _write_tsv(
        out / "cluster_KSLabel.tsv",
        ["cluster_id", "KSLabel"],
        [[c, "good" if groups[c] == "good" else "mua"] for c in ids],
    )
    _write_tsv(
        out / "cluster_ContamPct.tsv",
        ["cluster_id", "ContamPct"],
        [[c, f"{rng.uniform(0, 30):.1f}"] for c in ids],
    )
    _write_tsv(
        out / "cluster_Amplitude.tsv",
        ["cluster_id", "Amplitude"],
        [[c, f"{rng.uniform(15, 60):.1f}"] for c in ids],
    )
    spike_times = {c: np.sort(st[clusters == c]) / FS_RAW for c in ids}
    return SortingFixture(path=out, spike_times_s=spike_times, groups=groups, sampling_rate=FS_RAW)


def _write_tsv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
