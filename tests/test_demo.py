"""The demo dataset: layout, determinism, content, and a clean NWB Inspector report."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neurodatashare.demo.simulate import (
    FS_RAW,
    N_CHANNELS,
    N_ROIS,
    N_UNITS,
    TROUGH_SAMPLE,
    UV_PER_BIT,
    simulate_session,
    simulate_trials,
)
from neurodatashare.demo.write import write_demo_dataset
from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks, imaging_chunks

SHORT_S = 6.0  # seconds per session of the shared demo (tests/conftest.py)

SEED = 0  # the session's demo (tests/conftest.py), written by `nds demo`
EXPECTED = [
    "sub-mouse01/sub-mouse01_ses-day1_behavior+ecephys+ophys.nwb",
    "sub-mouse01/sub-mouse01_ses-day2_behavior+ecephys+ophys.nwb",
    "sub-mouse02/sub-mouse02_ses-day1_behavior+ecephys+ophys.nwb",
    "sub-mouse02/sub-mouse02_ses-day2_behavior+ecephys+ophys.nwb",
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inspect(path: Path) -> list[Any]:
    from nwbinspector import inspect_nwbfile, load_config

    return list(inspect_nwbfile(nwbfile_path=path, config=load_config("dandi")))


@pytest.fixture
def short_demo(demo_dataset: tuple[Path, list[Path]]) -> Path:
    return demo_dataset[0]


def test_layout_is_dandi_style(short_demo: Path) -> None:
    found = sorted(str(p.relative_to(short_demo)) for p in short_demo.rglob("*.nwb"))
    assert found == EXPECTED
    assert not list(short_demo.rglob("*.partial*"))


def test_names_match_dandi_organize(short_demo: Path) -> None:
    from dandi import organize  # a test dependency: missing, this fails
    from dandi.metadata.nwb import get_metadata

    records = []
    for rel in EXPECTED:
        md = get_metadata(short_demo / rel)
        md["path"] = str(short_demo / rel)
        records.append(md)
    named = organize.create_unique_filenames_from_metadata(records)
    assert sorted(r["dandi_path"] for r in named) == EXPECTED


def test_same_seed_same_bytes_other_seed_other_data(short_demo: Path, tmp_path: Path) -> None:
    # `nds demo` wrote with 2 worker processes; write one file again in a new interpreter:
    # this one may have imported NWB extensions (ndx-sound, by the conversion tests), and
    # hdmf caches every loaded namespace's spec in each file it writes
    path = tmp_path / "again.nwb"
    script = (
        "import sys; from pathlib import Path;"
        "from neurodatashare.demo.subjects import DEMO_SUBJECTS;"
        "from neurodatashare.demo.write import write_demo_session;"
        "write_demo_session(Path(sys.argv[1]), subject=DEMO_SUBJECTS[1], session_index=1,"
        f" seed={SEED}, duration_s={SHORT_S}, subject_index=1)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    assert _sha(path) == _sha(short_demo / EXPECTED[3])
    a = simulate_session(SEED, (0, 0), 5.0)
    b = simulate_session(SEED + 1, (0, 0), 5.0)
    assert not np.array_equal(a.ephys.block_counts(0, 1000), b.ephys.block_counts(0, 1000))


def test_signal_does_not_depend_on_how_it_is_read() -> None:
    s = simulate_session(SEED, (1, 1), 5.0)
    whole = s.ephys.block_counts(0, 50_000)
    parts = np.concatenate(
        [s.ephys.block_counts(a, b) for a, b in ((0, 7), (7, 16_400), (16_400, 50_000))]
    )
    assert np.array_equal(whole, parts)
    assert np.array_equal(
        s.imaging.frames(0, 100),
        np.concatenate([s.imaging.frames(0, 33), s.imaging.frames(33, 100)]),
    )


def test_content(short_demo: Path) -> None:
    from hdmf.common import DynamicTableRegion  # noqa: F401  (registers types)
    from pynwb import NWBHDF5IO

    n = round(SHORT_S * FS_RAW)
    with NWBHDF5IO(str(short_demo / EXPECTED[0]), "r") as io:
        f = io.read()
        # session and subject
        assert f.session_start_time.tzinfo is not None
        assert f.session_id == "day1"
        assert f.subject.subject_id == "mouse01"
        assert f.subject.species == "Mus musculus"
        assert f.subject.sex == "F"
        assert f.subject.age == "P90D"
        assert f.subject.genotype and f.subject.strain == "C57BL/6J"
        assert f.institution and f.lab and f.experimenter and "synthetic data" in f.keywords
        assert set(f.devices) == {"Probe", "Microscope"}
        # raw ephys: int16 counts, explicit chunk layout, compression
        raw = f.acquisition["ElectricalSeries"]
        assert raw.data.shape == (n, N_CHANNELS) and raw.data.dtype == np.int16
        assert raw.rate == FS_RAW and raw.conversion == pytest.approx(UV_PER_BIT * 1e-6)
        assert raw.data.chunks == ephys_chunks(n, N_CHANNELS, 2) == (16384, 64)
        assert raw.data.compression == COMPRESSION["compression"] and raw.data.shuffle
        assert len(f.electrodes) == N_CHANNELS
        assert set(f.electrodes["location"][:]) == {"VISp", "CA1", "DG"}
        assert len(f.electrode_groups) == 2
        lfp = f.processing["ecephys"]["LFP"]["LFP"]
        assert lfp.rate == 1000.0 and lfp.data.shape == (round(SHORT_S * 1000), N_CHANNELS)
        # units: spike times in range, waveforms, and the spikes really are in the raw data
        units = f.units
        assert len(units) == N_UNITS
        assert units["waveform_mean"].data.shape[:2] == (N_UNITS, 64)
        assert set(units["quality"][:]) <= {"good", "mua"}
        counts = [len(units.get_unit_spike_times(i)) for i in range(N_UNITS)]
        best = int(np.argmax(np.abs(units["waveform_mean"].data[:]).max(axis=(1, 2))))
        times = units.get_unit_spike_times(best)
        assert sum(counts) > N_UNITS and times.min() >= 0 and times.max() < SHORT_S
        peak = int(units["peak_channel"][best])
        samples = np.round(np.asarray(times) * FS_RAW).astype(int)
        samples = samples[(samples > 100) & (samples < n - 100)][:50]
        snippets = np.stack([raw.data[s - TROUGH_SAMPLE : s + 44, peak] for s in samples])
        mean = snippets.mean(axis=0) * UV_PER_BIT
        chans = list(units["electrodes"][best].index)
        template = units["waveform_mean"].data[best][:, chans.index(peak)] * 1e6
        assert np.corrcoef(mean, template)[0, 1] > 0.8
        # imaging
        tps = f.acquisition["TwoPhotonSeries"]
        frames = round(SHORT_S * 30)
        assert tps.data.shape == (frames, 128, 128) and tps.rate == 30.0
        assert tps.data.chunks == imaging_chunks(frames, (128, 128), 2)
        ps = f.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        assert len(ps) == N_ROIS and ps["image_mask"].data.shape == (N_ROIS, 128, 128)
        for name in ("Fluorescence", "DfOverF"):
            rrs = f.processing["ophys"][name]["RoiResponseSeries"]
            assert rrs.data.shape == (frames, N_ROIS)
        assert f.imaging_planes["ImagingPlane"].indicator == "GCaMP6s"
        # behaviour and trials
        beh = f.processing["behavior"]
        pos = beh["Position"]["position"]
        assert pos.data.shape == (round(SHORT_S * 50), 2)
        assert pos.data[:].min() >= 0 and pos.data[:].max() <= 1
        assert beh["running_speed"].unit == "m/s"
        assert beh["licks"].timestamps.shape[0] >= 1
        trials = f.trials.to_dataframe()
        assert len(trials) == len(simulate_trials(SEED, (0, 0), SHORT_S)) >= 1
        for col in ("stimulus_orientation", "stimulus_contrast", "correct", "go"):
            assert col in trials.columns
        assert set(trials["stimulus_orientation"]) <= {0.0, 45.0, 90.0, 135.0}


def test_passes_inspector_and_schema(short_demo: Path) -> None:
    from pynwb import NWBHDF5IO, validate

    for rel in EXPECTED:
        path = short_demo / rel
        messages = _inspect(path)
        serious = [
            m for m in messages if m.importance.name in ("CRITICAL", "BEST_PRACTICE_VIOLATION")
        ]
        assert not serious, [(m.check_function_name, m.message) for m in serious]
        with NWBHDF5IO(str(path), "r") as io:
            assert validate(io=io) == []


def test_full_size_demo_writes_full_size_recordings(tmp_path: Path) -> None:
    """The quick start's demo at full size (its time is in bench/demo_write.py)."""
    paths = write_demo_dataset(tmp_path, seed=0, jobs=2)
    assert len(paths) == 4
    import h5py

    for path in paths:
        with h5py.File(path, "r") as f:
            assert f["acquisition/ElectricalSeries/data"].shape == (60 * 30_000, 64)
            assert f["acquisition/TwoPhotonSeries/data"].shape == (1800, 128, 128)
        critical = [m for m in _inspect(path) if m.importance.name == "CRITICAL"]
        assert not critical, [(m.check_function_name, m.message) for m in critical]


