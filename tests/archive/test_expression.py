"""archive/expression.py in-process: the AnnData views through the archive's cache of open
files, access checked on every call, hidden files answered as missing ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurodatashare.archive import Archive, expression
from neurodatashare.archive.datasets import create_dataset, set_access
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.users import create_user
from neurodatashare.errors import BadRequest, NotAuthenticated, NotFound
from neurodatashare.testing import scales

MISSING = "5d0c4a52-8f59-4e7f-9d61-2b8a3c9e1f00"


def test_views_read_the_cached_file_and_check_access_each_time(
    archive: Archive, tmp_path: Path
) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    source = scales.write_h5ad(tmp_path / "cells.h5ad", cells=300)
    aid = ingest_file(archive, user=alice, dataset_id=ident, path="rna/cells.h5ad", source=source)[
        "asset_id"
    ]
    view = expression.embedding(archive, asset_id=aid, user=bob, color="cell_type")
    assert view.meta()["mode"] == "points" and view.data.shape == (300, 4)
    binned = expression.embedding(
        archive, asset_id=aid, user=bob, color="Gad1", width=100, height=100, bin_pixels=10
    )
    assert binned.meta()["in_view"] == 300
    found = expression.genes(archive, asset_id=aid, user=bob, q="gad")
    assert [g["name"] for g in found["genes"]] == ["Gad1", "Gad2"]
    plot = expression.dotplot(archive, asset_id=aid, user=bob, genes="Gad1,Sst")
    assert plot["group"] == "cell_type" and np.array(plot["mean"]).shape == (2, 3)
    page = expression.cells(archive, asset_id=aid, user=bob, limit=5, sort="n_counts")
    assert len(page["rows"]) == 5 and page["total"] == 300
    with pytest.raises(BadRequest, match="No gene is named 'Nope'"):
        expression.embedding(archive, asset_id=aid, user=bob, color="Nope")
    assert archive.files.opens == 1  # one open file for every view

    set_access(archive, dataset_id=ident, user=alice, access="private")
    for user, error in ((bob, NotFound), (None, NotAuthenticated)):
        with pytest.raises(error) as hidden:
            expression.genes(archive, asset_id=aid, user=user)
        with pytest.raises(error) as missing:
            expression.genes(archive, asset_id=MISSING, user=user)
        assert hidden.value.message.replace(aid, MISSING) == missing.value.message
    assert expression.genes(archive, asset_id=aid, user=alice, q="gad") == found


def test_a_file_of_another_format_has_no_expression_views(
    archive: Archive, demo_file: Path
) -> None:
    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    aid = ingest_file(archive, user=alice, dataset_id=ident, path="sub-1/a.nwb", source=demo_file)[
        "asset_id"
    ]
    with pytest.raises(BadRequest, match="not an AnnData"):
        expression.cells(archive, asset_id=aid, user=alice)
