"""Microscopy volumes: OME-Zarr (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3), a store format.

An OME-Zarr is a directory tree, so it is not processed from one open file like the other
formats but from its store (`process_store`): a read-only mapping of entry paths to bytes
(see formats/ome_zarr/ngff.py). Processing reads the root's metadata and each level's
array metadata, never a chunk and never the listing, so it costs the same for 1 MB and
1 TB. The checks are formats/ome_zarr/checks.py; the viewer's tiles archive/volumes.py.

The media type is `application/x-zarr`: NGFF registers none, and DANDI's client writes
this one as the `encodingFormat` of every Zarr asset, OME-Zarr included
(dandi/consts.py ZARR_MIME_TYPE), so the documents compare equal with DANDI's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.formats.common import finding
from neurodatashare.formats.ome_zarr import checks, ngff
from neurodatashare.formatting import human_size
from neurodatashare.validation.types import Severity

__all__ = ["OME_ZARR", "OmeZarrFormat", "describe", "process_store"]


def _voxel(volume: ngff.Volume) -> dict[str, Any]:
    level = volume.levels[0]
    out: dict[str, Any] = {}
    for a, s in zip(volume.axes, level.scale, strict=True):
        if a.get("type") in (ngff.SPATIAL, ngff.TIME):
            out[a["name"]] = {"size": round(s, 9), "unit": a.get("unit")}
    return out


def describe(volume: ngff.Volume) -> dict[str, Any]:
    """The summary card's content (`nds:summary`)."""
    a0 = volume.levels[0].array
    declared = sum(level.array.nbytes for level in volume.levels)
    voxel = _voxel(volume)
    space = [n for n in volume.spatial if n in voxel]
    units = {voxel[n]["unit"] for n in space}
    voxel_text = " x ".join(f"{voxel[n]['size']:g}" for n in space) + (
        f" {units.pop()}" if len(units) == 1 and None not in units else ""
    )
    return {
        "volume": f"{''.join(volume.names)} {' x '.join(map(str, a0.shape))} {a0.dtype}",
        "voxel": f"{voxel_text} ({', '.join(space)})",
        "size": f"{human_size(a0.nbytes)} uncompressed at full resolution",
        "ngff_version": volume.version,
        "zarr_format": volume.zarr_format,
        **({"name": volume.name} if volume.name else {}),
        "axes": "".join(volume.names) if all(len(n) == 1 for n in volume.names) else volume.names,
        "axis_units": {a["name"]: a.get("unit") for a in volume.axes if a.get("unit")},
        "shape": list(a0.shape),
        "dtype": a0.dtype,
        "chunks": list(a0.chunks),
        "voxel_size": voxel,
        "levels": len(volume.levels),
        "level_shapes": [list(level.array.shape) for level in volume.levels],
        "channels": [
            {k: v for k, v in ch.items() if k in ("label", "color") or v is not None}
            for ch in volume.channels
        ],
        "declared_bytes": a0.nbytes,
        "declared_bytes_all_levels": declared,
        "viewable": all(level.array.readable for level in volume.levels),
    }


def process_store(store: Mapping[str, bytes], *, path: str) -> Processed:
    """Findings and description of one OME-Zarr; a broken one still gets its report."""
    try:
        volume, results = checks.inspect(store)
    except Exception as exc:  # a store that fails to read (network, permissions)
        return Processed(None, [], f"The OME-Zarr could not be read: {exc}")
    meta: dict[str, Any] = {
        "schemaKey": "BareAsset",
        "encodingFormat": OME_ZARR.media_type,
        "nds:format": OME_ZARR.name,
    }
    if volume is None:
        blocking = any(Severity.parse(r["severity"]) >= Severity.ERROR for r in results)
        meta["nds:summary"] = {"viewable": False, "readable": False}
        error = "The NGFF metadata cannot be read as an image." if blocking else None
        return Processed(meta, results, error)
    meta["nds:summary"] = describe(volume)
    if not meta["nds:summary"]["viewable"]:
        results.append(
            finding(
                Severity.INFO,
                "ome_zarr.viewer",
                "The slice viewer cannot read this volume's chunks: it is sharded or uses a "
                "Zarr v3 codec other than bytes, transpose, gzip, zstd, blosc and crc32c.",
                "Open it in Neuroglancer, or rewrite it without sharding to view it here.",
            )
        )
    return Processed(meta, results)


class OmeZarrFormat:
    name = "ome-zarr"
    media_type = "application/x-zarr"
    suffixes: tuple[str, ...] = (".ome.zarr",)
    version = "ome-zarr-1"
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes = b"") -> bool:
        return path.lower().rstrip("/").endswith(self.suffixes)

    def process_store(self, store: Mapping[str, bytes], *, path: str) -> Processed:
        return process_store(store, path=path)

    def views(self, asset: dict[str, Any]) -> list[str]:
        summary = asset.get("nds:summary") if isinstance(asset, dict) else None
        viewable = not isinstance(summary, dict) or summary.get("viewable", True)
        return [*(["volume"] if viewable else []), "summary"]


OME_ZARR = OmeZarrFormat()
