"""The demo's second dataset, Patch-seq style: one mouse, four cells, each recorded in
whole-cell current clamp (NWB), reconstructed (SWC) and sequenced (one row of an h5ad),
one of them modelled (NeuroML), plus a two-photon session of the same mouse (the main
demo's writer, demo/write.py). Everything is tied by subject and cell id; the NeuroML
model's own cell id differs, so `links.tsv` maps it (archive/subjects.py has the rules),
and the model names the recording it was built from (archive/model_links.py).

Seeded: the same seed gives the same data values.
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from neurodatashare.demo.subjects import TZ, DemoSubject, demo_relpath

SUBJECT = DemoSubject(
    subject_id="mouse03",
    sex="F",
    age_days=56,
    genotype="Pvalb-IRES-Cre/wt;Ai14/wt",
    strain="C57BL/6J",
    weight_kg=0.021,
    first_session=datetime(2024, 5, 6, 9, 30, tzinfo=TZ),
)
NAMESPACE = uuid.UUID("3f0b8f52-2f7e-4a51-9a55-6c1d2b6f7e01")
RATE = 20_000.0  # Hz
SWEEP_S = 1.0
STEPS_PA = (-50.0, 50.0, 100.0, 150.0, 200.0)
REFERENCE_CELLS = 196  # unpatched cells of the same mouse in the h5ad, for the embedding


@dataclass(frozen=True)
class Cell:
    cell_id: str
    cell_type: str
    markers: tuple[str, ...]
    rheobase_pa: float
    max_rate_hz: float  # firing at 200 pA
    dendrites: int


CELLS: tuple[Cell, ...] = (
    Cell("cell01", "Pvalb", ("Pvalb", "Gad1", "Gad2", "Kcnc1", "Tac1"), 90.0, 120.0, 6),
    Cell("cell02", "Sst", ("Sst", "Gad1", "Gad2", "Chodl", "Calb2"), 50.0, 45.0, 5),
    Cell("cell03", "Vip", ("Vip", "Gad1", "Gad2", "Cck", "Calb2"), 40.0, 35.0, 4),
    Cell("cell04", "L2/3 IT", ("Slc17a7", "Cux2", "Satb2", "Rorb", "Nrgn"), 70.0, 25.0, 7),
)
MODEL_CELL_ID = "cell01_hh"  # the NeuroML model's id; links.tsv ties it to cell01

# A panel of 203 mouse genes: cortical class and type markers, housekeeping, glia.
_PANEL = """
Gad1 Gad2 Slc32a1 Slc17a7 Slc17a6 Sst Pvalb Vip Lamp5 Sncg Chodl Calb1 Calb2 Cck Npy
Tac1 Tac2 Crh Cort Nos1 Kcnc1 Kcnc2 Scn1a Cux2 Satb2 Rorb Fezf2 Bcl11b Tle4 Foxp2 Nrgn
Otof Rspo1 Deptor Fam84b Sulf2 Syt6 Ctgf Nxph4 Nr4a2 Ccn2 Htr3a Reln Ndnf Cnr1 Pdyn
Penk Cplx3 Th Chat Nts Grp Cbln1 Cbln2 Cbln4 Pcp4 Rasgrf2 Stard8 Lhx6 Lhx8 Sox6 Adarb2
Prox1 Nkx2-1 Dlx1 Dlx2 Dlx5 Dlx6 Arx Maf Mafb Etv1 Rbp4 Trh Myl4 Crym Whrn Necab1
Snap25 Syt1 Stmn2 Tubb3 Rbfox3 Eno2 Map2 Syp Sv2a Camk2a Grin1 Grin2a Grin2b Gria1
Gria2 Gabra1 Gabrb2 Gabrg2 Kcna1 Kcnq2 Hcn1 Cacna1a Scn8a Nefl Nefm Nefh Vamp2 Stxbp1
Aqp4 Gfap Aldh1l1 Slc1a2 Slc1a3 Olig1 Olig2 Pdgfra Sox10 Mbp Plp1 Mog Mobp Cx3cr1
P2ry12 Tmem119 Csf1r Cldn5 Flt1 Pecam1 Vtn Acta2 Pdgfrb Rgs5 Actb Gapdh Tubb5 B2m
Rpl13a Rps18 Hprt Pgk1 Tbp Ppia Ubc Ywhaz Eef1a1 Malat1 Meg3 Xist Tsix Fos Jun Egr1 Arc
Npas4 Homer1 Bdnf Ntrk2 Vgf Scg2 Chga Chgb Nrxn1 Nrxn3 Nlgn1 Nrg1 Erbb4 Kit Sema3e
Cdh13 Cdh9 Pde11a Tshz2 Nrp2 Col25a1 Pdzrn3 Wfs1 Cartpt Igfbp4 Igfbp5 Lypd1 Cpne7 Rprm
Hs3st4 Ly6g6e Pou3f1 Pou3f2 Plcxd2 Tcerg1l Sema5a Ptprk Tmem215 Dcn Car3 Nnat Ptn
Sparcl1 Apoe Clu Cst3 Mt1 Mt3 Ckb Atp1a2 Atp1b1 Glul
"""
GENES: tuple[str, ...] = tuple(_PANEL.split())


def _rng(seed: int, stream: int, k: int) -> np.random.Generator:
    """One independent stream per part and cell (73 marks this dataset's streams)."""
    return np.random.default_rng([seed, 73, stream, k])


def _nwbfile(cell: Cell, k: int, seed: int) -> Any:
    from pynwb import NWBFile
    from pynwb.file import Subject

    start = SUBJECT.first_session + timedelta(minutes=35 * k)
    return NWBFile(
        session_description=f"Synthetic Patch-seq recording of {cell.cell_id} ({cell.cell_type}), "
        "whole-cell current clamp in an acute slice of VISp (simulated by neurodatashare).",
        identifier=str(uuid.uuid5(NAMESPACE, f"{seed}/{cell.cell_id}")),
        session_start_time=start,
        file_create_date=[start + timedelta(hours=3)],
        session_id=f"slice1-{cell.cell_id}",
        experimenter=["Doe, Jane"],
        institution="Neurodatashare Demo Institute",
        lab="Synthetic Cell Types Lab",
        keywords=["synthetic data", "demo", "Patch-seq", "intracellular electrophysiology"],
        subject=Subject(
            subject_id=SUBJECT.subject_id,
            species="Mus musculus",
            sex=SUBJECT.sex,
            age=f"P{SUBJECT.age_days}D",
            genotype=SUBJECT.genotype,
            strain=SUBJECT.strain,
            description="Simulated adult mouse; acute coronal slices of visual cortex.",
        ),
    )


def sweep_voltage(cell: Cell, step_pa: float, rng: np.random.Generator) -> np.ndarray:
    """A 1 s sweep (volts): rest, a 600 ms current step from 0.2 s, spikes above rheobase
    at a rate that grows with the current (a leaky membrane with a reset)."""
    n = int(RATE * SWEEP_S)
    t = np.arange(n) / RATE
    on = (t >= 0.2) & (t < 0.8)
    v = np.full(n, -0.070)
    tau, r_in = 0.015, 0.15e9  # s, ohm
    target = -0.070 + r_in * step_pa * 1e-12 * on
    dt = 1 / RATE
    for i in range(1, n):
        v[i] = v[i - 1] + (target[i] - v[i - 1]) * dt / tau
    if step_pa > cell.rheobase_pa:
        rate = cell.max_rate_hz * min(1.0, (step_pa - cell.rheobase_pa) / (200 - cell.rheobase_pa))
        isi = 1 / max(rate, 2.0)
        spike_t = np.arange(0.2 + 0.01, 0.8, isi)
        spike_t = spike_t + rng.normal(0, isi * 0.03, spike_t.size)
        shape = np.exp(-np.arange(40) / 8.0)
        for s_t in spike_t:
            i = int(s_t * RATE)
            if 0 <= i < n - 40:
                v[i : i + 40] += 0.100 * shape - 0.012 * (1 - shape)
    return (v + rng.normal(0, 0.0003, n)).astype(np.float32)


def write_icephys(path: Path, cell: Cell, k: int, *, seed: int = 0) -> Path:
    """One cell's current-clamp sweeps, one per step, in the icephys tables."""
    from pynwb import NWBHDF5IO
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    rng = _rng(seed, 1, k)
    nwbfile = _nwbfile(cell, k, seed)
    device = nwbfile.create_device(name="Amplifier", description="Simulated patch amplifier.")
    electrode = nwbfile.create_icephys_electrode(
        name="electrode0",
        description="Borosilicate pipette, 4-6 MOhm, K-gluconate internal.",
        device=device,
        location="VISp",
        cell_id=cell.cell_id,
    )
    n = int(RATE * SWEEP_S)
    for sweep, step in enumerate(STEPS_PA):
        current = np.zeros(n, dtype=np.float32)
        current[int(0.2 * RATE) : int(0.8 * RATE)] = step * 1e-12
        stimulus = CurrentClampStimulusSeries(
            name=f"stimulus_{sweep:02d}",
            data=current,
            starting_time=sweep * 2.0,
            rate=RATE,
            electrode=electrode,
            gain=1.0,
            sweep_number=np.uint64(sweep),
        )
        response = CurrentClampSeries(
            name=f"sweep_{sweep:02d}",
            description=f"Response to a {step:+.0f} pA step.",
            data=sweep_voltage(cell, step, rng),
            starting_time=sweep * 2.0,
            rate=RATE,
            electrode=electrode,
            gain=1.0,
            sweep_number=np.uint64(sweep),
        )
        nwbfile.add_stimulus(stimulus)
        nwbfile.add_acquisition(response)
        nwbfile.add_intracellular_recording(
            electrode=electrode, stimulus=stimulus, response=response
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def swc_text(cell: Cell, k: int, *, seed: int = 0) -> str:
    """A reconstruction: a three-point soma, branching dendrites and an axon (µm)."""
    rng = _rng(seed, 2, k)
    rows: list[tuple[Any, ...]] = [
        (1, 1, 0.0, 0.0, 0.0, 6.0, -1),
        (2, 1, 0.0, -6.0, 0.0, 6.0, 1),
        (3, 1, 0.0, 6.0, 0.0, 6.0, 1),
    ]

    def grow(parent: int, kind: int, xyz: np.ndarray, heading: np.ndarray, depth: int) -> None:
        point = xyz
        for _ in range(int(rng.integers(6, 12))):
            heading = heading + rng.normal(0, 0.25, 3)
            heading = heading / np.linalg.norm(heading)
            point = point + heading * rng.uniform(6, 12)
            radius = max(0.3, (1.2 if kind != 2 else 0.5) - 0.2 * depth)
            rows.append((len(rows) + 1, kind, *map(float, np.round(point, 2)), radius, parent))
            parent = len(rows)
        if depth < 3:
            for turn in (-0.6, 0.6):
                fork = heading + np.array([turn, 0.0, 0.2 * turn])
                grow(parent, kind, point, fork / np.linalg.norm(fork), depth + 1)

    for d in range(cell.dendrites):
        angle = 2 * np.pi * d / cell.dendrites
        heading = np.array([np.cos(angle), np.sin(angle), 0.1])
        kind = 4 if cell.cell_type == "L2/3 IT" and d == 0 else 3
        grow(1, kind, heading * 6, heading, 0)
    grow(1, 2, np.array([0.0, -6.0, 0.0]), np.array([0.0, -1.0, 0.0]), 1)
    header = (
        f"# creature Mus musculus\n# region primary visual cortex\n# cell_id {cell.cell_id}\n"
        f"# subject_id {SUBJECT.subject_id}\n# class {cell.cell_type}\n"
    )
    return header + "".join(f"{i} {t} {x} {y} {z} {r:.2f} {p}\n" for i, t, x, y, z, r, p in rows)


def write_h5ad(path: Path, *, seed: int = 0) -> Path:
    """The four patched cells and unpatched cells of the same mouse: counts of 203 genes,
    obs columns for cell type, donor, region and species, UMAP and PCA embeddings."""
    import anndata
    import pandas as pd
    import scipy.sparse

    rng = _rng(seed, 3, 0)
    types = [c.cell_type for c in CELLS]
    ref_types = list(rng.choice(types, REFERENCE_CELLS))
    all_types = types + ref_types
    names = [c.cell_id for c in CELLS] + [f"ref{i:04d}" for i in range(REFERENCE_CELLS)]
    markers = {c.cell_type: c.markers for c in CELLS}
    base = rng.gamma(0.6, 1.5, len(GENES))
    for cell in CELLS:  # markers are off outside their type
        base[[GENES.index(g) for g in cell.markers]] = 0.1
    means = np.tile(base, (len(names), 1))
    for row, cell_type in enumerate(all_types):
        for rank, gene in enumerate(markers[cell_type]):
            means[row, GENES.index(gene)] = 60.0 / (1 + rank)
    counts = rng.poisson(means).astype(np.float32)
    centres = {t: rng.normal(0, 6, 2) for t in types}
    umap = np.array([centres[t] + rng.normal(0, 1, 2) for t in all_types], dtype=np.float32)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical(all_types),
            "donor_id": pd.Categorical([SUBJECT.subject_id] * len(names)),
            "brain_region": pd.Categorical(["VISp"] * len(names)),
            "species": pd.Categorical(["Mus musculus"] * len(names)),
            "patched": [True] * len(CELLS) + [False] * REFERENCE_CELLS,
        },
        index=names,
    )
    adata = anndata.AnnData(
        X=scipy.sparse.csr_matrix(counts), obs=obs, var=pd.DataFrame(index=list(GENES))
    )
    adata.obsm["X_umap"] = umap
    adata.obsm["X_pca"] = rng.normal(0, 1, (len(names), 10)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    adata.write_h5ad(path)
    return path


def write_neuroml(path: Path, *, source: str | None = None) -> Path:
    """A two-compartment Hodgkin-Huxley style model of cell01 (a fast-spiking cell).
    `source` (a path relative to the model, or a URL) is the recording it was built from,
    named in an RDF annotation (`bqmodel:isDerivedFrom`) as pyNeuroML writes one."""
    from neuroml.utils import component_factory
    from neuroml.writers import NeuroMLWriter

    from neurodatashare.formats.neuroml_links import annotate

    doc = component_factory("NeuroMLDocument", id="cell01_model")
    doc.add("IonChannelHH", id="pas", conductance="10pS")
    cell = doc.add("Cell", id=MODEL_CELL_ID, validate=False)
    cell.setup_nml_cell()
    soma = cell.add_segment(
        prox=[0, 0, 0, 12],
        dist=[12, 0, 0, 12],
        name="soma",
        group_id="soma_group",
        seg_type="soma",
        use_convention=True,
    )
    cell.add_segment(
        prox=[12, 0, 0, 2],
        dist=[212, 0, 0, 2],
        name="dend",
        parent=soma,
        group_id="dendrite_group",
        seg_type="dendrite",
        use_convention=True,
    )
    cell.add_channel_density(
        doc,
        cd_id="pas_all",
        ion_channel="pas",
        cond_density="0.1 mS_per_cm2",
        erev="-70mV",
        group_id="all",
        ion="non_specific",
    )
    cell.set_spike_thresh("-20mV")
    cell.set_specific_capacitance("0.9 uF_per_cm2")
    cell.set_init_memb_potential("-70mV")
    cell.set_resistivity("0.15 kohm_cm")
    path.parent.mkdir(parents=True, exist_ok=True)
    NeuroMLWriter.write(doc, str(path))
    if source is not None:
        path.write_bytes(annotate(path.read_bytes(), element_id=MODEL_CELL_ID, sources=[source]))
    return path


def icephys_relpath(cell: Cell) -> str:
    sub = SUBJECT.subject_id
    return f"sub-{sub}/sub-{sub}_obj-{cell.cell_id}_icephys.nwb"


def relpaths() -> dict[str, str]:
    sub = SUBJECT.subject_id
    return {
        "model_source": icephys_relpath(CELLS[0]),
        "h5ad": f"sub-{sub}/sub-{sub}_patchseq-expression.h5ad",
        "neuroml": f"models/{MODEL_CELL_ID}.cell.nml",
        "two_photon": demo_relpath(sub, "invivo"),
    }


def write_patchseq_dataset(out: Path, *, seed: int = 0, duration_s: float = 5.0) -> list[Path]:
    """Write the dataset under ``out``; return its files in a stable order.

    ``duration_s`` is the length of the two-photon session (the main demo's writer)."""
    from neurodatashare.demo.write import write_demo_session

    out = Path(out)
    sub = SUBJECT.subject_id
    paths = []
    for k, cell in enumerate(CELLS):
        paths.append(write_icephys(out / icephys_relpath(cell), cell, k))
        swc = out / f"sub-{sub}/morphology/{cell.cell_id}.swc"
        swc.parent.mkdir(parents=True, exist_ok=True)
        swc.write_text(swc_text(cell, k, seed=seed))
        paths.append(swc)
    names = relpaths()
    paths.append(write_h5ad(out / names["h5ad"], seed=seed))
    # the model names the recording of its cell, relative to its own folder
    source = posixpath.relpath(names["model_source"], posixpath.dirname(names["neuroml"]))
    paths.append(write_neuroml(out / names["neuroml"], source=source))
    table = out / "links.tsv"
    table.write_text(f"path\tsubject_id\tcell_id\n{names['neuroml']}\t{sub}\tcell01\n")
    paths.append(table)
    paths.append(
        write_demo_session(
            out / names["two_photon"],
            subject=SUBJECT,
            session_index=0,
            seed=seed,
            duration_s=duration_s,
            subject_index=2,
        )
    )
    return sorted(paths)
