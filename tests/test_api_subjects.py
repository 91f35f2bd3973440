"""The subjects and cells API and pages, through the live server, on the Patch-seq demo."""

from __future__ import annotations

from pathlib import Path

from neurodatashare.archive.demo import finish_jobs
from neurodatashare.archive.demo_scales import ensure_patchseq_demo
from neurodatashare.db.models import User
from neurodatashare.testing.live import Live


def test_subjects_and_cells_of_the_patchseq_demo(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    with live.archive.db.read() as s:
        user = s.query(User).filter_by(username="alice").one()
    ds = ensure_patchseq_demo(live.archive, user=user, root=tmp_path / "ps", finish=finish_jobs)
    version = alice.get(f"/api/dandisets/{ds}/").json()["most_recent_published_version"]
    base = f"/api/dandisets/{ds}/versions/{version['version']}"
    page = alice.get(f"{base}/subjects/", params={"page_size": 1})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["count"] == 1 and body["next"] is None
    (mouse,) = body["results"]
    assert mouse["subject_id"] == "mouse03"
    assert {"cell01", "cell02", "cell03", "cell04"} <= set(mouse["cell_ids"])
    assert set(mouse["formats"]) == {"nwb", "swc", "anndata", "neuroml"}
    assert set(mouse["formats"]["nwb"]) == {"icephys", "ophys"}  # sweeps; the 2-photon session
    one = alice.get(f"{base}/subjects/mouse03/").json()
    assert one["asset_count"] == mouse["asset_count"] == 11  # all but links.tsv
    cell = alice.get(f"{base}/cells/cell01/").json()
    assert cell["subject_id"] == "mouse03"
    assert set(cell["formats"]) == {"nwb", "swc", "anndata", "neuroml"}
    assert cell["sweeps"][0]["series"][0] == "/acquisition/sweep_00"
    for missing, word in ((f"{base}/cells/nope/", "cell"), (f"{base}/subjects/nope/", "subject")):
        r = alice.get(missing)
        assert r.status_code == 404 and f"no {word} 'nope'" in r.json()["detail"]
    # the pages: subjects, a subject, a cell with its three panels
    web = f"/dandiset/{ds}/{version['version']}"
    landing = alice.get(web)
    assert f"{web}/subjects" in landing.text
    assert "mouse03" in alice.get(f"{web}/subjects").text
    subject_page = alice.get(f"{web}/subjects/mouse03")
    assert subject_page.status_code == 200 and "cell01.swc" in subject_page.text
    cell_page = alice.get(f"{web}/cells/cell01")
    assert cell_page.status_code == 200
    for panel in ("panel-sweeps", "panel-morphology", "panel-expression", "sweep-plot"):
        assert panel in cell_page.text
    assert "<td>Pvalb</td>" in cell_page.text  # a top gene of this Pvalb cell
    assert alice.get(f"{web}/cells/nope").status_code == 404
    # the model names the recording it was built from: linked both ways, in each version
    listed = alice.get(f"{base}/assets/", params={"path": "models/"}).json()["results"]
    (model,) = [a for a in listed if a["path"].endswith(".nml")]
    (source,) = alice.get(f"/api/assets/{model['asset_id']}/related/").json()["built_from"]
    assert source["status"] == "resolved" and source["element"] == "cell01_hh"
    assert source["target"]["path"] == "sub-mouse03/sub-mouse03_obj-cell01_icephys.nwb"
    back = alice.get(f"/api/assets/{source['target']['asset_id']}/related/").json()["models"]
    assert [(m["asset_id"], m["via"]) for m in back] == [(model["asset_id"], "asset")]
    assert sorted(back[0]["versions"]) == sorted(["draft", version["version"]])
