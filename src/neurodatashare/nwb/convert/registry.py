"""NeuroConv's formats, from NeuroConv's own registry (`neuroconv.datainterfaces.
interface_list`), not a hand-kept list: each interface with its modality, the files it
reads, whether the extra it needs is installed, and the exact `pip install` line if not.

NeuroConv declares one extra per format in its package metadata (`neuroconv[spikeglx]`,
`neuroconv[neuralynx]`, ...), named after the folder the interface's module lives in
(`neuroconv.datainterfaces.ecephys.spikeglx...`; `csv_events` is `csv-events`, a fiber
photometry `doric` is `doric-fp`), else the modality's extra (`image`, `icephys`). An
interface is installed when every requirement of its extra is (extras that name other
extras are followed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, metadata, version
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

MODALITIES = {
    "ecephys": "extracellular electrophysiology",
    "icephys": "intracellular electrophysiology",
    "ophys": "optical physiology",
    "behavior": "behavior",
    "text": "tables and events",
    "events": "events",
    "image": "images",
    "fiber_photometry": "fiber photometry",
}


@dataclass(frozen=True)
class ConvertFormat:
    name: str  # the interface's class name without "Interface", as NeuroConv's docs list it
    interface: str
    display_name: str
    modality: str
    reads: tuple[str, ...]
    extra: str | None
    installed: bool
    install: str | None  # the pip line when not installed

    def json(self, *, schema: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "interface": self.interface,
            "display_name": self.display_name,
            "modality": self.modality,
            "reads": list(self.reads),
            "installed": self.installed,
            "install": self.install,
        }
        if schema:
            out["source_schema"] = source_schema(self.interface)
        return out


@cache
def _extras() -> dict[str, list[Requirement]]:
    found: dict[str, list[Requirement]] = {}
    for line in metadata("neuroconv").get_all("Requires-Dist") or []:
        req = Requirement(line)
        for extra in metadata("neuroconv").get_all("Provides-Extra") or []:
            if req.marker is not None and req.marker.evaluate({"extra": extra}):
                found.setdefault(extra, []).append(req)
    return found


def _satisfied(req: Requirement, seen: frozenset[str] = frozenset()) -> bool:
    if req.name == "neuroconv":  # an extra that names other extras
        return all(_extra_installed(extra, seen) for extra in req.extras)
    if (
        req.marker is not None
        and not req.marker.evaluate({"extra": ""})
        and not any(req.marker.evaluate({"extra": e}) for e in _extras())
    ):
        return True  # for another platform or Python
    try:
        return req.specifier.contains(version(req.name), prereleases=True)
    except PackageNotFoundError:
        return False


def _extra_installed(extra: str, seen: frozenset[str] = frozenset()) -> bool:
    # NeuroConv's extras name others as written (`fiber_photometry_minimal`) while its
    # metadata declares them normalised (`fiber-photometry-minimal`): compare both so.
    name = canonicalize_name(extra)
    if name in seen:
        return True
    declared = {canonicalize_name(e): reqs for e, reqs in _extras().items()}
    if name not in declared:
        return False  # an extra NeuroConv does not declare cannot be installed
    return all(_satisfied(r, seen | {name}) for r in declared[name])


@cache
def _interfaces() -> dict[str, Any]:
    from neuroconv.datainterfaces import interface_list

    return {cls.__name__: cls for cls in interface_list}


def source_schema(interface: str) -> dict[str, Any]:
    """The interface's source options as NeuroConv's JSON schema."""
    schema: dict[str, Any] = _interfaces()[interface].get_source_schema()
    return schema


def _extra_for(modality: str, folder: str, extras: dict[str, Any]) -> str | None:
    candidates = [
        f"{folder}-fp" if modality == "fiber_photometry" else "",
        folder.replace("_", "-"),
        folder.split("_")[0],
        modality.replace("_", "-"),
    ]
    return next((c for c in candidates if c and c in extras), None)


INSTALL_NEUROCONV = "pip install 'neurodatashare[convert]'"


def neuroconv_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("neuroconv") is not None


@cache
def neuroconv_formats() -> tuple[ConvertFormat, ...]:
    """NeuroConv's interfaces; none when NeuroConv itself is not installed (callers say
    how to install it: INSTALL_NEUROCONV)."""
    if not neuroconv_installed():
        return ()
    extras = _extras()
    pinned = version("neuroconv")
    out = []
    for name, cls in _interfaces().items():
        parts = cls.__module__.split(".")  # neuroconv.datainterfaces.<modality>.<format>...
        modality = parts[2] if len(parts) > 2 else ""
        folder = parts[3] if len(parts) > 3 else ""
        extra = _extra_for(modality, folder, extras)
        installed = _extra_installed(extra) if extra else True
        out.append(
            ConvertFormat(
                name=name.removesuffix("Interface"),
                interface=name,
                display_name=str(getattr(cls, "display_name", None) or name),
                modality=MODALITIES.get(modality, modality),
                reads=tuple(dict.fromkeys(getattr(cls, "associated_suffixes", ()) or ())),
                extra=extra,
                installed=installed,
                install=None if installed else f'pip install "neuroconv[{extra}]=={pinned}"',
            )
        )
    return tuple(sorted(out, key=lambda f: (f.modality, f.name.lower())))
