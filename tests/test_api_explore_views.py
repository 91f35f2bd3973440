"""Views chosen by neurodata type, over HTTP: snippets, bands, pictures, events, overview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neurodatashare.testing import views_corpus as vc
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


@pytest.fixture(scope="module")
def views_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vc.write_views_file(tmp_path_factory.mktemp("views") / "sub-v_ses-1.nwb")


def setup(live: Live, views_file: Path) -> tuple[Caller, str]:
    alice = live.user("alice")
    ds = alice.create_dataset("views")
    asset = alice.add_file(ds, "sub-v/sub-v_ses-1.nwb", views_file.read_bytes())
    return alice, asset["asset_id"]


def decode(r: Any) -> tuple[dict[str, Any], np.ndarray]:
    meta = json.loads(r.headers["X-NDS-Meta"])
    return meta, np.frombuffer(r.content, dtype="<f4").reshape(meta["shape"])


def test_views_are_chosen_by_type_not_shape(live: Live, views_file: Path) -> None:
    alice, aid = setup(live, views_file)
    nodes = alice.get(f"/api/assets/{aid}/explore/tree").json()["nodes"]
    views = {n["path"]: n["views"] for n in nodes}
    assert views[vc.SPIKE_EVENTS][0] == "snippets"  # 3-D, but not a movie
    assert views[vc.DECOMPOSITION] == ["bands"]
    assert views[vc.COLOUR_VIDEO] == ["picture"]  # 4-D, but colour, not a volume
    assert views[vc.IMAGES] == ["picture"]
    for path in (vc.GRAY_IMAGE, vc.RGB_IMAGE, vc.RGBA_IMAGE):
        assert views[path] == ["picture"]
    assert views[vc.INTERVALS][0] == "events"
    assert views[vc.EVENT_TABLE] == ["events", "table"]
    # the type fixes the unit when the file leaves it out
    units = {n["path"]: n["unit"] for n in nodes}
    assert units[vc.SPIKE_EVENTS] == "volts"


def test_snippets_are_bounded_and_their_mean_is_the_data_mean(live: Live, views_file: Path) -> None:
    alice, aid = setup(live, views_file)
    url = f"/api/assets/{aid}/explore/snippets"
    r = alice.get(url, params={"path": vc.SPIKE_EVENTS, "limit": 50})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_events"] == vc.N_SNIPPETS and body["in_window"] == vc.N_SNIPPETS
    assert body["n_channels"] == vc.SNIPPET_CHANNELS
    assert len(body["snippets"]) == vc.SNIPPET_CHANNELS
    assert all(len(ch) == 50 for ch in body["snippets"])
    assert all(len(s) == vc.SNIPPET_SAMPLES for s in body["snippets"][0])
    with h5py.File(views_file) as f:
        data = f[vc.SPIKE_EVENTS]["data"][()]
    assert np.allclose(body["mean"], data.mean(axis=0), atol=1e-9)
    # a window holds only its events
    window = alice.get(url, params={"path": vc.SPIKE_EVENTS, "start": 100, "end": 110}).json()
    assert 0 < window["in_window"] < vc.N_SNIPPETS
    assert all(100 <= t <= 110 for t in window["times"])
    for params, status in (
        ({"path": vc.SPIKE_EVENTS, "limit": 0}, 400),
        ({"path": vc.SPIKE_EVENTS, "start": 5, "end": 1}, 400),
        ({"path": vc.DECOMPOSITION}, 400),
        ({"path": "/nope"}, 404),
    ):
        r = alice.get(url, params=params)
        assert r.status_code == status, (params, r.text)
        assert r.json()["detail"]


def test_bands_heatmap_columns_are_block_means(live: Live, views_file: Path) -> None:
    alice, aid = setup(live, views_file)
    url = f"/api/assets/{aid}/explore/bands"
    r = alice.get(url, params={"path": vc.DECOMPOSITION, "width": 100, "channel": 1})
    assert r.status_code == 200, r.text
    meta, data = decode(r)
    assert meta["bands"] == [b[0] for b in vc.BANDS]
    assert meta["t_start"] == vc.T_START and data.shape == (100, len(vc.BANDS))
    with h5py.File(views_file) as f:
        raw = f[vc.DECOMPOSITION]["data"][:, 1, :]
    per = meta["samples_per_column"]
    assert np.allclose(data[0], raw[:per].mean(axis=0), rtol=1e-5)
    for params in (
        {"path": vc.DECOMPOSITION, "channel": 9},
        {"path": vc.DECOMPOSITION, "width": 3},
        {"path": vc.DECOMPOSITION, "start": 0, "end": 10},
        {"path": vc.SPIKE_EVENTS},
    ):
        r = alice.get(url, params=params)
        assert r.status_code == 400, (params, r.text)


def test_pictures_keep_their_colours(live: Live, views_file: Path) -> None:
    alice, aid = setup(live, views_file)
    url = f"/api/assets/{aid}/explore/picture"
    with h5py.File(views_file) as f:
        stored = {p: f[p][()] for p in (vc.GRAY_IMAGE, vc.RGB_IMAGE, vc.RGBA_IMAGE)}
        frame = f[vc.COLOUR_VIDEO]["data"][4]
    for path, mode in ((vc.GRAY_IMAGE, "gray"), (vc.RGB_IMAGE, "rgb"), (vc.RGBA_IMAGE, "rgba")):
        meta, data = decode(alice.get(url, params={"path": path}))
        assert meta["mode"] == mode and meta["full_scale"] == 255
        want = stored[path] if stored[path].ndim == 3 else stored[path][..., None]
        assert np.array_equal(data, want.transpose(1, 0, 2))  # rows are y
    meta, data = decode(alice.get(url, params={"path": vc.COLOUR_VIDEO, "index": 4}))
    assert meta["mode"] == "rgb" and meta["n_frames"] == 30
    assert np.array_equal(data, frame.transpose(1, 0, 2))
    assert meta["time"] == pytest.approx(vc.T_START + 0.4)
    for params in (
        {"path": vc.COLOUR_VIDEO},
        {"path": vc.COLOUR_VIDEO, "index": 30},
        {"path": vc.COLOUR_VIDEO, "index": "x"},
        {"path": vc.SPIKE_EVENTS, "index": 0},
        {"path": vc.IMAGES},
    ):
        r = alice.get(url, params=params)
        assert r.status_code == 400, (params, r.text)


def test_events_of_interval_series_and_event_tables(live: Live, views_file: Path) -> None:
    alice, aid = setup(live, views_file)
    url = f"/api/assets/{aid}/explore/events"
    body = alice.get(url, params={"path": vc.INTERVALS, "start": 104, "end": 116}).json()
    assert body["kind"] == "intervals"
    assert body["intervals"] == [[105.0, 107.0], [110.0, 112.0], [115.0, 117.0]]
    table = alice.get(url, params={"path": vc.EVENT_TABLE}).json()
    with h5py.File(views_file) as f:
        stamps = f[vc.EVENT_TABLE]["timestamp"][()]
    assert table["kind"] == "times" and table["total"] == len(stamps)
    assert np.allclose(table["times"], stamps)
    assert table["t_start"] == pytest.approx(stamps[0])
    snips = alice.get(url, params={"path": vc.SPIKE_EVENTS, "start": 100, "end": 101}).json()
    assert all(100 <= t <= 101 for t in snips["times"])
    for params, status in (
        ({"path": vc.GRAY_IMAGE}, 400),
        ({"path": vc.DECOMPOSITION + "/bands"}, 400),
        ({"path": vc.INTERVALS, "start": 3, "end": 2}, 400),
        ({"path": "/x/y"}, 404),
    ):
        r = alice.get(url, params=params)
        assert r.status_code == status, (params, r.text)


def test_overview_names_session_subject_devices_and_span(live: Live, views_file: Path) -> None:
    alice, aid = setup(live, views_file)
    body = alice.get(f"/api/assets/{aid}/explore/overview").json()
    assert body["session"]["session_description"].startswith("Views corpus")
    assert body["session"]["experimenter"] == ["Doe, Jane"]
    assert body["session"]["lab"] == "Example Lab" and "views" in body["session"]["keywords"]
    assert body["subject"]["species"] == "Mus musculus" and body["subject"]["sex"] == "F"
    assert body["subject"]["strain"] == "C57BL/6J" and body["subject"]["age"] == "P90D"
    assert {d["name"] for d in body["devices"]} == {"probe", "camera"}
    groups = {g["name"]: g for g in body["electrodes"]["groups"]}
    assert body["electrodes"]["count"] == 8 and groups["shank1"]["electrodes"] == 4
    assert groups["shank0"]["device"] == "probe"
    assert body["electrodes"]["locations"] == {"CA1": 4, "DG": 4}
    assert body["span"] == [vc.T_START, vc.T_START + 60]
    assert body["main"] == vc.COLOUR_VIDEO
    anonymous = Caller(live.url)
    try:
        assert anonymous.get(f"/api/assets/{aid}/explore/overview").status_code == 200
    finally:
        anonymous.close()


def test_tree_and_overview_together_in_a_fresh_process(views_file: Path) -> None:
    """The page loads both at once; on a fresh server that once deadlocked (pynwb was
    first imported inside h5py's visit callback, under h5py's lock)."""
    import subprocess
    import sys

    script = f"""
import threading, h5py
from neurodatashare.nwb.explore import describe_tree
from neurodatashare.nwb.explore import file_overview
out = {{}}
def run(name, fn):
    with h5py.File({str(views_file)!r}) as h5:
        out[name] = fn(h5)
threads = [threading.Thread(target=run, args=a) for a in (("tree", describe_tree),
                                                          ("overview", file_overview))]
for t in threads: t.start()
for t in threads: t.join()
print(len(out["tree"]) > 10 and out["overview"]["main"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == vc.COLOUR_VIDEO
