"""The slice viewer's service: an OME-Zarr volume's layout, and images of one plane.

Everything takes a store, the read-only `Mapping[str, bytes]` of a Zarr asset's entries
(formats/ome_zarr/ngff.py), and reads only what it needs: the metadata documents, then
the chunks a view overlaps at the level that matches the screen. A 137 GB volume and a
4 MB one cost the same to open and to show whole; chunks absent from a sparse store are
the fill value and cost one failed look-up each. The chunks of one image are read at once
(16 threads), as an object store behind the mapping needs. A store with a `cache_key`
attribute (a str naming its content: the Zarr checksum) has its metadata kept in memory, so
the tiles of a view read chunks only.

The level follows Neuroglancer's rule: the coarsest level whose voxel is at most 1.1 screen
pixels on both of the plane's axes. A plane is drawn on the server, as an 8-bit RGB PNG:
each channel's values through its window (start, end) to 0..1, times its colour, added
and clipped. Server-side rendering keeps the browser code a plain <img>/canvas tiler,
makes each tile an HTTP-cacheable response, and handles every dtype (uint8 to float64)
the same way; a contrast change is a new request (the viewer debounces them). Raw values
with a JSON header would let the browser re-contrast without a request, at 2-4x the
bytes for uint16/float and a WebGL or typed-array compositor in the page; PNG was chosen
for the smaller, simpler first version (docs/explorer-api.md).

Volumes with one large level get a pyramid as a derived artifact (archive/volume_pyramid.py
`build_pyramid`); `levels(store, pyramid=...)` joins its levels to the source's.
"""

from __future__ import annotations

import io
import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodatashare.archive.zarr_v3 import fetch_all, open_v3
from neurodatashare.errors import BadRequest, Unreadable
from neurodatashare.formats.ome_zarr import checks, ngff

PLANES = {"xy": ("x", "y"), "xz": ("x", "z"), "yz": ("y", "z")}  # (horizontal, vertical)
MAX_OUTPUT = 2048  # pixels along either side of one image
MAX_CHUNKS = 1024  # chunks one image may read
MAX_READ_BYTES = 256 * 2**20  # decoded bytes one image may read
MAX_CHANNELS = checks.MAX_CHANNELS_SHOWN
LEVEL_SLACK = 1.1  # Neuroglancer's: a voxel may be up to 1.1 screen pixels


@dataclass
class Window:
    index: int
    color: tuple[int, int, int]
    start: float
    end: float


def zarr_store(store: Mapping[str, bytes]) -> Any:
    """The mapping as a zarr 2 store: each chunk read once (zarr's default `getitems`
    asks `key in store` first, which a plain Mapping answers by reading the value)."""
    from zarr.storage import BaseStore

    if isinstance(store, BaseStore):
        return store

    class _Store(BaseStore):
        _readable, _writeable, _erasable, _listable = True, False, False, True

        def __getitem__(self, key: str) -> bytes:
            return store[key]

        def __contains__(self, key: object) -> bool:
            return key in store

        def __iter__(self) -> Any:
            return iter(store)

        def __len__(self) -> int:
            return len(store)

        def getitems(self, keys: Sequence[str], *, contexts: Any = None) -> dict[str, Any]:
            found = fetch_all(store, list(keys))
            return {k: v for k, v in zip(keys, found, strict=True) if v is not None}

        def __setitem__(self, key: str, value: Any) -> None:
            raise PermissionError("read-only store")

        def __delitem__(self, key: str) -> None:
            raise PermissionError("read-only store")

    return _Store()


_CACHE_LOCK = threading.Lock()
_VOLUMES: OrderedDict[tuple[str, str | None], ngff.Volume] = OrderedDict()
_ARRAYS: OrderedDict[tuple[str, str | None, str], Any] = OrderedDict()
CACHED_VOLUMES = 64


