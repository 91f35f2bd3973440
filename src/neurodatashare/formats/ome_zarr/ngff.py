"""Reading an OME-Zarr's NGFF metadata from a store: the root's attributes, each level's
array metadata, as plain JSON.

A store is a read-only `Mapping[str, bytes]` from entry paths (".zattrs", "0/.zarray",
"zarr.json", "0/0.0.0") to bytes, read lazily: nothing here lists the store, so opening a
volume of a million chunks reads a handful of small documents. Zarr v2 (NGFF 0.4: the
metadata at the root of `.zattrs`) and Zarr v3 (NGFF 0.5: under `attributes.ome` in
`zarr.json`) are both read; the metadata is parsed as JSON rather than through ome-zarr-py
or ome-zarr-models because neither fits this stack (ome-zarr >= 0.12 and ome-zarr-models
1.x need zarr 3, ome-zarr-models 0.1 pins pydantic < 2.11.5, and ome-zarr 0.11's reader
needs dask and a URL, not a mapping) and because a broken document must still be read far
enough to report every problem, where their readers stop at the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SPATIAL, TIME, CHANNEL = "space", "time", "channel"
# the Zarr v3 codecs archive/zarr_v3.py decodes (sharding is not among them)
V3_CODECS = frozenset({"transpose", "bytes", "gzip", "zstd", "blosc", "crc32c"})


class MetadataError(ValueError):
    """The metadata cannot be read at all (no group, not JSON): one message for the report."""


def read_json(store: Mapping[str, bytes], key: str) -> Any:
    """The JSON document at `key`, None when absent; MetadataError when it is not JSON."""
    try:
        raw = store[key]
    except KeyError:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{key} is not valid JSON ({exc})") from None


@dataclass
class ArrayMeta:
    """One array's Zarr metadata, whichever Zarr version wrote it."""

    path: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str  # NumPy's name: uint8, uint16, float32...
    fill_value: Any
    zarr_format: int
    dimension_separator: str = "."
    dimension_names: list[Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        """Whether the slice viewer can read the chunks (every v2 array; v3 without
        sharding or codecs it does not know)."""
        if self.zarr_format != 3:
            return True
        names = [c.get("name") for c in self.raw.get("codecs") or [] if isinstance(c, dict)]
        return all(n in V3_CODECS for n in names)

    @property
    def itemsize(self) -> int:
        import numpy as np

        try:
            return int(np.dtype(self.dtype).itemsize)
        except TypeError:
            return 0

    @property
    def nbytes(self) -> int:
        n = self.itemsize
        for s in self.shape:
            n *= s
        return n

    @property
    def chunk_bytes(self) -> int:
        n = self.itemsize
        for s in self.chunks:
            n *= s
        return n


_V3_DTYPES = {
    "bool": "bool",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
}


def _ints(value: Any, least: int = 0) -> tuple[int, ...] | None:
    """A list of integers >= `least`, below 2^53 (JSON's exact integers), as a tuple."""
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and least <= v < 2**53 for v in value
    ):
        return None
    return tuple(value)


def read_array(store: Mapping[str, bytes], path: str, zarr_format: int) -> ArrayMeta | str:
    """The array at `path`, or a sentence saying why there is none."""
    prefix = f"{path.strip('/')}/" if path.strip("/") else ""
    if zarr_format == 3:
        doc = read_json(store, f"{prefix}zarr.json")
        if doc is None:
            return f"there is no array at {path!r} ({prefix}zarr.json is missing)"
        if not isinstance(doc, dict) or doc.get("node_type") != "array":
            return f"{prefix}zarr.json is not an array's metadata"
        shape = _ints(doc.get("shape"))
        grid = doc.get("chunk_grid") or {}
        config = grid.get("configuration") if isinstance(grid, dict) else None
        chunks = _ints(config.get("chunk_shape"), 1) if isinstance(config, dict) else None
        listed = doc.get("codecs")
        codecs: list[Any] = listed if isinstance(listed, list) else []
        inner = next(
            (c for c in codecs if isinstance(c, dict) and c.get("name") == "sharding_indexed"),
            None,
        )
        if inner is not None and isinstance(inner.get("configuration"), dict):
            chunks = _ints(inner["configuration"].get("chunk_shape"), 1) or chunks
        dtype = doc.get("data_type")
        if shape is None or chunks is None or not isinstance(dtype, str):
            return (
                f"{prefix}zarr.json lacks a valid shape, chunk shape (each at least 1) or data type"
            )
        encoding = doc.get("chunk_key_encoding") or {}
        sep = ((encoding.get("configuration") or {}).get("separator")) or "/"
        names = doc.get("dimension_names")
        return ArrayMeta(
            path=path,
            shape=shape,
            chunks=chunks,
            dtype=_V3_DTYPES.get(dtype, dtype),
            fill_value=doc.get("fill_value"),
            zarr_format=3,
            dimension_separator=sep,
            dimension_names=names if isinstance(names, list) else None,
            raw=doc,
        )
    doc = read_json(store, f"{prefix}.zarray")
    if doc is None:
        return f"there is no array at {path!r} ({prefix}.zarray is missing)"
    if not isinstance(doc, dict):
        return f"{prefix}.zarray is not a JSON object"
    shape, chunks = _ints(doc.get("shape")), _ints(doc.get("chunks"), 1)
    dtype = doc.get("dtype")
    if shape is None or chunks is None or not isinstance(dtype, str):
        return f"{prefix}.zarray lacks a valid shape, chunks (each at least 1) or dtype"
    compressor, filters = doc.get("compressor"), doc.get("filters")
    if (
        doc.get("zarr_format") != 2
        or doc.get("order", "C") not in ("C", "F")
        or not (
            compressor is None
            or (isinstance(compressor, dict) and isinstance(compressor.get("id"), str))
        )
        or not (
            filters is None
            or (
                isinstance(filters, list)
                and all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in filters)
            )
        )
        or doc.get("dimension_separator", ".") not in (".", "/")
    ):
        return (
            f"{prefix}.zarray is not valid Zarr v2 array metadata (zarr_format 2, order C "
            "or F, a compressor and filters with an `id`, dimension_separator . or /)"
        )
    import numpy as np

    try:
        name = str(np.dtype(dtype))
    except (TypeError, ValueError):
        name = dtype
    return ArrayMeta(
        path=path,
        shape=shape,
        chunks=chunks,
        dtype=name,
        fill_value=doc.get("fill_value"),
        zarr_format=2,
        dimension_separator=doc.get("dimension_separator") or ".",
        raw=doc,
    )


