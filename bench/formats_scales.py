"""Validation cost of the other scales' formats: the plain library call vs our `process`.

    python bench/formats_scales.py [--repeat 3] [--points 100000] [--cells 50000]
                                   [--only swc|h5ad|nml]

It writes, into a temporary folder, an SWC of --points points (testing/scales.py
big_swc), an h5ad of --cells cells x 2,000 genes (CSR, about 5% non-zero) and a NeuroML
network of 2,000 cells with 100,000 connections, then times, best of --repeat runs (the
plain call and ours in turns):

  swc      plain: morphio.Morphology(path)            ours: SWC.process (MorphIO on the
           text, the tolerant reader and its checks, NeuroM features, vectorised Sholl)
  h5ad     plain: anndata.read_h5ad(path, backed="r")  ours: ANNDATA.process (obs and
           var by anndata's element reader, every sparse index checked, obs described)
  nml      plain: neuroml.utils.validate_neuroml2(path) (libNeuroML's load and
           generateDS validation)                      ours: NEUROML.process (lxml parse,
           XSD, reference checks, description)

Target (issue 11): ours / plain within 1.2.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def best(plain: Callable[[], Any], ours: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """The fastest of `repeat` runs of each, taken in turns, so that load from other work
    on the machine falls on both alike."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(repeat):
        for which, fn in enumerate((plain, ours)):
            start = time.perf_counter()
            fn()
            times[which].append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def write_h5ad(path: Path, cells: int, genes: int = 2000) -> None:
    import anndata
    import pandas as pd
    import scipy.sparse

    rng = np.random.default_rng(0)
    x = scipy.sparse.random(cells, genes, density=0.05, format="csr", dtype=np.float32, rng=rng)
    obs = pd.DataFrame(index=[f"cell-{i}" for i in range(cells)])
    obs["cell_type"] = pd.Categorical(rng.choice([f"type-{k}" for k in range(30)], cells))
    obs["donor_id"] = pd.Categorical(rng.choice(["d1", "d2", "d3"], cells))
    obs["species"] = pd.Categorical(["Mus musculus"] * cells)
    adata = anndata.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(genes)]))
    adata.obsm["X_umap"] = rng.normal(0, 1, (cells, 2)).astype(np.float32)
    adata.write_h5ad(path)


def write_network(path: Path, cells: int = 2000, connections: int = 100_000) -> None:
    from neurodatashare.testing.scales import write_neuroml

    write_neuroml(path)
    rng = np.random.default_rng(0)
    pre = rng.integers(0, cells, connections)
    post = rng.integers(0, cells, connections)
    rows = "".join(
        f'<connection id="{i}" preCellId="../pop/{a}/pyr" postCellId="../pop/{b}/pyr"/>\n'
        for i, (a, b) in enumerate(zip(pre, post, strict=True))
    )
    text = path.read_text().replace('size="3"', f'size="{cells}"')
    text = text.replace('synapse="syn"/>', f'synapse="syn">\n{rows}</projection>', 1)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=50_000)
    parser.add_argument("--only", choices=["swc", "h5ad", "nml"], default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import anndata
    import morphio
    import neurom  # noqa: F401  (imported once, as a running worker has it)
    from neuroml.utils import validate_neuroml2

    from neurodatashare.formats.anndata import ANNDATA
    from neurodatashare.formats.neuroml import NEUROML
    from neurodatashare.formats.swc import SWC
    from neurodatashare.testing.scales import big_swc

    morphio.set_maximum_warnings(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wanted = {"swc", "h5ad", "nml"} if args.only is None else {args.only}
        swc = folder / "big.swc"
        h5ad = folder / "big.h5ad"
        nml = folder / "network.nml"
        if "swc" in wanted:
            swc.write_text(big_swc(args.points))
        if "h5ad" in wanted:
            write_h5ad(h5ad, args.cells)
        if "nml" in wanted:
            write_network(nml)
            with open(nml, "rb") as reader:  # the XSD is compiled once per process
                NEUROML.process(reader, path="network.nml")

        def ours(fmt: Any, path: Path) -> Callable[[], Any]:
            def run() -> Any:
                with open(path, "rb") as reader:
                    return fmt.process(reader, path=path.name)

            return run

        cases = [
            ("swc", swc, lambda: morphio.Morphology(str(swc)), ours(SWC, swc)),
            (
                "h5ad",
                h5ad,
                lambda: anndata.read_h5ad(h5ad, backed="r").file.close(),
                ours(ANNDATA, h5ad),
            ),
            ("nml", nml, lambda: validate_neuroml2(str(nml)), ours(NEUROML, nml)),
        ]
        print(f"{'format':6} {'MB':>7} {'plain s':>8} {'ours s':>8} {'ratio':>6}")
        for name, path, plain, mine in cases:
            if name not in wanted:
                continue
            p, o = best(plain, mine, args.repeat)
            size = path.stat().st_size / 2**20
            print(f"{name:6} {size:7.1f} {p:8.3f} {o:8.3f} {o / p:6.2f}")


if __name__ == "__main__":
    main()
