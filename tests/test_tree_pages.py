"""The explorer's file tree in pages: breadth-first, lazy children, cached per blob."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import pytest

from neurodatashare.errors import BadRequest, NotFound
from neurodatashare.nwb.explore import describe_tree, tree_page
from neurodatashare.testing.bigtree import write_many_objects
from neurodatashare.testing.live import Live


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_many_objects(tmp_path_factory.mktemp("tree") / "big.nwb", n_series=400)


def _all_pages(h5: h5py.File, **kw: object) -> list[dict[str, object]]:
    nodes: list[dict[str, object]] = []
    offset: int | None = 0
    while offset is not None:
        page = tree_page(h5, offset=offset, limit=150, **kw)  # type: ignore[arg-type]
        nodes.extend(page["nodes"])
        offset = page["next_offset"]
    return nodes


def test_pages_together_are_the_whole_tree(big: Path) -> None:
    with h5py.File(big, "r") as h5:
        whole = describe_tree(h5)
        paged = _all_pages(h5)
        first = tree_page(h5, limit=150)
    assert len(whole) == 1 + 2 + 400 * 3
    depths = [str(n["path"]).count("/") for n in paged[1:]]
    assert depths == sorted(depths)  # breadth-first: each level before the next
    assert sorted(n["path"] for n in paged) == sorted(n["path"] for n in whole)  # type: ignore[type-var]
    assert len(paged) == len({n["path"] for n in paged})  # no object twice
    by_path = {n["path"]: n for n in whole}
    for n in paged:
        base = dict(by_path[n["path"]])
        assert {k: v for k, v in n.items() if k != "child_count"} == base
    # the first page holds the top levels: the root, its groups, then their children
    paths = [n["path"] for n in first["nodes"]]
    assert paths[:3] == ["/", "/acquisition", "/processing"]
    assert len(first["nodes"]) == 151 and first["next_offset"] == 150
    acq = first["nodes"][1]
    assert acq["child_count"] == 400 and acq["links"] == {"alias": "/acquisition/series_00000"}


def test_depth_and_group_listing(big: Path) -> None:
    with h5py.File(big, "r") as h5:
        top = tree_page(h5, depth=1)
        assert [n["path"] for n in top["nodes"]] == ["/", "/acquisition", "/processing"]
        assert top["next_offset"] is None
        kids = tree_page(h5, path="/acquisition/series_00007", depth=1)
        assert [n["path"] for n in kids["nodes"]] == [
            "/acquisition/series_00007",
            "/acquisition/series_00007/data",
            "/acquisition/series_00007/timestamps",
        ]
        assert kids["nodes"][1]["unit"] == "volts"
        with pytest.raises(NotFound):
            tree_page(h5, path="/nope")
        with pytest.raises(BadRequest, match="not a group"):
            tree_page(h5, path="/acquisition/series_00001/data")
        with pytest.raises(BadRequest, match="limit"):
            tree_page(h5, limit=0)


def test_hard_link_cycles_end(tmp_path: Path) -> None:
    path = tmp_path / "cycle.nwb"
    with h5py.File(path, "w") as f:
        a = f.create_group("a")
        a.create_dataset("x", data=[1])
        a["back"] = f["/"]  # a hard link to the root: a cycle
    with h5py.File(path, "r") as h5:
        nodes = _all_pages(h5)
    assert [n["path"] for n in nodes] == ["/", "/a", "/a/back", "/a/x"]


def test_tree_route_pages_caches_and_still_checks_access(live: Live, tmp_path: Path) -> None:
    big = write_many_objects(tmp_path / "big.nwb", n_series=2000)
    alice = live.user("alice")
    ds = alice.create_dataset("big", access="private")
    asset = alice.add_file(ds, "big.nwb", big.read_bytes())
    url = f"/api/assets/{asset['asset_id']}/explore/tree"
    start = time.perf_counter()
    first = alice.get(url)
    cold = time.perf_counter() - start
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["asset_id"] == asset["asset_id"]
    assert len(page["nodes"]) == 1001 and page["next_offset"] == 1000
    start = time.perf_counter()
    again = alice.get(url)
    warm = time.perf_counter() - start
    assert again.content == first.content
    assert warm < cold
    kids = alice.get(url, params={"path": "/acquisition", "depth": 1, "offset": 1000}).json()
    assert kids["nodes"][0]["path"] == "/acquisition/series_01000"
    assert kids["next_offset"] is None
    # the cache never answers someone who may not see the asset
    assert live.anonymous().get(url).status_code in (401, 404)
    bob = live.user("bob")
    assert bob.get(url).status_code == 404
    # same bytes in an open dataset: its own asset id in the shared page
    open_ds = alice.create_dataset("copy")
    copy = alice.add_file(open_ds, "copy.nwb", big.read_bytes())
    shared = bob.get(f"/api/assets/{copy['asset_id']}/explore/tree").json()
    assert shared["asset_id"] == copy["asset_id"] and shared["nodes"] == page["nodes"]
    for bad, name in ((0, "limit"), (5001, "limit")):
        r = alice.get(url, params={"limit": bad})
        assert r.status_code == 400 and name in r.json()["detail"]


def test_tree_builders_are_bounded_and_extra_callers_get_429(
    live: Live, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurodatashare.archive import explore_tree

    alice = live.user("alice")
    ds = alice.create_dataset("busy")
    asset = alice.add_file(ds, "big.nwb", big.read_bytes())
    url = f"/api/assets/{asset['asset_id']}/explore/tree"
    monkeypatch.setattr(explore_tree, "WAIT_SECONDS", 0.2)
    for _ in range(2):  # both builders busy with other files
        assert explore_tree._builders.acquire(timeout=5)
    try:
        r = alice.get(url, params={"limit": 77})
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert "busy" in r.json()["detail"]
    finally:
        for _ in range(2):
            explore_tree._builders.release()
    r = alice.get(url, params={"limit": 77})
    assert r.status_code == 200 and len(r.json()["nodes"]) == 78
