"""Streaming at any layout: pynwb's contiguous default, tiny chunks (a chunk table),
NeuroConv's default chunking and the archive's own layout, each uploaded, indexed and
read through `asset.open()`, lindi, remfile and h5py with the same values, at a cost in
requests and bytes bounded by what the slice needs."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import h5py
import httpx
import numpy as np
import pytest

from neurodatashare.client.streaming import open_asset
from neurodatashare.nwb.chunk_tables import INLINE_CHUNKS, PSEUDO_CHUNK_BYTES, TABLES_KEY
from neurodatashare.testing.layouts import (
    RATE,
    SERIES,
    TINY_ROWS,
    chunk_count,
    holding_bytes,
    write_layout,
)
from neurodatashare.testing.live import Live

pytestmark = pytest.mark.usefixtures("hdf5_over_http")
CHANNELS = 8
# tiny: more than 100,000 chunks in one dataset
ROWS = {"contiguous": 6 * 30_000, "tiny": 110_000 * TINY_ROWS, "neuroconv": 6 * 30_000}
ROWS["archive"] = 6 * 30_000


@pytest.fixture(scope="module", params=sorted(ROWS))
def layout(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    name = request.param
    path = tmp_path_factory.mktemp(name) / f"{name}.nwb"
    write_layout(path, name, rows=ROWS[name], channels=CHANNELS)
    return SimpleNamespace(name=name, path=path, rows=ROWS[name])


def wait_for_index(caller: Any, asset_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (r := caller.get(f"/api/assets/{asset_id}/lindi.json")).status_code != 200:
        assert r.status_code == 409 and time.monotonic() < deadline, r.text
        time.sleep(0.1)
    index: dict[str, Any] = r.json()
    return index


def _upload(live: Live, layout: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    alice = live.user("alice")
    ds = alice.create_dataset(f"layout-{layout.name}")
    asset = alice.add_file(ds, f"{layout.name}.nwb", layout.path.read_bytes())
    return alice, asset, wait_for_index(alice, asset["asset_id"])


def _slices(rows: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    at = int(rows * 0.4)
    one = (slice(at, at + int(RATE)), slice(3, 4))  # 1 s of one channel
    every = (slice(rows - 15000, rows), slice(0, CHANNELS))  # the last 0.5 s, every channel
    return one, every


def test_index_and_every_reader(live: Live, layout: Any) -> None:
    """The index is O(objects) and every reader gets the same values."""
    import lindi
    import remfile

    alice, asset, index = _upload(live, layout)
    one, every = _slices(layout.rows)
    refs = [
        k for k, v in index["refs"].items() if k.startswith(SERIES + "/") and isinstance(v, list)
    ]
    tables = index.get(TABLES_KEY, {})
    if layout.name == "tiny":
        assert chunk_count(layout.path) > 100_000
        assert refs == [] and SERIES in tables and tables[SERIES]["count"] > 100_000
        assert len(json.dumps(index)) < 1_000_000
        link = json.loads(json.dumps(index["refs"][SERIES + "/.zattrs"]))["_EXTERNAL_ARRAY_LINK"]
        assert link["url"] == index["templates"]["u"]  # serving names the real file
        blocks = tables[SERIES]
        assert len(blocks["first"]) == len(blocks["offset"]) == len(blocks["length"]) > 100
        end = blocks["offset"][-1] + blocks["length"][-1]
        tables_url = f"/api/assets/{asset['asset_id']}/chunk-tables"
        past = alice.get(tables_url, params={"offset": end, "length": 1})
        assert past.status_code == 400 and "past their end" in past.json()["detail"]
        # several blocks in one request: their bytes one after another, in order asked
        pick = [3, 0, 7]
        params = [("offset", blocks["offset"][b]) for b in pick]
        params += [("length", blocks["length"][b]) for b in pick]
        got = alice.get(tables_url, params=params)
        assert got.status_code == 200
        assert len(got.content) == sum(blocks["length"][b] for b in pick)
        odd = alice.get(tables_url, params=[*params, ("length", 1)])
        assert odd.status_code == 400 and "one length per offset" in odd.json()["detail"]
    else:  # inline refs for plain lindi and fsspec readers
        assert 0 < len(refs) <= INLINE_CHUNKS
        none = alice.get(
            f"/api/assets/{asset['asset_id']}/chunk-tables", params={"offset": 0, "length": 1}
        )
        assert none.status_code == 404 and "no chunk tables" in none.json()["detail"]
    if layout.name == "contiguous":  # pseudo-chunks of whole rows, about 1 MiB
        with h5py.File(layout.path, "r") as f:
            ds = f[SERIES]
            assert tables[SERIES] == {"contiguous": [ds.id.get_offset(), ds.nbytes]}
        zarray = index["refs"][SERIES + "/.zarray"]
        zarray = json.loads(zarray) if isinstance(zarray, str) else zarray
        assert zarray["chunks"][1] == CHANNELS
        assert PSEUDO_CHUNK_BYTES // 2 < zarray["chunks"][0] * CHANNELS * 2 <= PSEUDO_CHUNK_BYTES
    with h5py.File(layout.path, "r") as f:
        want = [f[SERIES][one], f[SERIES][every]]
    remote = SimpleNamespace(
        client=SimpleNamespace(http=alice.http, api_url=f"{live.url}/api"),
        id=asset["asset_id"],
        path=asset["path"],
    )
    data = open_asset(remote).acquisition["recording"].data
    assert [np.array_equal(data[s], w) for s, w in zip((one, every), want, strict=True)] == [
        True,
        True,
    ]
    url = f"{live.url}/api/assets/{asset['asset_id']}/download/"
    with h5py.File(remfile.File(url), "r") as f:
        assert np.array_equal(f[SERIES][one], want[0])
    # a plain lindi reader: inline refs, or (chunk table) lindi's external array link
    plain = lindi.LindiH5pyFile.from_reference_file_system(index)
    assert np.array_equal(plain[SERIES][every], want[1])
    if layout.name != "tiny":  # fsspec + zarr on the inline refs (docs/performance.md)
        import fsspec
        import zarr

        fs = fsspec.filesystem("reference", fo=index, remote_protocol="http")
        assert np.array_equal(zarr.open(fs.get_mapper(""), mode="r")[SERIES][one], want[0])


def test_a_first_slice_costs_two_requests_and_little_more_than_it_needs(
    live: Live, layout: Any
) -> None:
    from neurodatashare.archive import Archive
    from neurodatashare.testing.live import free_port, serve_in_thread
    from neurodatashare.testing.proxy import CountingProxy

    alice, asset, index = _upload(live, layout)
    one, every = _slices(layout.rows)
    port = free_port()
    table_bytes: list[int] = []  # of the chunk-tables answers (the proxy counts them too)

    def seen(r: httpx.Response) -> None:
        if r.url.path.endswith("/chunk-tables"):
            table_bytes.append(int(r.headers["content-length"]))

    with CountingProxy(port) as proxy:
        settings = live.archive.settings.model_copy(update={"public_url": proxy.url})
        behind = Archive(settings=settings, db=live.archive.db, store=live.archive.store)
        with (
            serve_in_thread(behind, port),
            httpx.Client(
                headers={"Authorization": f"token {alice.key}"},
                event_hooks={"response": [seen]},
            ) as http,
        ):
            client = SimpleNamespace(http=http, api_url=f"{proxy.url}/api")
            remote = SimpleNamespace(client=client, id=asset["asset_id"], path="x.nwb")
            proxy.reset()
            data = open_asset(remote).acquisition["recording"].data
            assert proxy.requests == 1  # the index
            for selection in (one, every):
                proxy.reset()
                table_bytes.clear()
                got = data[selection]
                # the table blocks (when there is a table) and one request for the data
                assert proxy.requests <= 2, (selection, proxy.requests)
                need = holding_bytes(layout.path, *selection)
                # every byte fetched, the table blocks' included, within 1.5x of the
                # chunks holding the slice (plus HTTP headers)
                assert proxy.bytes_down <= 1.5 * need + 2000 * proxy.requests, (
                    selection,
                    proxy.bytes_down,
                    table_bytes,
                    need,
                )
                if layout.name == "tiny":  # only the blocks of the slice's chunks
                    whole = sum(index[TABLES_KEY][SERIES]["length"])
                    assert len(table_bytes) == 1 and 0 < table_bytes[0] < whole / 10
                with h5py.File(layout.path, "r") as f:
                    assert np.array_equal(got, f[SERIES][selection])


def test_ranges_of_one_read_go_in_one_request_or_one_each_where_the_server_refuses() -> None:
    """multipart/byteranges where answered; a server answering 200 (S3 does) is asked
    one range per request from then on, and its whole-object answer is never read."""
    from neurodatashare.client.chunk_store import Fetcher

    blob = bytes(range(256)) * 40
    seen: list[str] = []

    def answer(multi: bool) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            spec = request.headers["Range"].removeprefix("bytes=")
            seen.append(spec)
            ranges = [tuple(int(x) for x in part.split("-")) for part in spec.split(",")]
            if len(ranges) == 1:
                a, b = ranges[0]
                return httpx.Response(206, content=blob[a : b + 1])
            if not multi:
                return httpx.Response(200, content=blob)
            body = b""
            for a, b in ranges:
                body += (
                    (
                        f"--XB\r\nContent-Type: application/octet-stream\r\n"
                        f"Content-Range: bytes {a}-{b}/{len(blob)}\r\n\r\n"
                    ).encode()
                    + blob[a : b + 1]
                    + b"\r\n"
                )
            body += b"--XB--"
            return httpx.Response(
                206, content=body, headers={"content-type": "multipart/byteranges; boundary=XB"}
            )

        return handler

    groups = [
        ("http://s/f", 10, 20, [("a/0", 10, 10)]),
        ("http://s/f", 3000, 3100, [("a/1", 3000, 50), ("a/2", 3050, 50)]),
    ]
    want = {"a/0": blob[10:20], "a/1": blob[3000:3050], "a/2": blob[3050:3100]}
    for multi, requests in (
        (True, ["10-19,3000-3099"]),
        (False, ["10-19,3000-3099", "10-19", "3000-3099"]),
    ):
        fetcher = Fetcher()
        fetcher.http = httpx.Client(transport=httpx.MockTransport(answer(multi)))
        seen.clear()
        assert fetcher.batch(groups) == want
        assert seen == requests
        if not multi:  # remembered: the next read asks range by range at once
            seen.clear()
            assert fetcher.batch(groups) == want and seen == ["10-19", "3000-3099"]
