"""extract_asset_metadata / summarize_assets: dandischema shape, counts, DANDI parity."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from dandischema import models

from neurodatashare.metadata.vocabulary import match_sex, match_species, parse_age
from neurodatashare.nwb.extract import (
    EXTRACTOR_VERSION,
    duration_between,
    extract_asset_metadata,
    summarize_assets,
)
from neurodatashare.nwb.read import NWBReadError
from neurodatashare.testing import nwbfiles as nf

N_CHANNELS, N_UNITS, N_ROIS = 12, 7, 9
ETAG = "0" * 32 + "-1"


@pytest.fixture(scope="module")
def ephys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("x") / "sub-mouse001_ses-session1_ecephys.nwb"
    return nf.make_ephys_file(
        path, n_channels=N_CHANNELS, duration_s=2.0, n_units=N_UNITS, locations=("CA1", "VISp")
    )


@pytest.fixture(scope="module")
def ophys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("x") / "sub-mouse002_ophys.nwb"
    nwbfile = nf.make_nwbfile(
        identifier="o", subject=nf.make_subject(subject_id="mouse002", sex="M", age="P12W")
    )
    nf.add_ophys(nwbfile, n_frames=60, n_rois=N_ROIS, rate=30.0, location="VISp")
    nf.add_behavior(nwbfile, duration_s=2.0, rate=50.0)
    return nf.write_nwbfile(nwbfile, path)


def _as_bare_asset(meta: dict[str, Any], path: str) -> models.BareAsset:
    fields = {k: v for k, v in meta.items() if not k.startswith("nds:")}
    return models.BareAsset(**fields, path=path, digest={"dandi:dandi-etag": ETAG})


def test_participant_and_session(ephys: Path) -> None:
    meta = extract_asset_metadata(ephys)
    (p,) = meta["wasAttributedTo"]
    assert p["schemaKey"] == "Participant" and p["identifier"] == "mouse001"
    assert p["species"] == {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_10090",
        "name": "Mus musculus - House mouse",
    }
    assert p["sex"]["identifier"] == "http://purl.obolibrary.org/obo/PATO_0000383"
    assert p["sex"]["name"] == "Female"
    assert p["age"]["value"] == "P90D" and p["age"]["unitText"] == "ISO-8601 duration"
    assert p["age"]["valueReference"]["value"] == "dandi:BirthReference"
    assert p["genotype"] == "wild type" and p["strain"]["name"] == "C57BL/6J"
    (s,) = meta["wasGeneratedBy"]
    assert (s["schemaKey"], s["identifier"], s["name"]) == ("Session", "session1", "session1")
    assert s["startDate"] == "2024-03-01T10:00:00+01:00"
    assert s["endDate"] == "2024-03-01T10:00:02+01:00"  # 2 s of recording
    orgs = [a["name"] for a in s["wasAssociatedWith"]]
    assert orgs == ["Example University", "Example Lab"]
    assert meta["encodingFormat"] == "application/x-nwb"
    assert meta["contentSize"] == ephys.stat().st_size
    assert EXTRACTOR_VERSION


def test_ephys_summary_counts(ephys: Path) -> None:
    summary = extract_asset_metadata(ephys)["nds:summary"]
    assert summary["electrode_count"] == N_CHANNELS
    assert summary["brain_locations"] == ["CA1", "VISp"]
    assert summary["unit_count"] == N_UNITS
    with h5py.File(ephys) as f:
        assert summary["spike_count"] == len(f["units/spike_times"])
    assert summary["roi_count"] == 0 and summary["imaging_planes"] == []
    assert summary["duration_s"] == pytest.approx(2.0)
    assert summary["sampling_rates"] == {"ElectricalSeries": 30_000.0}
    assert summary["neurodata_types"]["ElectrodeGroup"] == 2
    assert summary["neurodata_types"]["ElectricalSeries"] == 1
    assert "NWBFile" not in summary["neurodata_types"]


def test_ophys_summary_counts(ophys: Path) -> None:
    meta = extract_asset_metadata(ophys)
    summary = meta["nds:summary"]
    assert summary["roi_count"] == N_ROIS
    assert summary["imaging_planes"] == ["ImagingPlane"]
    assert summary["brain_locations"] == ["VISp"]
    assert summary["electrode_count"] == 0 and summary["unit_count"] == 0
    assert summary["sampling_rates"] == {
        "RoiResponseSeries": 30.0,
        "TwoPhotonSeries": 30.0,
        "position": 50.0,
    }
    assert summary["duration_s"] == pytest.approx(2.0)
    approaches = {a["name"] for a in meta["approach"]}
    assert approaches == {"microscopy approach; cell population imaging", "behavioral approach"}
    (p,) = meta["wasAttributedTo"]
    assert p["sex"]["name"] == "Male" and p["age"]["value"] == "P12W"


@pytest.mark.parametrize("fixture", ["ephys", "ophys"])
def test_output_is_a_valid_bare_asset(request: pytest.FixtureRequest, fixture: str) -> None:
    path: Path = request.getfixturevalue(fixture)
    asset = _as_bare_asset(extract_asset_metadata(path), path.name)
    assert asset.encodingFormat == "application/x-nwb"


def test_output_depends_only_on_bytes(ephys: Path, tmp_path: Path) -> None:
    blob = tmp_path / "blob-without-extension"
    shutil.copy(ephys, blob)
    assert extract_asset_metadata(ephys) == extract_asset_metadata(blob)


@pytest.mark.parametrize("fixture", ["ephys", "ophys"])
def test_same_shape_as_dandi_nwb2asset(request: pytest.FixtureRequest, fixture: str) -> None:
    import dandi.metadata.nwb as dandi_nwb  # a test dependency: missing, this fails

    path: Path = request.getfixturevalue(fixture)
    ours = extract_asset_metadata(path)
    theirs = dandi_nwb.nwb2asset(path).model_dump(mode="json", exclude_none=True)

    assert ours["wasAttributedTo"] == theirs["wasAttributedTo"]
    for key in ("approach", "measurementTechnique", "variableMeasured"):
        assert sorted(map(str, ours[key])) == sorted(map(str, theirs[key])), key
    (session,) = [a for a in theirs["wasGeneratedBy"] if a["schemaKey"] == "Session"]
    ours_session = {k: v for k, v in ours["wasGeneratedBy"][0].items() if k != "wasAssociatedWith"}
    for key in ("identifier", "name", "description"):
        assert ours_session[key] == session[key]
    for key in ("startDate", "endDate"):
        assert datetime.fromisoformat(ours_session[key].replace("Z", "+00:00")) == (
            datetime.fromisoformat(session[key].replace("Z", "+00:00"))
        )
    assert ours.get("keywords") == theirs.get("keywords")


def test_reads_only_small_parts_of_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = nf.make_ephys_file(
        tmp_path / "big.nwb", n_channels=16, duration_s=4.0, n_units=50, compression=None
    )
    read_bytes = 0
    real = h5py.Dataset.__getitem__

    def counting(self: h5py.Dataset, key: Any) -> Any:
        nonlocal read_bytes
        out = real(self, key)
        read_bytes += np.asarray(out).nbytes
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    extract_asset_metadata(path)
    recording_bytes = 16 * 4 * 30_000 * 2
    assert read_bytes < recording_bytes / 100, read_bytes


def test_date_of_birth_gives_age_from_session_start(tmp_path: Path) -> None:
    dob = datetime(2023, 12, 1, 10, 0, tzinfo=nf.SESSION_START.tzinfo)
    subject = nf.make_subject(age=None, date_of_birth=dob)
    path = nf.write_nwbfile(nf.make_nwbfile(subject=subject), tmp_path / "d.nwb")
    (p,) = extract_asset_metadata(path)["wasAttributedTo"]
    assert p["age"]["value"] == "P91D"


def test_missing_or_bad_subject_values_are_left_out(tmp_path: Path) -> None:
    subject = nf.make_subject(species="banana", sex="X", age="young adult")
    path = nf.write_nwbfile(nf.make_nwbfile(subject=subject), tmp_path / "odd.nwb")
    meta = extract_asset_metadata(path)
    (p,) = meta["wasAttributedTo"]
    assert "species" not in p and "sex" not in p and "age" not in p
    _as_bare_asset(meta, "odd.nwb")

    path = nf.write_nwbfile(nf.make_nwbfile(subject=None), tmp_path / "none.nwb")
    meta = extract_asset_metadata(path)
    assert "wasAttributedTo" not in meta
    _as_bare_asset(meta, "none.nwb")


def test_unreadable_file_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NWBReadError) as info:
        extract_asset_metadata(nf.write_text_as_nwb(tmp_path / "t.nwb"))
    assert info.value.check == "not_hdf5"


# ----------------------------------------------------------------- vocabularies


@pytest.mark.parametrize(
    "value",
    [
        "Mus musculus",
        "mouse",
        "MOUSE",
        "Rattus norvegicus",
        "rat",
        "Homo sapiens",
        "human",
        "Macaca mulatta",
        "rhesus",
        "zebrafish",
        "Caenorhabditis elegans",
        "http://purl.obolibrary.org/obo/NCBITaxon_10090",
    ],
)
def test_species_match_dandi(value: str) -> None:
    from dandi.metadata import util

    theirs = util.extract_species({"species": value})
    ours = match_species(value)
    assert ours is not None
    assert (ours.identifier, ours.name) == (str(theirs.identifier), theirs.name)


def test_species_forms() -> None:
    assert match_species("Mus musculus").exact  # type: ignore[union-attr]
    mouse = match_species("mouse")
    assert mouse is not None and not mouse.exact and mouse.suggestion == "Mus musculus"
    cat = match_species("Felis catus")  # known to the archive, though not to dandi-cli
    assert cat is not None and cat.exact and cat.identifier and cat.identifier.endswith("_9685")
    other = match_species("Peromyscus californicus")
    assert other is not None and other.exact and other.identifier is None
    taxon = match_species("NCBITaxon:10090")
    assert taxon is not None and not taxon.exact and taxon.suggestion == "Mus musculus"
    assert match_species("banana") is None and match_species("") is None


@pytest.mark.parametrize("value", ["M", "f", "male", "Female", "U", "unknown", "O", "other"])
def test_sex_matches_dandi(value: str) -> None:
    from dandi.metadata import util

    theirs = util.extract_sex({"sex": value})
    their_id = str(theirs.identifier) if theirs.identifier else None
    assert match_sex(value) == (their_id, theirs.name)


def test_sex_c_elegans_and_garbage() -> None:
    assert match_sex("XX") == ("http://purl.obolibrary.org/obo/PATO_0001340", "Hermaphrodite")
    assert match_sex("banana") is None and match_sex(None) is None


@pytest.mark.parametrize(
    "value",
    [
        "P90D",
        "P2Y3M",
        "P1DT12H",
        "P2M/P3M",
        "P90D/",
        "/P3D",
        "90 days",
        "12 weeks",
        "2 years 3 months",
        "3 months, 2 weeks",
        "1.5 days",
        "gestational week 15",
    ],
)
def test_age_matches_dandi(value: str) -> None:
    from dandi.metadata import util

    their_value, their_ref = util.parse_age(value)
    ours = parse_age(value)
    assert (ours.value, ours.reference) == (their_value, their_ref)


@pytest.mark.parametrize("value", ["young adult", "", "P3M/P2M", "P1.5Y2M", "ten days", "P"])
def test_bad_ages_are_rejected(value: str) -> None:
    with pytest.raises(ValueError):
        parse_age(value)


def test_age_exactness() -> None:
    assert parse_age("P90D").exact and parse_age("P2M/P3M").exact
    assert not parse_age("90 days").exact and not parse_age("p90d").exact


def test_duration_between() -> None:
    a = datetime(2024, 1, 1)
    assert duration_between(a, datetime(2024, 1, 31)) == "P30D"
    assert duration_between(a, datetime(2024, 1, 1, 0, 0, 30)) == "PT30S"
    assert duration_between(a, a) == "P0D"


# ----------------------------------------------------------------- assets summary


def test_summarize_assets_is_a_valid_assets_summary(ephys: Path, ophys: Path) -> None:
    assets = [extract_asset_metadata(ephys), extract_asset_metadata(ophys)]
    sizes = [ephys.stat().st_size, ophys.stat().st_size]
    summary = summarize_assets(assets, sizes=sizes)
    model = models.AssetsSummary(**summary)
    assert summary["schemaKey"] == "AssetsSummary"
    assert model.numberOfBytes == sum(sizes) and model.numberOfFiles == 2
    assert model.numberOfSubjects == 2  # mouse001, mouse002
    assert [s.name for s in model.species or []] == ["Mus musculus - House mouse"]
    assert {a.name for a in model.approach or []} == {
        "electrophysiological approach",
        "microscopy approach; cell population imaging",
        "behavioral approach",
    }
    assert "Units" in (model.variableMeasured or [])
    assert "PlaneSegmentation" in (model.variableMeasured or [])
    assert [d.name for d in model.dataStandard or []] == ["Neurodata Without Borders (NWB)"]


def test_summarize_assets_edge_cases(ephys: Path) -> None:
    empty = summarize_assets([], sizes=[])
    assert models.AssetsSummary(**empty).numberOfFiles == 0
    with pytest.raises(ValueError):
        summarize_assets([extract_asset_metadata(ephys)], sizes=[])
    # The path is the archive's, when it has one: DANDI also counts sub-<id> from it.
    meta = extract_asset_metadata(ephys)
    del meta["wasAttributedTo"]
    assert "numberOfSubjects" not in summarize_assets([meta], sizes=[10])
    meta["path"] = "sub-other/sub-other_ecephys.nwb"
    assert summarize_assets([meta], sizes=[10])["numberOfSubjects"] == 1


def test_icephys_cells_and_their_sweeps(tmp_path: Path) -> None:
    from neurodatashare.demo import patchseq
    from neurodatashare.testing.corpus import write_icephys

    cell = patchseq.CELLS[1]
    path = patchseq.write_icephys(tmp_path / "cell.nwb", cell, 1)
    summary = extract_asset_metadata(path)["nds:summary"]
    assert summary["cell_ids"] == [cell.cell_id]
    assert summary["cell_sweeps"][cell.cell_id] == [f"/acquisition/sweep_{k:02d}" for k in range(5)]
    # an electrode without a cell_id names no cell
    plain = extract_asset_metadata(write_icephys(tmp_path / "plain.nwb"))["nds:summary"]
    assert "cell_ids" not in plain
