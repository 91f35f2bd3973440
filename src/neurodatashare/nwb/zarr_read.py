"""Open an NWB file stored as Zarr (`.nwb.zarr`, written by hdmf-zarr) from a read-only
mapping of its entries, as nwb/read.py opens an HDF5 one.

The archive holds a Zarr's entries in its blob store (archive/zarrs.py, `ZarrStore`, a
lazy `Mapping[str, bytes]`); the client reads them over HTTP. hdmf-zarr's `NWBZarrIO`
accepts only its own store classes (DirectoryStore and subclasses), so `MappingStore` is a
DirectoryStore whose reads go to the mapping: nothing is copied to disk, and only the
entries pynwb asks for are read (metadata, and the chunks of what is sliced).

The result is the same `OpenNWB` as for HDF5: `h5` is the zarr root group (zarr groups
answer `get`, `attrs`, `in` and `[()]` like h5py's, which is all nwb/facts.py needs), and
`survey` is made from the entries' `.zattrs`, so extraction (nwb/extract.py) and
validation (validation/run.py) run unchanged.
"""

from __future__ import annotations

import json
import posixpath
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast

from neurodatashare.nwb.read import NWBReadError, OpenNWB
from neurodatashare.nwb.structure import MAX_DEPTH, MAX_LINKS, Link, Survey


def mapping_store_class() -> type:
    """The DirectoryStore subclass over a mapping (made on first use: zarr is heavy)."""
    global _STORE_CLASS
    if _STORE_CLASS is not None:
        return _STORE_CLASS
    from zarr.errors import ReadOnlyError
    from zarr.storage import DirectoryStore

    class MappingStore(DirectoryStore):
        """A read-only zarr store over `entries`; `path` only names it (hdmf's source)."""

        def __init__(self, entries: Mapping[str, bytes], name: str = "store.nwb.zarr") -> None:
            # DirectoryStore.__init__ would make a directory: set its attributes instead
            self.path = name
            self.normalize_keys = False
            self._dimension_separator = None
            self._entries = entries
            self._children: dict[str, list[str]] | None = None

        def __getitem__(self, key: str) -> bytes:
            return self._entries[key]

        def __contains__(self, key: object) -> bool:
            return key in self._entries

        def getitems(self, keys: Any, *, contexts: Any = None) -> dict[str, Any]:
            """The chunks of one read; a mapping with `fetch_many` fetches them at once."""
            present = [k for k in keys if k in self._entries]
            many = getattr(self._entries, "fetch_many", None)
            if many is not None:
                return dict(many(present))
            return {k: self._entries[k] for k in present}

        def __setitem__(self, key: str, value: Any) -> None:
            raise ReadOnlyError()

        def __delitem__(self, key: str) -> None:
            raise ReadOnlyError()

        def __iter__(self) -> Iterator[str]:
            return iter(self._entries)

        def keys(self) -> Iterator[str]:
            return iter(self._entries)

        def __len__(self) -> int:
            return len(self._entries)

        def _index(self) -> dict[str, list[str]]:
            if self._children is None:  # one listing of the Zarr, then answered from memory
                children: dict[str, set[str]] = {}
                for key in self._entries:
                    parts = key.split("/")
                    for i in range(len(parts)):
                        children.setdefault("/".join(parts[:i]), set()).add(parts[i])
                self._children = {k: sorted(v) for k, v in children.items()}
            return self._children

        def listdir(self, path: str | None = None) -> list[str]:
            return list(self._index().get((path or "").strip("/"), []))

        def dir_path(self, path: str | None = None) -> str:
            return self.path

        def getsize(self, path: str | None = None) -> int:
            key = (path or "").strip("/")
            if key in self._entries:
                return len(self._entries[key])
            return 0

        def rmdir(self, path: str = "") -> None:
            raise ReadOnlyError()

        def rename(self, src_path: str, dst_path: str) -> None:
            raise ReadOnlyError()

        def clear(self) -> None:
            raise ReadOnlyError()

        def close(self) -> None:
            pass

    _STORE_CLASS = MappingStore
    return MappingStore


_STORE_CLASS: type | None = None


