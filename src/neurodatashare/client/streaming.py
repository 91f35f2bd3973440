"""Open a remote NWB file lazily: through the archive's LINDI index when it exists
(one request to open), else through remfile over Range requests (about ten).

`open_asset` always opens what can be opened: with no index (still being built, or none
could be made), or an index the reader cannot use, it falls back to the ranged reader.
It raises only the client's documented errors: `NotNWBError` when the bytes are not NWB,
`NetworkError` and the `HTTPError` family when the archive cannot be asked.

pynwb, h5py, lindi and remfile are imported inside the functions: the rest of the
client stays light.
"""

from __future__ import annotations

import bisect
import logging
from typing import TYPE_CHECKING, Any

import httpx

from neurodatashare.client.errors import ClientError, NetworkError, NotNWBError, error_for_status
from neurodatashare.client.http import describe_transport_error

if TYPE_CHECKING:
    from pynwb import NWBFile

    from neurodatashare.client.chunk_store import FetchTable


log = logging.getLogger("neurodatashare.client")


def _read_compound_rows() -> None:
    """Let lindi's datasets answer row selections of compound datasets.

    lindi (0.4) reads a compound dataset only field by field (`ds["idx_start"][:]`), but
    hdmf reads rows (`ds[:]`, `ds[[0, 3]]`) for TimeSeriesReferenceVectorData (trials' and
    epochs' `timeseries`, the icephys tables), so `to_dataframe()` of those tables failed.
    The rows are inline in the index (lindi inlines every compound dataset), so a row
    selection is answered from them, references as lindi references that hdmf resolves.
    lindi has no hook for this: its group class names the dataset class it builds, which
    is replaced here by a subclass (once per process).
    """
    import importlib

    import h5py
    import numpy as np
    from lindi.LindiH5pyFile.LindiH5pyDataset import LindiH5pyDataset
    from lindi.LindiH5pyFile.LindiH5pyReference import LindiH5pyReference

    group_module: Any = importlib.import_module("lindi.LindiH5pyFile.LindiH5pyGroup")
    if getattr(group_module.LindiH5pyDataset, "nds_rows", False):
        return

    class RowsDataset(LindiH5pyDataset):
        nds_rows = True

        def _get_item_for_zarr(self, zarr_array: Any, selection: Any) -> Any:
            dtype = self._compound_dtype
            if (
                dtype is None
                or isinstance(selection, str)
                or zarr_array.attrs.get("_EXTERNAL_ARRAY_LINK")
            ):
                return super()._get_item_for_zarr(zarr_array, selection)
            names = dtype.names or ()
            refs = [h5py.check_ref_dtype(dtype[n]) is not None for n in names]
            fields = [(n, object if r else dtype[n]) for n, r in zip(names, refs, strict=True)]
            rows = np.empty(zarr_array.shape[0], dtype=np.dtype(fields))
            for i, row in enumerate(zarr_array[:]):
                rows[i] = tuple(
                    LindiH5pyReference(v["_REFERENCE"]) if r else v
                    for v, r in zip(row, refs, strict=True)
                )
            return rows[selection]

    group_module.LindiH5pyDataset = RowsDataset


def open_hdf5(
    *, index: dict[str, Any] | None, url: str, fetch_table: FetchTable | None = None
) -> Any:
    """An h5py-like file: LINDI over the index when given, else remfile over `url`.
    `fetch_table(offset, length)` reads the index's chunk tables (client/chunk_store.py)."""
    if index is not None:
        import lindi

        from neurodatashare.client.chunk_store import ArchiveStore

        _read_compound_rows()
        return lindi.LindiH5pyFile.from_zarr_store(ArchiveStore(index, fetch_table), mode="r")
    import h5py
    import remfile

    return h5py.File(remfile.File(url), "r")


def read_nwb(h5file: Any) -> NWBFile:
    """Build the pynwb tree (lazily: no dataset is read) and keep the IO open with it."""
    from pynwb import NWBHDF5IO

    io = NWBHDF5IO(file=h5file, mode="r", load_namespaces=True)
    nwbfile = io.read()
    nwbfile._nds_io = io  # the IO must outlive this function, or reads would fail
    return nwbfile


def _get(http: httpx.Client, url: str) -> httpx.Response:
    try:
        return http.get(url)
    except httpx.TransportError as exc:
        raise NetworkError(describe_transport_error(exc, url)) from exc


