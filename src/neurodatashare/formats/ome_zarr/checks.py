"""The NGFF metadata checks (0.4 and 0.5): one finding per problem, with how to fix it.

The rules are the specification's (ngff.openmicroscopy.org, versions 0.4 and 0.5) and the
OME-NGFF validator's array checks. They are written here, not taken from a library:
ome-zarr-py's `Axes.validate` raises at the first problem and checks only the axis types'
order; ome-zarr-models does not install beside zarr 2 and pydantic 2.14; the official JSON
schemas answer "'x' is not of type 'number'", and no package compatible with this stack
ships them. A MUST of the specification is an ERROR, a SHOULD a WARNING, advice for
viewers INFO. The checks never raise on a broken document: whatever can still be read is
described, and a volume with errors that do not stop drawing is still viewable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from neurodatashare.formats.ome_zarr import ngff
from neurodatashare.formats.ome_zarr.axes import Report as _Report
from neurodatashare.formats.ome_zarr.axes import check_axes as _axes
from neurodatashare.validation.types import Severity

SUPPORTED = ("0.4", "0.5")
MAX_CHANNELS_SHOWN = 6
CHUNK_MIN, CHUNK_MAX = 64 * 1024, 64 * 2**20  # bytes: outside this, reads are slow
# UDUNITS-2 units the specification lists for space and time axes
_VIEWABLE_DTYPES = "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 "
VIEWABLE_DTYPES = frozenset(_VIEWABLE_DTYPES.split())
HEX = re.compile(r"^[0-9A-Fa-f]{6}$")


def inspect(store: Mapping[str, bytes]) -> tuple[ngff.Volume | None, list[dict[str, Any]]]:
    """The first multiscale image as a Volume (None when it cannot be drawn) and every
    finding about the store's NGFF metadata."""
    try:
        root = ngff.read_root(store)
    except ngff.MetadataError as exc:
        rep = _Report("/")
        rep.add(
            Severity.ERROR,
            "unreadable",
            f"This is not a readable OME-Zarr: {exc}.",
            "Write the volume with an OME-Zarr writer (ome-zarr-py, bioformats2raw, "
            "ngff-zarr) and upload the whole .ome.zarr directory.",
        )
        return None, rep.out
    rep = _Report(root.where)
    version = _version(root, rep)
    if version is not None and version not in SUPPORTED:
        return None, rep.out
    ms = root.attributes.get("multiscales")
    if not isinstance(ms, list) or not ms:
        rep.add(
            Severity.ERROR,
            "multiscales",
            f"{root.where} has no `multiscales` list, so there is no image to read"
            + (" (it looks like an HCS plate)" if "plate" in root.attributes else "")
            + (
                " (it looks like a bioformats2raw container)"
                if "bioformats2raw.layout" in root.attributes
                else ""
            )
            + ".",
            "Add a `multiscales` entry naming the resolution levels, their axes and their "
            "coordinateTransformations (NGFF 'multiscales' metadata).",
        )
        return None, rep.out
    if len(ms) > 1:
        rep.add(
            Severity.INFO,
            "multiscales.several",
            f"The group declares {len(ms)} multiscale images; the archive shows the first.",
            "Put each image in its own group if all of them should be shown.",
        )
    first = ms[0]
    if not isinstance(first, dict):
        rep.add(
            Severity.ERROR,
            "multiscales",
            "multiscales[0] is not a JSON object.",
            "Make each multiscales entry an object with `axes` and `datasets`.",
        )
        return None, rep.out
    axes = _axes(first.get("axes"), rep)
    levels = _datasets(store, first, axes, root, version, rep)
    if axes is None or not levels:
        return None, rep.out
    _global_transforms(first, len(axes), rep)
    channels = _omero(root.attributes.get("omero"), axes, levels[0], rep)
    _advice(axes, levels, len(channels), rep)
    name = first.get("name")
    volume = ngff.Volume(
        version=version,
        zarr_format=root.zarr_format,
        name=name if isinstance(name, str) else None,
        axes=axes,
        levels=levels,
        channels=channels,
    )
    return volume, rep.out


