"""The morphology and network endpoints through the live server (server/routes/morphology.py),
and the asset page naming their views."""

from __future__ import annotations

from pathlib import Path

from neurodatashare.formats import swc_binary
from neurodatashare.testing import scales
from neurodatashare.testing.live import Live


def test_morphology_endpoints_and_pages(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    anon = live.anonymous()
    ds = alice.create_dataset("morphology api")
    swc = alice.add_file(ds, "cells/cell-1.swc", scales.swc("contour").encode())["asset_id"]
    nml_bytes = scales.write_neuroml(tmp_path / "cell.nml").read_bytes()
    nml = alice.add_file(ds, "models/cell.nml", nml_bytes)["asset_id"]
    alice.wait_for_checks(nml)
    api = f"/api/assets/{swc}/explore"

    r = alice.get(f"{api}/morphology", params={"radii": "true"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data = r.json()
    assert data["points"] == 14 and data["decimated"] is False
    assert {t["type"] for t in data["traces"]} == {"soma", "axon", "basal"}
    assert all(len(t["r"]) == len(t["x"]) for t in data["traces"])
    r = alice.get(f"{api}/morphology", params={"format": "binary"})
    assert r.status_code == 200 and r.headers["content-type"] == swc_binary.MEDIA_TYPE
    body = swc_binary.decode(r.content)
    assert body["points"] == 14 and body["sections"] == data["sections"]
    assert set(body["per_kind"]) == {"soma", "axon", "basal"}
    r = alice.get(f"{api}/morphology", params={"format": "svg"})
    assert r.status_code in (400, 422) and "format" in r.text
    assert alice.get(f"{api}/dendrogram").json()["leaves"] == 3
    sholl = alice.get(f"{api}/sholl", params={"step": "2.5"}).json()
    assert sholl["radii"][:2] == [2.5, 5.0] and len(sholl["crossings"]) == len(sholl["radii"])
    for bad in ("0", "-1", "abc", "inf", "nan"):
        r = alice.get(f"{api}/sholl", params={"step": bad})
        assert r.status_code == 400 and "step" in r.text, (bad, r.text)
    r = alice.get(f"{api}/sholl", params={"step": "0.00001"})
    assert r.status_code == 400 and "at most 1,000" in r.json()["detail"]
    r = alice.get(f"{api}/network")
    assert r.status_code == 400 and "not a NeuroML file" in r.json()["detail"]

    model = alice.get(f"/api/assets/{nml}/explore/morphology").json()
    assert model["source"] == "neuroml" and model["sections"] == 2
    nets = alice.get(f"/api/assets/{nml}/explore/network").json()["networks"]
    assert nets[0]["populations"][0] == {"id": "pop", "component": "pyr", "size": 3}

    page = anon.get(f"/asset/{swc}").text
    for view in ("morphology", "dendrogram", "sholl"):
        assert f'data-view="{view}"' in page and f"/static/views/{view}.js" in page
    model_page = anon.get(f"/asset/{nml}").text
    assert 'data-view="morphology"' in model_page and 'data-view="network"' in model_page
    assert alice.get("/static/views/lib/common.js").status_code == 200

    # hidden: made private, the anonymous caller gets what a missing asset gets
    r = alice.put(f"/api/dandisets/{ds}/access/", json={"access": "private"})
    assert r.status_code == 200, r.text
    missing = "00000000-0000-4000-8000-000000000000"
    for tail in ("morphology", "dendrogram", "sholl", "network"):
        hidden = anon.get(f"{api}/{tail}")
        absent = anon.get(f"/api/assets/{missing}/explore/{tail}")
        assert hidden.status_code == absent.status_code == 401
        assert hidden.json()["detail"].replace(swc, missing) == absent.json()["detail"]


def test_the_element_tree_endpoint(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    anon = live.anonymous()
    ds = alice.create_dataset("element trees")
    broken = scales.write_neuroml(tmp_path / "b.nml", "broken_include").read_bytes()
    good = alice.add_file(
        ds, "models/cell.nml", scales.write_neuroml(tmp_path / "c.nml").read_bytes()
    )
    bad = alice.add_file(ds, "models/broken.nml", broken)
    big = alice.add_file(ds, "models/big.nml", scales.big_network_neuroml(5_000, 5_000))
    cut = alice.add_file(ds, "models/cut.nml", broken[: len(broken) // 2])
    junk = alice.add_file(ds, "models/junk.nml", b"\x00\x01 no xml")
    swc = alice.add_file(ds, "cells/c.swc", scales.swc("single_point").encode())
    for a in (good, bad, big, cut, junk):
        alice.wait_for_checks(a["asset_id"])

    api = f"/api/assets/{good['asset_id']}/explore/elements"
    data = alice.get(api).json()
    assert data["root"]["tag"] == "neuroml" and data["partial"] is False
    assert data["report"] == "done" and data["findings"] == 0
    assert data["elements"] > 20 and {c["tag"] for c in data["root"]["children"]} >= {"cell"}
    cell = next(c for c in data["root"]["children"] if c["tag"] == "cell")
    one = alice.get(api, params={"path": cell["path"]}).json()
    assert one["root"]["id"] == "pyr" and one["root"]["children"]

    data = alice.get(f"/api/assets/{bad['asset_id']}/explore/elements").json()
    (inc,) = [c for c in data["root"]["children"] if c["tag"] == "include"]
    assert inc["findings"][0]["check"] == "neuroml.include_outside"
    assert inc["include"] == {"path": None, "asset_id": None}

    r = alice.get(f"/api/assets/{big['asset_id']}/explore/elements")
    assert r.status_code == 200 and len(r.content) < 400_000
    net = next(c for c in r.json()["root"]["children"] if c["tag"] == "network")
    pop = next(c for c in net["children"] if c["tag"] == "population")
    assert pop["more"]["count"] == 5_000 - len(pop["children"])
    page = alice.get(
        f"/api/assets/{big['asset_id']}/explore/elements",
        params={"path": pop["path"], "offset": 4_990, "limit": 500},
    ).json()
    assert [c["id"] for c in page["root"]["children"]][-1] == "4999"

    data = alice.get(f"/api/assets/{cut['asset_id']}/explore/elements").json()
    assert data["partial"] is True and "not well-formed" in data["message"]
    r = alice.get(f"/api/assets/{junk['asset_id']}/explore/elements")
    assert r.status_code == 400 and "Nothing in the file could be read" in r.json()["detail"]
    r = alice.get(f"/api/assets/{swc['asset_id']}/explore/elements")
    assert r.status_code == 400 and "not a NeuroML file" in r.json()["detail"]
    for bad_path in ("/99", "/0/0/0/0/0/0/9"):
        r = alice.get(api, params={"path": bad_path})
        assert r.status_code == 404 and "child elements" in r.json()["detail"], r.text
    for bad_query in ({"path": "cell"}, {"offset": "-1"}, {"limit": "0"}, {"limit": "9999"}):
        assert alice.get(api, params=bad_query).status_code == 400

    page = anon.get(f"/asset/{good['asset_id']}").text
    assert 'data-view="elements"' in page and "/static/views/elements.js" in page

    r = alice.put(f"/api/dandisets/{ds}/access/", json={"access": "private"})
    assert r.status_code == 200, r.text
    missing = "00000000-0000-4000-8000-000000000000"
    hidden = anon.get(api)
    absent = anon.get(f"/api/assets/{missing}/explore/elements")
    assert hidden.status_code == absent.status_code == 401
    assert hidden.json()["detail"].replace(good["asset_id"], missing) == absent.json()["detail"]
