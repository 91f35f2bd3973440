"""The AnnData views' services: embedding, gene search, dot plot and the obs table.

Every call checks access (visible_asset) first, so a hidden asset answers as a missing
one, then reads the asset's h5ad file (HDF5) through the archive's cache of open files
(archive/blob_files.py) with formats/expression/, whose column cache is keyed by blob.
Read errors become 4xx.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import User
from neurodatashare.errors import BadRequest, NDSError, Unreadable

log = logging.getLogger("neurodatashare.explore")
T = TypeVar("T")


def read(archive: Archive, *, asset_id: str, user: User | None, view: Callable[[Any], T]) -> T:
    """`view(H5ad)` on the asset's open file, if the user may see it."""
    from neurodatashare.archive.access import blob_of, visible_asset
    from neurodatashare.formats import format_for
    from neurodatashare.formats.expression import H5ad

    with archive.db.read() as s:
        asset, _dataset = visible_asset(s, asset_id=asset_id, user=user)
        blob = blob_of(asset)
        blob_id, key, path = blob.id, blob.key, asset.path
    if format_for(path).name != "anndata":
        raise BadRequest(f"{path} is not an AnnData (.h5ad) file, so it has no expression views.")
    files = archive.files
    try:
        entry = files.acquire(archive.store, blob_id=blob_id, key=key)
    except OSError as exc:
        raise Unreadable(
            f"{path} cannot be read as an HDF5/AnnData file ({exc}). "
            "Its validation report says more."
        ) from None
    try:
        return view(H5ad(entry.h5, blob_id=blob_id, name=path.rsplit("/", 1)[-1]))
    except NDSError:
        raise
    except (KeyError, ValueError, TypeError, IndexError, OSError) as exc:
        log.info("expression read failed on %s", asset_id, exc_info=True)
        if isinstance(exc, OSError):
            files.forget(blob_id)  # reopen next time, in case it was the handle
        raise Unreadable(f"This part of the file cannot be read: {exc}") from None
    finally:
        files.release(entry)


def embedding(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    key: str | None = None,
    color: str | None = None,
    x0: float | None = None,
    x1: float | None = None,
    y0: float | None = None,
    y1: float | None = None,
    width: int = 800,
    height: int = 600,
    bin_pixels: int = 4,
) -> Any:
    """Points or a density grid of an obsm embedding in a window (an EmbeddingView)."""
    from neurodatashare.formats.expression import embedding as view

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda ad: view(
            ad,
            key=key,
            color=color,
            x0=x0,
            x1=x1,
            y0=y0,
            y1=y1,
            width=width,
            height=height,
            bin_pixels=bin_pixels,
        ),
    )


def genes(
    archive: Archive, *, asset_id: str, user: User | None, q: str = "", limit: int = 20
) -> dict[str, Any]:
    from neurodatashare.formats.expression import search_genes

    return read(
        archive, asset_id=asset_id, user=user, view=lambda ad: search_genes(ad, q=q, limit=limit)
    )


def dotplot(
    archive: Archive, *, asset_id: str, user: User | None, genes: str, group: str | None = None
) -> dict[str, Any]:
    """Mean and fraction expressing per group and gene; `genes` is 'a,b,c'. Without a
    group, the file's cell type column (or its first obs column) is used."""
    from neurodatashare.formats.expression import dotplot as compute
    from neurodatashare.formats.expression.tables import parse_genes

    def view(ad: Any) -> dict[str, Any]:
        names = parse_genes(genes)
        chosen = group or _default_group(ad)
        return compute(ad, genes=names, group=chosen)

    return read(archive, asset_id=asset_id, user=user, view=view)


def _default_group(ad: Any) -> str:
    from neurodatashare.formats.anndata import EXPECTED

    columns = ad.obs_columns()
    lower = {c.lower(): c for c in columns}
    found = next((lower[n] for n in EXPECTED["cell_type"] if n in lower), None)
    if found is None and not columns:
        raise BadRequest("obs has no columns to group the cells by.")
    return found or columns[0]


def cells(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    offset: int = 0,
    limit: int = 100,
    sort: str | None = None,
    desc: bool = False,
    filters: Sequence[str] = (),
) -> dict[str, Any]:
    from neurodatashare.formats.expression import cells as page

    return read(
        archive,
        asset_id=asset_id,
        user=user,
        view=lambda ad: page(
            ad, offset=offset, limit=limit, sort=sort, desc=desc, filters=tuple(filters)
        ),
    )
