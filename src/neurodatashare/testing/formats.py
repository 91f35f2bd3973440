"""Writers for small but real acquisition-format files, laid out as the acquisition or
analysis software writes them, for testing converters without downloading test data.

Each writer returns the path a user would hand to ``nds convert --source`` and fills it
with a few seconds of the demo's simulated signals (:mod:`neurodatashare.demo.simulate`),
so a test can compare what comes out of the NWB file with what went in.

==========================  ====================================  =======================
writer                      layout                                read by
==========================  ====================================  =======================
``write_openephys_binary``  Open Ephys GUI 0.6 binary format      neo / spikeinterface
``write_spikeglx``          SpikeGLX run folder, Neuropixels 1.0  neo / probeinterface
``write_phy``               Kilosort/Phy output folder            spikeinterface
``write_tiff_stack``        multi-page TIFF of 2-photon frames    tifffile / roiextractors
``write_suite2p``           ``suite2p/plane0/*.npy``              roiextractors
``write_timeseries_npy``    one ``.npy`` array, time first        numpy
``write_timeseries_csv``    CSV with a ``time`` column            pandas / csv
``write_trials_csv``        CSV with ``start_time, stop_time``    pandas / csv
``write_events_csv``        CSV with a ``timestamp`` column       pandas / csv
==========================  ====================================  =======================
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from neurodatashare.demo.simulate import (
    FRAME_RATE,
    FS_RAW,
    TEMPLATE_SAMPLES,
    TROUGH_SAMPLE,
    UV_PER_BIT,
    Imaging,
    simulate_ephys,
    simulate_imaging,
    simulate_trials,
)

DEFAULT_START = datetime(2024, 3, 4, 10, 15, 0)  # acquisition systems write local, naive times


@dataclass(frozen=True)
class EphysFixture:
    """What a raw-ephys writer put on disk, for comparing with the converted file."""

    path: Path  # hand this to the converter
    counts: np.ndarray  # (samples, channels) int16 as stored
    uv_per_bit: float
    sampling_rate: float
    first_sample: int  # acquisition clock sample of the first stored sample
    start_time: datetime


# --- Open Ephys ----------------------------------------------------------------------

_OE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>

<SETTINGS>
  <INFO>
    <VERSION>0.6.7</VERSION>
    <PLUGIN_API_VERSION>8</PLUGIN_API_VERSION>
    <DATE>{date}</DATE>
    <OS>Linux 6.1.0</OS>
    <MACHINE name="rig-1" cpu_model="Intel(R) Core(TM) i7-12700" cpu_num_cores="20"/>
  </INFO>
  <SIGNALCHAIN>
    <PROCESSOR name="Acquisition Board" insertionPoint="0" pluginName="Acquisition Board"
               type="4" index="0" libraryName="Rhythm Plugins" libraryVersion="0.2.6"
               processorType="2" nodeId="100">
      <GLOBAL_PARAMETERS/>
      <STREAM name="Rhythm Data" description="Continuous and event data from a device running
              Rhythm FPGA firmware" sample_rate="{rate}" channel_count="{n}">
        <PARAMETERS enable_stream="1"/>
      </STREAM>
      <CUSTOM_PARAMETERS/>
    </PROCESSOR>
    <PROCESSOR name="Record Node" insertionPoint="1" pluginName="Record Node" type="0"
               index="1" libraryName="" libraryVersion="" processorType="8" nodeId="101">
      <GLOBAL_PARAMETERS/>
      <STREAM name="Rhythm Data" description="" sample_rate="{rate}" channel_count="{n}">
        <PARAMETERS enable_stream="1"/>
      </STREAM>
      <CUSTOM_PARAMETERS path="/data" engine="BINARY" recordEvents="1" recordSpikes="1"
                         fifoMonitorsVisible="1"/>
    </PROCESSOR>
  </SIGNALCHAIN>
</SETTINGS>
"""