def _error(r: httpx.Response) -> ClientError:
    detail = _detail(r)
    return error_for_status(r.status_code, detail or r.reason_phrase, url=str(r.url))


def fetch_index(http: httpx.Client, api_url: str, asset_id: str) -> dict[str, Any] | None:
    """The asset's LINDI index, or None while it is being built or when it has none."""
    r = _get(http, f"{api_url}/assets/{asset_id}/lindi.json")
    if r.status_code == 200:
        try:
            index: dict[str, Any] = r.json()
        except ValueError:
            return None
        return index if isinstance(index, dict) and "refs" in index else None
    if r.status_code == 409:
        return None
    detail = _detail(r)
    if r.status_code == 404 and "not an NWB file" in detail:
        raise NotNWBError(detail)
    if r.status_code == 404 and "no streaming index" in detail:
        return None  # the index could not be built: the ranged reader may still read it
    raise _error(r)


#: Byte ranges of the chunk tables asked in one request at most (the route's limit).
TABLE_RANGES = 100


def table_fetcher(http: httpx.Client, api_url: str, asset_id: str) -> FetchTable:
    """Reads byte ranges of the asset's chunk tables (the table blocks a read needs):
    neighbouring ranges merged, up to TABLE_RANGES of them in each request."""
    url = f"{api_url}/assets/{asset_id}/chunk-tables"

    def get(spans: list[tuple[int, int]]) -> bytes:
        params = {"offset": [o for o, _ in spans], "length": [n for _, n in spans]}
        try:
            r = http.get(url, params=params)
        except httpx.TransportError as exc:
            raise NetworkError(describe_transport_error(exc, url)) from exc
        if r.status_code != 200:
            raise _error(r)
        return r.content

    def fetch(ranges: list[tuple[int, int]]) -> list[bytes]:
        spans: list[tuple[int, int]] = []  # merged, in order of offset
        for offset, length in sorted(set(ranges)):
            if spans and spans[-1][0] + spans[-1][1] >= offset:
                start = spans[-1][0]
                spans[-1] = (start, max(spans[-1][1], offset + length - start))
            else:
                spans.append((offset, length))
        steps = range(0, len(spans), TABLE_RANGES)
        body = b"".join(get(spans[i : i + TABLE_RANGES]) for i in steps)
        if len(body) != sum(n for _, n in spans):
            raise NetworkError(f"{url} answered {len(body)} bytes, not the ranges asked for")
        starts = [o for o, _ in spans]
        at = [0]  # where each merged span begins in the answers
        for _, n in spans:
            at.append(at[-1] + n)
        out = []
        for offset, length in ranges:
            i = bisect.bisect_right(starts, offset) - 1
            begin = at[i] + offset - starts[i]
            out.append(body[begin : begin + length])
        return out

    return fetch


def keyless_url(http: httpx.Client, api_url: str, asset_id: str) -> str:
    """A download URL readers can use without headers (signed for private data)."""
    r = _get(http, f"{api_url}/assets/{asset_id}/download-url/")
    if r.status_code != 200:
        raise _error(r)
    url: str = r.json()["url"]
    return url


def open_asset(asset: Any) -> NWBFile:
    """`RemoteAsset.open()`: the asset's NWBFile, read lazily over HTTP."""
    client = asset.client
    if getattr(asset, "zarr", None):  # NWB stored as Zarr (client/nwb_zarr.py)
        from neurodatashare.client.nwb_zarr import open_zarr_asset

        return open_zarr_asset(asset)
    index = fetch_index(client.http, client.api_url, asset.id)
    if index is not None:
        try:
            fetch = table_fetcher(client.http, client.api_url, asset.id)
            return read_nwb(open_hdf5(index=index, url="", fetch_table=fetch))
        # lindi, zarr and hdmf raise many kinds of errors on what they cannot read; the
        # ranged reader below reads the HDF5 file itself, so any failure here falls back
        except Exception:
            log.info("the index of %s cannot be read; using Range requests", asset.path)
    url = keyless_url(client.http, client.api_url, asset.id)
    try:
        return read_nwb(open_hdf5(index=None, url=url))
    except ClientError:
        raise
    # h5py, remfile and hdmf raise OSError, KeyError, ValueError, TypeError and plain
    # Exception for bytes that are not (readable) NWB: all mean the same to the caller
    except Exception as exc:
        raise NotNWBError(f"{asset.path} could not be read as NWB: {exc}") from exc


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", ""))
    except (ValueError, AttributeError):
        return r.text