def _version(root: ngff.Root, rep: _Report) -> str | None:
    v = root.version
    if v is None:
        rep.add(
            Severity.WARNING,
            "version",
            "The metadata does not say which NGFF version it follows; it is checked as "
            + ("0.4." if root.zarr_format == 2 else "0.5."),
            'Add `"version": "0.4"` to the multiscale (0.4) or `ome.version` (0.5).',
        )
        return "0.4" if root.zarr_format == 2 else "0.5"
    if v.startswith("0.5") and root.zarr_format == 3:
        return "0.5"
    if v == "0.4" and root.zarr_format == 2:
        return v
    if v in SUPPORTED:
        wanted = 2 if v == "0.4" else 3
        rep.add(
            Severity.ERROR,
            "version.zarr",
            f"NGFF {v} is stored in Zarr version {wanted}, but this store is Zarr version "
            f"{root.zarr_format}.",
            f"Rewrite the volume as NGFF {'0.5' if root.zarr_format == 3 else '0.4'} for this "
            "Zarr version (ome-zarr-py or ngff-zarr convert it).",
        )
        return v
    newer = v.startswith("0.6") or v > "0.5"
    rep.add(
        Severity.WARNING,
        "version.unsupported",
        f"NGFF version {v} is not supported here (0.4 and 0.5 are), so the volume is "
        "neither checked nor shown."
        + (" 0.6 changed the coordinate transformations incompatibly." if newer else ""),
        "Convert the volume to NGFF 0.4 or 0.5 to have it checked and viewed.",
    )
    return v


def _datasets(
    store: Mapping[str, bytes],
    ms: dict[str, Any],
    axes: list[dict[str, Any]] | None,
    root: ngff.Root,
    version: str | None,
    rep: _Report,
) -> list[ngff.Level]:
    value = ms.get("datasets")
    if not isinstance(value, list) or not value:
        rep.add(
            Severity.ERROR,
            "datasets",
            "The multiscale lists no `datasets` (resolution levels).",
            "List each level's array path with its coordinateTransformations, from the "
            "highest resolution to the lowest.",
            "multiscales[0].datasets",
        )
        return []
    n = len(axes) if axes is not None else None
    levels: list[ngff.Level] = []
    for i, d in enumerate(value):
        at = f"multiscales[0].datasets[{i}]"
        path = d.get("path") if isinstance(d, dict) else None
        if not isinstance(path, str) or not path.strip("/"):
            rep.add(
                Severity.ERROR,
                "datasets.path",
                f"Level {i} has no `path`.",
                'Give each dataset the relative path of its array ("0", "1"...).',
                at,
            )
            continue
        array = ngff.read_array(store, path, root.zarr_format)
        if isinstance(array, str):
            rep.add(
                Severity.ERROR,
                "datasets.missing",
                f"Level {i}: {array}.",
                "Upload the level's array, or remove the level from `datasets`.",
                at,
            )
            continue
        at_path = f"{at} ({path})"
        if n is not None and len(array.shape) != n:
            rep.add(
                Severity.ERROR,
                "datasets.ndim",
                f"Level {i} ({path}) has {len(array.shape)} dimensions but there are {n} axes.",
                "Make every level's array have one dimension per axis.",
                at_path,
            )
            continue
        if 0 in array.shape:
            rep.add(
                Severity.ERROR,
                "datasets.empty",
                f"Level {i} ({path}) has shape {list(array.shape)}: it holds no voxels.",
                "Remove the empty level, or write its data.",
                at_path,
            )
            continue
        if len(array.chunks) != len(array.shape):
            rep.add(
                Severity.ERROR,
                "datasets.chunks",
                f"Level {i} ({path}) has chunks {list(array.chunks)} for shape "
                f"{list(array.shape)}.",
                "Rewrite the array's metadata.",
                at_path,
            )
            continue
        if array.dtype not in VIEWABLE_DTYPES:
            rep.add(
                Severity.ERROR,
                "dtype",
                f"Level {i} ({path}) has data type {array.dtype}, which is not a number "
                "type microscopy viewers read.",
                "Store intensities as uint8, uint16 or float32.",
                at_path,
            )
            continue
        if (
            root.zarr_format == 3
            and axes is not None
            and array.dimension_names != [a["name"] for a in axes]
        ):
            rep.add(
                Severity.ERROR,
                "datasets.dimension_names",
                f"Level {i} ({path}) has dimension_names {array.dimension_names}, not the "
                f"axes' names {[a['name'] for a in axes]}.",
                "Set the array's dimension_names to the axes' names (NGFF 0.5).",
                at_path,
            )
        if root.zarr_format == 2 and version == "0.4" and array.dimension_separator != "/":
            rep.add(
                Severity.WARNING,
                "datasets.separator",
                f"Level {i} ({path}) uses {array.dimension_separator!r} between chunk "
                "indices; NGFF 0.4 asks for '/'.",
                'Rewrite the arrays with dimension_separator "/".',
                at_path,
            )
        scale = _level_transforms(d, i, n, rep, at_path)
        if scale is None:
            continue
        levels.append(ngff.Level(path=path, array=array, scale=scale[0], translation=scale[1]))
    return _across_levels(levels, version, rep)


