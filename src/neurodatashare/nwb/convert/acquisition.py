"""Acquisition and analysis formats read through NeuroConv interfaces.

NeuroConv (0.10) describes what it writes with a keyed metadata dict. We hand it the parts
the user's YAML knows and the source files do not: which device recorded, where in the
brain, the calcium indicator. Everything NWB-file-level (subject, session, devices) is
built by us beforehand, so NeuroConv only adds the data; it re-uses devices by name.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.layout import ephys_chunks
from neurodatashare.nwb.convert.metadata import ConversionMetadata, MetadataError

if TYPE_CHECKING:
    from pynwb import NWBFile

NDS_ECEPHYS_DEVICE = "nds_ecephys_device"
NDS_OPHYS_DEVICE = "nds_ophys_device"
NDS_IMAGING_PLANE = "nds_imaging_plane"
#: Roughly how much raw data NeuroConv reads per write step (a multiple of the chunk rows).
BUFFER_BYTES = 256 * 1024 * 1024


@dataclass
class Source:
    """One opened NeuroConv source and what it needs at write time."""

    format: str
    interface: Any  # a NeuroConv data interface or converter pipe
    metadata: dict[str, Any]  # NeuroConv's metadata dict, updated from the user's YAML
    conversion_options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # warnings for the user

    @property
    def start_time(self) -> datetime | None:
        value = self.metadata.get("NWBFile", {}).get("session_start_time")
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return None
        return value if isinstance(value, datetime) else None

    def add_to(self, nwbfile: NWBFile) -> None:
        from neuroconv import ConverterPipe

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            if isinstance(self.interface, ConverterPipe):
                self.interface.add_to_nwbfile(
                    nwbfile, metadata=self.metadata, conversion_options=self.conversion_options
                )
            else:
                self.interface.add_to_nwbfile(
                    nwbfile, metadata=self.metadata, **self.conversion_options
                )


def _require(path: Path, kind: str, fmt: str) -> None:
    if kind == "dir" and not path.is_dir():
        raise BadRequest(f"--source {path}: {fmt} expects a folder, and there is no folder there.")
    if kind == "file" and not path.is_file():
        raise BadRequest(f"--source {path}: {fmt} expects a file, and there is no file there.")


def _interfaces(iface: Any) -> dict[str, Any]:
    """The data interfaces inside a converter pipe (or the interface itself)."""
    objs = getattr(iface, "data_interface_objects", None)
    return dict(objs) if objs else {"": iface}


def open_source(
    fmt: str,
    path: Path,
    meta: ConversionMetadata,
    *,
    stream: str | None = None,
    rate: float | None = None,
    stub: bool = False,
) -> Source:
    """Open ``path`` with the NeuroConv interface for ``fmt`` and fold in the user's metadata."""
    try:
        iface = _open_interface(fmt, path, meta, stream=stream, rate=rate)
    except (BadRequest, MetadataError):
        raise
    except ModuleNotFoundError as exc:
        raise BadRequest(
            f"Converting '{fmt}' needs the Python package '{exc.name}', which is not installed. "
            f"Install it with: pip install 'neurodatashare[convert]'"
        ) from exc
    except Exception as exc:  # a reader's complaint about the files: show it, not a traceback
        raise BadRequest(f"Could not read {path} as {fmt}: {describe_error(exc)}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nc_meta = iface.get_metadata()
    source = Source(format=fmt, interface=iface, metadata=nc_meta)
    if fmt in ("openephys", "spikeglx"):
        _apply_ecephys(source, meta, stub=stub)
    elif fmt == "phy":
        source.conversion_options = {"stub_test": stub}
    elif fmt in ("tiff", "suite2p"):
        _apply_ophys(source, meta, stub=stub)
    return source


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 600 else text[:600] + " ..."


def _open_interface(
    fmt: str, path: Path, meta: ConversionMetadata, *, stream: str | None, rate: float | None
) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "openephys":
            from neuroconv.datainterfaces import OpenEphysRecordingInterface

            _require(path, "dir", fmt)
            if not any(path.rglob("structure.oebin")) and not any(path.rglob("*.continuous")):
                raise BadRequest(
                    f"--source {path}: no Open Ephys recording found (no structure.oebin below "
                    "this folder). Point --source at the session folder holding 'Record Node ...'."
                )
            kwargs: dict[str, Any] = {"folder_path": path}
            if stream:
                kwargs["stream_name"] = stream
            return OpenEphysRecordingInterface(**kwargs)
        if fmt == "spikeglx":
            from neuroconv.converters import SpikeGLXConverterPipe

            _require(path, "dir", fmt)
            if not any(path.rglob("*.meta")):
                raise BadRequest(
                    f"--source {path}: no SpikeGLX .meta files below this folder. Point "
                    "--source at the run folder ('<run>_g0')."
                )
            streams = [stream] if stream else None
            return SpikeGLXConverterPipe(folder_path=path, streams=streams)
        if fmt == "phy":
            from neuroconv.datainterfaces import PhySortingInterface

            _require(path, "dir", fmt)
            missing = [n for n in ("params.py", "spike_times.npy") if not (path / n).is_file()]
            if missing:
                raise BadRequest(
                    f"--source {path}: not a Phy/Kilosort folder (missing {', '.join(missing)})."
                )
            return PhySortingInterface(folder_path=path, exclude_cluster_groups=["noise"])
        if fmt == "tiff":
            from neuroconv.datainterfaces import TiffImagingInterface

            _require(path, "file", fmt)
            fps = meta.ophys.imaging_rate or rate
            if fps is None:
                raise MetadataError(
                    "ophys.imaging_rate",
                    "a TIFF stack does not record its frame rate; give it (or pass --rate).",
                )
            return TiffImagingInterface(file_path=path, sampling_frequency=float(fps))
        if fmt == "suite2p":
            from neuroconv.datainterfaces import Suite2pSegmentationInterface

            _require(path, "dir", fmt)
            if path.name != "suite2p" and (path / "suite2p").is_dir():
                path = path / "suite2p"
            if not any(path.glob("plane*/stat.npy")):
                raise BadRequest(
                    f"--source {path}: not a Suite2p output folder (no plane*/stat.npy inside). "
                    "Point --source at the 'suite2p' folder."
                )
            kwargs = {"folder_path": path}
            if stream:
                kwargs["plane_name"] = stream
            return Suite2pSegmentationInterface(**kwargs)
    raise BadRequest(f"Unknown format '{fmt}'.")


# --- ecephys -------------------------------------------------------------------------


def _ecephys_device(meta: ConversionMetadata, has_own_device: bool) -> str | None:
    """The YAML device the electrodes belong to, or None to keep the format's own."""
    if meta.ecephys.device:
        return meta.ecephys.device
    if has_own_device:
        return None
    others = [d.name for d in meta.devices if d.name != meta.ophys.device]
    if len(others) == 1:
        return others[0]
    if len(others) > 1:
        raise MetadataError(
            "ecephys.device",
            f"several devices are listed ({', '.join(others)}); say which one recorded the "
            "electrophysiology.",
        )
    return None


def _apply_ecephys(source: Source, meta: ConversionMetadata, *, stub: bool) -> None:
    import numpy as np

    nc = source.metadata
    ecephys = nc.setdefault("Ecephys", {})
    groups_meta: dict[str, Any] = ecephys.setdefault("ElectrodeGroups", {})
    has_own_device = any(g.get("device_metadata_key") for g in groups_meta.values())
    device = _ecephys_device(meta, has_own_device)
    if device is not None:
        nc.setdefault("Devices", {})[NDS_ECEPHYS_DEVICE] = {"name": device}
    location = meta.ecephys.location
    options: dict[str, Any] = {}
    for key, iface in _interfaces(source.interface).items():
        rec = getattr(iface, "recording_extractor", None)
        if rec is None:
            continue
        n_ch = rec.get_num_channels()
        if rec.get_property("group_name") is None:
            groups = rec.get_channel_groups()
            if groups is None or len(set(groups.tolist())) <= 1:
                names = np.full(n_ch, "ElectrodeGroup")
            else:
                names = np.array([f"ElectrodeGroup{g}" for g in groups])
            rec.set_property("group_name", names)
        if location:
            rec.set_property("brain_area", np.full(n_ch, location))
        for name in sorted(set(rec.get_property("group_name").astype(str).tolist())):
            entry_key = next(
                (k for k, g in groups_meta.items() if g.get("name") == name), f"nds_group_{name}"
            )
            entry = groups_meta.setdefault(entry_key, {"name": name})
            entry.setdefault("description", meta.ecephys.description or f"Electrodes of {name}.")
            if meta.ecephys.description:
                entry["description"] = meta.ecephys.description
            if location:
                entry["location"] = location
            if device is not None:
                entry["device_metadata_key"] = NDS_ECEPHYS_DEVICE
        n_samples = rec.get_num_samples(segment_index=0)
        chunks = ephys_chunks(n_samples, n_ch, rec.get_dtype().itemsize)
        rows = max(1, BUFFER_BYTES // (chunks[0] * n_ch * rec.get_dtype().itemsize)) * chunks[0]
        opts: dict[str, Any] = {"stub_test": stub}
        if not stub:  # a stub keeps only the first samples; NeuroConv sizes its own buffers
            opts["iterator_options"] = {
                "chunk_shape": chunks,
                "buffer_shape": (min(rows, n_samples), n_ch),
                "display_progress": False,
            }
        if key:
            options[key] = opts
        else:
            options = opts
    if not location:
        source.notes.append(
            "ecephys.location is not set: the electrodes' brain region is written as 'unknown'."
        )
    source.conversion_options = options


# --- ophys ---------------------------------------------------------------------------

_ROI_RESPONSE_DESCRIPTIONS = {
    "raw": "Fluorescence of each ROI (mean over its mask), as extracted by the segmentation.",
    "neuropil": "Fluorescence of the neuropil around each ROI.",
    "deconvolved": "Deconvolved activity (inferred spiking) of each ROI.",
    "dff": "dF/F of each ROI.",
    "denoised": "Denoised fluorescence of each ROI.",
    "background": "Fluorescence of the background components.",
}


def _apply_ophys(source: Source, meta: ConversionMetadata, *, stub: bool) -> None:
    nc = source.metadata
    o = meta.ophys
    ophys = nc.setdefault("Ophys", {})
    plane: dict[str, Any] = {}
    if o.description:
        plane["description"] = o.description
    if o.location:
        plane["location"] = o.location
    if o.indicator:
        plane["indicator"] = o.indicator
    if o.excitation_lambda is not None:
        plane["excitation_lambda"] = float(o.excitation_lambda)
    if o.imaging_rate is not None:
        plane["imaging_rate"] = float(o.imaging_rate)
    if o.emission_lambda is not None:
        plane["optical_channel"] = [
            {
                "name": "OpticalChannel",
                "description": "Emission channel of the microscope.",
                "emission_lambda": float(o.emission_lambda),
            }
        ]
    device = o.device
    if device is None:
        others = [d.name for d in meta.devices if d.name != meta.ecephys.device]
        if len(others) == 1:
            device = others[0]
        elif len(others) > 1:
            raise MetadataError(
                "ophys.device",
                f"several devices are listed ({', '.join(others)}); say which one imaged.",
            )
    if device is not None:
        nc.setdefault("Devices", {})[NDS_OPHYS_DEVICE] = {"name": device}
        plane["device_metadata_key"] = NDS_OPHYS_DEVICE
    planes: dict[str, Any] = ophys.setdefault("ImagingPlanes", {})
    if planes:
        for entry in planes.values():
            entry.update(plane)
    else:
        planes[NDS_IMAGING_PLANE] = {"name": "ImagingPlane", **plane}
        for registry in ("MicroscopySeries", "PlaneSegmentations"):
            for entry in ophys.get(registry, {}).values():
                entry.setdefault("imaging_plane_metadata_key", NDS_IMAGING_PLANE)
    for entry in ophys.get("MicroscopySeries", {}).values():
        entry.setdefault("description", "Imaging frames as acquired.")
    for responses in ophys.get("RoiResponses", {}).values():
        for kind, entry in responses.items():
            entry.setdefault("description", _ROI_RESPONSE_DESCRIPTIONS.get(kind, f"{kind} traces."))
    for key, missing in (
        ("ophys.indicator", o.indicator is None),
        ("ophys.location", o.location is None),
        ("ophys.excitation_lambda", o.excitation_lambda is None),
    ):
        if missing:
            source.notes.append(f"{key} is not set: it is written as unknown.")
    if source.format == "tiff":
        source.conversion_options = {"stub_test": stub, "photon_series_type": "TwoPhotonSeries"}
    else:
        source.conversion_options = {"stub_test": stub}
