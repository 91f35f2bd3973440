"""`asset.open()` of an NWB-Zarr asset: hdmf-zarr over the Zarr API, with the caller's key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neurodatashare.testing import nwbfiles
from neurodatashare.testing.live import Live


def _write(path: Path) -> tuple[Path, Any]:
    from hdmf_zarr.nwb import NWBZarrIO

    nwb = nwbfiles.make_nwbfile(identifier="nds-zarr-open")
    nwbfiles.add_ecephys(nwb, n_channels=4, duration_s=0.5, rate=2000.0, compression=None)
    nwbfiles.add_units(nwb, n_units=3, duration_s=0.5)
    with NWBZarrIO(str(path), mode="w") as io:
        io.write(nwb)
    with NWBZarrIO(str(path), mode="r") as io:
        local = io.read()
        data = np.asarray(local.acquisition["ElectricalSeries"].data[:])
        spikes = [np.asarray(local.units["spike_times"][i]) for i in range(len(local.units))]
    return path, (data, spikes)


@pytest.mark.local_store(
    "counts requests to the API; with S3 each chunk read is one more (the redirect)"
)
def test_open_an_nwb_zarr_asset(live: Live, tmp_path: Path) -> None:
    from neurodatashare import Client
    from neurodatashare.client.errors import ClientError, NotNWBError

    root, (data, spikes) = _write(tmp_path / "e.nwb.zarr")
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    alice = live.user("alice")
    ds = alice.create_dataset("zopen", access="private")
    alice.add_zarr(ds, "sub-mouse001/e.nwb.zarr", files)
    alice.add_zarr(ds, "plain.zarr", {".zgroup": b'{"zarr_format": 2}'})
    client = Client(live.url, token=alice.key)
    remote = client.dataset(ds).draft.asset("sub-mouse001/e.nwb.zarr")
    sent: list[str] = []
    client.http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    nwb = remote.open()
    opening, opened_paths = len(sent), list(sent)
    series = nwb.acquisition["ElectricalSeries"]
    sent.clear()
    assert np.array_equal(series.data[:], data)
    print(f"open: {opening} requests for {len(files)} files; the series: {len(sent)}")
    # opening reads the listing and the consolidated metadata, not every entry (each entry
    # read is two requests: the files/ redirect and the signed entry URL)
    assert opening < len(files) / 2, (opening, len(files), opened_paths)
    assert len(sent) <= 2  # the series' one chunk
    assert np.array_equal(series.data[10:20, 2], data[10:20, 2])
    assert len(nwb.units) == 3 and np.allclose(nwb.units["spike_times"][1], spikes[1])
    # object references (pickled by hdmf-zarr) resolve: electrodes point at their groups
    assert nwb.electrodes["group"][0].name in nwb.electrode_groups
    assert nwb.subject.subject_id == "mouse001"
    with pytest.raises(NotNWBError, match="not an NWB"):
        client.dataset(ds).draft.asset("plain.zarr").open()
    # another user cannot read alice's private Zarr
    bob = Client(live.url, token=live.user("bob").key)
    with pytest.raises(ClientError):
        bob.dataset(ds).draft.asset("sub-mouse001/e.nwb.zarr").open()
    from neurodatashare.client.nwb_zarr import RemoteZarrEntries

    assert remote.zarr is not None
    with pytest.raises(ClientError):  # nor its files through the Zarr API
        RemoteZarrEntries(bob, remote.zarr)
