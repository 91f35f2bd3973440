"""The source formats ``nds convert`` understands, in one table (used by the CLI and docs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormatSpec:
    name: str
    title: str
    source: str  # what --source points at
    engine: str  # "neuroconv" (a NeuroConv interface) or "neurodatashare" (our own importer)
    modality: str


FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec(
            "openephys",
            "Open Ephys binary recording (GUI 0.5+)",
            "the session folder holding 'Record Node ...' (or any folder above structure.oebin)",
            "neuroconv",
            "ecephys",
        ),
        FormatSpec(
            "spikeglx",
            "SpikeGLX recording (Neuropixels), all streams",
            "the run folder '<run>_g0' holding the *.bin/*.meta files",
            "neuroconv",
            "ecephys",
        ),
        FormatSpec(
            "phy",
            "Phy / Kilosort spike sorting output",
            "the folder holding params.py, spike_times.npy and spike_clusters.npy",
            "neuroconv",
            "ecephys",
        ),
        FormatSpec(
            "tiff",
            "Two-photon imaging as a multi-page TIFF stack",
            "the .tif/.tiff file (set ophys.imaging_rate in the metadata)",
            "neuroconv",
            "ophys",
        ),
        FormatSpec(
            "suite2p",
            "Suite2p segmentation output",
            "the 'suite2p' folder holding plane0/, plane1/ ...",
            "neuroconv",
            "ophys",
        ),
        FormatSpec(
            "timeseries",
            "Any sampled signal in a .npy array or a .csv table",
            "the .npy (time first) or .csv file (a 'time' column, or set timeseries.rate)",
            "neurodatashare",
            "any",
        ),
        FormatSpec(
            "trials",
            "A trials table in CSV (start_time, stop_time and any other columns)",
            "the .csv file",
            "neurodatashare",
            "behavior",
        ),
    )
}


def format_help() -> str:
    """One line per format, for ``--help``."""
    width = max(len(n) for n in FORMATS)
    return "\n".join(f"{s.name.ljust(width)}  {s.title}" for s in FORMATS.values())
