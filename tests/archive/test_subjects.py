"""archive/subjects.py in-process: assets tied by subject and cell, by each rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.demo import finish_jobs
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.subjects import get_cell, get_subject, list_subjects
from neurodatashare.archive.users import create_user
from neurodatashare.demo import patchseq
from neurodatashare.errors import NDSError, NotFound

SWC_PLAIN = "1 1 0 0 0 5 -1\n2 3 10 0 0 1 1\n3 3 20 0 0 1 2\n"


def _load(archive: Archive, files: dict[str, Path], *, access: str = "open") -> tuple[str, object]:
    alice = create_user(archive, username="alice")
    ident = create_dataset(
        archive, user=alice, name="links", metadata={"name": "links"}, access=access
    )["identifier"]
    for path, source in files.items():
        ingest_file(archive, user=alice, dataset_id=ident, path=path, source=source)
    finish_jobs(archive)
    return ident, alice


def _files(tmp: Path) -> dict[str, Path]:
    """Two patched cells (NWB + SWC + h5ad), a model mapped by the table, and SWC files
    tied only by their names."""
    cells = patchseq.CELLS[:2]
    files: dict[str, Path] = {}
    for k, cell in enumerate(cells):
        nwb = patchseq.write_icephys(tmp / f"{cell.cell_id}.nwb", cell, k)
        files[f"sub-mouse03/sub-mouse03_obj-{cell.cell_id}_icephys.nwb"] = nwb
        swc = tmp / f"{cell.cell_id}.swc"
        swc.write_text(patchseq.swc_text(cell, k))
        files[f"sub-mouse03/morphology/{cell.cell_id}.swc"] = swc
    files["sub-mouse03/expression.h5ad"] = patchseq.write_h5ad(tmp / "x.h5ad")
    files["models/model.cell.nml"] = patchseq.write_neuroml(tmp / "model.cell.nml")
    plain = tmp / "plain.swc"
    plain.write_text(SWC_PLAIN)
    files["sub-m9/traced_n7.swc"] = plain  # subject from the folder, cell from the stem
    files["sub-m8_n8.swc"] = plain  # subject from the file-name prefix
    files["other/n9.swc"] = plain  # the table gives this one its subject and cell
    table = tmp / "links.tsv"
    table.write_text(
        "path\tsubject_id\tcell_id\n"
        "models/model.cell.nml\tmouse03\tcell01\n"
        "other/n9.swc\tm7\t\n"
        "sub-m8_n8.swc\tm6\tn6\n"
    )
    files["links.tsv"] = table
    return files


def test_links_by_every_rule(archive: Archive, tmp_path: Path) -> None:
    ident, _alice = _load(archive, _files(tmp_path))
    got = list_subjects(archive, dataset_id=ident, version="draft", user=None)
    assert [s["subject_id"] for s in got] == ["m6", "m7", "m9", "mouse03"]
    mouse = get_subject(archive, dataset_id=ident, version="draft", subject_id="mouse03", user=None)
    assert {"cell01", "cell02"} <= set(mouse["cell_ids"])
    assert set(mouse["formats"]) == {"nwb", "swc", "anndata", "neuroml"}
    nwb = mouse["formats"]["nwb"]["icephys"]
    assert len(nwb) == 2 and all(a["linked_by"] == "file" for a in nwb)
    assert mouse["formats"]["anndata"]["transcriptomics"][0]["cell_ids_complete"] is False

    cell = get_cell(archive, dataset_id=ident, version="draft", cell_id="cell01", user=None)
    assert cell["subject_id"] == "mouse03"
    assert set(cell["formats"]) == {"nwb", "swc", "anndata", "neuroml"}
    assert cell["formats"]["neuroml"]["model"][0]["linked_by"] == "table"
    (sweeps,) = cell["sweeps"]
    assert sweeps["series"][0] == "/acquisition/sweep_00" and len(sweeps["series"]) == 5

    # a cell beyond the summary's sample of obs names is found in the file itself
    unpatched = get_cell(archive, dataset_id=ident, version="draft", cell_id="ref0100", user=None)
    assert set(unpatched["formats"]) == {"anndata"} and unpatched["subject_id"] == "mouse03"

    # SWC names: the sub-<id>/ folder and the stem; the table overrides the file's own
    m9 = get_subject(archive, dataset_id=ident, version="draft", subject_id="m9", user=None)
    (traced,) = m9["formats"]["swc"]["morphology"]
    assert traced["linked_by"] == "path" and traced["cell_ids"] == ["traced_n7"]
    m6 = get_subject(archive, dataset_id=ident, version="draft", subject_id="m6", user=None)
    assert m6["formats"]["swc"]["morphology"][0]["cell_ids"] == ["n6"]
    m7 = get_subject(archive, dataset_id=ident, version="draft", subject_id="m7", user=None)
    assert m7["cell_ids"] == ["n9"]  # the table names no cell: the stem stays
    with pytest.raises(NotFound):  # the table moved sub-m8_n8.swc to m6
        get_subject(archive, dataset_id=ident, version="draft", subject_id="m8", user=None)


def test_unknown_and_hidden(archive: Archive, tmp_path: Path) -> None:
    plain = tmp_path / "plain.swc"
    plain.write_text(SWC_PLAIN)
    ident, alice = _load(archive, {"sub-m1/n1.swc": plain}, access="private")
    assert get_cell(archive, dataset_id=ident, version="draft", cell_id="n1", user=alice)
    with pytest.raises(NotFound, match="no cell 'nope'"):
        get_cell(archive, dataset_id=ident, version="draft", cell_id="nope", user=alice)
    with pytest.raises(NotFound, match="no subject 'nope'"):
        get_subject(archive, dataset_id=ident, version="draft", subject_id="nope", user=alice)
    bob = create_user(archive, username="bob")
    for who in (None, bob):
        with pytest.raises(NDSError) as hidden:
            get_cell(archive, dataset_id=ident, version="draft", cell_id="n1", user=who)
        with pytest.raises(NDSError) as missing:
            get_cell(archive, dataset_id="999999", version="draft", cell_id="n1", user=who)
        assert hidden.value.status_code == missing.value.status_code
        assert hidden.value.message.replace(ident, "X") == missing.value.message.replace(
            "999999", "X"
        )
