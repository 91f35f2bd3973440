"""Search (docs/search.md) through the live server, on both databases, on files the
archive's own format plugins described: the Patch-seq demo and pynwb-written NWB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from neurodatashare.archive.demo import finish_jobs
from neurodatashare.archive.demo_scales import ensure_patchseq_demo
from neurodatashare.archive.search_index import rebuild
from neurodatashare.db.models import SearchAsset, SearchDataset, SearchTerm, SearchValue, User
from neurodatashare.testing.factories import Caller, publishable_metadata
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ephys_file


def _search(caller: Caller, **params: Any) -> dict[str, Any]:
    r = caller.get("/api/search/", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["identifier"] for r in body["results"]]


def _facet(body: dict[str, Any], facet: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in body["facets"][facet]}


def test_the_patchseq_demo_is_found_by_words_facets_and_cells(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    anonymous = live.anonymous()
    with live.archive.db.read() as s:
        user = s.scalars(select(User).where(User.username == "alice")).one()
    ds = ensure_patchseq_demo(live.archive, user=user, root=tmp_path / "ps", finish=finish_jobs)

    # an everyday name finds the Latin one, in the files' metadata
    mice = _search(anonymous, q="mice")
    assert _ids(mice) == [ds] and mice["count"] == 1
    assert mice["results"][0]["assets_matching"] >= 10
    assert _facet(mice, "species") == {"mus musculus": 1}
    assert {"swc", "anndata", "neuroml", "nwb"} <= set(_facet(mice, "format"))
    assert _ids(_search(anonymous, q="Mus musculus")) == [ds]
    assert _search(anonymous, q="zebrafish")["count"] == 0

    # cell types from the h5ad's obs and the SWC headers, checked on each listed file
    pvalb = _search(anonymous, cell_type="PVALB", format="swc")
    (hit,) = pvalb["results"]
    assert hit["assets"] and all(a["path"].endswith(".swc") for a in hit["assets"])
    assert all("cell_type: Pvalb" in a["matched"] for a in hit["assets"])
    assert all(a["url"] == f"/asset/{a['asset_id']}" for a in hit["assets"])

    # one cell with a reconstruction and a transcriptome (and sweeps)
    assert _ids(_search(anonymous, linked="morphology,transcriptomics")) == [ds]
    assert _ids(_search(anonymous, linked="icephys+morphology")) == [ds]
    assert _search(anonymous, linked="morphology,microscopy")["count"] == 0

    # DANDI's list search asks the same index
    listed = alice.get("/api/dandisets/", params={"search": "mice"}).json()
    assert [d["identifier"] for d in listed["results"]] == [ds]


def _upload_recording(caller: Caller, ds: str, tmp_path: Path, *, units: int) -> str:
    path = make_ephys_file(tmp_path / f"rec{units}.nwb", n_units=units, locations=("CA1",))
    asset = caller.add_file(ds, "sub-mouse001/sub-mouse001_ecephys.nwb", path.read_bytes())
    caller.wait_for_checks(asset["asset_id"])
    asset_id: str = asset["asset_id"]
    return asset_id


def test_the_index_follows_every_change_at_once(live: Live, tmp_path: Path) -> None:
    alice, bob, anonymous = live.user("alice"), live.user("bob"), live.anonymous()
    ds = alice.create_dataset("Hippocampal place cells")
    asset_id = _upload_recording(alice, ds, tmp_path, units=12)

    assert _ids(_search(anonymous, region="ca1")) == [ds]
    assert _ids(_search(anonymous, technique="silicon probe")) == [ds]  # a device description
    assert _ids(_search(anonymous, units_min=12)) == [ds]
    assert _search(anonymous, units_min=13)["count"] == 0
    assert _search(anonymous, units_max=11)["count"] == 0
    ranged = _search(anonymous, units_min=10, units_max=12)
    assert ranged["results"][0]["assets"][0]["matched"] == ["units: 12"]
    words = _search(anonymous, q="place probes")
    (hit,) = words["results"]
    assert hit["highlights"]["name"] == "Hippocampal <mark>place</mark> cells"
    assert hit["assets"][0]["asset_id"] == asset_id

    # new metadata is searchable as soon as the write returns
    meta = publishable_metadata(name="Entorhinal grid cells", description="Grid cells in MEC.")
    r = alice.put(f"/api/dandisets/{ds}/versions/draft/", json={"metadata": meta})
    assert r.status_code == 200, r.text
    assert _ids(_search(anonymous, q="entorhinal")) == [ds]
    assert _search(anonymous, q="hippocampal")["count"] == 0

    # access: hidden from everyone else in results, counts and facets, at once
    for level in ("private", "embargoed"):
        body = {"access": level}
        if level == "embargoed":
            body["embargo_end"] = "2099-01-01"
        assert alice.put(f"/api/dandisets/{ds}/access/", json=body).status_code == 200
        for caller in (anonymous, bob):
            hidden = _search(caller, region="ca1")
            assert hidden["count"] == 0 and _facet(hidden, "region") == {}
            assert "Entorhinal" not in str(_search(caller, q="entorhinal"))
        own = _search(alice, region="ca1")
        assert _ids(own) == [ds] and _facet(own, "access") == {level: 1}
        assert _ids(_search(alice, access=level)) == [ds]

    # removing the file removes what only it said
    assert alice.delete(f"/api/dandisets/{ds}/versions/draft/assets/{asset_id}/").status_code == 204
    assert _search(alice, region="ca1")["count"] == 0
    assert _ids(_search(alice, q="entorhinal")) == [ds]

    # deleting the dataset removes it (and, on SQLite, its full-text rows) for good
    assert alice.delete(f"/api/dandisets/{ds}/").status_code == 204
    assert _search(alice, q="entorhinal")["count"] == 0
    with live.archive.db.read() as s:
        assert s.get(SearchDataset, int(ds)) is None


def test_metadata_is_escaped_around_the_highlights(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("<script>alert(1)</script> mice & rats")
    (hit,) = _search(alice, q="rats")["results"]
    assert hit["identifier"] == ds
    name = hit["highlights"]["name"]
    assert "<script>" not in name and "&lt;script&gt;" in name and "<mark>rats</mark>" in name
    assert hit["name"] == "<script>alert(1)</script> mice & rats"  # JSON keeps the text
    assert [r["identifier"] for r in _search(alice, q="alert")["results"]] == [ds]  # both DBs


def _index_rows(live: Live) -> tuple[list[Any], ...]:
    with live.archive.db.read() as s:
        datasets = [
            (r.dataset_id, r.name, r.description, sorted(r.body.split()), r.asset_count, r.units_hi)
            for r in s.scalars(select(SearchDataset).order_by(SearchDataset.dataset_id))
        ]
        files = [
            (r.dataset_id, r.asset_id, r.path, r.format, r.text, r.units, r.facets)
            for r in s.scalars(select(SearchAsset).order_by(SearchAsset.asset_id))
        ]
        terms = sorted(
            s.execute(
                select(
                    SearchTerm.dataset_id, SearchValue.facet, SearchValue.key, SearchValue.label
                ).join(SearchValue, SearchValue.id == SearchTerm.value_id)
            ).all()
        )
    return datasets, files, terms


def test_a_rebuild_gives_the_index_the_writes_kept(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    first = alice.create_dataset("First")
    _upload_recording(alice, first, tmp_path, units=5)
    alice.create_dataset("Second, empty", access="private")
    kept = _index_rows(live)
    assert len(kept[0]) == 2 and len(kept[1]) == 1 and kept[2]
    done = rebuild(live.archive.db)
    assert done["datasets"] == 2 and done["assets"] == 1
    assert _index_rows(live) == kept


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ordering": "size"}, "ordering 'size' is not one of"),
        ({"units_min": "-1"}, "units_min must be a whole number"),
        ({"genes_max": "1e9"}, "genes_max must be a whole number"),
        ({"cells_min": "99999999999"}, "cells_min must be a whole number"),
        ({"units_min": "5", "units_max": "2"}, "units_min (5) is more than units_max (2)"),
        ({"page_size": "101"}, "page_size must be between 1 and 100"),
        ({"page": "0"}, "page starts at 1"),
        ({"specie": "mouse"}, "Unknown search parameter 'specie'"),
        ({"linked": "morphology,dreams"}, "'dreams' is not one of"),
        ({"q": "x" * 501}, "q is 501 characters"),
    ],
)
def test_bad_parameters_are_400_with_the_reason(
    live: Live, params: dict[str, str], message: str
) -> None:
    r = live.anonymous().get("/api/search/", params=params)
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"]


def test_odd_words_are_only_words(live: Live) -> None:
    """Query syntax of FTS5 or tsquery in q is text, never an operator or an error."""
    alice = live.user("alice")
    ds = alice.create_dataset("NEAR OR AND NOT mouse")
    for q in ('"', "mouse*", "NEAR(mouse", "mouse:*", "!mouse & | (", "mo'use", "\\", "-mouse"):
        body = _search(alice, q=q)
        assert body["count"] in (0, 1), q
    assert _ids(_search(alice, q="NEAR OR")) == [ds]
    assert _search(alice, q="!!!")["count"] == 1  # no words: every dataset
    assert _ids(_search(alice, q=ds)) == [ds]  # a dataset's number


def test_a_word_in_the_name_ranks_above_the_description_and_other_metadata(live: Live) -> None:
    alice = live.user("alice")
    made, metas = {}, {}
    for where in ("keywords", "description", "name"):
        ds = alice.create_dataset(f"Recordings {where}")
        meta = publishable_metadata(name=f"Recordings {where}", description="Cortex data.")
        if where == "name":
            meta["name"] = "Quillwort recordings"
        elif where == "description":
            meta["description"] = "Recordings of quillwort cortex."
        else:
            meta["keywords"] = ["quillwort"]
        r = alice.put(f"/api/dandisets/{ds}/versions/draft/", json={"metadata": meta})
        assert r.status_code == 200, r.text
        made[where], metas[where] = ds, meta
    # the weakest match edited last: relevance still decides, unless another order is asked
    weakest = made["keywords"]
    r = alice.put(f"/api/dandisets/{weakest}/versions/draft/", json={"metadata": metas["keywords"]})
    assert r.status_code == 200, r.text
    found = _search(live.anonymous(), q="quillwort")
    assert _ids(found) == [made["name"], made["description"], weakest]
    assert _ids(_search(live.anonymous(), q="quillwort", ordering="-modified"))[0] == weakest


def test_a_facet_value_made_by_two_writers_at_once_is_made_once(live: Live) -> None:
    import threading

    from neurodatashare.archive.search_index import value_ids

    db = live.archive.db
    pair = ("region", f"new region {live.backend}")
    got: list[int] = []

    def second() -> None:
        with db.write() as s:
            got.append(value_ids(s, {pair: "New region"})[pair])

    with db.write() as s:
        first = value_ids(s, {pair: "New region"})[pair]
        other = threading.Thread(target=second)
        other.start()
        other.join(timeout=1.0)  # waits for this transaction: PostgreSQL's unique index
        assert other.is_alive() and not got
    other.join(timeout=60)
    assert got == [first]
    with db.read() as s:
        assert s.scalar(select(func.count()).where(SearchValue.key == pair[1])) == 1
