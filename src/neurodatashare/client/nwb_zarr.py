"""`RemoteAsset.open()` for NWB stored as Zarr: hdmf-zarr reads the Zarr's files through
the archive's Zarr API with the caller's token, lazily.

One listing of the Zarr's files (`GET /api/zarr/{id}/files/`, paged) answers which entries
exist and the groups' members; each entry pynwb reads is one
`GET /api/zarr/{id}/files/?prefix=<entry>&download=true` (a redirect to its bytes). The
chunks of one slice are fetched concurrently. Metadata entries (`.zattrs`, `.zarray`,
`.zgroup`) are answered from the consolidated metadata (`.zmetadata`, one request) when
the Zarr has it, as hdmf-zarr writes it, and kept once read otherwise; chunks are not kept,
so memory stays that of what you hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from neurodatashare.client.errors import ClientError, NetworkError, NotNWBError
from neurodatashare.client.http import describe_transport_error

if TYPE_CHECKING:
    from pynwb import NWBFile

FETCH_THREADS = 8
_METADATA = (".zattrs", ".zarray", ".zgroup", ".zmetadata")


class RemoteZarrEntries(Mapping[str, bytes]):
    """A Zarr of the archive as a read-only mapping of entry paths to bytes, over HTTP."""

    def __init__(self, client: Any, zarr_id: str) -> None:
        self.client = client
        self.zarr_id = zarr_id
        self.sizes = {
            str(e["Key"]): int(e["Size"]) for e in client.paginate(f"zarr/{zarr_id}/files/")
        }
        self._kept: dict[str, bytes] = {}
        self._metadata: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> bytes:
        if key not in self.sizes:
            raise KeyError(key)
        if key in self._kept:
            return self._kept[key]
        name = key.rsplit("/", 1)[-1]
        if name in _METADATA and name != ".zmetadata" and ".zmetadata" in self.sizes:
            # the consolidated metadata (hdmf-zarr writes it) answers every metadata entry
            consolidated = self._consolidated()
            if key in consolidated:
                return json.dumps(consolidated[key]).encode()
        return self._fetch(key)

    def _consolidated(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                value = json.loads(self._fetch(".zmetadata")).get("metadata")
            except (ValueError, AttributeError):
                value = None
            self._metadata = value if isinstance(value, dict) else {}
        return self._metadata

    def _fetch(self, key: str) -> bytes:
        url = self.client.url_for(f"zarr/{self.zarr_id}/files/")
        try:
            r = self.client.http.get(url, params={"prefix": key, "download": "true"})
        except httpx.TransportError as exc:
            raise NetworkError(describe_transport_error(exc, url)) from exc
        if r.status_code >= 400:
            raise self.client.error_from(r)
        data = r.content
        if key.rsplit("/", 1)[-1] in _METADATA:
            self._kept[key] = data
        return data

    def fetch_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        from concurrent.futures import ThreadPoolExecutor

        keys = [k for k in keys if k in self.sizes]
        if len(keys) < 2:
            return {k: self[k] for k in keys}
        with ThreadPoolExecutor(min(FETCH_THREADS, len(keys))) as pool:
            return dict(zip(keys, pool.map(self.__getitem__, keys), strict=True))

    def __contains__(self, key: object) -> bool:
        return key in self.sizes

    def __iter__(self) -> Iterator[str]:
        return iter(self.sizes)

    def __len__(self) -> int:
        return len(self.sizes)


def open_zarr_asset(asset: Any) -> NWBFile:
    """The NWBFile of an NWB-Zarr asset, read lazily; the IO stays open with it."""
    import warnings

    from hdmf_zarr.nwb import NWBZarrIO

    from neurodatashare.nwb.zarr_pickle import register
    from neurodatashare.nwb.zarr_read import mapping_store_class

    if not str(asset.path).lower().rstrip("/").endswith(".nwb.zarr"):
        raise NotNWBError(f"{asset.path} is a Zarr but not an NWB file (.nwb.zarr).")
    entries = RemoteZarrEntries(asset.client, asset.zarr)
    if not entries:
        raise NotNWBError(f"{asset.path} is an empty Zarr.")
    register()  # object references: unpickled with an allow-list, never arbitrary code
    store = mapping_store_class()(entries, str(asset.path).rsplit("/", 1)[-1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            io = NWBZarrIO(store, mode="r", load_namespaces=True)
            nwbfile = io.read()
    except ClientError:
        raise
    except Exception as exc:  # zarr, hdmf and pynwb raise many kinds for what is not NWB
        raise NotNWBError(f"{asset.path} could not be read as NWB: {exc}") from exc
    nwbfile._nds_io = io  # the IO must outlive this function, or reads would fail
    return nwbfile