@dataclass
class Root:
    """What the root group says: Zarr version, NGFF version and the OME attributes."""

    zarr_format: int
    attributes: dict[str, Any]  # the OME ones: `multiscales`, `omero` (0.5: `ome`'s content)
    version: str | None  # as declared (0.4: in the multiscale; 0.5: `ome.version`)
    where: str  # the document that holds them, for findings


def read_root(store: Mapping[str, bytes]) -> Root:
    """The root group's OME attributes; MetadataError when the store has no Zarr group."""
    v3 = read_json(store, "zarr.json")
    if v3 is not None:
        if not isinstance(v3, dict) or v3.get("node_type") != "group":
            raise MetadataError("zarr.json at the root is not a Zarr group's metadata")
        attrs = v3.get("attributes") or {}
        ome = attrs.get("ome") if isinstance(attrs, dict) else None
        if isinstance(ome, dict):
            version = ome.get("version")
            return Root(3, ome, str(version) if version is not None else None, "zarr.json")
        legacy = attrs if isinstance(attrs, dict) else {}
        return Root(3, legacy, _multiscale_version(legacy), "zarr.json")
    attrs = read_json(store, ".zattrs")
    group = read_json(store, ".zgroup")
    if attrs is None and group is None:
        raise MetadataError(
            "the store has no Zarr group at its root (neither .zgroup/.zattrs nor zarr.json)"
        )
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, dict):
        raise MetadataError(".zattrs is not a JSON object")
    if isinstance(attrs.get("ome"), dict):  # 0.5 layout written into a Zarr v2 store
        ome = attrs["ome"]
        return Root(2, ome, str(ome.get("version")), ".zattrs")
    return Root(2, attrs, _multiscale_version(attrs), ".zattrs")


def _multiscale_version(attrs: dict[str, Any]) -> str | None:
    ms = attrs.get("multiscales")
    if isinstance(ms, list) and ms and isinstance(ms[0], dict) and "version" in ms[0]:
        return str(ms[0]["version"])
    return None


@dataclass
class Level:
    path: str
    array: ArrayMeta
    scale: list[float]
    translation: list[float]


@dataclass
class Volume:
    """A readable multiscale: what the viewer and the summary need, already checked."""

    version: str | None
    zarr_format: int
    name: str | None
    axes: list[dict[str, Any]]  # name, type, unit
    levels: list[Level]
    channels: list[dict[str, Any]]  # label, color (RRGGBB), window {start, end, min, max}

    @property
    def names(self) -> list[str]:
        return [str(a.get("name")) for a in self.axes]

    def axis(self, name: str) -> int:
        return self.names.index(name)

    @property
    def spatial(self) -> list[str]:
        return [str(a["name"]) for a in self.axes if a.get("type") == SPATIAL]


def transforms(value: Any, n: int) -> tuple[list[float], list[float]] | None:
    """(scale, translation) from a coordinateTransformations list, None when unusable."""
    if not isinstance(value, list):
        return None
    scale: list[float] | None = None
    translation = [0.0] * n
    for t in value:
        if not isinstance(t, dict):
            return None
        vec = t.get("scale") if t.get("type") == "scale" else t.get("translation")
        if t.get("type") not in ("scale", "translation"):
            continue
        if not isinstance(vec, list) or len(vec) != n:
            return None
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vec):
            return None
        if t["type"] == "scale":
            scale = [float(v) for v in vec]
        else:
            translation = [float(v) for v in vec]
    if scale is None or not all(s > 0 for s in scale):
        return None
    return scale, translation
