"""archive/morphology.py in-process: access checked first on every call, files parsed once
per blob, read errors as 4xx."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurodatashare.archive import Archive, morphology
from neurodatashare.archive.datasets import create_dataset, set_access
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.users import create_user
from neurodatashare.errors import BadRequest, NotAuthenticated, NotFound
from neurodatashare.formats.swc import analyse
from neurodatashare.testing import scales


def test_views_of_swc_and_neuroml_assets_and_access(archive: Archive, tmp_path: Path) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]

    def add(path: str, source: Path) -> str:
        made = ingest_file(archive, user=alice, dataset_id=ident, path=path, source=source)
        return str(made["asset_id"])

    swc = add("cells/a.swc", scales.write_swc(tmp_path / "a.swc", "three_point"))
    refused = add("cells/b.swc", scales.write_swc(tmp_path / "b.swc", "soma_mid_tree"))
    nml = add("models/m.nml", scales.write_neuroml(tmp_path / "m.nml"))
    (tmp_path / "notes.txt").write_text("not a cell")
    text = add("notes.txt", tmp_path / "notes.txt")

    data = json.loads(morphology.morphology_json(archive, asset_id=swc, user=bob, radii=False))
    assert data["asset_id"] == swc and data["source"] == "morphio" and data["points"] == 9
    assert (
        json.loads(morphology.morphology_json(archive, asset_id=refused, user=bob, radii=True))[
            "source"
        ]
        == "tolerant"
    )
    summary = analyse(scales.swc("three_point"), extension="swc").metadata["nds:summary"]
    profile = morphology.sholl(archive, asset_id=swc, user=bob, step=None)
    assert profile["crossings"] == summary["sholl"]["crossings"]
    assert morphology.dendrogram(archive, asset_id=swc, user=bob)["leaves"] == 3
    with pytest.raises(BadRequest, match="at most 1,000"):
        morphology.sholl(archive, asset_id=swc, user=bob, step=1e-6)

    cell = json.loads(morphology.morphology_json(archive, asset_id=nml, user=bob, radii=False))
    assert cell["source"] == "neuroml" and cell["sections"] == 2
    net = morphology.network(archive, asset_id=nml, user=bob)["networks"][0]
    assert net["projections"][0]["pre"] == "pop"
    with pytest.raises(NotFound, match="No cell `ghost`"):
        morphology.dendrogram(archive, asset_id=nml, user=bob, cell="ghost")
    with pytest.raises(BadRequest, match="not a NeuroML file"):
        morphology.network(archive, asset_id=swc, user=bob)
    with pytest.raises(BadRequest, match="not a morphology"):
        morphology.dendrogram(archive, asset_id=text, user=bob)

    # hidden: exactly as missing, though the parsed file is cached
    set_access(archive, dataset_id=ident, user=alice, access="private")
    missing = "00000000-0000-4000-8000-000000000000"
    for asset_id in (swc, missing):
        with pytest.raises(NotFound):
            morphology.morphology_json(archive, asset_id=asset_id, user=bob, radii=False)
        with pytest.raises(NotAuthenticated):
            morphology.sholl(archive, asset_id=asset_id, user=None, step=None)
    assert morphology.dendrogram(archive, asset_id=swc, user=alice)["leaves"] == 3


def test_the_pipeline_stores_the_3d_body_and_the_view_reads_it(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurodatashare.archive import processing
    from neurodatashare.formats import swc_binary, swc_view
    from neurodatashare.formats.swc import DRAWING_KIND, drawing_producer
    from neurodatashare.jobs import Worker

    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    source = scales.write_swc(tmp_path / "a.swc", "three_point")
    made = ingest_file(archive, user=alice, dataset_id=ident, path="a.swc", source=source)
    (tmp_path / "odd.asc").write_text("time,value\n0,1\n")  # an `.asc` that is no cell
    odd = ingest_file(
        archive, user=alice, dataset_id=ident, path="odd.asc", source=tmp_path / "odd.asc"
    )
    Worker(archive.db, processing.handlers(archive)).drain()
    expected = swc_binary.encode(swc_view.read_swc(source.read_text(), extension="swc"))

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored body should have been used")

    monkeypatch.setattr(swc_view, "read_swc", no_parsing)
    body = morphology.morphology_binary(archive, asset_id=str(made["asset_id"]), user=alice)
    assert body == expected
    from sqlalchemy import select

    from neurodatashare.db.models import Asset, Blob, Derived

    with archive.db.read() as s:
        row = s.scalar(
            select(Derived)
            .join(Blob, Blob.id == Derived.blob_id)
            .join(Asset, Asset.blob_id == Blob.id)
            .where(Asset.path == "odd.asc", Derived.kind == DRAWING_KIND)
        )
        assert row is not None and row.producer == drawing_producer() and row.error is None
        assert row.payload["dialect"] == "swc"  # told from its bytes: not the path's dialect
    # the path says Neurolucida, the stored body was read as SWC: the view parses instead
    with pytest.raises(AssertionError, match="stored body"):
        morphology.morphology_binary(archive, asset_id=str(odd["asset_id"]), user=alice)
