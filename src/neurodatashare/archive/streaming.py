"""Remote reading: LINDI indexes of NWB blobs and signed download URLs.

A LINDI index is the HDF5 file's structure (groups, attributes, small datasets inline)
plus the byte offset and size of every chunk, as one JSON reference file system. A
reader that has it opens the file in one request and then fetches only the chunks it
needs with Range requests. The index is built once per blob (formats/nwb.py, run by
archive/pipeline.py) with chunk references to the template `{{u}}`; when served for an
asset, `templates.u` is set to that asset's download URL (signed when the dataset is not
open, so readers that cannot send headers, such as lindi, fsspec and remfile, still work
and the key never appears in a URL).

A signed link names the asset, its expiry and the dataset's access generation, a counter
bumped by every change of access level or owners: such a change revokes every link
handed out before it, not only at expiry (docs/security.md, "Signed links").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from neurodatashare.archive.access import effective_access
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import Dataset, Derived, User
from neurodatashare.errors import BadRequest, Conflict, Forbidden, NotFound
from neurodatashare.formats.nwb import INDEX_KIND
from neurodatashare.storage.signing import signature_matches

# Short: a link is a bearer capability, usable by whoever holds it until it expires or the
# dataset's access changes. Readers (lindi, remfile) fetch a fresh index to go on.
SIGNED_URL_LIFETIME = 3600


# -- signed URLs -------------------------------------------------------------------------


def _signature(archive: Archive, asset_id: str, expires: int, generation: int) -> str:
    secret = archive.settings.resolved_secret_key.encode()
    message = f"download\n{asset_id}\n{expires}\n{generation}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def download_url(archive: Archive, *, asset_id: str, dataset: Dataset) -> str:
    """The asset's download URL; signed and short-lived unless the dataset is open."""
    url = f"{archive.api_url}/assets/{asset_id}/download/"
    if effective_access(dataset) == "open":
        return url
    expires = int(time.time()) + SIGNED_URL_LIFETIME
    signature = _signature(archive, asset_id, expires, dataset.access_generation)
    return f"{url}?{urlencode({'expires': expires, 'signature': signature})}"


def check_signed(
    archive: Archive, *, asset_id: str, expires: int, signature: str, generation: int | None
) -> None:
    """Accept a link signed for this asset at the dataset's current access generation.

    `generation` is None when the asset does not exist: the answer is then the same 403
    as for a forged link, so links cannot be used to probe for ids.
    """
    good = _signature(archive, asset_id, expires, generation if generation is not None else -1)
    if generation is None or not signature_matches(good, signature):
        raise Forbidden(
            "This download link's signature is not valid (the link may have been revoked "
            "because the dataset's access changed); ask the archive for a new one."
        )
    if expires < time.time():
        raise Forbidden("This download link has expired; ask the archive for a new one.")


# -- serving -----------------------------------------------------------------------------


def asset_index(archive: Archive, *, asset_id: str, user: User | None) -> bytes:
    """The asset's LINDI index with `templates.u` set to its download URL."""
    from neurodatashare.archive.access import visible_asset
    from neurodatashare.archive.derived import is_nwb
    from neurodatashare.archive.links import graft_index

    with archive.db.read() as s:
        asset, dataset = visible_asset(s, asset_id=asset_id, user=user)
        row = s.scalar(
            select(Derived).where(Derived.blob_id == asset.blob_id, Derived.kind == INDEX_KIND)
        )
    if not is_nwb(asset.path):
        raise NotFound(f"{asset.path} is not an NWB file, so it has no streaming index.")
    if row is None:
        raise Conflict(
            "The streaming index of this file is still being built; read the file directly "
            "(Range requests on its download URL) or try again shortly.",
            headers={"Retry-After": "2"},
        )
    if row.storage_key is None:
        raise NotFound(f"This file has no streaming index ({row.error}).")
    body = archive.store.read(row.storage_key)
    url = download_url(archive, asset_id=asset.id, dataset=dataset)
    with archive.db.read() as s:
        grafted = graft_index(
            archive,
            s,
            asset=asset,
            dataset=dataset,
            body=body,
            url_for=lambda sibling: download_url(archive, asset_id=sibling, dataset=dataset),
        )
    if grafted is not None:
        grafted["templates"] = {"u": url, **grafted.pop("nds_templates")}
        body = json.dumps(grafted, separators=(",", ":")).encode()
    else:
        # Splice the template in front instead of parsing a possibly large JSON document.
        body = b'{"templates":' + json.dumps({"u": url}).encode() + b"," + body[1:]
    if TABLE_LINK in body:  # lindi does not apply templates to external array links
        body = body.replace(TABLE_LINK, b'"url":' + json.dumps(url).encode())
    return body


#: How a dataset whose chunks are in a table names the file, for plain lindi readers.
TABLE_LINK = b'"url":"{{u}}"'
#: Bytes of chunk tables one request returns at most (blocks are ~100 bytes each).
MAX_TABLE_BYTES = 2**30


def chunk_table(
    archive: Archive,
    *,
    asset_id: str,
    user: User | None,
    offsets: list[int],
    lengths: list[int],
) -> bytes:
    """Bytes [offset, offset+length) of the asset's chunk tables (nwb/chunk_tables.py)
    for each pair, one after another: table blocks, as its index lists them under
    `nds_chunk_tables`."""
    if len(offsets) != len(lengths):
        raise BadRequest(
            f"{len(offsets)} offsets but {len(lengths)} lengths: give one length per offset."
        )
    if sum(lengths) > MAX_TABLE_BYTES:
        raise BadRequest(f"At most {MAX_TABLE_BYTES} bytes of chunk tables in one request.")
    from neurodatashare.archive.access import visible_asset
    from neurodatashare.archive.derived import storage_key
    from neurodatashare.formats.nwb import TABLES_KIND

    with archive.db.read() as s:
        asset, _ = visible_asset(s, asset_id=asset_id, user=user)
        if asset.blob_id is None:
            raise NotFound(f"{asset.path} is a Zarr archive; it has no chunk tables.")
        row = s.scalar(
            select(Derived).where(Derived.blob_id == asset.blob_id, Derived.kind == INDEX_KIND)
        )
    key = storage_key(asset.blob_id, TABLES_KIND)
    if row is None or row.storage_key is None or not archive.store.exists(key):
        raise NotFound("This file's streaming index has no chunk tables.")
    size = archive.store.size(key)
    for offset, length in zip(offsets, lengths, strict=True):
        if offset + length > size:
            raise BadRequest(
                f"The chunk tables of this file are {size} bytes; offset {offset} + length "
                f"{length} is past their end (take both from the index's nds_chunk_tables)."
            )
    return b"".join(
        archive.store.read_range(key, o, n) for o, n in zip(offsets, lengths, strict=True)
    )


def asset_download_url(archive: Archive, *, asset_id: str, user: User | None) -> dict[str, Any]:
    """Extension: a URL that reads the asset without a key (signed unless open)."""
    from neurodatashare.archive.access import blob_of, visible_asset

    with archive.db.read() as s:
        asset, dataset = visible_asset(s, asset_id=asset_id, user=user)
        blob_of(asset)  # a Zarr asset has no one download URL (its files have theirs)
    return {
        "url": download_url(archive, asset_id=asset.id, dataset=dataset),
        "expires_in": None if effective_access(dataset) == "open" else SIGNED_URL_LIFETIME,
    }
