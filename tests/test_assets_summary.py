"""The version's assetsSummary (metadata/assets_summary.py): subjects counted as distinct
ids over all assets, a file of several donors included; a bad asset's metadata skipped."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from dandischema import models

from neurodatashare.formats.anndata import analyse
from neurodatashare.metadata.assets_summary import path_subject, summarize_assets
from neurodatashare.testing import scales

MOUSE = "http://purl.obolibrary.org/obo/NCBITaxon_10090"


def _h5ad(tmp_path: Path, donors: tuple[str, ...]) -> dict[str, Any]:
    done = analyse(scales.write_h5ad(tmp_path / "cells.h5ad", donors=donors))
    assert done.metadata is not None
    return {**done.metadata, "path": "rna/cells.h5ad"}


def test_one_h5ad_of_five_donors_counts_five_subjects(tmp_path: Path) -> None:
    meta = _h5ad(tmp_path, tuple(f"mouse-{k}" for k in range(5)))
    summary = summarize_assets([meta], sizes=[1000])
    model = models.AssetsSummary(**summary)
    assert model.numberOfSubjects == 5 and model.numberOfFiles == 1
    assert [str(s.identifier) for s in model.species or []] == [MOUSE]


def test_subjects_are_distinct_across_files_and_path_names(tmp_path: Path) -> None:
    meta = _h5ad(tmp_path, ("mouse-1", "mouse-2"))
    nwb = {
        "path": "sub-mouse-3/sub-mouse-3_ecephys.nwb",
        "wasAttributedTo": [{"schemaKey": "Participant", "identifier": "mouse-1"}],
    }
    swc = {"path": "sub-mouse-2/cell_1.swc", "encodingFormat": "text/x-swc"}
    summary = summarize_assets([meta, nwb, swc], sizes=[1, 2, 3])
    # mouse-1 (h5ad and NWB), mouse-2 (h5ad), mouse-3 (the NWB file's name)
    assert summary["numberOfSubjects"] == 3 and summary["numberOfFiles"] == 3
    assert path_subject("sub-a_ses-1_ecephys.nwb") == "a" and path_subject("x.nwb") is None


@pytest.mark.parametrize(
    ("broken", "skipped"),
    [
        ({"schemaVersion": "0.0.1"}, True),  # a version dandischema refuses: the file only
        # malformed list items are left out, the rest of the asset still counts
        ({"wasAttributedTo": ["not a participant"]}, False),
        ({"variableMeasured": [{"no": "value"}]}, False),
    ],
)
def test_a_bad_assets_metadata_is_skipped_and_logged(
    tmp_path: Path, broken: dict[str, Any], skipped: bool, caplog: pytest.LogCaptureFixture
) -> None:
    good = _h5ad(tmp_path, ("mouse-1", "mouse-2"))
    bad = {"path": "sub-x/sub-x_ecephys.nwb", **broken}
    with caplog.at_level(logging.WARNING, logger="neurodatashare.metadata"):
        summary = summarize_assets([good, bad], sizes=[10, 20])
    assert summary["numberOfFiles"] == 2 and summary["numberOfBytes"] == 30
    # the bad file still counts as a file, and its name still names its subject
    assert summary["numberOfSubjects"] == 3
    logged = "skipping the metadata of sub-x/sub-x_ecephys.nwb" in caplog.text
    assert logged is skipped
    models.AssetsSummary(**summary)
