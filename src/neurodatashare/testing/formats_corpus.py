"""A corpus of small valid samples in the formats NeuroConv 0.10.2 reads, beyond the five
the quick start converts (:mod:`neurodatashare.testing.sources`), and the direct
NeuroConv call that converts one (what ``tests/test_convert_formats.py`` checks and
``bench/convert_throughput.py`` times).

=========================  ==============================  ========================================
sample                     NeuroConv interface             written by
=========================  ==============================  ========================================
``neuroscope``             NeuroScopeRecordingInterface    spikeinterface + NeuroScope XML
``neuroscope-sorting``     NeuroScopeSortingInterface      Klusters .res/.clu text
``whitematter``            WhiteMatterRecordingInterface   spikeinterface write_binary_recording
``mda``                    MdaSortingInterface             spikeinterface MdaSortingExtractor
``blackrock``              BlackrockRecordingInterface     NSx 2.3 spec
``neuralynx``              NeuralynxRecordingInterface     Neuralynx NCS spec
``openephys-legacy``       OpenEphysLegacyRecording...     Open Ephys legacy format spec
``intan``                  IntanRecordingInterface         Intan RHD file format spec
``mcs-raw``                MCSRawRecordingInterface        MC_DataTool binary export layout
=========================  ==============================  ========================================

(the other modalities are listed in :mod:`neurodatashare.testing.formats_other`; the
ScanImage BigTIFF is :mod:`neurodatashare.testing.formats_scanimage`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from neurodatashare.testing import formats_ephys, formats_other, formats_scanimage
from neurodatashare.testing.formats_base import START, FormatSample

WRITERS: dict[str, Callable[[Path], FormatSample]] = {
    "neuroscope": formats_ephys.write_neuroscope_recording,
    "neuroscope-sorting": formats_ephys.write_neuroscope_sorting,
    "whitematter": formats_ephys.write_whitematter,
    "mda": formats_ephys.write_mda_sorting,
    "blackrock": formats_ephys.write_blackrock_ns5,
    "neuralynx": formats_ephys.write_neuralynx_ncs,
    "openephys-legacy": formats_ephys.write_openephys_legacy,
    "intan": formats_ephys.write_intan_rhd,
    "mcs-raw": formats_ephys.write_mcs_raw,
    **formats_other.WRITERS,
    "scanimage": formats_scanimage.write_scanimage,
}

SUBJECT = {
    "subject_id": "mouse01",
    "species": "Mus musculus",
    "sex": "F",
    "age": "P90D",
    "description": "wild type",
}


def write_sample(name: str, root: Path) -> FormatSample:
    """Write the sample ``name`` into its own folder under ``root``."""
    return WRITERS[name](Path(root) / name)


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def neuroconv_metadata(interface: Any, sample: FormatSample) -> dict[str, Any]:
    """The interface's metadata plus what a user supplies: subject, a time zone on the
    start time, and the sample's own additions."""
    metadata: dict[str, Any] = interface.get_metadata()
    nwb = metadata.setdefault("NWBFile", {})
    start = nwb.get("session_start_time") or START
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo("Europe/London"))
    nwb["session_start_time"] = start
    nwb.setdefault("session_description", f"{sample.name} sample converted by NeuroConv.")
    nwb.setdefault("experimenter", ["Doe, Jane"])
    nwb.setdefault("institution", "Example Institute")
    nwb.setdefault("lab", "Example Lab")
    metadata.setdefault("Subject", {})
    _merge(metadata["Subject"], SUBJECT)
    _merge(metadata, sample.metadata)
    return metadata


def interface_class(name: str) -> Any:
    from neuroconv import datainterfaces

    return getattr(datainterfaces, name)


def convert_with_neuroconv(sample: FormatSample, nwbfile_path: Path, *, stub: bool) -> Path:
    """NeuroConv on its own: open the interface, take its metadata, run the conversion."""
    interface = interface_class(sample.interface)(**sample.source_options)
    metadata = neuroconv_metadata(interface, sample)
    options = dict(sample.conversion_options)
    if stub and _accepts(interface, "stub_test"):
        options["stub_test"] = True
    interface.run_conversion(
        nwbfile_path=str(nwbfile_path), metadata=metadata, overwrite=True, **options
    )
    return Path(nwbfile_path)


def _accepts(interface: Any, option: str) -> bool:
    import inspect

    return option in inspect.signature(interface.add_to_nwbfile).parameters
