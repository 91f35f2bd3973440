"""Files of the other scales, written the way other tools write them, dialects and defects
included: SWC morphologies, AnnData `.h5ad` matrices, NeuroML 2 models.

SWC is written as text by hand (that is how labs' exporters write it), h5ad with anndata
itself, NeuroML with libNeuroML's API. Seeded, so each call gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# -- SWC ------------------------------------------------------------------------------

SWC_HEADER = "# creature Mus musculus\n# region primary visual cortex\n# cell_id cell-1\n"


def _rows(rows: list[tuple[Any, ...]]) -> str:
    return "".join(" ".join(str(v) for v in row) + "\n" for row in rows)


def _neurites(first: int, soma: int, *, scale: float = 1.0) -> list[tuple[Any, ...]]:
    """An axon and a basal dendrite with one fork, starting at soma point `soma`."""
    s = scale
    i = first
    rows = [
        (i, 3, 5 * s, 0, 0, 1 * s, soma),
        (i + 1, 3, 15 * s, 0, 0, 1 * s, i),
        (i + 2, 3, 25 * s, 8 * s, 0, 0.8 * s, i + 1),
        (i + 3, 3, 25 * s, -8 * s, 0, 0.8 * s, i + 1),
        (i + 4, 2, -5 * s, 0, 0, 0.5 * s, soma),
        (i + 5, 2, -60 * s, 0, 2 * s, 0.5 * s, i + 4),
    ]
    return rows


def swc(dialect: str = "single_point") -> str:
    """One small morphology in a named dialect or with a named defect:
    single_point, three_point (NeuroMorpho CNG), contour, labels_0_5 (navis-style fork and
    end labels), nm (coordinates in nanometres), soma_mid_tree, cycle, duplicate_ids,
    zero_radius."""
    if dialect == "single_point":
        return SWC_HEADER + _rows([(1, 1, 0, 0, 0, 5, -1), *_neurites(2, 1)])
    if dialect == "three_point":
        soma = [(1, 1, 0, 0, 0, 5, -1), (2, 1, 0, -5, 0, 5, 1), (3, 1, 0, 5, 0, 5, 1)]
        return "# NeuroMorpho.Org standardised\n" + _rows([*soma, *_neurites(4, 1)])
    if dialect == "contour":
        angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        ring: list[tuple[Any, ...]] = [(1, 1, 6.0, 0.0, 0, 0.1, -1)]
        for k, a in enumerate(angles[1:], start=2):
            ring.append((k, 1, round(6 * np.cos(a), 3), round(6 * np.sin(a), 3), 0, 0.1, k - 1))
        return _rows([*ring, *_neurites(9, 1)])
    if dialect == "labels_0_5":
        rows = [(1, 1, 0, 0, 0, 5, -1), *_neurites(2, 1)]
        rows[2] = (*rows[2][:1], 5, *rows[2][2:])  # fork point labelled 5
        rows[3] = (*rows[3][:1], 6, *rows[3][2:])  # end point labelled 6
        rows[6] = (*rows[6][:1], 0, *rows[6][2:])  # undefined
        return _rows(rows)
    if dialect == "nm":
        return _rows([(1, 1, 0, 0, 0, 5000, -1), *_neurites(2, 1, scale=1000.0)])
    if dialect == "soma_mid_tree":
        # navis/neuPrint skeletons: rooted at a neurite tip, soma somewhere inside
        rows = [
            (1, 3, 40, 0, 0, 1, -1),
            (2, 3, 20, 0, 0, 1, 1),
            (3, 1, 0, 0, 0, 5, 2),
            (4, 2, -20, 0, 0, 0.5, 3),
            (5, 2, -40, 0, 0, 0.5, 4),
        ]
        return _rows(rows)
    if dialect == "cycle":
        rows = [(1, 1, 0, 0, 0, 5, -1), (2, 3, 10, 0, 0, 1, 4), (3, 3, 20, 0, 0, 1, 2)]
        rows.append((4, 3, 30, 0, 0, 1, 3))  # 2 -> 4 -> 3 -> 2
        return _rows(rows)
    if dialect == "duplicate_ids":
        rows = [(1, 1, 0, 0, 0, 5, -1), *_neurites(2, 1)]
        rows.append((3, 3, 50, 50, 0, 1, 2))
        return _rows(rows)
    if dialect == "zero_radius":
        rows = [(1, 1, 0, 0, 0, 5, -1), *_neurites(2, 1)]
        rows[3] = (*rows[3][:5], 0, rows[3][6])
        return _rows(rows)
    raise ValueError(f"unknown SWC dialect {dialect!r}")


def big_swc(points: int, *, seed: int = 0) -> str:
    """A random-walk tree of `points` points (soma plus branching dendrites), for timing."""
    rng = np.random.default_rng(seed)
    parent = np.empty(points, dtype=np.int64)
    parent[0] = -1
    parent[1:] = np.arange(0, points - 1)
    forks = rng.random(points) < 0.02  # now and then restart from an earlier point
    back = (rng.random(points) * np.arange(points)).astype(np.int64)
    parent[1:] = np.where(forks[1:], back[1:], parent[1:])
    parent[1:] = np.maximum(parent[1:], 0)
    step = rng.normal(0, 1, (points, 3))
    xyz = np.zeros((points, 3))
    for i in range(1, points):
        xyz[i] = xyz[parent[i]] + step[i]
    types = np.where(np.arange(points) == 0, 1, 3)
    radius = np.where(types == 1, 5.0, 0.5)
    lines = [
        f"{i + 1} {types[i]} {xyz[i, 0]:.3f} {xyz[i, 1]:.3f} {xyz[i, 2]:.3f} {radius[i]} "
        f"{parent[i] + 1 if parent[i] >= 0 else -1}\n"
        for i in range(points)
    ]
    return "".join(lines)


def asc() -> str:
    """The same cell as `swc()` as Neurolucida writes it: a soma contour, a forked
    dendrite and an axon, as s-expressions."""
    return (
        "; Neurolucida export\n"
        '("CellBody"\n  (Color Red)\n  (CellBody)\n'
        "  (0.0 5.0 0.0 1.0)\n  (5.0 0.0 0.0 1.0)\n  (0.0 -5.0 0.0 1.0)\n"
        "  (-5.0 0.0 0.0 1.0)\n)\n"
        "( (Color Green)\n  (Dendrite)\n  (5.0 0.0 0.0 2.0)\n  (15.0 0.0 0.0 2.0)\n"
        "  (\n    (25.0 8.0 0.0 1.6)\n  |\n    (25.0 -8.0 0.0 1.6)\n  )\n)\n"
        "( (Color Blue)\n  (Axon)\n  (-5.0 0.0 0.0 1.0)\n  (-60.0 0.0 2.0 1.0)\n)\n"
    )


def write_swc(path: Path, dialect: str = "single_point") -> Path:
    path.write_text(swc(dialect))
    return path


# -- AnnData ----------------------------------------------------------------------------

GENES = ("Gad1", "Gad2", "Slc17a7", "Pvalb", "Sst", "Vip", "Lamp5", "Snap25", "Aqp4", "Mbp")


def write_h5ad(
    path: Path,
    *,
    cells: int = 200,
    genes: int = 40,
    sparse: bool = True,
    obs_columns: bool = True,
    duplicate_obs: bool = False,
    duplicate_var: bool = False,
    donors: tuple[str, ...] = ("mouse-1", "mouse-2"),
    seed: int = 0,
    symbols: bool = False,
    spatial: bool = False,
) -> Path:
    """An h5ad as scanpy pipelines leave it: counts in X (CSR or dense), a `counts` layer,
    UMAP and PCA in obsm, and obs columns for cell type, region, donor and species. With
    `symbols`, var names are Ensembl-like ids and var `gene_symbols` holds the names; with
    `spatial`, obsm `spatial` holds coordinates on a slide."""
    import anndata
    import pandas as pd
    import scipy.sparse

    rng = np.random.default_rng(seed)
    counts = rng.poisson(0.3, (cells, genes)).astype(np.float32)
    names = [*GENES, *(f"Gene{i}" for i in range(len(GENES), genes))][:genes]
    obs = pd.DataFrame(index=[f"cell-{i}" for i in range(cells)])
    if obs_columns:
        obs["cell_type"] = pd.Categorical(rng.choice(["Pvalb", "Sst", "L2/3 IT"], cells))
        obs["brain_region"] = pd.Categorical(rng.choice(["VISp", "MOp"], cells))
        obs["donor_id"] = pd.Categorical(rng.choice(list(donors), cells))
        obs["species"] = pd.Categorical(["Mus musculus"] * cells)
    obs["n_counts"] = counts.sum(axis=1)
    x: Any = scipy.sparse.csr_matrix(counts) if sparse else counts
    var = pd.DataFrame(index=names)
    if symbols:
        var = pd.DataFrame(
            {"gene_symbols": names}, index=[f"ENSMUSG{i:011d}" for i in range(genes)]
        )
    adata = anndata.AnnData(X=x, obs=obs, var=var)
    adata.layers["counts"] = x.copy()
    umap = rng.normal(0, 1, (cells, 2)).astype(np.float32)
    if obs_columns:  # one island per cell type, as a UMAP of real types looks
        centres = np.array([[-6, 0], [6, 0], [0, 8]], dtype=np.float32)
        umap += centres[obs["cell_type"].cat.codes.to_numpy()]
    adata.obsm["X_umap"] = umap
    adata.obsm["X_pca"] = rng.normal(0, 1, (cells, 10)).astype(np.float32)
    if spatial:
        adata.obsm["spatial"] = (rng.random((cells, 2)) * 5000).astype(np.float32)
    if duplicate_obs:
        adata.obs_names = [f"cell-{i // 2}" for i in range(cells)]  # anndata writes these
    if duplicate_var:
        adata.var_names = ["Gad1"] * genes
    adata.write_h5ad(path)
    return path


def write_big_h5ad(
    path: Path, *, cells: int = 1_000_000, genes: int = 200, density: float = 0.05, seed: int = 0
) -> Path:
    """A large h5ad for timing the views (an atlas's shape: CSR counts at `density`, UMAP
    islands per cell type, cell type and donor columns), written in the layout anndata
    writes, without building the matrix densely first."""
    import anndata
    import pandas as pd
    import scipy.sparse

    rng = np.random.default_rng(seed)
    per_row = rng.binomial(genes, density, cells)
    indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
    nnz = int(indptr[-1])
    # columns within a row: sorted, without repeats (a random start and stride per row)
    offsets = np.arange(nnz) - np.repeat(indptr[:-1], per_row)
    start = np.repeat(rng.integers(0, genes, cells), per_row)
    indices = ((start + offsets * 7) % genes).astype(np.int32)
    data = (rng.poisson(1.5, nnz) + 1).astype(np.float32)
    x = scipy.sparse.csr_matrix((data, indices, indptr), shape=(cells, genes))
    x.sort_indices()
    types = rng.integers(0, 12, cells)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical.from_codes(types, [f"type-{i}" for i in range(12)]),
            "donor_id": pd.Categorical.from_codes(
                rng.integers(0, 4, cells), ["d1", "d2", "d3", "d4"]
            ),
            "n_counts": np.asarray(x.sum(axis=1)).ravel().astype(np.float32),
        },
        index=pd.Index([f"c{i}" for i in range(cells)]),
    )
    names = [*GENES, *(f"Gene{i}" for i in range(len(GENES), genes))][:genes]
    adata = anndata.AnnData(X=x, obs=obs, var=pd.DataFrame(index=names))
    angle = types * (2 * np.pi / 12)
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 10
    adata.obsm["X_umap"] = (centres + rng.normal(0, 1.2, (cells, 2))).astype(np.float32)
    adata.write_h5ad(path)
    return path


def break_sparse(path: Path, *, what: str = "indices") -> Path:
    """Corrupt X's CSR structure in place (anndata would not write it): an index past the
    last gene, or an indptr that runs backwards."""
    import h5py

    with h5py.File(path, "r+") as h5:
        x = h5["X"]
        if what == "indices":
            x["indices"][0] = int(x.attrs["shape"][1]) + 5
        else:
            indptr = x["indptr"][()]
            indptr[1] = indptr[-1] + 1
            x["indptr"][...] = indptr
    return path


# -- NeuroML 2 --------------------------------------------------------------------------


def neuroml_doc(*, cell_id: str = "pyr", ion_channel: str = "na", component: str = "pyr") -> Any:
    """A NeuroML document built with libNeuroML's API: one cell with a soma and a dendrite,
    an HH sodium channel, an exponential synapse and a network of one population."""
    from neuroml.utils import component_factory

    doc = component_factory("NeuroMLDocument", id="model")
    doc.add("IonChannelHH", id="na", conductance="10pS", species="na")
    doc.add("ExpOneSynapse", id="syn", gbase="1nS", erev="0mV", tau_decay="5ms")
    cell = doc.add("Cell", id=cell_id, validate=False)
    cell.setup_nml_cell()
    soma = cell.add_segment(
        prox=[0, 0, 0, 10],
        dist=[10, 0, 0, 10],
        name="soma",
        group_id="soma_group",
        seg_type="soma",
        use_convention=True,
    )
    cell.add_segment(
        prox=[10, 0, 0, 2],
        dist=[110, 0, 0, 2],
        name="dend",
        parent=soma,
        group_id="dendrite_group",
        seg_type="dendrite",
        use_convention=True,
    )
    cell.add_channel_density(
        doc,
        cd_id="na_all",
        ion_channel=ion_channel,
        cond_density="120 mS_per_cm2",
        erev="50mV",
        group_id="all",
        ion="na",
    )
    cell.set_spike_thresh("0mV")
    cell.set_specific_capacitance("1.0 uF_per_cm2")
    cell.set_init_memb_potential("-65mV")
    cell.set_resistivity("0.1 kohm_cm")
    net = doc.add("Network", id="net", validate=False)
    net.add("Population", id="pop", component=component, size=3, validate=False)
    net.add(
        "Projection",
        id="proj",
        presynaptic_population="pop",
        postsynaptic_population="pop",
        synapse="syn",
        validate=False,
    )
    return doc


def write_neuroml(path: Path, defect: str | None = None) -> Path:
    """A NeuroML file: valid, or with a defect: missing_component (a population of a cell
    that does not exist), missing_channel, broken_include (an include that leaves the
    dataset), include (a sibling include, so missing ids may be defined there), schema
    (an element the XSD does not allow)."""
    from neuroml.writers import NeuroMLWriter

    kwargs = {
        "missing_component": {"component": "ghost"},
        "missing_channel": {"ion_channel": "kdr"},
    }.get(defect or "", {})
    doc = neuroml_doc(**kwargs)
    if defect in ("broken_include", "include"):
        href = "../../elsewhere/channels.nml" if defect == "broken_include" else "channels.nml"
        doc.add("IncludeType", href=href, validate=False)
        doc.networks[0].populations[0].component = "ghost"
    NeuroMLWriter.write(doc, str(path))
    if defect == "schema":
        text = path.read_text().replace("<network ", "<notAnElement/>\n    <network ", 1)
        path.write_text(text)
    return path


def big_network_neuroml(instances: int, connections: int) -> bytes:
    """A NeuroML network of one population with `instances` placed cells of an IaF cell
    and a projection of `connections` connections: the case the element tree caps."""
    ns = "http://www.neuroml.org/schema/neuroml2"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<neuroml xmlns="{ns}" id="big">',
        '  <expOneSynapse id="syn" gbase="1nS" erev="0mV" tauDecay="5ms"/>',
        '  <iafCell id="iaf" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF"'
        ' leakConductance="10nS"/>',
        '  <network id="net">',
        f'    <population id="pop" component="iaf" size="{instances}" type="populationList">',
    ]
    for i in range(instances):
        x, y = i % 1000, i // 1000
        lines.append(f'      <instance id="{i}"><location x="{x}" y="{y}" z="0"/></instance>')
    lines.append("    </population>")
    lines.append(
        '    <projection id="proj" presynapticPopulation="pop" postsynapticPopulation="pop"'
        ' synapse="syn">'
    )
    for i in range(connections):
        pre, post = i % instances, (i * 7 + 1) % instances
        lines.append(
            f'      <connection id="{i}" preCellId="../pop/{pre}/iaf"'
            f' postCellId="../pop/{post}/iaf"/>'
        )
    lines += ["    </projection>", "  </network>", "</neuroml>", ""]
    return "\n".join(lines).encode()


# -- real files other packages ship -------------------------------------------------------

# (requirement, file inside the wheel, file inside that, licence): used at test time from a
# download, never copied into this repository (navis is GPL-3)
REAL_FILES = {
    "h5ad": ("scanpy==1.11.5", "scanpy/datasets/10x_pbmc68k_reduced.h5ad", None, "BSD-3-Clause"),
    "swc": ("navis==1.12.0", "navis/data/swc/", None, "GPL-3.0"),
    "nml": (
        "pyneuroml==1.3.22",
        "pyneuroml/lib/jNeuroML-0.14.0-jar-with-dependencies.jar",
        "examples/",
        "LGPL-3.0",
    ),
}


def real_files(kind: str, folder: Path) -> list[Path]:
    """Files of `kind` (h5ad, swc, nml) from the PyPI wheel REAL_FILES names, downloaded
    with pip into `folder` once and unpacked there."""
    import subprocess
    import sys
    import zipfile

    requirement, member, inner, _licence = REAL_FILES[kind]
    out = folder / kind
    if not (out.is_dir() and any(out.iterdir())):
        wheels = folder / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        name = requirement.split("==")[0]
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name)]
        if not found:
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
            subprocess.run([*pip, "-q", "-d", str(wheels), requirement], check=True)
            found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name)]
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(found[0]) as wheel:
            picked = [n for n in wheel.namelist() if n.startswith(member) and not n.endswith("/")]
            for entry in picked:
                if inner is None:
                    (out / Path(entry).name).write_bytes(wheel.read(entry))
                    continue
                with wheel.open(entry) as jar_file, zipfile.ZipFile(jar_file) as jar:
                    for sub in jar.namelist():
                        if sub.startswith(inner) and sub.endswith(f".{kind}"):
                            (out / Path(sub).name).write_bytes(jar.read(sub))
    return sorted(p for p in out.iterdir() if p.suffix == f".{kind}")