def _cache_key(
    store: Mapping[str, bytes], pyramid: Mapping[str, bytes] | None
) -> tuple[str, str | None] | None:
    """A store whose `cache_key` (a str naming its content, such as the Zarr checksum)
    is set has its metadata kept: every tile of a view then reads chunks only."""
    key = getattr(store, "cache_key", None)
    if not isinstance(key, str):
        return None
    extra = getattr(pyramid, "cache_key", None) if pyramid is not None else None
    if pyramid is not None and not isinstance(extra, str):
        return None
    return key, extra


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> Any:
    with _CACHE_LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > CACHED_VOLUMES:
            cache.popitem(last=False)
    return value


def open_volume(
    store: Mapping[str, bytes], *, pyramid: Mapping[str, bytes] | None = None
) -> ngff.Volume:
    """The store's first multiscale image, with the derived pyramid's levels after its
    own; Unreadable (422) with the first error when it cannot be drawn."""
    key = _cache_key(store, pyramid)
    if key is not None and key in _VOLUMES:
        return _VOLUMES[key]
    volume = _open_volume(store, pyramid)
    return volume if key is None else _remember(_VOLUMES, key, volume)


def _open_volume(store: Mapping[str, bytes], pyramid: Mapping[str, bytes] | None) -> ngff.Volume:
    volume, results = checks.inspect(store)
    if volume is None:
        first = next((r for r in results if r["severity"] in ("ERROR", "CRITICAL")), None)
        why = first["message"] if first else "its NGFF metadata is not supported"
        raise Unreadable(f"This volume cannot be shown: {why}")
    if pyramid is not None:
        extra, _ = checks.inspect(pyramid)
        if extra is not None and extra.names == volume.names:
            finest = volume.levels[-1].scale
            volume.levels += [
                ngff.Level(f"pyramid:{lv.path}", lv.array, lv.scale, lv.translation)
                for lv in extra.levels
                if all(a >= b for a, b in zip(lv.scale, finest, strict=True)) and lv.scale != finest
            ]
    return volume


def level_array(
    store: Mapping[str, bytes], pyramid: Mapping[str, bytes] | None, level: ngff.Level
) -> Any:
    """The level's array (zarr 2's for Zarr v2, archive/zarr_v3.py's for v3): `arr[sel]`."""
    path = level.path
    key = _cache_key(store, pyramid)
    if key is not None and (*key, path) in _ARRAYS:
        return _ARRAYS[(*key, path)]
    arr = _open_array(store, pyramid, path, level.array.zarr_format)
    return arr if key is None else _remember(_ARRAYS, (*key, path), arr)


def _open_array(
    store: Mapping[str, bytes], pyramid: Mapping[str, bytes] | None, path: str, version: int
) -> Any:
    import zarr

    source = store
    if path.startswith("pyramid:"):
        if pyramid is None:
            raise Unreadable("The volume's pyramid is not available.")
        source, path = pyramid, path.removeprefix("pyramid:")
    if version == 3:
        return open_v3(source, path)
    try:
        return zarr.open_array(zarr_store(source), mode="r", path=path)
    except (ValueError, TypeError, KeyError, zarr.errors.MetadataError) as exc:
        raise Unreadable(f"Level {path}'s array cannot be opened by zarr: {exc}") from None


def layout(
    store: Mapping[str, bytes], *, pyramid: Mapping[str, bytes] | None = None
) -> dict[str, Any]:
    """What the viewer needs to draw: axes, levels (shape, chunks, scale), channels with
    their default windows, and the planes offered."""
    volume = open_volume(store, pyramid=pyramid)
    spatial = volume.spatial
    axes = volume.names
    planes = [p for p, (u, v) in PLANES.items() if u in axes and v in axes]
    windows = _default_windows(store, pyramid, volume)
    channels = []
    for ch, w in zip(volume.channels, windows, strict=True):
        channels.append({**ch, "window": ch.get("window") or w})
    base = volume.levels[0]
    return {
        "ngff_version": volume.version,
        "name": volume.name,
        "axes": volume.axes,
        "spatial": spatial,
        "planes": planes,
        "dtype": base.array.dtype,
        "levels": [
            {
                "level": i,
                "path": lv.path,
                "shape": list(lv.array.shape),
                "chunks": list(lv.array.chunks),
                "scale": lv.scale,
                "translation": lv.translation,
                "factor": [s / b for s, b in zip(lv.scale, base.scale, strict=True)],
            }
            for i, lv in enumerate(volume.levels)
        ],
        "channels": channels,
        "limits": {"max_output": MAX_OUTPUT, "max_chunks": MAX_CHUNKS},
    }


