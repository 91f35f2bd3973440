"""The explorer's data endpoints over HTTP: access, binary payloads, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodatashare.testing.factories import Caller, poll
from neurodatashare.testing.live import Live


def setup(live: Live, demo_file: Path, *, access: str | None = None) -> tuple[Caller, str]:
    alice = live.user("alice")
    ds = alice.create_dataset("explore", access=access)
    asset = alice.add_file(ds, "sub-1/demo.nwb", demo_file.read_bytes())
    return alice, asset["asset_id"]


def decode(r: Any) -> tuple[dict[str, Any], np.ndarray]:
    meta = json.loads(r.headers["X-NDS-Meta"])
    body = r.content
    if meta.get("times"):
        body = body[meta["shape"][0] * 8 :]
    return meta, np.frombuffer(body, dtype="<f4").reshape(meta["shape"])


def test_tree_lists_series_tables_and_views(live: Live, demo_file: Path) -> None:
    alice, aid = setup(live, demo_file)
    nodes = alice.get(f"/api/assets/{aid}/explore/tree").json()["nodes"]
    views = {n["path"]: set(n["views"]) for n in nodes}
    assert "traces" in views["/acquisition/ElectricalSeries"]
    assert "units" in views["/units"] and "table" in views["/intervals/trials"]
    assert any("imaging" in v for v in views.values())
    assert any("segmentation" in v for v in views.values())
    assert any("behavior" in v for v in views.values())


def test_windows_are_raw_when_zoomed_in_and_minmax_when_out(live: Live, demo_file: Path) -> None:
    alice, aid = setup(live, demo_file)
    poll(
        lambda: (
            alice.get(
                f"/api/assets/{aid}/explore/series",
                params={"path": "/acquisition/ElectricalSeries"},
            )
            .json()
            .get("overview_status")
            == "ready"
        ),
        what="overview",
        timeout=120,
    )
    base = f"/api/assets/{aid}/explore/window"
    path = "/acquisition/ElectricalSeries"
    zoomed = alice.get(
        base, params={"path": path, "start": 1.0, "end": 1.01, "width": 1000, "channels": "0-3"}
    )
    assert zoomed.status_code == 200, zoomed.text
    meta, data = decode(zoomed)
    assert meta["kind"] == "raw" and data.shape == (300, 4)
    with h5py.File(demo_file, "r") as f:
        ds = f[path + "/data"]
        conversion = ds.attrs.get("conversion", 1.0)
        expected = ds[30_000:30_300, 0:4] * conversion
    assert np.allclose(data, expected, rtol=1e-5, atol=1e-9)
    wide = alice.get(
        base, params={"path": path, "start": 0, "end": 6, "width": 500, "channels": "0-63"}
    )
    meta, data = decode(wide)
    assert meta["kind"] == "minmax" and data.shape[1:] == (64, 2)
    assert data.shape[0] <= 4 * 500 and (data[..., 0] <= data[..., 1]).all()


def test_tables_spikes_psth_and_images(live: Live, demo_file: Path) -> None:
    alice, aid = setup(live, demo_file)
    ex = f"/api/assets/{aid}/explore"
    trials = alice.get(f"{ex}/table", params={"path": "/intervals/trials", "limit": 5}).json()
    assert trials["total"] > 0 and len(trials["rows"]) == min(5, trials["total"])
    names = [c["name"] for c in trials["columns"]]
    assert "start_time" in names
    spikes = alice.get(f"{ex}/spikes", params={"start": 0, "end": 6, "units": "0-2"})
    assert spikes.status_code == 200, spikes.text
    group = next(n for n in names if n not in ("start_time", "stop_time", "id"))
    psth = alice.get(f"{ex}/psth", params={"group_by": group, "units": "0-1"})
    assert psth.status_code == 200, psth.text
    nodes = alice.get(f"{ex}/tree").json()["nodes"]
    movie = next(n["path"] for n in nodes if "imaging" in n["views"])
    frame = alice.get(f"{ex}/frame", params={"path": movie, "index": 3})
    meta, img = decode(frame)
    assert meta["kind"] == "image" and img.ndim == 2 and img.std() > 0
    proj = alice.get(f"{ex}/projection", params={"path": movie, "kind": "max"})
    assert proj.status_code == 200
    seg = next(n["path"] for n in nodes if "segmentation" in n["views"])
    rois = alice.get(f"{ex}/rois", params={"path": seg}).json()
    assert len(rois["rois"]) > 0


def test_errors_are_clear_4xx(live: Live, demo_file: Path) -> None:
    alice, aid = setup(live, demo_file)
    ex = f"/api/assets/{aid}/explore"
    path = "/acquisition/ElectricalSeries"
    cases = [
        alice.get(f"{ex}/window", params={"path": "/nope", "start": 0, "end": 1}),
        alice.get(f"{ex}/window", params={"path": path, "start": 500, "end": 600}),
        alice.get(f"{ex}/window", params={"path": path, "start": 2, "end": 1}),
        alice.get(f"{ex}/window", params={"path": path, "start": 0, "end": 1, "channels": "9999"}),
        alice.get(f"{ex}/window", params={"path": path, "start": 0, "end": 1, "width": 1}),
        alice.get(f"{ex}/window", params={"path": path, "start": 0, "end": 1, "channels": "a-b"}),
        alice.get(f"{ex}/table", params={"path": path}),
        alice.get(f"{ex}/frame", params={"path": path, "index": 0}),
        alice.get(f"{ex}/projection", params={"path": path, "kind": "median"}),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
        assert r.json()["detail"], r.request.url


def test_explorer_respects_access(live: Live, demo_file: Path) -> None:
    _alice, aid = setup(live, demo_file, access="private")
    bob = live.user("bob")
    assert bob.get(f"/api/assets/{aid}/explore/tree").status_code == 404
    assert live.anonymous().get(f"/api/assets/{aid}/explore/tree").status_code == 401


def test_non_nwb_and_broken_files(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("x")
    txt = alice.add_file(ds, "notes.txt", b"hello")
    r = alice.get(f"/api/assets/{txt['asset_id']}/explore/tree")
    assert r.status_code == 400 and "not an NWB file" in r.json()["detail"]
    bad = alice.add_file(ds, "broken.nwb", b"not hdf5 at all")
    r = alice.get(f"/api/assets/{bad['asset_id']}/explore/tree")
    assert r.status_code == 422 and "cannot be read" in r.json()["detail"]
