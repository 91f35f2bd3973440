"""Imaging: single frames and mean/max projections of an image series, and the ROI masks
of a plane segmentation, all in one orientation (rows are y, columns x)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.explore._h5 import _clean, _cut
from neurodatashare.nwb.explore.series import _Series, _series
from neurodatashare.nwb.explore.table import _Table
from neurodatashare.nwb.limits import (
    MAX_FRAME_PIXELS,
    MAX_PROJECTION_FRAMES,
    MAX_ROI_PIXELS,
    MAX_ROIS,
    PROJECTION_FRAMES,
)

_ORIENTATION = (
    "rows are y and columns are x: the file's (x, y) frames are transposed, so row 0 is "
    "the top of the image"
)


@dataclass
class Image:
    """One frame or a projection: float32 (height, width), in the series' unit."""

    kind: str  # "frame" | "mean" | "max"
    data: np.ndarray
    path: str
    unit: str
    index: int | None = None
    frames: list[int] = field(default_factory=list)
    n_frames: int = 0
    time: float | None = None
    plane: int | None = None

    def meta(self) -> dict[str, Any]:
        finite = self.data[np.isfinite(self.data)]
        return _clean(
            {
                "kind": "image",
                "image": self.kind,
                "shape": list(self.data.shape),
                "dtype": "float32",
                "path": self.path,
                "unit": self.unit,
                "index": self.index,
                "time": self.time,
                "n_frames": self.n_frames,
                "frames_used": len(self.frames) if self.kind != "frame" else 1,
                "plane": self.plane,
                "min": float(finite.min()) if finite.size else None,
                "max": float(finite.max()) if finite.size else None,
                "orientation": _ORIENTATION,
            }
        )

    def to_bytes(self) -> bytes:
        return np.ascontiguousarray(self.data, dtype="<f4").tobytes()


def _imaging(h5: h5py.File, path: Any) -> _Series:
    s = _series(h5, path, need="imaging")
    shape = s.data.shape
    if math.prod(shape[1:3]) > MAX_FRAME_PIXELS:
        raise BadRequest(f"The frames of {s.path} are too large to show ({list(shape[1:])}).")
    return s


def _frame_to_image(frame: np.ndarray) -> np.ndarray:
    """Stored (x, y[, z]) -> (y, x), the first plane of a volume."""
    if frame.ndim == 3:
        frame = frame[..., 0]
    return np.ascontiguousarray(frame.T)


def read_frame(h5: h5py.File, path: str, *, index: int) -> Image:
    """Frame ``index`` of an image series (a volume's first plane), as (height, width)."""
    s = _imaging(h5, path)
    try:
        index = int(index)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'index' must be a whole number (a frame number).") from exc
    n = s.n_samples
    if not 0 <= index < n:
        raise BadRequest(f"There is no frame {index}: {s.path} has {n} frames (0-{n - 1}).")
    sel = np.s_[index] if s.data.ndim == 3 else np.s_[index, :, :, 0]
    frame = np.asarray(s.data[sel])
    image = _frame_to_image(frame).astype(np.float32) * np.float32(s.conversion)
    if s.offset:
        image += np.float32(s.offset)
    t = float(s.timestamps[index]) if s.timestamps is not None else s.time_of(index)
    return Image(
        kind="frame",
        data=image,
        path=s.path,
        unit=s.unit,
        index=index,
        frames=[index],
        n_frames=n,
        time=t,
        plane=0 if s.data.ndim == 4 else None,
    )