# -- the Patch-seq dataset (demo/patchseq.py) ---------------------------------------------


def test_patchseq_dataset_is_linked_and_deterministic(
    demo_dataset: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    import anndata
    from pynwb import NWBHDF5IO

    from neurodatashare.demo import patchseq

    out = demo_dataset[0].with_name(demo_dataset[0].name + "-patchseq")  # written by `nds demo`
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(names) == 12 and "links.tsv" in names
    cell = patchseq.CELLS[0]
    with NWBHDF5IO(str(out / f"sub-mouse03/sub-mouse03_obj-{cell.cell_id}_icephys.nwb")) as io:
        f = io.read()
        assert f.subject.subject_id == "mouse03"
        assert [e.cell_id for e in f.icephys_electrodes.values()] == [cell.cell_id]
        sweeps = [f.acquisition[f"sweep_{k:02d}"].data[:] for k in range(5)]
    spikes = [int((np.diff((s > 0).astype(int)) == 1).sum()) for s in sweeps]
    assert spikes[0] == 0 and spikes[-1] > spikes[2] > 0  # more current, more spikes
    adata = anndata.read_h5ad(out / patchseq.relpaths()["h5ad"])
    assert list(adata.obs_names[:4]) == [c.cell_id for c in patchseq.CELLS]
    assert {"Gad1", "Sst", "Pvalb", "Vip", "Slc17a7"} <= set(adata.var_names)
    row = np.asarray(adata[cell.cell_id].X.todense()).ravel()
    assert adata.var_names[int(row.argmax())] in cell.markers
    assert adata.obsm["X_umap"].shape == (adata.n_obs, 2)
    swc = (out / f"sub-mouse03/morphology/{cell.cell_id}.swc").read_text()
    assert f"# cell_id {cell.cell_id}" in swc
    # the model names the recording of its cell (bqmodel:isDerivedFrom, a relative path)
    from neurodatashare.formats.neuroml import analyse

    names = patchseq.relpaths()
    model = analyse((out / names["neuroml"]).read_bytes(), path=names["neuroml"])
    assert model.results == [] and model.metadata is not None
    (ref,) = model.metadata["nds:builtFrom"]
    assert ref["kind"] == "path" and ref["path"] == names["model_source"]
    assert ref["element"] == patchseq.MODEL_CELL_ID
    again = patchseq.write_patchseq_dataset(tmp_path / "again")
    for path in again:
        if path.suffix in (".swc", ".tsv", ".nml"):
            assert path.read_bytes() == (out / path.relative_to(tmp_path / "again")).read_bytes()
