"""AnnData `.h5ad`: backed read, index and shape checks, sparse soundness, expected obs
columns, and the description (cells, genes, obsm, obs categories, species, regions); on
generated files, scanpy's pbmc68k_reduced.h5ad, and through the live server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from neurodatashare.formats.anndata import ANNDATA, analyse
from neurodatashare.testing import scales
from neurodatashare.testing.live import Live

MOUSE = "http://purl.obolibrary.org/obo/NCBITaxon_10090"


def checks(results: list[dict]) -> set[str]:
    return {r["check"] for r in results}


@pytest.mark.parametrize("sparse", [True, False])
def test_a_complete_file_is_described_without_findings(tmp_path: Path, sparse: bool) -> None:
    path = scales.write_h5ad(tmp_path / "cells.h5ad", sparse=sparse)
    done = analyse(path)
    assert done.results == [] and done.metadata is not None
    s = done.metadata["nds:summary"]
    assert (s["cells"], s["genes"]) == (200, 40)
    assert s["X"]["storage"] == ("csr" if sparse else "dense")
    assert s["layers"]["counts"]["storage"] == s["X"]["storage"]
    assert s["obsm"] == {"X_umap": [2], "X_pca": [10]}
    assert s["roles"] == {
        "cell_type": "cell_type",
        "region": "brain_region",
        "subject": "donor_id",
        "species": "species",
    }
    types = s["obs_columns"]["cell_type"]
    assert types["n_categories"] == 3 and sum(types["categories"].values()) == 200
    assert s["obs_columns"]["n_counts"]["dtype"] == "float32"
    assert s["species"] == ["Mus musculus - House mouse"]
    assert s["subjects"] == 2 and sorted(s["regions"]) == ["MOp", "VISp"]
    assert s["subject_ids"] == ["mouse-1", "mouse-2"]
    # several donors: a Participant each, so that the dataset summary counts them all
    people = done.metadata["wasAttributedTo"]
    assert [p["identifier"] for p in people] == ["mouse-1", "mouse-2"]
    assert all(p["species"]["identifier"] == MOUSE for p in people)
    assert {a["name"] for a in done.metadata["about"]} == {"MOp", "VISp"}


def test_a_one_donor_file_is_attributed_to_its_participant(tmp_path: Path) -> None:
    path = scales.write_h5ad(tmp_path / "one.h5ad", donors=("mouse-7",))
    done = analyse(path)
    assert done.metadata is not None
    (person,) = done.metadata["wasAttributedTo"]
    assert person["identifier"] == "mouse-7" and person["species"]["identifier"] == MOUSE
    assert person["species"]["name"] == "Mus musculus - House mouse"


def test_missing_obs_columns_are_named_with_how_to_fix(tmp_path: Path) -> None:
    done = analyse(scales.write_h5ad(tmp_path / "bare.h5ad", obs_columns=False))
    found = {r["check"]: r for r in done.results}
    assert set(found) == {
        "anndata.obs_cell_type",
        "anndata.obs_region",
        "anndata.obs_subject",
        "anndata.obs_species",
    }
    assert found["anndata.obs_subject"]["severity"] == "WARNING"
    assert "donor_id" in found["anndata.obs_subject"]["how_to_fix"]
    assert found["anndata.obs_cell_type"]["severity"] == "HINT"
    assert done.metadata is not None and "wasAttributedTo" not in done.metadata


@pytest.mark.parametrize("axis", ["obs", "var"])
def test_duplicated_names_are_errors(tmp_path: Path, axis: str) -> None:
    path = scales.write_h5ad(tmp_path / "dup.h5ad", **{f"duplicate_{axis}": True})
    found = [r for r in analyse(path).results if r["check"] == f"anndata.{axis}_index_unique"]
    assert len(found) == 1 and found[0]["severity"] == "ERROR"


@pytest.mark.parametrize("what", ["indices", "indptr"])
def test_an_unsound_sparse_matrix_is_an_error(tmp_path: Path, what: str) -> None:
    path = scales.break_sparse(scales.write_h5ad(tmp_path / "bad.h5ad"), what=what)
    found = [r for r in analyse(path).results if r["check"] == "anndata.sparse.X"]
    assert len(found) == 1 and found[0]["object_path"] == "X"


def test_a_file_that_is_not_anndata_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "junk.h5ad"
    path.write_bytes(b"not hdf5 at all")
    done = analyse(path)
    assert done.metadata is None and done.error
    assert checks(done.results) == {"anndata.unreadable"}


def test_process_reads_a_stream_that_is_not_a_file(tmp_path: Path) -> None:
    import io

    data = scales.write_h5ad(tmp_path / "cells.h5ad").read_bytes()
    done = ANNDATA.process(io.BytesIO(data), path="x/cells.h5ad")
    assert done is not None and done.metadata is not None
    assert done.metadata["nds:summary"]["cells"] == 200


def test_scanpy_pbmc68k_reduced(request: pytest.FixtureRequest) -> None:
    """scanpy (BSD-3, downloaded at test time) ships an h5ad written by anndata < 0.7."""
    (path,) = scales.real_files("h5ad", request.config.cache.mkdir("scales-real-files"))
    done = analyse(path)
    assert done.metadata is not None
    s = done.metadata["nds:summary"]
    assert (s["cells"], s["genes"]) == (700, 765)
    assert s["obsm"] == {"X_pca": [50], "X_umap": [2]}
    assert s["obs_columns"]["bulk_labels"]["n_categories"] == 10
    assert s["roles"]["cell_type"] == "louvain"
    assert {"anndata.legacy_layout", "anndata.obs_species"} <= checks(done.results)
    assert not [r for r in done.results if r["severity"] in ("ERROR", "CRITICAL")]


def test_an_uploaded_h5ad_is_typed_checked_and_counted(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("transcriptomes")
    donors = tuple(f"mouse-{k}" for k in range(1, 6))  # one file of five donors
    data = scales.write_h5ad(tmp_path / "cells.h5ad", donors=donors).read_bytes()
    asset = alice.add_file(ds, "rna/cells.h5ad", data)
    report = alice.wait_for_checks(asset["asset_id"])
    assert report["status"] == "done" and report["results"] == []
    meta = alice.get(f"/api/assets/{asset['asset_id']}/").json()
    assert meta["nds:format"] == "anndata" and meta["encodingFormat"] == "application/x-hdf5"
    assert meta["nds:summary"]["cells"] == 200
    assert alice.wait_for_status(ds)["status"] in ("Valid", "Invalid")  # dataset metadata
    for _ in range(100):  # the summary job runs after the checks
        version = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()
        if version["assetsSummary"].get("species"):
            break
        time.sleep(0.1)
    summary = version["assetsSummary"]
    assert summary["numberOfSubjects"] == 5 and summary["numberOfFiles"] == 1
    assert summary["species"][0]["identifier"] == MOUSE
    bad = scales.write_h5ad(tmp_path / "dup.h5ad", duplicate_obs=True).read_bytes()
    dup = alice.add_file(ds, "rna/dup.h5ad", bad)
    failed = alice.wait_for_checks(dup["asset_id"])
    assert "anndata.obs_index_unique" in checks(failed["results"])
    assert alice.wait_for_status(ds)["status"] == "Invalid"


def test_x_is_never_loaded(tmp_path: Path) -> None:
    """Backed mode: a 32 MB dense X is not read; the check reads obs, var and obsm."""
    import tracemalloc

    path = scales.write_h5ad(tmp_path / "big.h5ad", cells=4000, genes=2000, sparse=False)
    analyse(path)  # imports and first-use caches outside the measurement
    tracemalloc.start()
    done = analyse(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert done.metadata is not None and done.metadata["nds:summary"]["cells"] == 4000
    assert peak < 8 * 2**20, peak


def test_cellxgene_ontology_columns_map_to_dandischema_terms(tmp_path: Path) -> None:
    import anndata
    import numpy as np
    import pandas as pd

    obs = pd.DataFrame(index=[f"c{i}" for i in range(4)])
    obs["cell_type"] = pd.Categorical(["astrocyte"] * 4)
    obs["donor_id"] = pd.Categorical(["H-1"] * 4)
    obs["organism_ontology_term_id"] = pd.Categorical(["NCBITaxon:9606"] * 4)
    obs["tissue_ontology_term_id"] = pd.Categorical(["UBERON:0000955"] * 4)
    path = tmp_path / "cxg.h5ad"
    anndata.AnnData(np.ones((4, 3), dtype=np.float32), obs=obs).write_h5ad(path)
    done = analyse(path)
    assert done.results == [] and done.metadata is not None
    (person,) = done.metadata["wasAttributedTo"]
    assert person["species"] == {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_9606",
        "name": "Homo sapiens - Human",
    }
    (region,) = done.metadata["about"]
    assert region["identifier"] == "http://purl.obolibrary.org/obo/UBERON_0000955"