def _level_transforms(
    d: dict[str, Any], i: int, n: int | None, rep: _Report, at: str
) -> tuple[list[float], list[float]] | None:
    ct = d.get("coordinateTransformations")
    fix_all = (
        'Give each dataset `coordinateTransformations`: one {"type": "scale", "scale": '
        "[...]} with one positive number per axis, optionally then one translation."
    )
    if not isinstance(ct, list) or not ct:
        rep.add(
            Severity.ERROR,
            "transforms",
            f"Level {i} has no coordinateTransformations, so its voxel size is unknown.",
            fix_all,
            at,
        )
        return None
    kinds = [t.get("type") if isinstance(t, dict) else None for t in ct]
    if kinds not in (["scale"], ["scale", "translation"]):
        rep.add(
            Severity.ERROR,
            "transforms.order",
            f"Level {i}'s transformations are {kinds}; NGFF allows exactly one scale, "
            "optionally followed by one translation.",
            fix_all,
            at,
        )
    bad = False
    for t in ct:
        if not isinstance(t, dict) or t.get("type") not in ("scale", "translation"):
            continue
        vec = t.get(t["type"])
        if not isinstance(vec, list):
            rep.add(
                Severity.ERROR,
                "transforms.values",
                f"Level {i}'s {t['type']} is not a list of numbers"
                + (" (a `path` to a file is not supported here)." if "path" in t else "."),
                fix_all,
                at,
            )
            bad = True
            continue
        if n is not None and len(vec) != n:
            rep.add(
                Severity.ERROR,
                "transforms.length",
                f"Level {i}'s {t['type']} has {len(vec)} values for {n} axes.",
                f"Give the {t['type']} one value per axis, in the axes' order.",
                at,
            )
            bad = True
            continue
        nums = [v for v in vec if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(nums) != len(vec) or not all(math.isfinite(v) for v in nums):
            rep.add(
                Severity.ERROR,
                "transforms.values",
                f"Level {i}'s {t['type']} {vec} holds values that are not finite numbers.",
                "Use plain numbers.",
                at,
            )
            bad = True
        elif t["type"] == "scale" and not all(v > 0 for v in nums):
            rep.add(
                Severity.ERROR,
                "transforms.scale",
                f"Level {i}'s scale {vec} has a value that is zero or negative.",
                "Each scale value is a voxel's size along its axis: make it positive "
                "(use 1 for the channel and time axes).",
                at,
            )
            bad = True
    if bad or n is None:
        return None
    return ngff.transforms(ct, n)


def _across_levels(levels: list[ngff.Level], version: str | None, rep: _Report) -> list[ngff.Level]:
    """The levels that can be drawn, with a finding for each problem between levels: a
    level out of order or more than 2^30 times coarser than level 0 is left out."""
    kept = levels[:1]
    for cur in levels[1:]:
        prev = kept[-1]
        at = f"multiscales[0].datasets ({cur.path})"
        if prev.array.dtype != cur.array.dtype:
            rep.add(
                Severity.ERROR if version == "0.5" else Severity.WARNING,
                "datasets.dtype",
                f"Level {cur.path} is {cur.array.dtype} but level {prev.path} is "
                f"{prev.array.dtype}.",
                "Store every level with the same data type.",
                at,
            )
        finer = [c < p for c, p in zip(cur.scale, prev.scale, strict=True)]
        larger = [c > p for c, p in zip(cur.array.shape, prev.array.shape, strict=True)]
        if any(finer) or any(larger):
            rep.add(
                Severity.ERROR,
                "datasets.order",
                f"Level {cur.path} is finer than level {prev.path} before it (scale "
                f"{cur.scale} vs {prev.scale}, shape {list(cur.array.shape)} vs "
                f"{list(prev.array.shape)}).",
                "List datasets from the highest resolution to the lowest.",
                at,
            )
            continue
        base = levels[0]
        if any(s > 2**30 * s0 for s, s0 in zip(cur.scale, base.scale, strict=True)):
            rep.add(
                Severity.ERROR,
                "transforms.scale",
                f"Level {cur.path}'s scale {cur.scale} is more than 2^30 times level "
                f"{base.path}'s {base.scale}.",
                "Give each level its real voxel size (level 0's times the downsampling).",
                at,
            )
            continue
        kept.append(cur)
        for k, (s0, n0, s, n) in enumerate(
            zip(base.scale, base.array.shape, cur.scale, cur.array.shape, strict=True)
        ):
            if abs(s0 * n0 - s * n) > s + 1e-9 * s0 * n0:
                rep.add(
                    Severity.WARNING,
                    "datasets.extent",
                    f"Level {cur.path} covers {s * n:g} along axis {k}, level "
                    f"{base.path} {s0 * n0:g}: its scale does not match its shape.",
                    "Set each level's scale to level 0's times the downsampling factor.",
                    at,
                )
                break
    return kept


def _global_transforms(ms: dict[str, Any], n: int, rep: _Report) -> None:
    ct = ms.get("coordinateTransformations")
    if ct is None:
        return
    if ngff.transforms(ct, n) is None:
        rep.add(
            Severity.ERROR,
            "transforms.global",
            "The multiscale's own coordinateTransformations are not one positive scale "
            f"per axis ({n}), optionally followed by a translation.",
            "Fix or remove the multiscale-level coordinateTransformations.",
            "multiscales[0].coordinateTransformations",
        )


def _omero(
    value: Any, axes: list[dict[str, Any]], level0: ngff.Level, rep: _Report
) -> list[dict[str, Any]]:
    """The channels to draw: omero's when usable, else one grey channel per index."""
    names = [a["name"] for a in axes]
    c = next((i for i, a in enumerate(axes) if a.get("type") == ngff.CHANNEL), None)
    count = level0.array.shape[c] if c is not None else 1
    defaults: list[dict[str, Any]] = [
        {
            "label": f"channel {i}",
            "color": "FFFFFF" if count == 1 else _PALETTE[i % 6],
            "window": None,
            "active": i < MAX_CHANNELS_SHOWN,
        }
        for i in range(count)
    ]
    if value is None:
        return defaults
    at = "omero"
    listed = value.get("channels") if isinstance(value, dict) else None
    if not isinstance(listed, list):
        rep.add(
            Severity.WARNING,
            "omero.channels",
            "`omero` has no `channels` list.",
            "List one channel per index of the channel axis, with label, color and window.",
            at,
        )
        return defaults
    if len(listed) != count:
        rep.add(
            Severity.WARNING,
            "omero.count",
            f"`omero` lists {len(listed)} channels but the channel axis "
            f"{'has ' + str(count) + ' indices' if c is not None else 'is absent'} "
            f"(axes {names}).",
            "List exactly one omero channel per index of the c axis.",
            at,
        )
    for i, ch in enumerate(listed[:count]):
        where = f"omero.channels[{i}]"
        if not isinstance(ch, dict):
            continue
        label = ch.get("label")
        if isinstance(label, str) and label:
            defaults[i]["label"] = label
        color = ch.get("color")
        if isinstance(color, str) and HEX.match(color):
            defaults[i]["color"] = color.upper()
        else:
            rep.add(
                Severity.WARNING,
                "omero.color",
                f"Channel {i}'s color is {color!r}, not six hex digits (RRGGBB).",
                'Give each channel a color like "00FF00".',
                where,
            )
        if isinstance(ch.get("active"), bool):
            defaults[i]["active"] = ch["active"]
        window = ch.get("window")
        keys = ("start", "end", "min", "max")
        if not isinstance(window, dict) or not all(
            isinstance(window.get(k), int | float) and math.isfinite(window[k]) for k in keys
        ):
            rep.add(
                Severity.WARNING,
                "omero.window",
                f"Channel {i}'s window is missing or lacks numbers for start, end, min and max.",
                "Give each channel a window {start, end, min, max}: the contrast range "
                "to show and the data's range.",
                where,
            )
        elif window["start"] >= window["end"]:
            rep.add(
                Severity.WARNING,
                "omero.window",
                f"Channel {i}'s window starts at {window['start']} and ends at "
                f"{window['end']}, so it shows nothing.",
                "Make window.start smaller than window.end.",
                where,
            )
        else:
            defaults[i]["window"] = {k: float(window[k]) for k in keys}
    return defaults


_PALETTE = ("FF0000", "00FF00", "0000FF", "FF00FF", "00FFFF", "FFFF00")


def _advice(
    axes: list[dict[str, Any]], levels: list[ngff.Level], channels: int, rep: _Report
) -> None:
    a0 = levels[0].array
    if a0.dtype == "float64":
        rep.add(
            Severity.INFO,
            "dtype.float64",
            "The volume is float64; Neuroglancer cannot show float64 volumes.",
            "Store intensities as float32 or an integer type.",
        )
    size = a0.chunk_bytes
    if size and (size < min(CHUNK_MIN, a0.nbytes) or size > CHUNK_MAX):
        rep.add(
            Severity.INFO,
            "chunks.size",
            f"Level {levels[0].path}'s chunks are {size:,} bytes each; reads are fastest "
            "with chunks between 64 KB and 64 MB.",
            "Rechunk the arrays (e.g. 1x1x64x256x256 or 128³).",
        )
    if channels > MAX_CHANNELS_SHOWN:
        rep.add(
            Severity.INFO,
            "omero.many",
            f"There are {channels} channels; the viewer shows up to {MAX_CHANNELS_SHOWN} at once.",
            "Choose the channels to show in the viewer.",
        )
    spatial = [i for i, a in enumerate(axes) if a.get("type") == ngff.SPATIAL]
    if len(levels) == 1 and max(a0.shape[i] for i in spatial[-2:]) > 2048:
        rep.add(
            Severity.INFO,
            "pyramid",
            f"The volume has one resolution level of {list(a0.shape)}; the archive builds "
            "a pyramid of lower resolutions so that it can be viewed whole.",
            "Write the volume with several levels (ome-zarr-py's write_image does).",
        )
