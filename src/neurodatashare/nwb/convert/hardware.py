"""The devices, electrodes and imaging plane of our YAML (`devices`, `ecephys`, `ophys`) in
NeuroConv 0.10's keyed metadata, for `nds convert --format NAME`.

The built-in formats write these themselves (nwb/convert/pipeline.py); through a NeuroConv
interface they would be dropped and NeuroConv would write its placeholders (location
"unknown", a device named "DeviceEcephys"), so a YAML that names the probe and the brain
region must reach NeuroConv's `Devices`, `Ecephys.ElectrodeGroups` and `Ophys.ImagingPlanes`.
NeuroConv fills whatever a group or a plane leaves out at write time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.metadata import (
    DeviceMetadata,
    EcephysMetadata,
    MetadataError,
    OphysMetadata,
    check_devices,
    validated,
)

DEFAULT_GROUP = "ElectrodeGroup"
PLANE_KEY = "nds_imaging_plane"  # our one imaging plane's key in Ophys.ImagingPlanes


class Hardware(BaseModel):
    """The YAML's `devices`, `ecephys` and `ophys` alone: what the wizard sends beside
    NeuroConv's metadata (`hardware` of POST /api/convert/jobs/)."""

    model_config = ConfigDict(extra="forbid")
    devices: list[DeviceMetadata] = Field(default_factory=list)
    ecephys: EcephysMetadata = Field(default_factory=EcephysMetadata)
    ophys: OphysMetadata = Field(default_factory=OphysMetadata)

    @model_validator(mode="after")
    def _devices(self) -> Hardware:
        check_devices(self)
        return self


def parse_hardware(data: Any) -> Hardware | None:
    """The request's `hardware`, checked as the YAML's sections are; a problem names its
    key (`hardware.ecephys.device: ...`)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise BadRequest("hardware: an object with devices, ecephys and ophys, as in the YAML.")
    try:
        return validated(Hardware, data)
    except MetadataError as exc:
        problems = [(f"hardware.{key}", problem) for key, problem in exc.problems]
        raise MetadataError(problems[0][0], problems[0][1], problems=problems) from None


def _set(target: dict[str, Any], **values: Any) -> dict[str, Any]:
    target.update({k: v for k, v in values.items() if v not in (None, "")})
    return target


def _channel_groups(converter: Any) -> list[str]:
    """The electrode group names the converter's recordings will write (NeuroConv names
    them by the `group_name` property, else by channel group)."""
    names: set[str] = set()
    for iface in converter.data_interface_objects.values():
        rec = getattr(iface, "recording_extractor", None)
        if rec is None:
            continue
        given = rec.get_property("group_name")
        found = given if given is not None else rec.get_channel_groups()
        # no groups at all: NeuroConv's one default group, of this name
        names |= {str(n) for n in found} if found is not None else {DEFAULT_GROUP}
    return sorted(names)


def _has_imaging(converter: Any) -> bool:
    return any(
        getattr(i, "imaging_extractor", None) is not None
        or getattr(i, "segmentation_extractor", None) is not None
        for i in converter.data_interface_objects.values()
    )


def with_hardware(
    merged: dict[str, Any], *, meta: Hardware | Any, converter: Any
) -> dict[str, Any]:
    """`merged` (NeuroConv's metadata) with the devices, groups and plane of `meta` (a
    Hardware, or the whole YAML's ConversionMetadata) added."""
    out = dict(merged)
    devices = dict(out.get("Devices") or {})
    for d in meta.devices:
        devices[d.name] = _set(
            dict(devices.get(d.name) or {}),
            name=d.name,
            description=d.description,
            manufacturer=d.manufacturer,
            model_number=d.model,
            serial_number=d.serial_number,
        )
    if devices:
        out["Devices"] = devices

    ephys = meta.ecephys
    named_any = ephys.location or ephys.device or ephys.description
    channel_groups = _channel_groups(converter) if named_any else []
    if channel_groups:
        section = dict(out.get("Ecephys") or {})
        groups = {k: dict(v) for k, v in (section.get("ElectrodeGroups") or {}).items()}
        named = {g.get("name") for g in groups.values()}
        for name in channel_groups:
            if name not in named:
                groups[name] = {"name": name}
        for group in groups.values():
            _set(
                group,
                location=ephys.location,
                description=ephys.description,
                device_metadata_key=ephys.device,
            )
        out["Ecephys"] = {**section, "ElectrodeGroups": groups}

    optics = meta.ophys
    if (optics.location or optics.device or optics.indicator) and _has_imaging(converter):
        section = dict(out.get("Ophys") or {})
        plane = _set(
            {"name": "ImagingPlane"},
            location=optics.location,
            indicator=optics.indicator,
            excitation_lambda=optics.excitation_lambda,
            description=optics.description,
            imaging_rate=optics.imaging_rate,
            device_metadata_key=optics.device,
        )
        if optics.emission_lambda is not None:
            plane["optical_channel"] = [
                {"name": "OpticalChannel", "emission_lambda": optics.emission_lambda}
            ]
        section["ImagingPlanes"] = {**(section.get("ImagingPlanes") or {}), PLANE_KEY: plane}
        for kind in ("MicroscopySeries", "PlaneSegmentations"):
            entries = section.get(kind)
            if isinstance(entries, dict):
                section[kind] = {
                    k: {"imaging_plane_metadata_key": PLANE_KEY, **v} for k, v in entries.items()
                }
        out["Ophys"] = section
    return out


def label_brain_areas(converter: Any, *, meta: Hardware | Any) -> None:
    """The YAML's `ecephys.location` as each channel's brain area where the recording names
    none: NeuroConv writes that property as the electrodes table's `location` column,
    which otherwise says "unknown" (nwbinspector then warns on every file)."""
    import numpy as np

    if not meta.ecephys.location:
        return
    for iface in converter.data_interface_objects.values():
        rec = getattr(iface, "recording_extractor", None)
        if rec is not None and rec.get_property("brain_area") is None:
            areas = np.full(rec.get_num_channels(), meta.ecephys.location, dtype=object)
            rec.set_property("brain_area", areas.astype(str))
