"""Findings about a file's HDF5 structure (nwb/structure.py's survey), as ValidationResults.

These are the problems neither pynwb's validator nor the NWB Inspector sees, because
pynwb hides them while reading: external links, objects of types the file's schema does
not define (pynwb drops them), dangling soft links, compression bombs and NWB versions
newer than the archive's pynwb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodatashare.nwb.read import OpenNWB
from neurodatashare.nwb.structure import Link, parse_version, unknown_types
from neurodatashare.validation.types import Severity, ValidationResult

_MIB = 2**20


def _finding(
    check: str,
    message: str,
    how_to_fix: str,
    *,
    severity: Severity = Severity.WARNING,
    object_path: str | None = None,
) -> ValidationResult:
    return ValidationResult(
        severity=severity,
        origin="hdf5",
        check=check,
        object_path=object_path,
        message=message,
        how_to_fix=how_to_fix,
    )


def _external_link(link: Link) -> ValidationResult:
    file = link.file or ""
    if Path(file).is_absolute() or "://" in file:
        shown = (
            f"The target is an absolute path, which exists only on the machine that wrote the "
            f"file, so the archive shows {link.path} as missing."
        )
    else:
        shown = (
            f"The archive follows the link when '{file}' is an asset of the same dataset "
            f"version at that path relative to this file; otherwise it shows {link.path} "
            "as missing."
        )
    return _finding(
        "external_link",
        f"{link.path} is an HDF5 external link to the object {link.target} in the file "
        f"'{file}'; its data are not in this file. {shown}",
        f"Upload '{file}' too, in the same folder relation as on disk, with a relative path "
        "in the link; or copy the data into this file so it stands alone.",
        object_path=link.path,
    )


def _external_link_broken(nwb: OpenNWB, link: Link) -> ValidationResult | None:
    """Local-only: does the target file exist next to this one, holding the object?"""
    import h5py

    target = (nwb.path.parent / (link.file or "")).resolve()
    problem = None
    if not target.is_file():
        problem = f"the file '{link.file}' does not exist next to this file"
    else:
        try:
            with h5py.File(target, "r") as other:
                if other.get(link.target, getlink=True) is None:
                    problem = f"'{link.file}' has no object {link.target}"
        except OSError:
            problem = f"'{link.file}' is not a readable HDF5 file"
    if problem is None:
        return None
    return _finding(
        "external_link_broken",
        f"The external link {link.path} is broken: {problem}. The archive will show "
        f"{link.path} as missing.",
        "Put the linked file where the link expects it (relative to this file) and upload "
        "it too, or remove the link (h5py: del f[path]).",
        object_path=link.path,
    )


def _version(nwb: OpenNWB) -> list[ValidationResult]:
    import pynwb

    found = parse_version(nwb.survey.nwb_version)
    core = pynwb.get_type_map().namespace_catalog.get_namespace("core").version
    known = parse_version(str(core))
    if found is None or known is None or found[:2] <= known[:2]:
        return []
    return [
        _finding(
            "nwb_version_newer",
            f"The file says it follows NWB {nwb.survey.nwb_version}, newer than the NWB "
            f"{core} the archive's pynwb {pynwb.__version__} knows. The archive reads it with "
            "the schema cached in the file; objects of types it cannot map are listed "
            "separately and are not shown.",
            "Nothing to do if the file reads as expected; otherwise write it with a released "
            "NWB version (pynwb or NeuroConv pick the current one).",
            object_path="/",
        )
    ]


def _unknown_types(nwb: OpenNWB, type_map: Any) -> list[ValidationResult]:
    out = []
    for path, namespace, ndtype in unknown_types(nwb.survey, type_map):
        out.append(
            _finding(
                "neurodata_type_unknown",
                f"{path} is stored as type '{ndtype}' of namespace '{namespace or '(none)'}', "
                "which the file's schema does not define, so pynwb silently drops it: it is "
                "not read, validated or shown.",
                "Write the file with the extension that defines the type installed and its "
                "namespace cached (NWBHDF5IO does this by default), or fix the object's "
                "neurodata_type and namespace attributes.",
                object_path=path,
            )
        )
    return out


def check_structure(nwb: OpenNWB, *, context: bool = False) -> list[ValidationResult]:
    """Every structural finding for an open file; `context` adds the checks that look at
    neighbouring files (local runs only)."""
    found = nwb.survey
    out: list[ValidationResult] = []
    for link in found.external_links:
        out.append(_external_link(link))
        if context and (broken := _external_link_broken(nwb, link)) is not None:
            out.append(broken)
    for link in found.dangling_links:
        out.append(
            _finding(
                "soft_link_broken",
                f"{link.path} is a soft link to {link.target}, which does not exist, so the "
                "object is missing.",
                "Point the link at an existing object or remove it (h5py: del f[path]).",
                object_path=link.path,
            )
        )
    for bomb in found.bombs:
        out.append(
            _finding(
                "compression_bomb",
                f"The dataset {bomb.path} takes {bomb.stored_bytes / _MIB:,.1f} MiB on disk but "
                f"{bomb.nominal_bytes / 2**30:,.1f} GiB when read whole "
                f"({bomb.nominal_bytes / max(bomb.stored_bytes, 1):,.0f} times more). The "
                "archive only ever reads parts of it; a program that loads it whole "
                "(data[:]) needs that much memory.",
                "If most of it is empty fill, store only the part that holds data (write the "
                "dataset with the shape of the recorded samples).",
                object_path=bomb.path,
            )
        )
    if found.incomplete:
        out.append(
            _finding(
                "structure_incomplete",
                "The file has more objects than the archive surveys; links, types and "
                "compression of the rest were not checked.",
                "Nothing to do; split very large collections of objects into several files "
                "if readers are slow.",
                severity=Severity.INFO,
            )
        )
    if nwb.io is not None:
        out.extend(_unknown_types(nwb, nwb.io.manager.type_map))
        out.extend(_version(nwb))
    return out
