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
    """An open NWB file: the h5py file, the pynwb IO and the lazily read NWBFile."""

    path: Path
    h5: h5py.File
    io: NWBHDF5IO
    nwbfile: NWBFile

    def object_path(self, obj: Any) -> str | None:
        """Where `obj` lives in the file, e.g. "/acquisition/ElectricalSeries"."""
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
                "This is a Zarr NWB folder; only HDF5 NWB files can be validated for now.",
                "Export the data as an HDF5 NWB file (the default in pynwb and NeuroConv).",
            )
        raise NWBReadError("not_a_file", "This is a folder, not an NWB file.")
    if path.stat().st_size == 0:
        raise NWBReadError(
            "file_empty",
            "The file is empty (0 bytes).",
            "The file was probably not written or copied completely. " + REWRITE_HINT,
        )


def _open_h5(path: Path) -> h5py.File:
    import h5py

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
    if str(version).removeprefix("NWB-").startswith("1."):
        raise NWBReadError(
            "nwb_v1_not_supported",
            f"This is an NWB 1.x file (version {version}); only NWB 2 files are supported.",
            "Convert the file to NWB 2 (pynwb can read NWB 2 only).",
        )


@contextmanager
def open_nwb(path: Path | str) -> Iterator[OpenNWB]:
    """Open `path` read-only and read its NWBFile (datasets stay on disk, lazily).

    Raises NWBReadError with a plain-words message if the file is missing, empty,
    truncated, not HDF5, HDF5 but not NWB, or unreadable by pynwb.
    """
    path = Path(path)
    _check_container(path)
    h5 = _open_h5(path)
    io = None
    try:
        _require_nwb_root(h5)
        from pynwb import NWBHDF5IO

        # pynwb warns about cached namespaces and dtype conversions on perfectly good
        # files; the validators report what matters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                io = NWBHDF5IO(file=h5, mode="r", load_namespaces=True)
                nwbfile = io.read()
            except Exception as exc:
                detail = str(exc).splitlines()[0][:300] if str(exc) else ""
                raise NWBReadError(
                    "nwb_unreadable",
                    f"pynwb could not read this NWB file ({type(exc).__name__}: {detail}).",
                    "If the file uses an NWB extension (ndx-...), write it with the extension's "
                    "namespace cached in the file (pynwb does this by default). Otherwise "
                    + REWRITE_HINT[0].lower()
                    + REWRITE_HINT[1:],
                ) from None
        yield OpenNWB(path=path, h5=h5, io=io, nwbfile=nwbfile)
    finally:
        if io is not None:
            with suppress(Exception):
                io.close()
        h5.close()
