"""Small valid extracellular recordings and sortings in the formats NeuroConv reads beyond
Open Ephys binary, SpikeGLX and Phy (:mod:`neurodatashare.testing.sources`).

Where a writer library exists it writes the file (spikeinterface's ``write_binary_recording``
and ``MdaSortingExtractor.write_sorting``); the vendor binary formats without one (Blackrock
NSx, Neuralynx NCS, Open Ephys legacy ``.continuous``) are written from their documented
file specifications, each cited at its writer. Every writer returns a
:class:`~neurodatashare.testing.formats_base.FormatSample`.
"""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path

import numpy as np

from neurodatashare.testing.formats_base import START, FormatSample

RATE = 30_000.0
UV_PER_BIT = 0.195  # Intan headstages, as most of these systems record


def _signal(duration_s: float, n_channels: int, seed: int) -> np.ndarray:
    """(samples, channels) int16 counts: noise plus a slow oscillation, as a probe records."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE)
    t = np.arange(n) / RATE
    theta = 300 * np.sin(2 * np.pi * 8 * t)[:, None]
    noise = rng.normal(0, 60, size=(n, n_channels))
    return np.clip((theta + noise), -32768, 32767).astype(np.int16)


def _spikes(duration_s: float, n_units: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted spike frames and their unit labels (1-based, as MDA and NeuroScope count)."""
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for unit in range(1, n_units + 1):
        n = rng.poisson(5 * duration_s) + 2
        frames.append(np.sort(rng.choice(int(duration_s * RATE) - 1, n, replace=False)))
        labels.append(np.full(n, unit))
    f, lab = np.concatenate(frames), np.concatenate(labels)
    order = np.argsort(f, kind="stable")
    return f[order].astype(np.int64), lab[order].astype(np.int64)


def _recording(counts: np.ndarray) -> object:
    import spikeinterface.core as si

    rec = si.NumpyRecording([counts], sampling_frequency=RATE)
    rec.set_channel_gains(UV_PER_BIT)
    rec.set_channel_offsets(0.0)
    return rec


# --- NeuroScope (.dat + .xml), written with spikeinterface --------------------------------

_NEUROSCOPE_XML = """<?xml version='1.0'?>
<parameters version="1.0" creator="neuroscope-2.0.0">
 <generalInfo><date>{date}</date><experimenters>lab</experimenters></generalInfo>
 <acquisitionSystem>
  <nBits>16</nBits>
  <nChannels>{n}</nChannels>
  <samplingRate>{rate:g}</samplingRate>
  <voltageRange>20</voltageRange>
  <amplification>1000</amplification>
  <offset>0</offset>
 </acquisitionSystem>
 <fieldPotentials><lfpSamplingRate>1250</lfpSamplingRate></fieldPotentials>
 <anatomicalDescription>
  <channelGroups>
{groups}
  </channelGroups>
 </anatomicalDescription>
 <spikeDetection>
  <channelGroups>
{spike_groups}
  </channelGroups>
 </spikeDetection>
</parameters>
"""


def _neuroscope_xml(path: Path, n_channels: int, shanks: int) -> None:
    per = n_channels // shanks
    groups = "\n".join(
        "   <group>"
        + "".join(f'<channel skip="0">{c}</channel>' for c in range(s * per, (s + 1) * per))
        + "</group>"
        for s in range(shanks)
    )
    spike_groups = "\n".join(
        "   <group><channels>"
        + "".join(f"<channel>{c}</channel>" for c in range(s * per, (s + 1) * per))
        + "</channels><nSamples>32</nSamples><peakSampleIndex>16</peakSampleIndex>"
        "<nFeatures>3</nFeatures></group>"
        for s in range(shanks)
    )
    path.write_text(
        _NEUROSCOPE_XML.format(
            date=START.date().isoformat(),
            n=n_channels,
            rate=RATE,
            groups=groups,
            spike_groups=spike_groups,
        )
    )


def write_neuroscope_recording(
    folder: Path, *, duration_s: float = 2.0, n_channels: int = 8, seed: int = 1
) -> FormatSample:
    """A NeuroScope/Klusters session: ``<session>.dat`` (interleaved int16, written by
    spikeinterface's ``write_binary_recording``) and ``<session>.xml``, two shanks."""
    from spikeinterface.core import write_binary_recording

    session = Path(folder) / "mouse01_session1"
    session.mkdir(parents=True, exist_ok=True)
    dat = session / f"{session.name}.dat"
    write_binary_recording(_recording(_signal(duration_s, n_channels, seed)), file_paths=[dat])
    _neuroscope_xml(session / f"{session.name}.xml", n_channels, shanks=2)
    return FormatSample(
        "neuroscope",
        "NeuroScopeRecordingInterface",
        {"file_path": str(dat), "xml_file_path": str(session / f"{session.name}.xml")},
        "spikeinterface write_binary_recording + NeuroScope XML",
    )


