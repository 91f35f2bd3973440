"""Remote reading: the LINDI index, signed URLs, and peers' readers on our URLs."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import httpx
import numpy as np
import pytest

from neurodatashare.client.streaming import NotNWBError, open_asset
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ephys_file

SERIES = "acquisition/ElectricalSeries/data"
# The tests read HDF5 through h5py over HTTP from the in-process server (conftest.py).
pytestmark = pytest.mark.usefixtures("hdf5_over_http")


@pytest.fixture(scope="module")
def ephys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("stream")
    return make_ephys_file(
        d / "ephys.nwb", n_channels=16, duration_s=2.0, n_units=4, compression=None
    )


def wait_for_index(caller: Caller, asset_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = caller.get(f"/api/assets/{asset_id}/lindi.json")
        if r.status_code == 200:
            index: dict[str, Any] = r.json()
            return index
        assert r.status_code == 409, r.text
        assert time.monotonic() < deadline, "index not built in time"
        time.sleep(0.1)


def as_remote(caller: Caller, live: Live, asset: dict[str, Any]) -> SimpleNamespace:
    client = SimpleNamespace(http=caller.http, api_url=f"{live.url}/api", token=caller.key)
    return SimpleNamespace(client=client, id=asset["asset_id"], path=asset["path"])


def local_values(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return np.asarray(f[SERIES][:3000, :])


def test_index_is_served_with_the_download_url(live: Live, ephys: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("stream")
    asset = alice.add_file(ds, "sub-1/ephys.nwb", ephys.read_bytes())
    index = wait_for_index(alice, asset["asset_id"])
    assert index["templates"]["u"] == f"{live.url}/api/assets/{asset['asset_id']}/download/"
    refs = [v for v in index["refs"].values() if isinstance(v, list)]
    assert refs and all(v[0] == "{{u}}" for v in refs)
    # lindi reads the same numbers as h5py on the local file
    import lindi

    remote = lindi.LindiH5pyFile.from_reference_file_system(index)
    got = np.asarray(remote[SERIES][:3000, :])
    assert np.array_equal(got, local_values(ephys))


def test_open_asset_builds_the_pynwb_tree(live: Live, ephys: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("stream")
    asset = alice.add_file(ds, "ephys.nwb", ephys.read_bytes())
    remote = as_remote(alice, live, asset)
    # before the index exists, open() falls back to remfile; after, it uses the index
    nwb = open_asset(remote)
    assert nwb.subject.subject_id == "mouse001"
    wait_for_index(alice, asset["asset_id"])
    nwb = open_asset(remote)
    series = nwb.acquisition["ElectricalSeries"]
    assert series.data.shape[1] == 16
    assert np.array_equal(series.data[:3000, :], local_values(ephys))
    assert len(nwb.units) == 4


def test_private_index_needs_a_key_and_uses_signed_urls(live: Live, ephys: Path) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ds = alice.create_dataset("secret", access="private")
    asset = alice.add_file(ds, "ephys.nwb", ephys.read_bytes())
    index = wait_for_index(alice, asset["asset_id"])
    aid = asset["asset_id"]
    assert live.anonymous().get(f"/api/assets/{aid}/lindi.json").status_code == 401
    assert bob.get(f"/api/assets/{aid}/lindi.json").status_code == 404
    signed = index["templates"]["u"]
    assert "signature=" in signed and "expires=" in signed
    # the signed URL reads bytes without any key, exactly what the index promises
    first = httpx.get(signed, headers={"Range": "bytes=0-7"})
    assert first.status_code == 206 and first.content == b"\x89HDF\r\n\x1a\n"
    tampered = signed.replace("signature=", "signature=0")
    assert httpx.get(tampered).status_code == 403
    other = signed.replace(aid, "00000000-0000-4000-8000-000000000000")
    assert httpx.get(other).status_code == 403
    expired = signed.split("?")[0] + "?expires=1&signature=" + signed.split("signature=")[1]
    assert httpx.get(expired).status_code == 403
    # the remfile fallback gets a signed URL too, and only for people who may see the file
    url = alice.get(f"/api/assets/{aid}/download-url/").json()["url"]
    assert "signature=" in url
    assert bob.get(f"/api/assets/{aid}/download-url/").status_code == 404


def test_non_nwb_assets_have_no_index(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    asset = alice.add_file(ds, "notes.txt", b"hello")
    r = alice.get(f"/api/assets/{asset['asset_id']}/lindi.json")
    assert r.status_code == 404 and "not an NWB file" in r.json()["detail"]
    with pytest.raises(NotNWBError):
        open_asset(as_remote(alice, live, asset))


def test_peers_read_identical_values_from_our_urls(live: Live, ephys: Path) -> None:
    """h5py+remfile, fsspec's HTTP filesystem and lindi all work on the archive's URLs."""
    import fsspec
    import lindi
    import remfile

    alice = live.user("alice")
    ds = alice.create_dataset("peers")
    asset = alice.add_file(ds, "ephys.nwb", ephys.read_bytes())
    index = wait_for_index(alice, asset["asset_id"])
    url = f"{live.url}/api/assets/{asset['asset_id']}/download/"
    expected = local_values(ephys)
    with h5py.File(remfile.File(url), "r") as f:
        assert np.array_equal(f[SERIES][:3000, :], expected)
    with fsspec.open(url, "rb") as raw, h5py.File(raw, "r") as f:
        assert np.array_equal(f[SERIES][:3000, :], expected)
    f = lindi.LindiH5pyFile.from_reference_file_system(index)
    assert np.array_equal(f[SERIES][:3000, :], expected)
    # fsspec's reference filesystem understands the same index (templates included)
    fs = fsspec.filesystem("reference", fo=index, remote_protocol="http")
    assert fs.exists(SERIES + "/.zarray")


def test_opening_through_the_index_takes_at_most_two_requests(live: Live, ephys: Path) -> None:
    """Every byte the reader fetches goes through a counting proxy that the archive names
    as its public URL, so chunk reads would be counted too."""
    from neurodatashare.archive import Archive
    from neurodatashare.testing.live import free_port, serve_in_thread
    from neurodatashare.testing.proxy import CountingProxy

    alice = live.user("alice")
    ds = alice.create_dataset("count")
    asset = alice.add_file(ds, "ephys.nwb", ephys.read_bytes())
    wait_for_index(alice, asset["asset_id"])
    port = free_port()
    with CountingProxy(port) as proxy:
        settings = live.archive.settings.model_copy(update={"public_url": proxy.url})
        behind = Archive(settings=settings, db=live.archive.db, store=live.archive.store)
        with (
            serve_in_thread(behind, port),
            httpx.Client(
                base_url=proxy.url, headers={"Authorization": f"token {alice.key}"}
            ) as http,
        ):
            client = SimpleNamespace(http=http, api_url=f"{proxy.url}/api", token=alice.key)
            remote = SimpleNamespace(client=client, id=asset["asset_id"], path="ephys.nwb")
            proxy.reset()
            nwb = open_asset(remote)
            assert nwb.acquisition["ElectricalSeries"].data.shape[1] == 16
            assert proxy.requests <= 2, proxy.requests
            opened = proxy.requests
            nwb.acquisition["ElectricalSeries"].data[:100, 3]
            assert proxy.requests > opened  # chunk reads do go through the proxy


def test_client_asset_open_as_in_the_docs(live: Live, ephys: Path) -> None:
    """The notebook example of docs/client.md: Client -> dataset -> asset -> open()."""
    from neurodatashare import Client

    alice = live.user("alice")
    ds = alice.create_dataset("notebook", access="private")
    asset = alice.add_file(ds, "sub-1/ephys.nwb", ephys.read_bytes())
    wait_for_index(alice, asset["asset_id"])
    client = Client(live.url, token=alice.key)
    (remote,) = list(client.dataset(ds).assets(glob="*.nwb"))
    nwb = remote.open()
    series = nwb.acquisition["ElectricalSeries"]
    one_channel = series.data[:3000, 0] * series.conversion
    assert np.allclose(one_channel, local_values(ephys)[:, 0] * series.conversion)
    # without the key, the same asset cannot be opened
    anonymous = Client(live.url, token=None)
    with pytest.raises(Exception, match=r"(?i)not found|log in|key|private"):
        list(anonymous.dataset(ds).assets())


def _routed(live: Live, caller: Caller, index_response: httpx.Response) -> httpx.Client:
    """An HTTP client that answers lindi.json itself and sends the rest to the archive."""
    real = caller.http

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/lindi.json"):
            return index_response
        r = real.request(request.method, str(request.url), headers=dict(request.headers))
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "index_response",
    [
        httpx.Response(404, json={"detail": "This file has no streaming index (lindi failed)."}),
        httpx.Response(200, json={"refs": {".zgroup": {"zarr_format": 2}}}),  # covers nothing
        httpx.Response(200, content=b"not json"),
    ],
    ids=["no-index", "index-that-covers-nothing", "unreadable-index"],
)
def test_open_falls_back_to_range_requests(
    live: Live, ephys: Path, index_response: httpx.Response
) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("fallback")
    asset = alice.add_file(ds, "ephys.nwb", ephys.read_bytes())
    with _routed(live, alice, index_response) as http:
        client = SimpleNamespace(http=http, api_url=f"{live.url}/api", token=alice.key)
        nwb = open_asset(SimpleNamespace(client=client, id=asset["asset_id"], path="ephys.nwb"))
        series = nwb.acquisition["ElectricalSeries"]
        assert np.array_equal(series.data[:3000, :], local_values(ephys))


def test_open_raises_only_documented_errors(live: Live) -> None:
    from neurodatashare.client.errors import ClientError, NetworkError, NotFoundError

    alice = live.user("alice")
    ds = alice.create_dataset("errors")
    junk = alice.add_file(ds, "junk.nwb", b"\x89HDF\r\n\x1a\n" + b"\0" * 2000)
    with pytest.raises(NotNWBError, match=r"junk\.nwb"):
        open_asset(as_remote(alice, live, junk))
    missing = dict(junk, asset_id="00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFoundError):
        open_asset(as_remote(alice, live, missing))
    from neurodatashare.testing.live import free_port

    gone = SimpleNamespace(
        client=SimpleNamespace(http=alice.http, api_url=f"http://127.0.0.1:{free_port()}/api"),
        id=junk["asset_id"],
        path="junk.nwb",
    )
    with pytest.raises(NetworkError):
        open_asset(gone)
    assert issubclass(NotNWBError, ClientError)
