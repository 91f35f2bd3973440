"""A pyramid for an OME-Zarr volume that has one resolution level: a derived artifact.

`build_pyramid(store, out_dir)` writes, into a local directory, a Zarr v2 group with NGFF
0.4 metadata holding levels 1, 2, ... of the source (level 0 stays in the source). Each
level halves y and x, and z while z's voxel is finer than twice x's, by the mean of each
2x2(x2) block, until the plane fits in `top` voxels; time and channel axes are kept. It
works one output chunk-block at a time, so memory stays bounded by a few chunks, and
blocks whose source is only fill value are not written, so a sparse volume's pyramid
stays sparse. The viewer joins these levels to the source's (archive/volumes.py
`open_volume(store, pyramid=...)`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurodatashare.archive.volumes import level_array, open_volume
from neurodatashare.formats.ome_zarr import ngff

TOP = 512  # stop once the largest plane axis is at most this many voxels
PRODUCER = "volume-pyramid-1"


def needs_pyramid(store: Mapping[str, bytes], *, top: int = 2048) -> bool:
    """Whether the volume has one level and a plane larger than `top` voxels across."""
    volume = open_volume(store)
    if len(volume.levels) > 1:
        return False
    shape = volume.levels[0].array.shape
    return max(shape[volume.axis(n)] for n in volume.spatial[-2:]) > top


def _factors(volume: ngff.Volume, scale: list[float], shape: tuple[int, ...]) -> list[int]:
    x = scale[volume.axis(volume.spatial[-1])]
    out = []
    for i, a in enumerate(volume.axes):
        halve = a.get("type") == ngff.SPATIAL and shape[i] > 1
        if halve and a["name"] not in volume.spatial[-2:] and scale[i] >= 2 * x:
            halve = False  # an anisotropic z: keep it until x and y catch up
        out.append(2 if halve else 1)
    return out


def build_pyramid(store: Mapping[str, bytes], out_dir: Path, *, top: int = TOP) -> dict[str, Any]:
    """Write the pyramid of the volume in `store` to `out_dir`; returns a summary."""
    import zarr

    volume = open_volume(store)
    source = level_array(store, None, volume.levels[0])
    base = volume.levels[0]
    out = zarr.group(
        store=zarr.DirectoryStore(str(out_dir), dimension_separator="/"), overwrite=True
    )
    scale, translation = list(base.scale), list(base.translation)
    shape = tuple(base.array.shape)
    datasets: list[dict[str, Any]] = []
    previous: Any = source
    level = 0
    while max(shape[volume.axis(n)] for n in volume.spatial[-2:]) > top:
        factors = _factors(volume, scale, shape)
        if all(f == 1 for f in factors):
            break
        level += 1
        new_shape = tuple(max(1, -(-n // f)) for n, f in zip(shape, factors, strict=True))
        chunks = tuple(min(c, n) for c, n in zip(base.array.chunks, new_shape, strict=True))
        target = out.create_dataset(
            str(level),
            shape=new_shape,
            chunks=chunks,
            dtype=base.array.dtype,
            fill_value=base.array.fill_value,
            dimension_separator="/",
            write_empty_chunks=False,
            compressor=previous.compressor,
        )
        _downsample(previous, target, factors, base.array.fill_value)
        translation = [
            t + (f - 1) * s / 2 for t, f, s in zip(translation, factors, scale, strict=True)
        ]
        scale = [s * f for s, f in zip(scale, factors, strict=True)]
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [
                    {"type": "scale", "scale": scale},
                    {"type": "translation", "translation": translation},
                ],
            }
        )
        previous, shape = target, new_shape
    out.attrs.update(
        {
            "multiscales": [
                {
                    "version": "0.4",
                    "name": "pyramid",
                    "axes": volume.axes,
                    "datasets": datasets,
                    "type": "mean",
                    "metadata": {"producer": PRODUCER, "source_level": base.path},
                }
            ],
        }
    )
    if not datasets:  # nothing to add: say so in a file the viewer will not mistake
        (Path(out_dir) / "EMPTY").write_text(json.dumps({"reason": "already small"}))
    return {"levels": len(datasets), "shapes": [list(shape)], "producer": PRODUCER}


def _downsample(src: Any, dst: Any, factors: list[int], fill: Any) -> None:
    """dst = mean of each factor-block of src, one dst chunk at a time."""
    grid = [range(-(-n // c)) for n, c in zip(dst.shape, dst.chunks, strict=True)]
    for block in itertools.product(*grid):
        out_sel = tuple(
            slice(b * c, min((b + 1) * c, n))
            for b, c, n in zip(block, dst.chunks, dst.shape, strict=True)
        )
        in_sel = tuple(
            slice(s.start * f, min(s.stop * f, n))
            for s, f, n in zip(out_sel, factors, src.shape, strict=True)
        )
        data = src[in_sel]
        if fill is not None and not np.any(data != fill):
            continue  # only fill value: leave the chunk absent
        dst[out_sel] = _block_mean(np.asarray(data), factors, dst.dtype)


def _block_mean(data: np.ndarray, factors: list[int], dtype: Any) -> np.ndarray:
    pad = [(0, (-n) % f) for n, f in zip(data.shape, factors, strict=True)]
    if any(p[1] for p in pad):
        data = np.pad(data, pad, mode="edge")
    shape: list[int] = []
    for n, f in zip(data.shape, factors, strict=True):
        shape += [n // f, f]
    mean = data.astype(np.float64).reshape(shape).mean(axis=tuple(range(1, len(shape), 2)))
    if np.dtype(dtype).kind in "ui":
        return np.rint(mean).astype(dtype)
    return mean.astype(dtype)
