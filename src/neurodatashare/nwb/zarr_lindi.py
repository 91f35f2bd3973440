"""An NWB-Zarr (hdmf-zarr's layout) seen as an h5py file, for the explorer's readers.

The explorer (nwb/explore/) is written against h5py objects; for HDF5 files the archive
reads them through h5py or LINDI, whose `LindiH5pyFile` is an h5py.File over a Zarr in
LINDI's conventions. hdmf-zarr's layout differs from LINDI's in four ways, each
translated here entry by entry, lazily (`LindiView`, a read-only mapping over the
Zarr's entries):

- scalars: hdmf-zarr marks them `"zarr_dtype": "scalar"`, LINDI `"_SCALAR": true`;
- links: hdmf-zarr lists a group's links in its `zarr_link` attribute, LINDI has a child
  group whose attributes hold `{"_SOFT_LINK": {"path": ...}}`;
- reference attributes: hdmf-zarr `{"zarr_dtype": "object", "value": {...}}`, LINDI
  `{"_REFERENCE": {...}}` (the reference itself has the same four keys in both);
- reference arrays: hdmf-zarr pickles ZarrReference objects (read with the allow-list of
  nwb/zarr_pickle.py), LINDI holds `{"_REFERENCE": {...}}` per element: the chunks are
  decoded and handed on as uncompressed pickles of plain dicts.

Links to other files (`source` not ".") are left out, as the HDF5 explorer leaves out
external links it cannot follow.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

_MARKERS = ("zarr_dtype", "zarr_link", ".specloc")


def _is_ref(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("zarr_dtype") == "object"
        and isinstance(value.get("value"), dict)
        and "path" in value["value"]
    )


def _ref(value: dict[str, Any]) -> dict[str, Any]:
    v = value["value"]
    return {
        "_REFERENCE": {
            "object_id": v.get("object_id"),
            "path": v.get("path"),
            "source": v.get("source", "."),
            "source_object_id": v.get("source_object_id"),
        }
    }


class LindiView(Mapping[str, bytes]):
    """The entries of an hdmf-zarr NWB file, as LINDI's conventions have them."""

    def __init__(self, entries: Mapping[str, bytes]) -> None:
        self._entries = entries
        self._links: dict[str, dict[str, Any]] | None = None  # link group path -> attrs
        self._ref_arrays: dict[str, bool] = {}

    # -- links, found once from the groups' attributes
    def _all_links(self) -> dict[str, dict[str, Any]]:
        if self._links is None:
            from neurodatashare.nwb.zarr_read import all_attrs

            links: dict[str, dict[str, Any]] = {}
            for key, attrs in all_attrs(self._entries):
                parent = posixpath.dirname(key)
                for link in attrs.get("zarr_link") or []:
                    if not isinstance(link, dict) or link.get("source", ".") not in (".", "./"):
                        continue
                    name = str(link.get("name") or "")
                    if not name or "/" in name:
                        continue
                    path = "/" + str(link.get("path") or "").strip("/")
                    links[posixpath.join(parent, name)] = {"_SOFT_LINK": {"path": path}}
            self._links = links
        return self._links

    def _json(self, key: str) -> Any:
        try:
            return json.loads(self._entries[key])
        except (ValueError, UnicodeDecodeError):
            return {}

    def _is_ref_array(self, array: str) -> bool:
        if array not in self._ref_arrays:
            attrs = (
                self._json(posixpath.join(array, ".zattrs"))
                if posixpath.join(array, ".zattrs") in self._entries
                else {}
            )
            meta = self._json(posixpath.join(array, ".zarray"))
            filters = meta.get("filters") or [] if isinstance(meta, dict) else []
            self._ref_arrays[array] = (
                isinstance(attrs, dict)
                and attrs.get("zarr_dtype") == "object"
                and any(isinstance(f, dict) and f.get("id") == "pickle" for f in filters)
            )
        return self._ref_arrays[array]

    # -- the translated entries
    def __getitem__(self, key: str) -> bytes:
        if key == ".zmetadata":  # untranslated; lindi reads the entries themselves
            raise KeyError(key)
        links = self._all_links()
        parent, name = posixpath.split(key)
        if parent in links:  # a link's own group
            if name == ".zgroup":
                return b'{"zarr_format": 2}'
            if name == ".zattrs":
                return json.dumps(links[parent]).encode()
            raise KeyError(key)
        if name == ".zattrs":
            return self._attrs(key)
        if name == ".zarray" and self._is_ref_array(parent):
            meta = self._json(key)
            meta.update(compressor=None, filters=[{"id": "pickle", "protocol": 4}])
            return json.dumps(meta).encode()
        if name not in (".zgroup", ".zarray") and parent and self._is_ref_array(parent):
            return self._ref_chunk(parent, self._entries[key])
        return self._entries[key]

    def _attrs(self, key: str) -> bytes:
        attrs = self._json(key)
        if not isinstance(attrs, dict):
            return self._entries[key]
        out: dict[str, Any] = {}
        for k, v in attrs.items():
            if k in _MARKERS:
                continue
            out[k] = _ref(v) if _is_ref(v) else v
        if attrs.get("zarr_dtype") == "scalar":
            out["_SCALAR"] = True
        return json.dumps(out).encode()

    def _ref_chunk(self, array: str, raw: bytes) -> bytes:
        import pickle

        import numcodecs
        import numpy as np

        from neurodatashare.nwb.zarr_pickle import safe_loads

        meta = self._json(posixpath.join(array, ".zarray"))
        data: Any = raw
        if meta.get("compressor"):
            data = numcodecs.get_codec(meta["compressor"]).decode(data)
        for f in reversed(meta.get("filters") or []):
            if f.get("id") == "pickle":
                data = safe_loads(bytes(data))
            else:
                data = numcodecs.get_codec(f).decode(data)
        values = np.empty(len(data), dtype=object)
        for i, v in enumerate(data):
            values[i] = {"_REFERENCE": dict(v)} if isinstance(v, dict) else v
        return pickle.dumps(values, protocol=4)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or key == ".zmetadata":
            return False
        parent, name = posixpath.split(key)
        if parent in self._all_links():
            return name in (".zgroup", ".zattrs")
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        yield from (k for k in self._entries if k != ".zmetadata")
        for group in self._all_links():
            yield f"{group}/.zgroup"
            yield f"{group}/.zattrs"

    def __len__(self) -> int:
        return sum(1 for _ in self)