def write_openephys_binary(
    folder: Path,
    *,
    duration_s: float = 3.0,
    n_channels: int = 16,
    seed: int = 0,
    start_time: datetime = DEFAULT_START,
    first_sample: int = 123_456,
) -> EphysFixture:
    """An Open Ephys GUI 0.6 recording in the binary format, as the Record Node writes it.

    ``folder/<date>/Record Node 101/settings.xml`` and
    ``.../experiment1/recording1/{structure.oebin, sync_messages.txt,
    continuous/Acquisition_Board-100.Rhythm Data/{continuous.dat, sample_numbers.npy,
    timestamps.npy}, events/Acquisition_Board-100.Rhythm Data/TTL/*.npy}``.
    Returns the session folder (``folder/<date>``), which is what users point tools at.
    """
    _, _, signal = simulate_ephys(seed, duration_s, n_channels=n_channels)
    counts = signal.counts(UV_PER_BIT)
    session = Path(folder) / start_time.strftime("%Y-%m-%d_%H-%M-%S")
    node = session / "Record Node 101"
    recording = node / "experiment1" / "recording1"
    stream_folder = "Acquisition_Board-100.Rhythm Data"
    cont = recording / "continuous" / stream_folder
    ttl = recording / "events" / stream_folder / "TTL"
    cont.mkdir(parents=True, exist_ok=True)
    ttl.mkdir(parents=True, exist_ok=True)

    (node / "settings.xml").write_text(
        _OE_SETTINGS.format(
            date=f"{start_time.day} {start_time:%b %Y %H:%M:%S}", rate=FS_RAW, n=n_channels
        )
    )
    counts.tofile(cont / "continuous.dat")  # interleaved int16, sample-major
    samples = np.arange(first_sample, first_sample + counts.shape[0], dtype=np.int64)
    np.save(cont / "sample_numbers.npy", samples)
    np.save(cont / "timestamps.npy", samples / FS_RAW)
    # TTL line 1 goes high for 10 ms once a second (a sync pulse)
    rises = np.arange(first_sample + 3000, samples[-1], int(FS_RAW), dtype=np.int64)
    ttl_samples = np.stack([rises, rises + 300], axis=1).ravel()
    np.save(ttl / "sample_numbers.npy", ttl_samples)
    np.save(ttl / "timestamps.npy", ttl_samples / FS_RAW)
    np.save(ttl / "states.npy", np.tile(np.array([1, -1], dtype=np.int16), rises.size))
    np.save(ttl / "full_words.npy", np.tile(np.array([1, 0], dtype=np.uint64), rises.size))

    channels = [
        {
            "channel_name": f"CH{i + 1}",
            "description": "Headstage data channel",
            "identifier": "genericdata.continuous",
            "history": "Acquisition Board -> Record Node",
            "bit_volts": UV_PER_BIT,
            "units": "uV",
        }
        for i in range(n_channels)
    ]
    oebin = {
        "GUI version": "0.6.7",
        "continuous": [
            {
                "folder_name": stream_folder + "/",
                "sample_rate": FS_RAW,
                "source_processor_name": "Acquisition Board",
                "source_processor_id": 100,
                "stream_name": "Rhythm Data",
                "recorded_processor": "Acquisition Board",
                "recorded_processor_id": 100,
                "num_channels": n_channels,
                "channels": channels,
            }
        ],
        "events": [
            {
                "folder_name": stream_folder + "/TTL/",
                "channel_name": "Rhythm Data TTL Input",
                "description": "Rhythm FPGA TTL events",
                "identifier": "acquisition.board.ttl",
                "sample_rate": FS_RAW,
                "type": "int16",
                "num_channels": 8,
                "source_processor": "Acquisition Board",
                "stream_name": "Rhythm Data",
            }
        ],
        "spikes": [],
    }
    (recording / "structure.oebin").write_text(json.dumps(oebin, indent=2))
    (recording / "sync_messages.txt").write_text(
        f"Software Time (milliseconds since midnight Jan 1st 1970 UTC): "
        f"{int(start_time.timestamp() * 1000)}\n"
        f"Start Time for Acquisition Board (100) - Rhythm Data @ {int(FS_RAW)} Hz: "
        f"{first_sample}\n"
    )
    return EphysFixture(
        path=session,
        counts=counts,
        uv_per_bit=UV_PER_BIT,
        sampling_rate=FS_RAW,
        first_sample=first_sample,
        start_time=start_time,
    )


# --- SpikeGLX --------------------------------------------------------------------------

NP1_AP_GAIN = 500
NP1_LF_GAIN = 250
NP1_RANGE_V = 0.6
NP1_MAX_INT = 512
NP1_UV_PER_BIT = NP1_RANGE_V / NP1_MAX_INT / NP1_AP_GAIN * 1e6  # 2.34375 uV


def _np1_geometry(channel: int) -> tuple[int, int]:
    """x, y (um) of electrode ``channel`` (bank 0) of a Neuropixels 1.0 probe."""
    row = channel // 2
    x = (43, 11, 59, 27)[channel % 4]
    return x, row * 20