def write_neuroscope_sorting(
    folder: Path, *, duration_s: float = 2.0, n_channels: int = 8, seed: int = 2
) -> FormatSample:
    """Klusters' sorting of the same session: per shank ``.res.N`` (spike samples) and
    ``.clu.N`` (the number of clusters, then one cluster per spike; 0 is noise, 1
    multi-unit)."""
    session = Path(folder) / "mouse01_session1"
    session.mkdir(parents=True, exist_ok=True)
    _neuroscope_xml(session / f"{session.name}.xml", n_channels, shanks=2)
    for shank in (1, 2):
        frames, labels = _spikes(duration_s, 4, seed + shank)
        clusters = labels + 1  # Klusters' clusters 2.. are units
        np.savetxt(session / f"{session.name}.res.{shank}", frames, fmt="%d")
        with open(session / f"{session.name}.clu.{shank}", "w") as fh:
            fh.write(f"{np.unique(clusters).size}\n")  # the number of clusters used
            np.savetxt(fh, clusters, fmt="%d")
    return FormatSample(
        "neuroscope-sorting",
        "NeuroScopeSortingInterface",
        {"folder_path": str(session), "xml_file_path": str(session / f"{session.name}.xml")},
        "Klusters .res/.clu text files",
    )


# --- White Matter (raw .bin), written with spikeinterface ---------------------------------


def write_whitematter(
    folder: Path, *, duration_s: float = 2.0, n_channels: int = 16, seed: int = 3
) -> FormatSample:
    """A White Matter e3v/eCube headless recording: headerless interleaved int16
    (``HSW_<date>__<n>ch__<bits>__<rate>.bin``), written by ``write_binary_recording``."""
    from spikeinterface.core import write_binary_recording

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"HSW_{START:%Y_%m_%d__%H_%M_%S}__{n_channels}ch__16bit__30kHz.bin"
    write_binary_recording(_recording(_signal(duration_s, n_channels, seed)), file_paths=[path])
    return FormatSample(
        "whitematter",
        "WhiteMatterRecordingInterface",
        {"file_path": str(path), "sampling_frequency": RATE, "num_channels": n_channels},
        "spikeinterface write_binary_recording",
    )


# --- MountainSort (firings.mda), written with spikeinterface -------------------------------


def write_mda_sorting(folder: Path, *, duration_s: float = 3.0, seed: int = 4) -> FormatSample:
    """MountainSort's ``firings.mda`` (3 x spikes: channel, frame, label), written by
    spikeinterface's ``MdaSortingExtractor.write_sorting``."""
    import spikeinterface.core as si
    from spikeinterface.extractors.mdaextractors import MdaSortingExtractor

    frames, labels = _spikes(duration_s, 5, seed)
    sorting = si.NumpySorting.from_samples_and_labels([frames], [labels], sampling_frequency=RATE)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "firings.mda"
    MdaSortingExtractor.write_sorting(sorting, path)
    return FormatSample(
        "mda",
        "MdaSortingInterface",
        {"file_path": str(path), "sampling_frequency": RATE},
        "spikeinterface MdaSortingExtractor.write_sorting",
    )


# --- Blackrock NSx 2.3 (.ns5), from the spec -----------------------------------------------


def _systemtime(t: datetime) -> bytes:
    """Windows SYSTEMTIME: year, month, weekday (0 = Sunday), day, hour, min, s, ms."""
    weekday = (t.weekday() + 1) % 7
    return struct.pack(
        "<8H", t.year, t.month, weekday, t.day, t.hour, t.minute, t.second, t.microsecond // 1000
    )