def _attrs(entries: Mapping[str, bytes], key: str) -> dict[str, Any]:
    try:
        value = json.loads(entries[key])
    except (KeyError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def all_attrs(entries: Mapping[str, bytes]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`.zattrs` key, attributes) of every group and array: from the consolidated
    metadata (`.zmetadata`, which hdmf-zarr writes and reads itself) in one read when
    there is one, else entry by entry."""
    consolidated = (
        _attrs(entries, ".zmetadata").get("metadata") if ".zmetadata" in entries else None
    )
    if isinstance(consolidated, dict):
        for key, value in consolidated.items():
            if posixpath.basename(key) == ".zattrs" and isinstance(value, dict):
                yield key, value
        return
    for key in entries:
        if posixpath.basename(key) == ".zattrs":
            yield key, _attrs(entries, key)


def survey_zarr(entries: Mapping[str, bytes]) -> Survey:
    """The structure survey (nwb/structure.py) from the Zarr's `.zattrs` entries: stored
    types, nesting depth and links (hdmf-zarr writes links as `zarr_link` attributes; one
    whose `source` is not this Zarr is an external link)."""
    out = Survey(nwb_version=None)
    count = 0
    for key, attrs in all_attrs(entries):
        count += 1
        if count > MAX_LINKS:
            out.incomplete = True
            break
        parent = posixpath.dirname(key)
        depth = parent.count("/") + 1 if parent else 0
        out.depth = max(out.depth, depth)
        if depth > MAX_DEPTH:
            out.too_deep = out.too_deep or "/" + parent
            continue
        if parent.split("/")[0] == "specifications":
            continue
        if not parent:
            version = attrs.get("nwb_version")
            out.nwb_version = str(version) if version is not None else None
        elif ndtype := attrs.get("neurodata_type"):
            out.typed["/" + parent] = (str(attrs.get("namespace") or ""), str(ndtype))
        for link in attrs.get("zarr_link") or []:
            if not isinstance(link, dict):
                continue
            path = f"/{parent}/{link.get('name', '')}".replace("//", "/")
            target = "/" + str(link.get("path") or "").strip("/")
            source = str(link.get("source") or ".")
            if source not in (".", "./"):
                out.external_links.append(Link(path, target, file=source))
            else:
                out.soft_links.append(Link(path, target))
    return out


def _require_nwb_root(entries: Mapping[str, bytes]) -> None:
    if ".zgroup" not in entries:
        if "zarr.json" in entries:
            raise NWBReadError(
                "zarr_v3_not_supported",
                "This is a Zarr v3 store; NWB-Zarr (hdmf-zarr) files are Zarr v2.",
                "Write the file with hdmf-zarr's NWBZarrIO, which writes Zarr v2.",
            )
        raise NWBReadError(
            "not_zarr",
            "This folder is not a Zarr: it has no .zgroup at its root.",
            "Upload the folder that NWBZarrIO wrote (the one named *.nwb.zarr).",
        )
    attrs = _attrs(entries, ".zattrs")
    if attrs.get("neurodata_type") != "NWBFile" or "nwb_version" not in attrs:
        raise NWBReadError(
            "not_nwb",
            "This is a Zarr but not an NWB file: its root has no NWB version and no NWBFile type.",
            "Write the NWB file with hdmf-zarr (NWBZarrIO(path, 'w').write(nwbfile)), or "
            "name a Zarr that is not NWB without the .nwb.zarr ending.",
        )


@contextmanager
def open_nwb_zarr(
    entries: Mapping[str, bytes], *, name: str = "file.nwb.zarr"
) -> Iterator[OpenNWB]:
    """Open the NWB-Zarr in `entries` read-only (datasets stay in the store, lazily).

    Raises NWBReadError if it is not a Zarr v2 group with an NWB root; a file pynwb
    cannot read opens with `nwbfile=None` and the reason in `read_error`.
    """
    import zarr
    from hdmf_zarr.nwb import NWBZarrIO

    from neurodatashare.nwb.zarr_pickle import register

    register()  # object references: unpickled with an allow-list, never arbitrary code
    _require_nwb_root(entries)
    store = mapping_store_class()(entries, name)
    root = zarr.open_group(store, mode="r")
    found = survey_zarr(entries)
    io = None
    nwbfile = None
    read_error = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                io = NWBZarrIO(store, mode="r", load_namespaces=True)
                nwbfile = io.read()
            except (Exception, RecursionError) as exc:
                detail = str(exc).splitlines()[0][:300] if str(exc) else ""
                read_error = NWBReadError(
                    "nwb_unreadable",
                    f"pynwb could not read this NWB-Zarr file ({type(exc).__name__}: {detail}).",
                    "Write the file again with a current hdmf-zarr (NWBZarrIO) and pynwb.",
                )
        yield OpenNWB(
            path=Path(name),
            h5=cast(Any, root),
            survey=found,
            io=cast(Any, io),
            nwbfile=nwbfile,
            read_error=read_error,
        )
    finally:
        if io is not None:
            with suppress(Exception):
                io.close()
