"""The multi-scale views: what they cost the server, against the plain library call.

`bench_morphology()`: a random-walk SWC tree (testing/scales.py `big_swc`) in a fresh
archive on SQLite, asked for `/explore/morphology?format=binary` (what the 3D view draws),
`/explore/morphology` (JSON), `/dendrogram` and `/sholl` through the ASGI app: the first
request (the binary one reads and parses the file) and the median of later ones (the parsed
file is cached), the payload in bytes, and the ratio of the first request to a plain
`morphio.Morphology(text, "swc")` of the same text. The first draw in a browser is
bench/morphology_draw.py's.

`bench_embedding()`: an h5ad of 1,000,000 cells (200 genes, CSR counts at 5% density, a
UMAP of 12 islands; testing/scales.py's `write_big_h5ad`) ingested into a fresh archive on
SQLite; `/explore/embedding` asked through the ASGI app for the whole embedding, zoomed
windows, and coloured by an obs column and by a gene, each timed (median of `--repeat`
runs; the first request of a kind, which reads from the file, is reported apart) with its
payload in bytes (body and header). The plain-anndata baseline is what a notebook does
to get the same numbers: `anndata.read_h5ad(path, backed="r")` and `.obsm["X_umap"]`, and
`adata[:, gene].X` for a gene.

    python bench/multiscale.py [--only morphology|embedding] [--points 100000]
                               [--cells 1000000] [--genes 200] [--repeat 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from neurodatashare.archive.context import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.users import create_user, new_api_key
from neurodatashare.config import Settings
from neurodatashare.formats.expression import COLUMNS
from neurodatashare.server.app import create_api
from neurodatashare.testing import scales
from neurodatashare.testing.scales import write_big_h5ad, write_h5ad


def _timed_bytes(client: TestClient, url: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    r = client.get(url)
    took = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    return took, r.content


def bench_morphology(points: int = 100_000, repeat: int = 5, folder: Path | None = None) -> None:
    import morphio

    text = scales.big_swc(points, seed=0)
    t0 = time.perf_counter()
    morphio.Morphology(text, "swc")
    plain = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = Path(tmp) / "big.swc"
        source.write_text(text)
        archive = Archive.open(Settings(home=Path(tmp) / "home"))
        try:
            alice = create_user(archive, username="alice")
            ident = create_dataset(archive, user=alice, name="bench", metadata={"name": "b"})
            asset = ingest_file(
                archive,
                user=alice,
                dataset_id=ident["identifier"],
                path="cells/big.swc",
                source=source,
            )
            client = TestClient(create_api(archive=archive))  # no lifespan: no worker
            api = f"/api/assets/{asset['asset_id']}/explore"
            print(f"morphology of {points:,} points ({len(text):,} bytes of SWC)")
            print(f"  plain morphio.Morphology: {plain * 1000:7.1f} ms")
            # the 3D view's binary body first, as the page asks for it (it reads the file)
            for name in ("morphology?format=binary", "morphology", "dendrogram", "sholl"):
                first, body = _timed_bytes(client, f"{api}/{name}")
                later = statistics.median(
                    _timed_bytes(client, f"{api}/{name}")[0] for _ in range(repeat)
                )
                zipped = len(gzip.compress(body, 6))
                ratio = f", {first / plain:4.1f}x plain MorphIO" if "binary" in name else ""
                print(
                    f"  /{name:<24} first {first * 1000:7.1f} ms{ratio}, cached "
                    f"{later * 1000:6.1f} ms, {len(body):>10,} bytes ({zipped:,} gzipped)"
                )
        finally:
            archive.close()


def _timed(client: TestClient, url: str, params: dict[str, Any]) -> tuple[float, int, dict]:
    t = time.perf_counter()
    r = client.get(url, params=params)
    ms = (time.perf_counter() - t) * 1000
    assert r.status_code == 200, r.text
    header = r.headers.get("X-NDS-Meta", "")
    return ms, len(r.content) + len(header), json.loads(header)


def _plain(path: Path, gene: str) -> dict[str, float]:
    """The anndata calls a notebook would make for the same coordinates and gene."""
    import anndata
    import numpy as np

    t = time.perf_counter()
    adata = anndata.read_h5ad(path, backed="r")
    umap = np.asarray(adata.obsm["X_umap"])
    coords = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    column = adata[:, gene].X
    column = column.toarray() if hasattr(column, "toarray") else np.asarray(column)
    genes = (time.perf_counter() - t) * 1000
    adata.file.close()
    assert umap.shape[1] == 2 and column.shape[0] == umap.shape[0]
    return {"coords_ms": coords, "gene_ms": genes}


def bench_embedding(
    *, cells: int = 1_000_000, genes: int = 200, repeat: int = 5, folder: Path | None = None
) -> dict[str, Any]:
    """Server time and payload of the embedding view at `cells` cells; prints a table."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        path = write_big_h5ad(root / "atlas.h5ad", cells=cells, genes=genes)
        print(
            f"wrote {cells:,} cells x {genes} genes ({path.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        archive = Archive.open(Settings(home=root / "home"))
        try:
            user = create_user(archive, username="bench")
            ds = create_dataset(archive, user=user, name="atlas", metadata={"name": "atlas"})
            aid = ingest_file(
                archive, user=user, dataset_id=ds["identifier"], path="rna/atlas.h5ad", source=path
            )["asset_id"]
            client = TestClient(create_api(archive=archive))
            client.headers["Authorization"] = f"token {new_api_key(archive, user=user)}"
            url = f"/api/assets/{aid}/explore/embedding"
            screen = {"width": 1000, "height": 800}
            cases: list[tuple[str, dict[str, Any]]] = [
                ("whole, no colour", {}),
                ("whole, by cell_type", {"color": "cell_type"}),
                ("whole, by n_counts", {"color": "n_counts"}),
                ("whole, by gene Sst", {"color": "Sst"}),
                (
                    "zoom x10, by cell_type",
                    {"color": "cell_type", "x0": 8, "x1": 12, "y0": -2, "y1": 2},
                ),
                (
                    "zoom x100, by gene Sst",
                    {"color": "Sst", "x0": 9.8, "x1": 10.2, "y0": -0.2, "y1": 0.2},
                ),
            ]
            rows = []
            # the process's first embedding (of a small file) loads h5py, anndata and the
            # readers once; what follows is what a file costs on its first request
            small = write_h5ad(root / "small.h5ad", cells=100)
            other = ingest_file(
                archive, user=user, dataset_id=ds["identifier"], path="rna/s.h5ad", source=small
            )["asset_id"]
            process_ms, _, _ = _timed(
                client, f"/api/assets/{other}/explore/embedding", {"color": "cell_type"}
            )
            COLUMNS.clear()
            first_ms, _, _ = _timed(client, url, screen)  # opens the file, reads the coordinates
            gene_cold, _, _ = _timed(client, url, {**screen, "color": "Vip"})  # a CSR scan
            for name, params in cases:
                _timed(client, url, {**screen, **params})  # the first of its kind reads columns
                times, size, meta = [], 0, {}
                for _ in range(repeat):
                    ms, size, meta = _timed(client, url, {**screen, **params})
                    times.append(ms)
                rows.append(
                    (
                        name,
                        meta["mode"],
                        meta["in_view"],
                        statistics.median(times),
                        max(times),
                        size,
                    )
                )
            plain = _plain(path, "Sst")
        finally:
            archive.close()
    print(f"\nembedding of {cells:,} cells, plot 1000 x 800 px, bins of 4 px, median of {repeat}")
    print(f"{'request':28} {'mode':6} {'in view':>10} {'median ms':>10} {'max ms':>8} {'bytes':>9}")
    for name, mode, in_view, med, worst, size in rows:
        print(f"{name:28} {mode:6} {in_view:>10,} {med:>10.1f} {worst:>8.1f} {size:>9,}")
    print(f"first embedding request of the process (loads h5py, anndata): {process_ms:.0f} ms")
    print(f"first request for the file (open + read coordinates): {first_ms:.0f} ms")
    print(f"first colour by a gene (CSR scan of X): {gene_cold:.0f} ms")
    print(
        f"plain anndata: read_h5ad(backed='r').obsm['X_umap'] {plain['coords_ms']:.0f} ms "
        f"(ratio ours/plain, first request: {first_ms / plain['coords_ms']:.2f}; "
        f"warm whole view: {rows[0][3] / plain['coords_ms']:.3f})"
    )
    print(
        f"plain anndata: adata[:, 'Sst'].X (backed) {plain['gene_ms']:.0f} ms "
        f"(ratio ours/plain, first gene: {gene_cold / plain['gene_ms']:.2f}; "
        f"warm: {rows[3][3] / plain['gene_ms']:.3f})"
    )
    return {
        "rows": rows,
        "process_ms": process_ms,
        "first_ms": first_ms,
        "gene_cold_ms": gene_cold,
        "plain": plain,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["morphology", "embedding"], default=None)
    parser.add_argument("--points", type=int, default=100_000, help="morphology points")
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--genes", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    args = parser.parse_args()
    if args.only in (None, "morphology"):
        bench_morphology(args.points, args.repeat, args.dir)
    if args.only in (None, "embedding"):
        bench_embedding(cells=args.cells, genes=args.genes, repeat=args.repeat, folder=args.dir)


if __name__ == "__main__":
    main()
