"""Validate NWB files: schema (pynwb), best practice (NWB Inspector, DANDI configuration)
and the archive's metadata rules, in one read of each file.

`validate_nwb_file` is what the archive's background worker calls per blob. Its result
depends only on the file's bytes (no clock, no file name, no neighbouring files), so the
archive caches it by sha256 and recomputes only when VALIDATOR_VERSION changes.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neurodatashare.nwb.read import NWBReadError, OpenNWB, open_nwb
from neurodatashare.validation.hdf5 import check_structure
from neurodatashare.validation.inspector import run_inspector
from neurodatashare.validation.rules import RULES_VERSION, check_metadata
from neurodatashare.validation.types import Severity, ValidationResult, sort_key


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "0"


# Part of the archive's cache key: any change here makes cached reports stale.
VALIDATOR_VERSION = (
    f"pynwb-{_version('pynwb')}+hdmf-{_version('hdmf')}"
    f"+nwbinspector-{_version('nwbinspector')}+rules-{RULES_VERSION}+hdf5-1"
    "+schema-2"  # 2: against the file's cached namespaces, as pynwb.validate(path) does
)

_SCHEMA_FIX = (
    "This part of the file does not follow the NWB schema. Write the file with a current "
    "pynwb or NeuroConv instead of editing it with h5py, then validate again."
)


def _schema_results(nwb: OpenNWB) -> list[ValidationResult]:
    import pynwb
    from hdmf.validate import ValidatorMap
    from pynwb.validation import get_cached_namespaces_to_validate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Validate against the namespaces cached in the file, read into a fresh catalog:
        # pynwb.validate(io=...) looks them up in the io's own catalog, where an extension
        # imported in this process (ndx-sound, imported by NeuroConv's audio interface)
        # is its installed spec, which includes only some core types, and validation
        # stops at the root ("data type 'NWBFile' not found in namespace ndx-sound").
        io = nwb.io
        namespaces, manager, _ = (
            ([], None, None) if io is None else get_cached_namespaces_to_validate(io=io)
        )
        if io is not None and manager is not None and namespaces:
            builder = io.read_builder()
            errors = []
            for ns in namespaces:
                spec = manager.namespace_catalog.get_namespace(name=ns)
                errors += ValidatorMap(spec).validate(builder)
        else:
            errors = pynwb.validate(io=nwb.io)
    out = []
    for err in errors:
        location = getattr(err, "location", None) or None
        if location:
            location = "/" + str(location).removeprefix("root").lstrip("/")
        out.append(
            ValidationResult(
                severity=Severity.ERROR,
                origin="pynwb",
                check=f"schema:{type(err).__name__}",
                object_path=location,
                message=f"{getattr(err, 'name', '')}: {getattr(err, 'reason', err)}".lstrip(": "),
                how_to_fix=_SCHEMA_FIX,
            )
        )
    return out


def _stage(
    origin: Any, name: str, func: Callable[[], list[ValidationResult]]
) -> list[ValidationResult]:
    """Run one validator; if it crashes, report that instead of losing the other results."""
    try:
        return func()
    except (Exception, RecursionError) as exc:
        reason = (
            "the file is nested too deeply or loops back on itself"
            if isinstance(exc, RecursionError)
            else f"{type(exc).__name__}: {exc}"
        )
        return [
            ValidationResult(
                severity=Severity.ERROR,
                origin=origin,
                check=f"{name}_failed",
                message=f"The {name} step could not finish: {reason}",
                how_to_fix="This is probably a bug in the validator; please report it "
                "together with the file.",
            )
        ]


def _dedupe(results: list[ValidationResult]) -> list[ValidationResult]:
    """Drop pynwb's timezone complaint when our rule already says it with a fix."""
    ours = {r.check for r in results if r.origin == "metadata"}
    out = []
    seen = set()
    for r in results:
        if (
            r.origin == "pynwb"
            and "session_start_time_no_timezone" in ours
            and "session_start_time" in (r.object_path or "")
            and "timezone" in r.message.lower()
        ):
            continue
        key = (r.severity, r.origin, r.check, r.object_path, r.message)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def read_error_result(exc: NWBReadError, *, file: str | None = None) -> ValidationResult:
    """The one CRITICAL finding for a file that cannot be read as NWB."""
    return ValidationResult(
        severity=Severity.CRITICAL,
        origin="file",
        check=exc.check,
        message=exc.message,
        how_to_fix=exc.how_to_fix,
        file=file,
    )


def unreadable_result(
    message: str, *, how_to_fix: str, file: str | None = None
) -> ValidationResult:
    """The one CRITICAL finding for a file the archive could not read at all."""
    return ValidationResult(
        severity=Severity.CRITICAL,
        origin="file",
        check="unreadable",
        message=message,
        how_to_fix=how_to_fix,
        file=file,
    )


def validate_open_nwb(
    nwb: OpenNWB, *, file: str | None = None, context_checks: bool = False
) -> list[ValidationResult]:
    """All validators on a file that is already open (so extraction can share the read).

    A file pynwb cannot read gets its CRITICAL reason, plus the structure findings and
    metadata rules, which need only h5py.
    """
    results = []
    if nwb.nwbfile is None:
        assert nwb.read_error is not None
        results.append(read_error_result(nwb.read_error))
    else:
        nwbfile = nwb.nwbfile
        results += [
            *_stage("pynwb", "schema validation", lambda: _schema_results(nwb)),
            *_stage(
                "nwbinspector",
                "inspector",
                lambda: run_inspector(nwbfile, context=context_checks),
            ),
        ]
    results += [
        *_stage("hdf5", "structure check", lambda: check_structure(nwb, context=context_checks)),
        *_stage("metadata", "metadata rules", lambda: check_metadata(nwb)),
    ]
    results = [r.model_copy(update={"file": file}) for r in _dedupe(results)]
    return sorted(results, key=sort_key)