def write_blackrock_ns5(
    folder: Path, *, duration_s: float = 2.0, n_channels: int = 8, seed: int = 5
) -> FormatSample:
    """A Cerebus/NeuroPort continuous file, ``.ns5`` (30 kHz), NSx file spec 2.3.

    No writer library exists; this follows Blackrock's "NEV and NSx File Specification"
    (rev. 2.3): a 314-byte basic header ("NEURALCD", version, header size, label, comment,
    period in 1/30 kHz ticks, time resolution, SYSTEMTIME origin, channel count), one
    66-byte "CC" extended header per electrode (id, label, connector, digital/analog
    ranges, units, filters), then data packets (0x01, uint32 timestamp, uint32 points,
    int16 samples interleaved by channel).
    """
    counts = _signal(duration_s, n_channels, seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "datafile001.ns5"
    header_bytes = 314 + 66 * n_channels
    basic = (
        b"NEURALCD"
        + struct.pack("<BBI", 2, 3, header_bytes)
        + b"raw".ljust(16, b"\0")
        + b"simulated recording".ljust(256, b"\0")
        + struct.pack("<II", 1, 30_000)  # period 1 tick = 30 kHz; 30 kHz clock
        + _systemtime(START)
        + struct.pack("<I", n_channels)
    )
    assert len(basic) == 314
    ext = b""
    for ch in range(n_channels):
        ext += (
            b"CC"
            + struct.pack("<H", ch + 1)
            + f"chan{ch + 1}".encode().ljust(16, b"\0")
            + struct.pack("<BB", 1, ch + 1)  # bank A, pin
            + struct.pack("<hhhh", -32764, 32764, -8191, 8191)  # 0.25 uV per bit
            + b"uV".ljust(16, b"\0")
            + struct.pack("<IIH", 300, 1, 0)  # high-pass corner (mHz), order, type
            + struct.pack("<IIH", 7_500_000, 3, 1)  # low-pass corner (mHz), order, type
        )
    with open(path, "wb") as fh:
        fh.write(basic + ext)
        fh.write(struct.pack("<BII", 1, 0, counts.shape[0]))
        fh.write(counts.astype("<i2").tobytes())
    return FormatSample(
        "blackrock",
        "BlackrockRecordingInterface",
        {"file_path": str(path)},
        "NSx 2.3 file spec (no writer library)",
        volts=counts * 0.25e-6,  # 16382 uV over 65528 steps
    )


# --- Neuralynx NCS, from the spec ------------------------------------------------------------


def write_neuralynx_ncs(
    folder: Path, *, duration_s: float = 2.0, n_channels: int = 4, seed: int = 6
) -> FormatSample:
    """A Cheetah 6 session folder with one ``CSC<n>.ncs`` per channel.

    No writer library exists; this follows Neuralynx's "Data File Formats" document: a
    16 kB latin-1 text header (``-Key value`` lines after "######## Neuralynx Data File
    Header", NUL padded), then 1044-byte records (uint64 timestamp in microseconds, uint32
    channel, uint32 sampling rate, uint32 valid samples, 512 int16 samples).
    """
    counts = _signal(duration_s, n_channels, seed)
    n_records = counts.shape[0] // 512
    counts = counts[: n_records * 512]
    session = Path(folder) / f"{START:%Y-%m-%d_%H-%M-%S}"
    session.mkdir(parents=True, exist_ok=True)
    record = np.dtype(
        [("ts", "<u8"), ("ch", "<u4"), ("fs", "<u4"), ("n", "<u4"), ("s", "<i2", (512,))]
    )
    us_per_record = 512 / RATE * 1e6
    for ch in range(n_channels):
        header = "\r\n".join(
            [
                "######## Neuralynx Data File Header",
                "-FileType CSC",
                "-FileVersion 3.4",
                "-RecordSize 1044",
                f'-OriginalFileName "C:\\CheetahData\\{session.name}\\CSC{ch + 1}.ncs"',
                f"-TimeCreated {START:%Y/%m/%d %H:%M:%S}",
                f"-TimeClosed {START:%Y/%m/%d %H:%M:%S}",
                '-ApplicationName Cheetah "6.4.1"',
                "-AcquisitionSystem AcqSystem1 DigitalLynxSX",
                "-HardwareSubSystemName AcqSystem1",
                "-HardwareSubSystemType DigitalLynxSX",
                f"-SamplingFrequency {RATE:g}",
                "-ADMaxValue 32767",
                f"-ADBitVolts {UV_PER_BIT * 1e-6:.12f}",
                f"-AcqEntName CSC{ch + 1}",
                "-NumADChannels 1",
                f"-ADChannel {ch}",
                "-InputRange 6000",
                "-InputInverted True",
                "-DSPLowCutFilterEnabled True",
                "-DspLowCutFrequency 0.1",
                "-DSPHighCutFilterEnabled True",
                "-DspHighCutFrequency 9000",
                "",
            ]
        ).encode("latin-1")
        recs = np.zeros(n_records, dtype=record)
        recs["ts"] = 1_000_000 + (np.arange(n_records) * us_per_record).astype(np.uint64)
        recs["ch"] = ch
        recs["fs"] = int(RATE)
        recs["n"] = 512
        recs["s"] = counts[:, ch].reshape(n_records, 512)
        with open(session / f"CSC{ch + 1}.ncs", "wb") as fh:
            fh.write(header.ljust(16 * 1024, b"\0"))
            fh.write(recs.tobytes())
    return FormatSample(
        "neuralynx",
        "NeuralynxRecordingInterface",
        {"folder_path": str(session)},
        "Neuralynx NCS spec (no writer library)",
        volts=-counts * UV_PER_BIT * 1e-6,  # InputInverted: readers flip the sign back
    )


# --- Open Ephys legacy (.continuous), from the spec -------------------------------------------


def write_openephys_legacy(
    folder: Path, *, duration_s: float = 2.0, n_channels: int = 4, seed: int = 7
) -> FormatSample:
    """An Open Ephys GUI 0.4 recording in the legacy "Open Ephys Data Format":
    ``100_CH<n>.continuous`` files plus ``settings.xml``.

    No writer library exists; this follows the Open Ephys wiki's "Open Ephys format" page:
    a 1024-byte ASCII header of MATLAB-style ``header.key = value;`` lines, then records of
    an int64 timestamp, uint16 sample count (1024), uint16 recording number, 1024
    big-endian int16 samples and the 10-byte record marker 0..8, 255.
    """
    counts = _signal(duration_s, n_channels, seed)
    n_records = counts.shape[0] // 1024
    counts = counts[: n_records * 1024]
    session = Path(folder) / f"{START:%Y-%m-%d_%H-%M-%S}"
    session.mkdir(parents=True, exist_ok=True)
    record = np.dtype(
        [("ts", "<i8"), ("n", "<u2"), ("rec", "<u2"), ("s", ">i2", (1024,)), ("m", "u1", (10,))]
    )
    marker = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 255], dtype=np.uint8)
    for ch in range(n_channels):
        header = (
            "header.format = 'Open Ephys Data Format'; \n"
            "header.version = 0.4;\n"
            "header.header_bytes = 1024;\n"
            "header.description = 'each record contains one 64-bit timestamp, one 16-bit "
            "sample count (N), 1 uint16 recordingNumber, N 16-bit samples, and one 10-byte "
            "record marker (0 1 2 3 4 5 6 7 8 255)'; \n"
            f"header.date_created = '{START:%d-%b-%Y %H%M%S}';\n"
            f"header.channel = 'CH{ch + 1}';\n"
            "header.channelType = 'Continuous';\n"
            f"header.sampleRate = {int(RATE)};\n"
            "header.blockLength = 1024;\n"
            "header.bufferSize = 1024;\n"
            f"header.bitVolts = {UV_PER_BIT};\n"
        ).encode()
        recs = np.zeros(n_records, dtype=record)
        recs["ts"] = np.arange(n_records) * 1024
        recs["n"] = 1024
        recs["s"] = counts[:, ch].reshape(n_records, 1024)
        recs["m"] = marker
        with open(session / f"100_CH{ch + 1}.continuous", "wb") as fh:
            fh.write(header.ljust(1024, b" "))
            fh.write(recs.tobytes())
    (session / "settings.xml").write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<SETTINGS><INFO><VERSION>0.4.6</VERSION>"
        f"<DATE>{START:%d %b %Y %H:%M:%S}</DATE><OS>Linux</OS><MACHINE>rig-1</MACHINE></INFO>"
        "<SIGNALCHAIN/></SETTINGS>\n"
    )
    return FormatSample(
        "openephys-legacy",
        "OpenEphysLegacyRecordingInterface",
        {"folder_path": str(session)},
        "Open Ephys legacy format spec (no writer library)",
        volts=counts * UV_PER_BIT * 1e-6,
    )


