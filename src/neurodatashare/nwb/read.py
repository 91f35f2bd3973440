"""Open a local NWB (HDF5) file once, or say in one sentence why it cannot be opened.

Validation and metadata extraction both start here, so a damaged upload gets the same
clear answer everywhere instead of an h5py or pynwb traceback.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatashare.errors import NDSError
from neurodatashare.nwb.structure import Survey, parse_version, split_driver, survey

if TYPE_CHECKING:
    import h5py
    from pynwb import NWBHDF5IO, NWBFile

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_TRUNCATED_RE = re.compile(r"eof = (\d+).*stored_eof = (\d+)")

REWRITE_HINT = (
    "Export the file again from the original data (for example with NeuroConv or pynwb), "
    "then check it with `nds validate` before uploading."
)


class NWBReadError(NDSError):
    """The file cannot be opened as NWB. `check` names the reason for reports."""

    status_code = 422

    def __init__(self, check: str, message: str, how_to_fix: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.how_to_fix = how_to_fix


@dataclass
class OpenNWB:
    """An open NWB file: the h5py file, its structure survey, the pynwb IO and the lazily
    read NWBFile.

    `nwbfile` is None when the file is HDF5 with an NWB root but pynwb cannot read it;
    `read_error` then says why, and what h5py can read (subject, session, structure) is
    still there to describe and validate.
    """

    path: Path
    h5: h5py.File
    survey: Survey
    io: NWBHDF5IO | None
    nwbfile: NWBFile | None
    read_error: NWBReadError | None = None

    def object_path(self, obj: Any) -> str | None:
        """Where `obj` lives in the file, e.g. "/acquisition/ElectricalSeries"."""
        if self.io is None:
            return None
        try:
            builder = self.io.manager.get_builder(obj)
        except Exception:
            return None
        if builder is None:
            return None
        path: str = builder.path
        return "/" + path.removeprefix("root").lstrip("/")


def _check_container(path: Path) -> None:
    """Cheap checks on the bytes before h5py sees them; messages never include the path."""
    if not path.exists():
        raise NWBReadError("file_missing", "The file does not exist.")
    if path.is_dir():
        if (path / ".zgroup").exists() or (path / "zarr.json").exists():
            raise NWBReadError(
                "zarr_not_supported",
                "This is a Zarr NWB folder (.nwb.zarr); this step reads HDF5 NWB files only.",
                "Validate it with `nds validate` or upload it as a Zarr (`nds upload`); "
                "or export the data as an HDF5 NWB file (the default in pynwb and NeuroConv).",
            )
        raise NWBReadError("not_a_file", "This is a folder, not an NWB file.")
    if path.stat().st_size == 0:
        raise NWBReadError(
            "file_empty",
            "The file is empty (0 bytes).",
            "The file was probably not written or copied completely. " + REWRITE_HINT,
        )


def _split_file_error(path: Path, head: bytes) -> NWBReadError | None:
    found = split_driver(head)
    if found is None:
        return None
    driver, member = found
    fix = (
        "Join the parts into one file before uploading, e.g. with the HDF5 tool "
        "`h5repart -family_to_single 'name-%d.nwb' name.nwb`, or by copying it in h5py: "
        "open it with h5py.File('name-%d.nwb', driver='family', memb_size=...) and write "
        "every object into a new h5py.File('name.nwb', 'w')."
    )
    if driver == "family":
        size = f" of {member:,} bytes each" if member else ""
        return NWBReadError(
            "hdf5_split_file",
            "This is one part of an HDF5 file split into several files with the HDF5 "
            f"'family' driver (parts{size}, named like name-0.nwb, name-1.nwb, ...). The "
            "file is not damaged, but the archive reads each NWB file from one piece.",
            fix,
        )
    return NWBReadError(
        "hdf5_split_file",
        "This is the metadata part of an HDF5 file written with the 'split' or 'multi' "
        "driver; its data are in other files. The file is not damaged, but the archive "
        "reads each NWB file from one piece.",
        "Write the file again with h5py's default driver (one file), e.g. by copying every "
        "object into a new h5py.File('name.nwb', 'w').",
    )


def _open_h5(path: Path) -> h5py.File:
    import h5py

    with open(path, "rb") as f:
        if (split := _split_file_error(path, f.read(4096))) is not None:
            raise split
    if not h5py.is_hdf5(str(path)):
        with open(path, "rb") as f:
            head = f.read(len(HDF5_SIGNATURE))
        if HDF5_SIGNATURE.startswith(head):  # cut off inside the signature itself
            raise NWBReadError(
                "file_truncated",
                f"The file is incomplete: it has only {len(head)} bytes, the start of an "
                "HDF5 file. It was probably cut off while being written, copied or uploaded.",
                "Copy or upload the file again from the original; if the original is also "
                "short, write it again.",
            )
        raise NWBReadError(
            "not_hdf5",
            "This is not an HDF5 file, so it cannot be an NWB file.",
            "Make sure you picked the .nwb file written by your conversion, not another file "
            "renamed to .nwb.",
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        text = str(exc)
        m = _TRUNCATED_RE.search(text)
        if "truncated file" in text and m:
            have, want = int(m.group(1)), int(m.group(2))
            raise NWBReadError(
                "file_truncated",
                f"The file is incomplete: it has {have:,} bytes but its header says it should "
                f"have {want:,}. It was probably cut off while being written, copied or uploaded.",
                "Copy or upload the file again from the original; if the original is also "
                "short, write it again.",
            ) from None
        raise NWBReadError(
            "hdf5_unreadable",
            "The HDF5 library could not open this file; it is damaged.",
            REWRITE_HINT,
        ) from None


def _require_nwb_root(h5: h5py.File) -> None:
    attrs = h5.attrs
    ndtype = attrs.get("neurodata_type")
    if isinstance(ndtype, bytes):
        ndtype = ndtype.decode("utf-8", "replace")
    if ndtype != "NWBFile" or "nwb_version" not in attrs:
        raise NWBReadError(
            "not_nwb",
            "This is an HDF5 file but not an NWB file: its root has no NWB version and no "
            "NWBFile type.",
            "Convert the data to NWB (for example with NeuroConv) instead of renaming an "
            "HDF5 file to .nwb.",
        )
    version = attrs["nwb_version"]
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    if str(version).removeprefix("NWB-").startswith("1.") and parse_version(str(version)):
        raise NWBReadError(
            "nwb_v1_not_supported",
            f"This is an NWB 1.x file (version {version}); only NWB 2 files are supported.",
            "Convert the file to NWB 2 (pynwb can read NWB 2 only).",
        )


def _explain_read_failure(h5: h5py.File, found: Survey, exc: BaseException | None) -> NWBReadError:
    """Why pynwb cannot read the file, from the survey where it can tell (the exception's
    own text helps no scientist: a RecursionError, a ConstructError with a builder dump)."""
    from neurodatashare.nwb.structure import MAX_DEPTH

    if found.cycles:
        where = ", ".join(f"{c.path} -> {c.target}" for c in found.cycles[:5])
        return NWBReadError(
            "soft_link_cycle",
            f"The file has soft links that lead back to where they are ({where}), so "
            "pynwb would follow them forever and cannot read the file.",
            "Remove the looping links (h5py: del f[path]) or point them at the object they "
            "mean; links must point at an object, never at a group that contains them.",
        )
    if found.too_deep is not None:
        return NWBReadError(
            "nesting_too_deep",
            f"The file's groups are nested more than {MAX_DEPTH} levels deep (at "
            f"{found.too_deep[:80]}...), too deep for pynwb to read.",
            "Store the data in a flat layout: NWB objects need only a few levels of groups.",
        )
    version = found.nwb_version
    if parse_version(version) is None:
        return NWBReadError(
            "nwb_version_invalid",
            f"The file's nwb_version ({version!r}) is not an NWB version such as '2.8.0', "
            "so pynwb cannot read it.",
            "Set the root attribute nwb_version to the NWB version the file was written "
            "with, or write the file again with pynwb or NeuroConv.",
        )
    missing = [
        n for n in ("identifier", "session_description", "session_start_time") if n not in h5
    ]
    if missing:
        names = ", ".join(f"/{n}" for n in missing)
        return NWBReadError(
            "nwb_required_missing",
            f"pynwb cannot read the file because it lacks {names}, which every NWB file must have.",
            "Add the missing field (for example NWBFile(identifier=str(uuid.uuid4()))) by "
            "writing the file again with pynwb or NeuroConv.",
        )
    namespaces = sorted({ns for ns, _ in found.typed.values()} - _cached_namespaces(h5))
    namespaces = [ns for ns in namespaces if ns not in ("core", "hdmf-common", "hdmf-experimental")]
    if namespaces:
        return NWBReadError(
            "namespace_unknown",
            "The file uses the extension namespace(s) "
            + ", ".join(repr(ns) for ns in namespaces)
            + " but does not contain their schema, so pynwb cannot read it.",
            "Write the file with the extension's namespace cached in it (pynwb and NeuroConv "
            "do this by default: NWBHDF5IO(..., mode='w') with the ndx package imported).",
        )
    detail = ""
    if exc is not None and not isinstance(exc, RecursionError):
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        detail = f" ({type(exc).__name__}: {detail})"
    return NWBReadError(
        "nwb_unreadable",
        f"pynwb could not read this NWB file{detail}.",
        "If the file uses an NWB extension (ndx-...), write it with the extension's "
        "namespace cached in it (pynwb does this by default). Otherwise "
        + REWRITE_HINT[0].lower()
        + REWRITE_HINT[1:],
    )


def _cached_namespaces(h5: h5py.File) -> set[str]:
    try:
        return set(h5["specifications"]) if "specifications" in h5 else set()
    except Exception:
        return set()


@contextmanager
def open_nwb(path: Path | str) -> Iterator[OpenNWB]:
    """Open `path` read-only, survey its structure and read its NWBFile (datasets stay on
    disk, lazily).

    Raises NWBReadError with a plain-words message if the file is missing, empty,
    truncated, split into parts, not HDF5, or HDF5 but not NWB. A file with an NWB root
    that pynwb cannot read opens with `nwbfile=None` and the reason in `read_error`.
    """
    path = Path(path)
    _check_container(path)
    h5 = _open_h5(path)
    io = None
    try:
        _require_nwb_root(h5)
        found = survey(h5)
        nwbfile = None
        read_error = None
        if found.cycles or found.too_deep is not None:
            read_error = _explain_read_failure(h5, found, None)  # pynwb would recurse
        else:
            from pynwb import NWBHDF5IO

            # pynwb warns about cached namespaces and dtype conversions on perfectly good
            # files; the validators report what matters.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    io = NWBHDF5IO(file=h5, mode="r", load_namespaces=True)
                    nwbfile = io.read()
                except (Exception, RecursionError) as exc:
                    read_error = _explain_read_failure(h5, found, exc)
        yield OpenNWB(path=path, h5=h5, survey=found, io=io, nwbfile=nwbfile, read_error=read_error)
    finally:
        if io is not None:
            with suppress(Exception):
                io.close()
        h5.close()
