"""Checking local files of every format before upload, as the archive will check them.

`nds validate` runs the NWB checks itself (validation/run.py: they also compare files
with each other); every other format a plugin claims is checked here by the plugin's own
`process` (a file) or `process_store` (a Zarr folder), so a scientist sees on the laptop
the very findings the archive would report after upload.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from neurodatashare.formats import format_for, store_format_for
from neurodatashare.validation.run import unreadable_result
from neurodatashare.validation.types import Severity, ValidationResult

ZARR_SUFFIXES = (".zarr", ".ngff")


def is_zarr_folder(path: Path) -> bool:
    return path.is_dir() and (
        path.name.lower().endswith(ZARR_SUFFIXES)
        or (path / ".zgroup").exists()
        or (path / "zarr.json").exists()
    )


def is_nwb(path: Path) -> bool:
    """HDF5 NWB files (and Zarr folders no other format claims) go to the NWB checks,
    which explain what they cannot check."""
    if path.is_dir():  # NWB-Zarr too: the NWB checks compare it with the other NWB files
        fmt = store_format_for(path.name)
        return fmt is None or fmt.name == "nwb-zarr"
    # a broken `.nwb` is still the NWB checks' to explain
    return path.name.lower().endswith(".nwb") or format_for(path.name, _head(path)).name == "nwb"


def iter_checked_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus every file or Zarr folder under named folders that a
    format checks (hidden entries below a named folder are skipped), in stable order."""
    out: list[Path] = []
    for top in map(Path, paths):
        if not top.is_dir() or is_zarr_folder(top):
            out.append(top)
            continue
        out.extend(_walk(top, top))
    return list(dict.fromkeys(out))


def _walk(folder: Path, top: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if is_zarr_folder(entry):
            found.append(entry)
        elif entry.is_dir():
            found.extend(_walk(entry, top))
        elif is_nwb(entry) or format_for(entry.name, _head(entry)).name != "plain":
            found.append(entry)
    return found


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(4096)
    except OSError:
        return b""


def check_local(path: Path) -> list[ValidationResult]:
    """The findings the archive's format plugin gives for one local file or Zarr folder
    (not NWB: see validation/run.py)."""
    key = str(path)
    if path.is_dir():
        store_fmt = store_format_for(path.name)
        if store_fmt is None:
            return [_not_checked(key)]
        import zarr

        # zarr-python's folder store is the read-only mapping process_store expects
        done = store_fmt.process_store(zarr.storage.DirectoryStore(str(path)), path=path.name)
    else:
        fmt = format_for(path.name, _head(path))
        with path.open("rb") as reader:
            processed = fmt.process(reader, path=path.name)
        if processed is None:
            return [_not_checked(key)]
        done = processed
    results = [ValidationResult.model_validate({**r, "file": key}) for r in done.results]
    if done.metadata is None and not any(r.severity >= Severity.ERROR for r in results):
        results.append(
            unreadable_result(
                f"The file could not be read: {done.error or 'no reason given'}.",
                how_to_fix="Check that the file is complete and of the format its name says.",
                file=key,
            )
        )
    return results


def _not_checked(key: str) -> ValidationResult:
    return ValidationResult(
        severity=Severity.INFO,
        origin="file",
        check="format_not_checked",
        message="No format the archive knows claims this file, so it is stored as is, "
        "unchecked (checked: NWB, h5ad, SWC, Neurolucida .asc, NeuroML, OME-Zarr).",
        how_to_fix="Nothing to fix, unless it should be one of those: then check its name.",
        file=key,
    )