# --- Intan RHD2000 (.rhd), from the spec -----------------------------------------------------


def _qstring(text: str) -> bytes:
    """Qt's QString serialisation, as Intan's header uses: uint32 byte length, UTF-16LE."""
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data)) + data


def write_intan_rhd(
    folder: Path, *, duration_s: float = 1.0, n_channels: int = 8, seed: int = 8
) -> FormatSample:
    """An Intan RHD USB interface board recording, "traditional" file (header and data in
    one ``.rhd``), file version 1.3.

    No writer library exists; this follows Intan's "RHD2000 Application Note: Data File
    Formats": magic 0xC6912702, version, sampling rate, DSP and bandwidth settings,
    notch mode, impedance test frequencies, three QString notes, temperature-sensor count,
    board mode, then signal groups (name, prefix, enabled, channel counts) each with its
    channel headers; the data is blocks of 60 samples (int32 timestamps, then each
    amplifier channel's 60 uint16 samples, offset by 32768, 0.195 uV per bit).
    """
    counts = _signal(duration_s, n_channels, seed)
    n_blocks = counts.shape[0] // 60
    counts = counts[: n_blocks * 60]
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"mouse01_{START:%y%m%d_%H%M%S}.rhd"
    header = struct.pack("<Ihh", 0xC6912702, 1, 3)
    header += struct.pack("<fh", RATE, 1)  # sampling rate, DSP offset removal on
    header += struct.pack("<fff", 1.0, 0.1, 7500.0)  # actual DSP cutoff, lower, upper bandwidth
    header += struct.pack("<fff", 1.0, 0.1, 7500.0)  # the same, as requested
    header += struct.pack("<h", 0)  # notch filter off
    header += struct.pack("<ff", 1000.0, 1000.0)  # impedance test frequency, requested/actual
    header += _qstring("simulated") + _qstring("") + _qstring("")
    header += struct.pack("<hh", 0, 0)  # no temperature sensors; USB board (mode 0)
    header += struct.pack("<h", 1)  # one signal group
    header += _qstring("Port A") + _qstring("A") + struct.pack("<hhh", 1, n_channels, n_channels)
    for ch in range(n_channels):
        name = f"A-{ch:03d}"
        header += _qstring(name) + _qstring(name)
        header += struct.pack("<hhhhhh", ch, ch, 0, 1, ch, 0)  # orders, amplifier, on, chip, stream
        header += struct.pack("<hhhh", 0, 0, 0, 0)  # spike scope trigger settings
        header += struct.pack("<ff", 1.0e6, -45.0)  # electrode impedance magnitude, phase
    blocks = np.zeros(n_blocks, dtype=[("t", "<i4", (60,)), ("amp", "<u2", (n_channels, 60))])
    blocks["t"] = np.arange(n_blocks * 60, dtype=np.int32).reshape(n_blocks, 60)
    amp = (counts.astype(np.int32) + 32768).astype(np.uint16)  # stored unsigned
    blocks["amp"] = amp.reshape(n_blocks, 60, n_channels).transpose(0, 2, 1)
    with open(path, "wb") as fh:
        fh.write(header)
        fh.write(blocks.tobytes())
    return FormatSample(
        "intan",
        "IntanRecordingInterface",
        {"file_path": str(path)},
        "Intan RHD file format spec (no writer library)",
        volts=counts * UV_PER_BIT * 1e-6,
    )