def projection(
    h5: h5py.File, path: str, *, kind: str = "mean", max_frames: int = PROJECTION_FRAMES
) -> Image:
    """Mean or max projection over at most ``max_frames`` evenly spaced frames.

    Frames are read chunk by chunk, so each stored chunk is decompressed at most once.
    """
    if kind not in ("mean", "max"):
        raise BadRequest(f"'{_cut(str(kind), 20)}' is not a projection; use mean or max.")
    s = _imaging(h5, path)
    try:
        max_frames = int(max_frames)
    except (TypeError, ValueError) as exc:
        raise BadRequest("'max_frames' must be a whole number.") from exc
    if not 1 <= max_frames <= MAX_PROJECTION_FRAMES:
        raise BadRequest(f"'max_frames' must be between 1 and {MAX_PROJECTION_FRAMES}.")
    n = s.n_samples
    if n == 0:
        raise BadRequest(f"{s.path} has no frames.")
    picks = np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(np.int64))
    chunk = int(s.data.chunks[0]) if s.data.chunks else 1
    acc: np.ndarray | None = None
    for c in np.unique(picks // chunk):
        inside = picks[(picks // chunk) == c]
        a, b = int(inside[0]), int(inside[-1]) + 1
        sel = np.s_[a:b] if s.data.ndim == 3 else np.s_[a:b, :, :, 0]
        block = np.asarray(s.data[sel])[inside - a]
        if kind == "mean":
            part = block.sum(axis=0, dtype=np.float64)
            acc = part if acc is None else acc + part
        else:
            part = block.max(axis=0).astype(np.float64)
            acc = part if acc is None else np.maximum(acc, part)
    assert acc is not None
    if kind == "mean":
        acc = acc / len(picks)
    image = _frame_to_image(acc[..., None] if acc.ndim == 2 else acc)
    image = image.astype(np.float32) * np.float32(s.conversion)
    if s.offset:
        image += np.float32(s.offset)
    return Image(
        kind=kind,
        data=image,
        path=s.path,
        unit=s.unit,
        frames=picks.tolist(),
        n_frames=n,
        plane=0 if s.data.ndim == 4 else None,
    )


def _link_target(group: h5py.Group, name: str) -> str | None:
    try:
        link = group.get(name, getlink=True)
    except (KeyError, OSError, RuntimeError):
        return None
    if isinstance(link, h5py.SoftLink):
        return str(link.path)
    obj = group.get(name)
    return str(obj.name) if obj is not None else None


def read_rois(h5: h5py.File, path: str, *, max_rois: int = MAX_ROIS) -> dict[str, Any]:
    """ROI masks of a PlaneSegmentation, as pixel lists in the frame view's orientation.

    Returns ``{"path", "shape": [height, width], "mask_type": "image_mask" |
    "pixel_mask" | "voxel_mask", "imaging_series", "rois": [{"index", "id", "x", "y",
    "centroid": [x, y], "n_pixels"}], "orientation", "truncated"}``: the pixels whose
    weight is above half the ROI's peak, their weighted centroid, and the image shape
    (from the masks, or the referenced imaging series). Volumes are projected (max) over
    z. At most ``max_rois`` ROIs and :data:`MAX_ROI_PIXELS` pixels in total.
    """
    tbl = _Table(h5, path)
    g = tbl.group
    series = None
    refs = g.get("reference_images")
    if isinstance(refs, h5py.Group):
        for name in refs:
            series = _link_target(refs, name)
            if series:
                break
    shape: list[int] | None = None
    if series:
        ds = h5.get(series + "/data")
        if isinstance(ds, h5py.Dataset) and ds.ndim >= 3:
            shape = [int(ds.shape[2]), int(ds.shape[1])]
    n = tbl.n_rows
    count = min(n, int(max_rois))
    ids = np.asarray(tbl.columns["id"].data[:count])
    rois: list[dict[str, Any]] = []
    total_pixels = 0
    truncated = count < n
    if "image_mask" in g and isinstance(g["image_mask"], h5py.Dataset):
        mask_type = "image_mask"
        ds = g["image_mask"]
        if ds.ndim not in (3, 4):
            raise BadRequest(f"image_mask of {tbl.path} has an unexpected shape {list(ds.shape)}.")
        if math.prod(ds.shape[1:3]) > MAX_FRAME_PIXELS:
            raise BadRequest(f"The masks of {tbl.path} are too large ({list(ds.shape)}).")
        shape = [int(ds.shape[2]), int(ds.shape[1])]
        per_read = max(1, (8 << 20) // max(1, math.prod(ds.shape[1:]) * ds.dtype.itemsize))
        for a in range(0, count, per_read):
            block = np.asarray(ds[a : min(count, a + per_read)], dtype=np.float32)
            if block.ndim == 4:
                block = block.max(axis=3)
            for k, mask in enumerate(block):
                x, y = np.nonzero(_above_half(mask))
                w = mask[x, y]
                rois.append(_roi(a + k, ids[a + k], x, y, w))
                total_pixels += len(x)
            if total_pixels > MAX_ROI_PIXELS:
                truncated = True
                break
    elif "pixel_mask" in g or "voxel_mask" in g:
        mask_type = "pixel_mask" if "pixel_mask" in g else "voxel_mask"
        col = tbl.col(mask_type)
        if len(col.indexes) != 1 or not col.data.dtype.names:
            raise BadRequest(f"{mask_type} of {tbl.path} is not a list of pixels.")
        starts, stops = tbl.bounds(col, np.arange(count))
        names = col.data.dtype.names
        weight_name = "weight" if "weight" in names else names[-1]
        max_x = max_y = 0
        for i, (a, b) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
            if total_pixels + (b - a) > MAX_ROI_PIXELS:
                truncated = True
                break
            rec = np.asarray(col.data[a:b])
            x = np.asarray(rec["x"], dtype=np.int64)
            y = np.asarray(rec["y"], dtype=np.int64)
            w = np.asarray(rec[weight_name], dtype=np.float32)
            keep = w > 0.5 * w.max() if len(w) and w.max() > 0 else np.ones(len(w), bool)
            rois.append(_roi(i, ids[i], x[keep], y[keep], w[keep]))
            total_pixels += int(keep.sum())
            if len(x):
                max_x, max_y = max(max_x, int(x.max())), max(max_y, int(y.max()))
        if shape is None:
            shape = [max_y + 1, max_x + 1]
    else:
        raise BadRequest(f"{tbl.path} has no image_mask or pixel_mask column, so no ROI masks.")
    return _clean(
        {
            "path": tbl.path,
            "shape": shape,
            "mask_type": mask_type,
            "imaging_series": series,
            "rois": rois,
            "total": n,
            "truncated": truncated,
            "orientation": "x is the column and y the row of the frame view's image",
        }
    )


def _above_half(mask: np.ndarray) -> np.ndarray:
    peak = float(np.nanmax(mask)) if mask.size else 0.0
    if not peak > 0:
        return np.zeros(mask.shape, dtype=bool)
    return np.asarray(mask > 0.5 * peak)


def _roi(index: int, ident: Any, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    if len(x):
        weights = np.where(np.isfinite(w) & (w > 0), w, 0).astype(np.float64)
        if weights.sum() <= 0:
            weights = np.ones(len(x))
        centroid = [
            float(np.average(x, weights=weights)),
            float(np.average(y, weights=weights)),
        ]
    else:
        centroid = None
    return {
        "index": index,
        "id": ident,
        "x": np.asarray(x, dtype=np.int64),
        "y": np.asarray(y, dtype=np.int64),
        "centroid": centroid,
        "n_pixels": len(x),
    }