def _default_windows(
    store: Mapping[str, bytes], pyramid: Mapping[str, bytes] | None, volume: ngff.Volume
) -> list[dict[str, float]]:
    """Per channel, the 0.5-99.5 percentiles of the coarsest level's middle plane (at
    most 512 x 512 voxels of it read), for channels whose omero window is missing."""
    if all(ch.get("window") for ch in volume.channels):
        return [ch["window"] for ch in volume.channels]
    level = volume.levels[-1]
    arr = level_array(store, pyramid, level)
    index: list[Any] = []
    names = volume.names
    spatial = volume.spatial
    for i, a in enumerate(volume.axes):
        n = level.array.shape[i]
        if a["name"] in spatial[-2:]:
            half = min(n, 512) // 2
            index.append(slice(n // 2 - half, n // 2 - half + min(n, 512)))
        elif a.get("type") == ngff.CHANNEL:
            index.append(slice(None))
        else:
            index.append(n // 2)
    data = _read(arr, tuple(index), level.path, np.float64)
    c = next((names.index(a["name"]) for a in volume.axes if a.get("type") == ngff.CHANNEL), None)
    out = []
    for k in range(len(volume.channels)):
        if c is None:
            part = data
        else:
            kept = [i for i, x in enumerate(index) if isinstance(x, slice)]
            part = np.take(data, k, axis=kept.index(c))
        finite = part[np.isfinite(part)]
        lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0)
        lo, hi = float(lo), float(hi)
        if hi <= lo and finite.size:  # mostly fill value (a sparse volume): up to the max
            hi = float(finite.max())
        if hi <= lo:
            hi = lo + 1.0
        full_lo = float(finite.min()) if finite.size else lo
        full_hi = float(finite.max()) if finite.size else hi
        out.append({"start": lo, "end": hi, "min": min(full_lo, lo), "max": max(full_hi, hi)})
    return out


def choose_level(volume: ngff.Volume, *, plane: str, pixel: tuple[float, float]) -> int:
    """The coarsest level whose voxel, in level-0 voxels, is at most 1.1 x the screen
    pixel (`pixel`: level-0 voxels per screen pixel along the plane's two axes)."""
    u, v = (volume.axis(n) for n in PLANES[plane])
    base = volume.levels[0].scale
    for i in range(len(volume.levels) - 1, -1, -1):
        s = volume.levels[i].scale
        if s[u] / base[u] <= LEVEL_SLACK * pixel[0] and s[v] / base[v] <= LEVEL_SLACK * pixel[1]:
            return i
    return 0


def _windows(
    volume: ngff.Volume, requested: list[dict[str, Any]] | None, defaults: Any
) -> list[Window]:
    """The channels to draw; `defaults()` gives the data's windows when omero has none."""
    chosen = requested
    if chosen is None:
        chosen = [
            {
                "index": i,
                **({"color": ch["color"]} if ch.get("color") else {}),
                **(ch.get("window") or {}),
            }
            for i, ch in enumerate(volume.channels)
            if ch.get("active", True)
        ][:MAX_CHANNELS] or [{"index": 0}]
    if len(chosen) > MAX_CHANNELS:
        raise BadRequest(f"At most {MAX_CHANNELS} channels can be shown at once.")
    out = []
    for ch in chosen:
        i = int(ch["index"])
        if not 0 <= i < len(volume.channels):
            raise BadRequest(
                f"There is no channel {i}: the volume has {len(volume.channels)} "
                f"(0 to {len(volume.channels) - 1})."
            )
        known = volume.channels[i]
        colour = str(ch.get("color") or known.get("color") or "FFFFFF")
        window = known.get("window") or {}
        if not window and ("start" not in ch or "end" not in ch):
            window = defaults()[i]
        start = float(ch.get("start", window.get("start", 0.0)))
        end = float(ch.get("end", window.get("end", _dtype_max(volume))))
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            raise BadRequest(f"Channel {i}'s window must have start < end (got {start}, {end}).")
        rgb = tuple(int(colour[k : k + 2], 16) for k in (0, 2, 4))
        out.append(Window(i, (rgb[0], rgb[1], rgb[2]), start, end))
    return out


def _dtype_max(volume: ngff.Volume) -> float:
    dt = np.dtype(volume.levels[0].array.dtype)
    return float(np.iinfo(dt).max) if dt.kind in "ui" else 1.0


def render(
    store: Mapping[str, bytes],
    *,
    plane: str,
    index: Mapping[str, int],
    region: tuple[float, float, float, float],
    size: tuple[int, int],
    level: int | None = None,
    channels: list[dict[str, Any]] | None = None,
    pyramid: Mapping[str, bytes] | None = None,
    volume: ngff.Volume | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """One image of a plane: `region` (u0, v0, u1, v1) in level-0 voxels along the
    plane's horizontal and vertical axes, drawn at `size` (width, height) pixels, at
    `level` or the one that matches the screen. `index` holds level-0 positions on the
    other axes (t, z...; 0 when absent). Returns the PNG and a header (level, the region
    read in that level's voxels, chunks touched). `volume`: open_volume's, if at hand."""
    volume = volume or open_volume(store, pyramid=pyramid)
    if plane not in PLANES:
        raise BadRequest(f"plane must be one of {', '.join(PLANES)}, not {plane!r}.")
    hu, hv = PLANES[plane]
    if hu not in volume.names or hv not in volume.names:
        raise BadRequest(f"This volume has axes {volume.names}, so it has no {plane} plane.")
    w, h = size
    if not (1 <= w <= MAX_OUTPUT and 1 <= h <= MAX_OUTPUT):
        raise BadRequest(f"The image size must be 1 to {MAX_OUTPUT} pixels on each side.")
    u0, v0, u1, v1 = region
    if not all(math.isfinite(x) for x in region) or u1 <= u0 or v1 <= v0:
        raise BadRequest("The region must have x1 > x0 and y1 > y0 (finite numbers).")
    for name in index:
        if name not in volume.names or name in (hu, hv):
            others = [n for n in volume.names if n not in (hu, hv)]
            raise BadRequest(f"{name!r} is not an axis to choose here; these are: {others}.")
    if level is None:
        level = choose_level(volume, plane=plane, pixel=((u1 - u0) / w, (v1 - v0) / h))
    if not 0 <= level < len(volume.levels):
        raise BadRequest(
            f"There is no level {level}: the volume has {len(volume.levels)} "
            f"(0 to {len(volume.levels) - 1})."
        )
    windows = _windows(volume, channels, lambda: _default_windows(store, pyramid, volume))
    lv = volume.levels[level]
    base = volume.levels[0]
    shape = lv.array.shape
    ratio = [b / s for b, s in zip(base.scale, lv.scale, strict=True)]  # level voxels per l0
    iu, iv = volume.axis(hu), volume.axis(hv)
    # the level's voxels under the region
    lo_u, hi_u = _span(u0, u1, ratio[iu], shape[iu])
    lo_v, hi_v = _span(v0, v1, ratio[iv], shape[iv])
    selection: list[Any] = []
    fixed: dict[str, int] = {}
    channel_axis = next(
        (i for i, a in enumerate(volume.axes) if a.get("type") == ngff.CHANNEL), None
    )
    for i, name in enumerate(volume.names):
        if i == iu:
            selection.append(slice(lo_u, hi_u))
        elif i == iv:
            selection.append(slice(lo_v, hi_v))
        elif i == channel_axis:
            selection.append(None)  # filled per channel
        else:
            at = int(index.get(name, 0))
            n0 = base.array.shape[i]
            if not 0 <= at < n0:
                raise BadRequest(f"{name} must be between 0 and {n0 - 1} (got {at}).")
            fixed[name] = min(shape[i] - 1, int(at * ratio[i]))
            selection.append(fixed[name])
    touched = _chunks_touched(lv.array, selection, len(windows))
    read_bytes = touched * lv.array.chunk_bytes
    if touched > MAX_CHUNKS or read_bytes > MAX_READ_BYTES:
        raise BadRequest(
            f"This view would read {touched:,} chunks ({read_bytes / 2**20:,.0f} MB) at level "
            f"{level}; zoom in, or choose a coarser level"
            + (" (this volume has no pyramid yet)." if len(volume.levels) == 1 else ".")
        )
    rgb = np.zeros((h, w, 3), dtype=np.float32)
    if hi_u > lo_u and hi_v > lo_v:
        arr = level_array(store, pyramid, lv)
        # output pixel centres, in the level's voxels, relative to what is read
        cu = (u0 + (np.arange(w) + 0.5) * (u1 - u0) / w) * ratio[iu]
        cv = (v0 + (np.arange(h) + 0.5) * (v1 - v0) / h) * ratio[iv]
        inside_u = (cu >= 0) & (cu < shape[iu])
        inside_v = (cv >= 0) & (cv < shape[iv])
        pu = np.clip(np.floor(cu).astype(np.int64) - lo_u, 0, hi_u - lo_u - 1)
        pv = np.clip(np.floor(cv).astype(np.int64) - lo_v, 0, hi_v - lo_v - 1)
        mask = (inside_v[:, None] & inside_u[None, :]).astype(np.float32)
        for win in windows:
            sel = tuple(win.index if s is None else s for s in selection)
            part = _read(arr, sel, lv.path, np.float32)
            # the two kept axes are in array order; make it (vertical, horizontal)
            if iu < iv:
                part = part.T
            img = part[pv[:, None], pu[None, :]]
            with np.errstate(over="ignore", invalid="ignore"):  # huge windows: clipped
                scaled = np.clip((img - win.start) / (win.end - win.start), 0.0, 1.0)
            scaled = np.nan_to_num(scaled, nan=0.0) * mask  # NaN voxels are black
            for k in range(3):
                if win.color[k]:
                    rgb[..., k] += scaled * (win.color[k] / 255.0)
    out = (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    header = {
        "level": level,
        "plane": plane,
        "read": {hu: [lo_u, hi_u], hv: [lo_v, hi_v], **fixed},
        "chunks": touched,
        "size": [w, h],
    }
    return _png(out), header


def _read(arr: Any, selection: tuple[Any, ...], path: str, dtype: Any) -> np.ndarray:
    """arr[selection] as `dtype`; a chunk that does not decode (corrupt, truncated, the
    wrong size for its metadata) is a 422 naming the level, not a server error."""
    try:
        return np.asarray(arr[selection], dtype=dtype)
    except (RuntimeError, ValueError, TypeError, IndexError, OSError, zlib.error) as exc:
        raise Unreadable(f"A chunk of level {path} cannot be decoded: {exc}") from None


def _span(a: float, b: float, ratio: float, n: int) -> tuple[int, int]:
    lo = max(0, math.floor(a * ratio))
    hi = min(n, math.ceil(b * ratio))
    return lo, max(lo, hi)


def _chunks_touched(meta: ngff.ArrayMeta, selection: list[Any], channels: int) -> int:
    total = 1
    for s, c in zip(selection, meta.chunks, strict=True):
        if isinstance(s, slice):
            if s.stop <= s.start:
                return 0
            total *= (s.stop - 1) // c - s.start // c + 1
        elif s is None:
            total *= channels
    return total


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG", compress_level=3)
    return buf.getvalue()
