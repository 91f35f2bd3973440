"""The morphology and model views' services: a reconstruction (SWC, Neurolucida, a NeuroML
cell) for drawing, its dendrogram and Sholl profile, and a NeuroML file's networks.

Each call checks access (visible_asset) first, then reads the file. Parsed files are kept
in a small cache by blob id (blobs never change), like the explorer's open HDF5 files in
archive/blob_files.py, so the three views of one page read the file once. The reading
lives in formats/swc_view.py and formats/neuroml_view.py; read errors become 4xx.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.errors import BadRequest, NotFound
from neurodatashare.formats import swc_view

CAPACITY = 16  # parsed files and drawings kept
MAX_BYTES = 512 * 1024 * 1024  # larger text files are not parsed for a view
_cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
_making: dict[tuple[str, str], threading.Lock] = {}  # slots being made, one maker each
_lock = threading.Lock()


def _asset(archive: Archive, *, asset_id: str, user: User | None) -> tuple[str, str, str, int]:
    from neurodatashare.archive.access import blob_of, visible_asset

    with archive.db.read() as s:
        asset, _ = visible_asset(s, asset_id=asset_id, user=user)
        blob = blob_of(asset)
        return asset.path, blob.id, blob.key, int(blob.size)


def _kind(path: str) -> str:
    lower = path.lower()
    for suffix, kind in ((".swc", "swc"), (".asc", "asc"), (".nml", "neuroml")):
        if lower.endswith(suffix):
            return kind
    from neurodatashare.formats import format_for

    if format_for(path).name == "neuroml":
        return "neuroml"
    raise BadRequest(
        f"{path} is not a morphology or model file (SWC, Neurolucida .asc or NeuroML), "
        "so these views cannot show it."
    )


def _parsed(
    archive: Archive, *, asset_id: str, user: User | None, what: str, cell: str | None = None
) -> Any:
    """`what` (cell, drawing, drawing:radii, drawing:binary or networks) of the asset's
    file, made once per blob."""
    path, blob_id, key, size = _asset(archive, asset_id=asset_id, user=user)
    kind = _kind(path)
    if what == "networks" and kind != "neuroml":
        raise BadRequest(f"{path} is not a NeuroML file, so it has no network to show.")
    if size > MAX_BYTES:
        raise BadRequest(f"{path} is {size:,} bytes; views read files up to {MAX_BYTES:,}.")
    slot = (blob_id, f"{what}:{cell or ''}")
    with _lock:
        if slot in _cache:
            _cache.move_to_end(slot)
            return _cache[slot]
        making = _making.setdefault(slot, threading.Lock())
    # a page asks for its three views at once: one request reads the file, the others wait
    with making:
        with _lock:
            if slot in _cache:
                _cache.move_to_end(slot)
                return _cache[slot]
        try:
            where = (path, key, kind)
            return _make(archive, where, slot, asset_id=asset_id, user=user, what=what, cell=cell)
        finally:
            with _lock:
                _making.pop(slot, None)


def _make(
    archive: Archive,
    where: tuple[str, str, str],
    slot: tuple[str, str],
    *,
    asset_id: str,
    user: User | None,
    what: str,
    cell: str | None,
) -> Any:
    """Read `what` of the file at `where` (path, store key, kind) and keep it in `slot`."""
    from neurodatashare.formats import neuroml_view

    path, key, kind = where
    if what == "drawing:binary":
        from neurodatashare.formats import swc_binary

        stored = _stored_drawing(archive, blob_id=slot[0], kind=kind) if not cell else None
        if stored:
            return _keep(slot, stored)
        found = _cell(archive, asset_id=asset_id, user=user, cell=cell)
        return _keep(slot, swc_binary.encode(found))
    if what.startswith("drawing"):
        # the JSON text is kept too: writing 100,000 points costs about MorphIO's parse
        found = _cell(archive, asset_id=asset_id, user=user, cell=cell)
        return _keep(slot, swc_view.drawing(found, radii=what == "drawing:radii"))
    with archive.store.open(key) as f:
        data = f.read()
    try:
        if what == "networks":
            value: Any = neuroml_view.networks(data)
        elif kind == "neuroml":
            value = neuroml_view.read_cell(data, cell_id=cell)
        else:
            text = data.decode("utf-8", errors="replace")
            value = swc_view.read_swc(text, extension=kind)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise BadRequest(f"{path} cannot be read: {exc}") from None
    return _keep(slot, value)


def _stored_drawing(archive: Archive, *, blob_id: str, kind: str) -> bytes | None:
    """The body the pipeline built (formats/swc.py `build_drawing`) by today's producer
    for the dialect the path names; None when it is missing, older, of another dialect or
    empty (nothing drawable: parsing says why)."""
    from sqlalchemy import select

    from neurodatashare.db.models import Derived
    from neurodatashare.formats.swc import DRAWING_KIND, drawing_producer

    with archive.db.read() as s:
        row = s.execute(
            select(Derived.storage_key, Derived.payload).where(
                Derived.blob_id == blob_id,
                Derived.kind == DRAWING_KIND,
                Derived.producer == drawing_producer(),
            )
        ).first()
    if row is None or row.storage_key is None or (row.payload or {}).get("dialect") != kind:
        return None
    with archive.store.open(row.storage_key) as f:
        body: bytes = f.read()
    return body or None


def _keep(slot: tuple[str, str], value: Any) -> Any:
    with _lock:
        _cache[slot] = value
        while len(_cache) > CAPACITY:
            _cache.popitem(last=False)
    return value


def _cell(archive: Archive, *, asset_id: str, user: User | None, cell: str | None) -> swc_view.Cell:
    found: swc_view.Cell = _parsed(archive, asset_id=asset_id, user=user, what="cell", cell=cell)
    return found


def morphology_json(
    archive: Archive, *, asset_id: str, user: User | None, radii: bool, cell: str | None = None
) -> str:
    """The reconstruction for drawing (formats/swc_view.py `drawing`), as JSON text."""
    what = "drawing:radii" if radii else "drawing"
    body: str = _parsed(archive, asset_id=asset_id, user=user, what=what, cell=cell)
    return body[:-1] + f',"asset_id":"{asset_id}"}}'


def morphology_binary(
    archive: Archive, *, asset_id: str, user: User | None, cell: str | None = None
) -> bytes:
    """The reconstruction as the 3D view's binary body (formats/swc_binary.py)."""
    body: bytes = _parsed(archive, asset_id=asset_id, user=user, what="drawing:binary", cell=cell)
    return body


def dendrogram(
    archive: Archive, *, asset_id: str, user: User | None, cell: str | None = None
) -> dict[str, Any]:
    found = _cell(archive, asset_id=asset_id, user=user, cell=cell)
    return {"asset_id": asset_id} | swc_view.dendrogram(found)


def sholl(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    step: float | None,
    cell: str | None = None,
) -> dict[str, Any]:
    """Crossings per radius; with no step, at the summary's radii (formats/swc.py)."""
    from neurodatashare.formats.swc import SHOLL_STEPS

    found = _cell(archive, asset_id=asset_id, user=user, cell=cell)
    try:
        profile = swc_view.sholl(found, step=step, default_steps=SHOLL_STEPS)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return {"asset_id": asset_id} | profile


def network(archive: Archive, *, asset_id: str, user: User | None) -> dict[str, Any]:
    """A NeuroML file's networks: populations and projections."""
    nets = _parsed(archive, asset_id=asset_id, user=user, what="networks")
    return {"asset_id": asset_id, "networks": nets}
