"""Raw extracellular recordings as the acquisition software writes them: an Open Ephys
GUI 0.6 binary recording and a SpikeGLX run folder from a Neuropixels 1.0 probe."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from neurodatashare.demo.simulate import FS_RAW, UV_PER_BIT, simulate_ephys

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