def _identifier(nwb: OpenNWB) -> str | None:
    from neurodatashare.nwb.facts import read_text

    return read_text(nwb.h5, "identifier")


_CRASHED = "The inspector check could not run on this object"


def crash_as_warning(result: ValidationResult) -> ValidationResult:
    """An inspector check that crashes on a Zarr-backed file (some index zarr arrays
    as h5py datasets, e.g. with float index arrays) says nothing about the file: it is
    reported as a WARNING that names the check, so it does not block publishing."""
    if result.origin != "nwbinspector" or not result.message.startswith(_CRASHED):
        return result
    reason = result.message.removeprefix(_CRASHED).lstrip(": ")
    return result.model_copy(
        update={
            "severity": Severity.WARNING,
            "message": f"The NWB Inspector check {result.check} could not run on this NWB-Zarr "
            f"file ({reason}); it was skipped.",
            "how_to_fix": "Nothing to do; to run it, export the file as HDF5 NWB and run "
            "`nds validate` on that.",
        }
    )


def _is_zarr_dir(path: Path) -> bool:
    return path.is_dir() and ((path / ".zgroup").exists() or (path / "zarr.json").exists())


@contextmanager
def _open_any(path: Path) -> Iterator[OpenNWB]:
    """An HDF5 NWB file, or a local NWB-Zarr folder (nwb/zarr_read.py)."""
    if not _is_zarr_dir(path):
        with open_nwb(path) as nwb:
            yield nwb
        return
    from zarr.storage import DirectoryStore

    from neurodatashare.nwb.zarr_read import open_nwb_zarr

    with open_nwb_zarr(DirectoryStore(str(path)), name=path.name) as nwb:
        yield nwb


def _validate(
    path: Path, *, file: str, context_checks: bool
) -> tuple[list[ValidationResult], str | None]:
    try:
        with _open_any(path) as nwb:
            results = validate_open_nwb(nwb, file=file, context_checks=context_checks)
            if _is_zarr_dir(path):
                results = [crash_as_warning(r) for r in results]
            return (
                results,
                _identifier(nwb),
            )
    except NWBReadError as exc:
        return [read_error_result(exc, file=file)], None


def validate_nwb_file(
    path: Path, *, asset_path: str | None = None, context_checks: bool = False
) -> list[ValidationResult]:
    """Validate one NWB file, reading it once; never raises for a bad file.

    A file that cannot be opened as NWB (empty, truncated, not HDF5, HDF5 but not NWB,
    unreadable by pynwb) gives exactly one CRITICAL finding with origin "file".
    Findings are sorted most severe first. `file` on each finding is `asset_path` if
    given, else `str(path)`; nothing else depends on the path.

    `context_checks=True` adds the inspector checks that depend on today's date, the file
    name and neighbouring files; `nds validate` uses it for local files, the archive
    does not (its cached results must depend only on the bytes).
    """
    results, _ = _validate(Path(path), file=asset_path or str(path), context_checks=context_checks)
    return results


def iter_nwb_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus every *.nwb file under named folders, in stable order.

    Hidden files and folders are skipped only *below* a named folder, so `../data` or a
    folder named `.cache/run1` is searched like any other.
    """
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir() and not _is_zarr_dir(p):
            found = [*p.rglob("*.nwb"), *p.rglob("*.nwb.zarr")]  # NWB-Zarr folders too
            out.extend(
                sorted(
                    f
                    for f in found
                    if (f.is_file() or (f.name.endswith(".zarr") and _is_zarr_dir(f)))
                    and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    and not any(q.name.endswith(".zarr") for q in f.relative_to(p).parents)
                )
            )
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def validate_paths(
    paths: list[Path],
    *,
    context_checks: bool = True,
    progress: Callable[[Path], None] | None = None,
) -> dict[str, list[ValidationResult]]:
    """Validate files and folders (walked for *.nwb); keys are the file paths as strings.

    Also reports an identifier shared by several files (each NWB file needs its own).
    `progress`, if given, is called with each file before it is validated.
    """
    report: dict[str, list[ValidationResult]] = {}
    owners: dict[str, list[str]] = {}
    for path in iter_nwb_paths(paths):
        if progress is not None:
            progress(path)
        key = str(path)
        results, identifier = _validate(path, file=key, context_checks=context_checks)
        report[key] = results
        if identifier is not None:
            owners.setdefault(identifier, []).append(key)
    for identifier, files in owners.items():
        if len(files) < 2:
            continue
        for key in files:
            others = ", ".join(Path(f).name for f in files if f != key)
            finding = ValidationResult(
                severity=Severity.ERROR,
                origin="metadata",
                check="identifier_not_unique",
                object_path="/identifier",
                message=f"The identifier '{identifier}' is also used by: {others}.",
                how_to_fix="Give every NWB file its own identifier, e.g. str(uuid.uuid4()).",
                file=key,
            )
            report[key] = sorted([*report[key], finding], key=sort_key)
    return report


def worst_severity(results: Iterable[ValidationResult]) -> Severity | None:
    """The most severe finding, or None if there are none."""
    return max((r.severity for r in results), default=None)


def blocks_publishing(results: Iterable[ValidationResult]) -> bool:
    """True if any finding is ERROR or CRITICAL."""
    return any(r.severity >= Severity.ERROR for r in results)
