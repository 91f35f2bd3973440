"""Every version and asset document of a rich archive validates against dandischema.

The demo (`nds serve --demo`: four multi-modal NWB files, and the Patch-seq dataset with
icephys NWB, h5ad, SWC and NeuroML files) is loaded and published; then every document
of every version, draft and published, is fetched through each route that serves it and
validated with dandischema's own `Dandiset` and `Asset` models. (tests/conftest.py also
audits every document any test makes; this test makes sure the richest ones are seen.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dandischema.models import Asset, Dandiset

from neurodatashare.archive.demo import ensure_demo
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


def _check_version(demo: Caller, ds: str, version: str) -> set[str]:
    """Validate the version's document and each of its assets' documents; return the
    assets' formats."""
    doc = demo.get(f"/api/dandisets/{ds}/versions/{version}/").json()
    model = Dandiset.model_validate(doc)
    assert (model.datePublished is None) == (version == "draft")
    assert model.manifestLocation and model.assetsSummary.numberOfFiles > 0
    info = demo.get(f"/api/dandisets/{ds}/versions/{version}/info/").json()
    assert info["metadata"] == doc
    listing = demo.get(
        f"/api/dandisets/{ds}/versions/{version}/assets/",
        params={"metadata": "true", "page_size": 1000},
    ).json()
    assert listing["count"] == model.assetsSummary.numberOfFiles
    formats = set()
    for item in listing["results"]:
        aid = item["asset_id"]
        by_id = demo.get(f"/api/assets/{aid}/").json()
        in_version = demo.get(f"/api/dandisets/{ds}/versions/{version}/assets/{aid}/").json()
        assert by_id == in_version == item["metadata"]
        asset = Asset.model_validate(by_id)
        assert len(asset.contentUrl) == 2
        formats.add(by_id["nds:format"])
    return formats


def test_every_demo_document_validates(
    live: Live, demo_dataset: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    shared, _ = demo_dataset
    root = tmp_path / "home" / "demo"
    shutil.copytree(shared, root)
    patchseq = shared.with_name(shared.name + "-patchseq")  # written by `nds demo` too
    if patchseq.exists():
        shutil.copytree(patchseq, root.with_name("demo-patchseq"))
    _dataset, key = ensure_demo(live.archive, root=root)
    demo = Caller(live.url, key)
    live.callers.append(demo)
    mine = demo.get("/api/dandisets/", params={"user": "me", "embargoed": "true"}).json()
    assert mine["count"] == 2  # the NWB demo and the Patch-seq demo
    formats: set[str] = set()
    for row in mine["results"]:
        ds = row["identifier"]
        published = row["most_recent_published_version"]["version"]
        formats |= _check_version(demo, ds, published)
        formats |= _check_version(demo, ds, "draft")
        # a file added after publishing: an unpublished asset beside published ones
        demo.add_file(ds, "notes/readme.txt", b"Added after publishing.\n")
        formats |= _check_version(demo, ds, "draft")
    assert {"nwb", "anndata", "swc", "neuroml", "plain"} <= formats