def write_spikeglx(
    folder: Path,
    *,
    duration_s: float = 2.0,
    n_channels: int = 64,
    seed: int = 0,
    run_name: str = "mouse01_day1",
    start_time: datetime = DEFAULT_START,
    probe_serial: str = "18194814141",
    first_sample: int = 4_200,
) -> EphysFixture:
    """A SpikeGLX run folder from a Neuropixels 1.0 probe, AP band, as SpikeGLX 20230425
    writes it when told to save only the first ``n_channels`` sites plus the sync channel.

    ``folder/<run>_g0/<run>_g0_imec0/<run>_g0_t0.imec0.ap.{bin,meta}``. Returns the run
    folder (``folder/<run>_g0``).
    """
    _, _, signal = simulate_ephys(seed, duration_s, n_channels=n_channels)
    counts = signal.counts(NP1_UV_PER_BIT)
    n = counts.shape[0]
    sync = ((np.arange(n) + first_sample) // int(FS_RAW / 2) % 2 * 64).astype(np.int16)  # 1 Hz
    data = np.concatenate([counts, sync[:, None]], axis=1)
    run = Path(folder) / f"{run_name}_g0"
    probe_dir = run / f"{run_name}_g0_imec0"
    probe_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{run_name}_g0_t0.imec0.ap"
    bin_path = probe_dir / f"{stem}.bin"
    data.tofile(bin_path)

    imro = "(0,384)" + "".join(f"({c} 0 0 {NP1_AP_GAIN} {NP1_LF_GAIN} 1)" for c in range(384))
    chan_map = "(384,384,1)" + "".join(f"(AP{c};{c}:{c})" for c in range(n_channels))
    chan_map += "(SY0;768:768)"
    shank_map = "(1,2,480)" + "".join(f"(0:{c % 2}:{c // 2}:1)" for c in range(n_channels))
    geom_map = "(PRB_1_4_0480_1,1,0,70)" + "".join(
        f"(0:{_np1_geometry(c)[0]}:{_np1_geometry(c)[1]}:1)" for c in range(n_channels)
    )
    meta = {
        "acqApLfSy": "384,384,1",
        "appVersion": "20230425",
        "fileCreateTime": start_time.strftime("%Y-%m-%dT%H:%M:%S"),
        "fileName": f"D:/data/{run.name}/{probe_dir.name}/{stem}.bin",
        "fileSHA1": hashlib.sha1(data.tobytes()).hexdigest().upper(),
        "fileSizeBytes": str(data.nbytes),
        "fileTimeSecs": f"{n / FS_RAW:.6f}",
        "firstSample": str(first_sample),
        "gateMode": "Immediate",
        "imAiRangeMax": str(NP1_RANGE_V),
        "imAiRangeMin": str(-NP1_RANGE_V),
        "imDatApi": "3.62.1",
        "imDatBs_fw": "2.0.137",
        "imDatBsc_fw": "3.2.176",
        "imDatBsc_hw": "2.1",
        "imDatBsc_pn": "NP2_QBSC_00",
        "imDatBsc_sn": "2001",
        "imDatFx_hw": "1.2",
        "imDatFx_pn": "NP2_FLEX_0",
        "imDatHs_hw": "1.0",
        "imDatHs_pn": "NP2_HS_30",
        "imDatHs_sn": "1234",
        "imDatPrb_dock": "1",
        "imDatPrb_pn": "PRB_1_4_0480_1",
        "imDatPrb_port": "1",
        "imDatPrb_slot": "2",
        "imDatPrb_sn": probe_serial,
        "imDatPrb_type": "0",
        "imLEDEnable": "false",
        "imMaxInt": str(NP1_MAX_INT),
        "imRoFile": "",
        "imSampRate": f"{FS_RAW:.0f}",
        "imStdby": "",
        "imTrgRising": "true",
        "imTrgSource": "0",
        "nSavedChans": str(n_channels + 1),
        "snsApLfSy": f"{n_channels},0,1",
        "snsSaveChanSubset": f"0:{n_channels - 1},768",
        "syncImInputSlot": "2",
        "syncSourceIdx": "0",
        "syncSourcePeriod": "1",
        "trigMode": "Immediate",
        "typeImEnabled": "1",
        "typeNiEnabled": "0",
        "typeObEnabled": "0",
        "typeThis": "imec",
        "userNotes": "",
        "~imroTbl": imro,
        "~snsChanMap": chan_map,
        "~snsGeomMap": geom_map,
        "~snsShankMap": shank_map,
    }
    (probe_dir / f"{stem}.meta").write_text("".join(f"{k}={v}\n" for k, v in meta.items()))
    return EphysFixture(
        path=run,
        counts=counts,
        uv_per_bit=NP1_UV_PER_BIT,
        sampling_rate=FS_RAW,
        first_sample=first_sample,
        start_time=start_time,
    )


# --- Phy -------------------------------------------------------------------------------


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


# --- imaging -----------------------------------------------------------------------------


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


# --- plain tables and series ----------------------------------------------------------------


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