# --- Multi Channel Systems MC_DataTool binary export (.raw), from its documented layout ---------


def write_mcs_raw(
    folder: Path, *, duration_s: float = 1.0, n_channels: int = 8, seed: int = 9
) -> FormatSample:
    """A Multi Channel Systems MEA recording exported by MC_DataTool as "binary" (.raw).

    No writer library exists; this follows MC_DataTool's documented export: a text header
    (``MC_DataTool binary conversion``, version, source file, ``Sample rate``, ``ADC zero``,
    ``El = <uV>µV/AD``, ``Streams = El_12;El_13;...``) closed by ``EOH`` and CRLF, then
    interleaved uint16 samples offset by ADC zero.
    """
    counts = _signal(duration_s, n_channels, seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mea_recording.raw"
    names = [f"El_{10 * (1 + c // 4) + 2 + c % 4}" for c in range(n_channels)]  # MEA grid ids
    header = "\r\n".join(
        [
            "MC_DataTool binary conversion",
            "Version 2.6.15",
            'MC_REC file = "C:\\MEA\\mea_recording.mcd"',
            f"Sample rate = {int(RATE)}",
            "ADC zero = 32768",
            "El = 0.1\u00b5V/AD",
            f"Streams = {';'.join(names)}",
            "EOH",
            "",
        ]
    ).encode("windows-1252")
    with open(path, "wb") as fh:
        fh.write(header)
        fh.write((counts.astype(np.int32) + 32768).astype("<u2").tobytes())
    return FormatSample(
        "mcs-raw",
        "MCSRawRecordingInterface",
        {"file_path": str(path)},
        "MC_DataTool binary export layout (no writer library)",
        volts=counts * 0.1e-6,
    )
