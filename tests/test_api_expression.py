"""The AnnData views through the live server: an uploaded h5ad's page loads the embedding,
dot plot and cells views, and their endpoints answer binary and JSON, 400 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurodatashare.testing import scales
from neurodatashare.testing.live import Live


def test_an_h5ad_has_its_views_and_their_data(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("expression views")
    data = scales.write_h5ad(tmp_path / "cells.h5ad", cells=400, symbols=True).read_bytes()
    asset = alice.add_file(ds, "rna/cells.h5ad", data)
    aid = asset["asset_id"]
    alice.wait_for_checks(aid)
    page = alice.get(f"/asset/{aid}.json").json()
    assert page["views"] == ["download", "embedding", "dotplot", "cells", "summary"]
    assert page["scripted_views"] == ["embedding", "dotplot", "cells"]
    html = alice.get(f"/asset/{aid}").text
    for view in ("embedding", "dotplot", "cells"):
        assert f'src="/static/views/{view}.js"' in html and f'data-view="{view}"' in html
        assert alice.get(f"/static/views/{view}.js").status_code == 200
    assert alice.get("/static/views/lib/expression.js").status_code == 200

    base = f"/api/assets/{aid}/explore"
    r = alice.get(f"{base}/embedding", params={"color": "cell_type", "width": 400})
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    meta = json.loads(r.headers["X-NDS-Meta"])
    values = np.frombuffer(r.content, dtype="<f4").reshape(meta["shape"])
    assert meta["mode"] == "points" and values.shape == (400, 4)
    assert meta["color"]["categories"] == ["L2/3 IT", "Pvalb", "Sst"]
    r = alice.get(f"{base}/embedding", params={"color": "Sst", "x0": -10, "x1": 0})
    meta = json.loads(r.headers["X-NDS-Meta"])
    assert meta["color"]["kind"] == "gene" and meta["window"][:2] == [-10, 0]

    genes = alice.get(f"{base}/genes", params={"q": "gad"}).json()
    assert [g["symbol"] for g in genes["genes"]] == ["Gad1", "Gad2"]
    plot = alice.get(f"{base}/dotplot", params={"genes": "Gad1,Sst", "group": "brain_region"})
    assert plot.status_code == 200 and plot.json()["groups"] == ["MOp", "VISp"]
    cells = alice.get(
        f"{base}/cells", params={"limit": 3, "sort": "n_counts", "filter": "cell_type:eq:Sst"}
    ).json()
    assert len(cells["rows"]) == 3 and {r["cell_type"] for r in cells["rows"]} == {"Sst"}

    for url, params, words in (
        ("embedding", {"color": "Nope"}, "No gene is named 'Nope'"),
        ("embedding", {"key": "X_tsne"}, "obsm has no embedding 'X_tsne'"),
        ("embedding", {"x0": "inf"}, "x0"),
        ("embedding", {"width": 5}, "width"),
        ("dotplot", {"genes": ",".join(["Gad1"] * 51)}, "at most 50 genes"),
        ("dotplot", {"genes": "Gad1", "group": "nope"}, "obs has no column 'nope'"),
        ("cells", {"filter": "nope:eq:1"}, "obs has no column 'nope'"),
        ("cells", {"limit": 5000}, "limit"),
    ):
        r = alice.get(f"{base}/{url}", params=params)
        assert r.status_code == 400 and words in r.json()["detail"], (url, params, r.text)
    other = alice.add_file(ds, "notes.txt", b"not a matrix")
    r = alice.get(f"/api/assets/{other['asset_id']}/explore/genes")
    assert r.status_code == 400 and "not an AnnData" in r.json()["detail"]
