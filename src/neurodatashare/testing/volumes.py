"""OME-Zarr test volumes, written with ome-zarr-py (0.11: NGFF 0.4 on zarr 2).

`write_volume` writes a pyramid with `ome_zarr.writer.write_image`; `write_sparse` declares
a huge volume (the metadata by `write_multiscales_metadata`) and stores only a few chunks,
as a real sparse light-sheet volume would, the rest being the fill value; `break_volume`
damages a written volume's metadata in one of several named ways. `CountingStore` wraps a
store and counts the keys read, for the tests and bench/volume.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_UNITS = {"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"}


def _axes(names: str) -> list[dict[str, str]]:
    kinds = {"t": "time", "c": "channel"}
    out = []
    for n in names:
        axis = {"name": n, "type": kinds.get(n, "space")}
        if n in DEFAULT_UNITS:
            axis["unit"] = DEFAULT_UNITS[n]
        out.append(axis)
    return out


def ramp(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Distinct values that vary along every axis (so a wrong plane or index shows)."""
    value = np.zeros(shape, dtype=np.float64)
    for k, n in enumerate(shape):  # broadcast one axis at a time (np.indices is ndim x size)
        view = [1] * len(shape)
        view[k] = n
        value += (7 * k + 3) * np.arange(n, dtype=np.float64).reshape(view)
    if np.dtype(dtype).kind == "f":
        return (value / 10.0).astype(dtype)
    info = np.iinfo(dtype)
    return (value.astype(np.int64) % (int(info.max) + 1)).astype(dtype)