def open_as_h5(entries: Mapping[str, bytes], *, name: str = "file.nwb.zarr") -> Any:
    """An h5py-like, read-only file (lindi's LindiH5pyFile) over an NWB-Zarr's entries."""
    import lindi

    from neurodatashare.nwb.zarr_pickle import register
    from neurodatashare.nwb.zarr_read import mapping_store_class

    register()
    store = mapping_store_class()(LindiView(entries), name)
    h5 = lindi.LindiH5pyFile.from_zarr_store(store, mode="r")
    h5.__class__ = _file_class()  # lindi builds its own class; the subclass adds no state
    return h5


_FILE_CLASS: type | None = None


def _file_class() -> type:
    """lindi's file, answering a path through a missing group or a dataset as h5py does
    (KeyError, or `get`'s default) where lindi's asserts."""
    global _FILE_CLASS
    if _FILE_CLASS is None:
        import lindi

        class File(lindi.LindiH5pyFile):
            def __getitem__(self, name: Any) -> Any:
                try:
                    return super().__getitem__(name)
                except AssertionError:
                    raise KeyError(name) from None

            def get(
                self, name: Any, default: Any = None, getclass: bool = False, getlink: bool = False
            ) -> Any:
                try:
                    return super().get(name, default=default, getclass=getclass, getlink=getlink)
                except AssertionError:
                    return default

        _FILE_CLASS = File
        _group_len()
    return _FILE_CLASS


def _group_len() -> None:
    """lindi's groups (0.4) inherit h5py's `__len__`, which asks an HDF5 id they do not
    have, so `len(group)` and `group.items()` raise; count the zarr group's members, as
    h5py counts the HDF5 group's (added once, only where lindi defines none)."""
    from lindi.LindiH5pyFile.LindiH5pyGroup import LindiH5pyGroup

    if "__len__" not in LindiH5pyGroup.__dict__:

        def __len__(self: Any) -> int:
            return len(self._zarr_group)

        LindiH5pyGroup.__len__ = __len__