def blobs(shape: tuple[int, ...], axes: str, dtype: str = "uint16", seed: int = 0) -> np.ndarray:
    """Something that looks like fluorescence: per channel, a few hundred bright round cells
    (Gaussian spots, 3-8 voxels across, different places per channel) on a dim background."""
    rng = np.random.default_rng(seed)
    out = np.zeros(shape, dtype=np.float32)
    y, x = axes.index("y"), axes.index("x")
    ny, nx = shape[y], shape[x]
    lead = [n for i, n in enumerate(shape) if i not in (y, x)]
    area = ny * nx
    for index in np.ndindex(*lead):
        rng_c = np.random.default_rng(seed + (index[axes.index("c")] if "c" in axes else 0))
        plane = np.full((ny, nx), 200.0, dtype=np.float32)
        for _ in range(max(4, area // 4000)):
            cy, cx, r = rng_c.uniform(0, ny), rng_c.uniform(0, nx), rng_c.uniform(1.5, 4)
            y0, y1 = int(max(0, cy - 3 * r)), int(min(ny, cy + 3 * r + 1))
            x0, x1 = int(max(0, cx - 3 * r)), int(min(nx, cx + 3 * r + 1))
            yy, xx = np.ogrid[y0:y1, x0:x1]
            plane[y0:y1, x0:x1] += 3000 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        plane += rng.normal(0, 40, plane.shape).astype(np.float32)
        full = list(index)
        full.insert(min(y, x), slice(None))
        full.insert(max(y, x), slice(None))
        out[tuple(full)] = plane
    if np.dtype(dtype).kind == "f":
        return out.astype(dtype)
    return np.clip(out, 0, np.iinfo(dtype).max).astype(dtype)


def write_volume(
    path: Path,
    *,
    shape: tuple[int, ...] = (2, 16, 256, 256),
    axes: str = "czyx",
    dtype: str = "uint16",
    levels: int = 3,
    chunks: tuple[int, ...] | None = None,
    voxel: tuple[float, ...] | None = None,
    channels: list[dict[str, Any]] | None = None,
    data: np.ndarray | None = None,
) -> np.ndarray:
    """An OME-Zarr of `levels` levels (y and x halved per level, as ome-zarr-py's Scaler
    does) with omero channels; returns level 0's data."""
    import zarr
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image

    image = ramp(shape, dtype) if data is None else data
    store = zarr.DirectoryStore(str(path), dimension_separator="/")
    group = zarr.group(store=store, overwrite=True)
    base = (
        list(voxel) if voxel else [1.0 if a in "tc" else (2.0 if a == "z" else 0.5) for a in axes]
    )
    transforms = []
    for k in range(levels):
        scale = [s * (2**k if a in "yx" else 1) for s, a in zip(base, axes, strict=True)]
        transforms.append([{"type": "scale", "scale": scale}])
    meta: dict[str, Any] = {}
    if "c" in axes:
        n = shape[axes.index("c")]
        colours = ["FF0000", "00FF00", "0000FF", "FF00FF", "00FFFF", "FFFF00"]
        hi = float(image.max())
        meta["metadata"] = {
            "omero": {
                "channels": channels
                or [
                    {
                        "label": f"ch{i}",
                        "color": colours[i % 6],
                        "active": True,
                        "window": {"start": 0.0, "end": hi, "min": 0.0, "max": hi},
                    }
                    for i in range(n)
                ]
            }
        }
    write_image(
        image,
        group,
        scaler=Scaler(max_layer=levels - 1, method="nearest"),
        axes=_axes(axes),
        coordinate_transformations=transforms,
        storage_options={"chunks": chunks} if chunks else None,
        **meta,
    )
    return image


def write_sparse(
    path: Path,
    *,
    shape: tuple[int, ...] = (4096, 4096, 4096),
    chunks: tuple[int, ...] = (64, 64, 64),
    dtype: str = "uint16",
    levels: int | None = None,
) -> dict[str, Any]:
    """A z, y, x volume whose level 0 declares `shape` (4096³ uint16: 137 GB) with
    levels halving every axis down to one chunk; only the chunks through the centre of
    each level hold data (a bright cube), all others are absent. Returns the centre."""
    import zarr
    from ome_zarr.writer import write_multiscales_metadata

    store = zarr.DirectoryStore(str(path), dimension_separator="/")
    group = zarr.group(store=store, overwrite=True)
    n = levels or max(1, int(np.log2(max(shape) / max(chunks))) + 1)
    datasets = []
    centre = [s // 2 for s in shape]
    for k in range(n):
        f = 2**k
        level_shape = tuple(max(1, s // f) for s in shape)
        arr = group.create_dataset(
            str(k),
            shape=level_shape,
            chunks=tuple(min(c, s) for c, s in zip(chunks, level_shape, strict=True)),
            dtype=dtype,
            fill_value=0,
            dimension_separator="/",
            write_empty_chunks=False,
        )
        c = [x // f for x in centre]
        block = tuple(slice(max(0, x - 40 // f), x + 40 // f + 1) for x in c)
        arr[block] = 1000
        datasets.append(
            {
                "path": str(k),
                "coordinateTransformations": [{"type": "scale", "scale": [0.25 * f] * len(shape)}],
            }
        )
    write_multiscales_metadata(group, datasets, axes=_axes("zyx"[-len(shape) :]))
    return {"centre": centre, "levels": n}


def write_v05(
    path: Path,
    *,
    shape: tuple[int, ...] = (2, 8, 96, 128),
    axes: str = "czyx",
    dtype: str = "uint16",
    levels: int = 2,
    chunks: tuple[int, ...] = (1, 4, 32, 32),
    codecs: list[dict[str, Any]] | None = None,
) -> list[np.ndarray]:
    """An NGFF 0.5 volume on Zarr v3: the arrays written by tensorstore's zarr3 driver
    (ome-zarr-py 0.11 writes 0.4 only), the group's `zarr.json` with `attributes.ome`.
    Level k halves y and x by striding. Returns each level's data."""
    import tensorstore as ts

    path.mkdir(parents=True, exist_ok=True)
    base = ramp(shape, dtype)
    out, datasets = [], []
    for k in range(levels):
        index = tuple(slice(None, None, 2**k) if a in "yx" else slice(None) for a in axes)
        data = np.ascontiguousarray(base[index])
        arr = ts.open(
            {
                "driver": "zarr3",
                "kvstore": {"driver": "file", "path": str(path / str(k))},
                "metadata": {
                    "shape": list(data.shape),
                    "chunk_grid": {
                        "name": "regular",
                        "configuration": {"chunk_shape": list(chunks)},
                    },
                    "data_type": dtype,
                    "dimension_names": list(axes),
                    "codecs": codecs
                    or [
                        {"name": "bytes", "configuration": {"endian": "little"}},
                        {"name": "blosc", "configuration": {"cname": "lz4"}},
                    ],
                },
                "create": True,
                "delete_existing": True,
            }
        ).result()
        arr[...] = data
        out.append(data)
        scale = [(0.5 * 2**k if a in "yx" else 1.0) for a in axes]
        datasets.append(
            {"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": scale}]}
        )
    root = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {
            "ome": {
                "version": "0.5",
                "multiscales": [{"axes": _axes(axes), "datasets": datasets}],
            }
        },
    }
    (path / "zarr.json").write_text(json.dumps(root))
    return out


BREAKAGES = (
    "no_multiscales",
    "axes_order",
    "bad_units",
    "missing_level",
    "wrong_ndim",
    "scale_length",
    "negative_scale",
    "omero_count",
    "omero_color",
    "not_json",
    "no_transforms",
)


def break_volume(path: Path, kind: str) -> None:
    """Damage a volume written by `write_volume` (axes "czyx", 3 levels) in one way."""
    attrs_path = path / ".zattrs"
    if kind == "not_json":
        attrs_path.write_text("{ not json")
        return
    attrs = json.loads(attrs_path.read_text())
    ms = attrs["multiscales"][0]
    if kind == "no_multiscales":
        del attrs["multiscales"]
    elif kind == "axes_order":
        ms["axes"] = [ms["axes"][1], ms["axes"][0], *ms["axes"][2:]]
    elif kind == "bad_units":
        for a in ms["axes"]:
            if a["type"] == "space":
                a["unit"] = "um"
    elif kind == "missing_level":
        ms["datasets"].append(
            {"path": "9", "coordinateTransformations": [{"type": "scale", "scale": [1] * 4}]}
        )
    elif kind == "wrong_ndim":
        zarray = path / "1" / ".zarray"
        meta = json.loads(zarray.read_text())
        meta["shape"], meta["chunks"] = meta["shape"][1:], meta["chunks"][1:]
        zarray.write_text(json.dumps(meta))
    elif kind == "scale_length":
        ms["datasets"][0]["coordinateTransformations"][0]["scale"] = [1.0, 1.0]
    elif kind == "negative_scale":
        ms["datasets"][1]["coordinateTransformations"][0]["scale"][2] = -1.0
    elif kind == "omero_count":
        attrs["omero"]["channels"] = attrs["omero"]["channels"][:1]
    elif kind == "omero_color":
        attrs["omero"]["channels"][0]["color"] = "red"
        del attrs["omero"]["channels"][0]["window"]
    elif kind == "no_transforms":
        del ms["datasets"][0]["coordinateTransformations"]
    else:
        raise ValueError(f"unknown breakage {kind!r}")
    attrs_path.write_text(json.dumps(attrs))


class DirMapping(Mapping[str, bytes]):
    """A directory's files as the read-only `Mapping[str, bytes]` the zarr storage gives
    (lazily read; listing only when iterated)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __getitem__(self, key: str) -> bytes:
        p = self.root / key
        if ".." in Path(key).parts or not p.is_file():
            raise KeyError(key)
        return p.read_bytes()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self.root / key).is_file()

    def __iter__(self) -> Iterator[str]:
        for p in sorted(self.root.rglob("*")):
            if p.is_file():
                yield p.relative_to(self.root).as_posix()

    def __len__(self) -> int:
        return sum(1 for _ in self)


class CountingStore(Mapping[str, bytes]):
    """Counts reads of a store: `reads` lists the keys asked for, `found` those that
    existed, `bytes_read` their size; `listed` says whether anyone iterated it."""

    def __init__(self, inner: Mapping[str, bytes]) -> None:
        self.inner = inner
        self.reads: list[str] = []
        self.found: list[str] = []
        self.bytes_read = 0
        self.listed = False

    def __getitem__(self, key: str) -> bytes:
        self.reads.append(key)
        value = self.inner[key]
        self.found.append(key)
        self.bytes_read += len(value)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self.inner

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(self.inner)

    def __len__(self) -> int:
        self.listed = True
        return len(self.inner)

    def reset(self) -> None:
        self.reads.clear()
        self.found.clear()
        self.bytes_read = 0

    def chunk_reads(self) -> list[str]:
        return [k for k in self.reads if not k.rsplit("/", 1)[-1].startswith((".z", "zarr"))]
