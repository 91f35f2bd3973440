"""Search at scale: the index (archive/search.py) against a plain LIKE scan, per backend.

    python bench/search.py [--backends sqlite,postgresql] [--datasets 10000]
        [--assets 1000000] [--queries 40] [--peer-queries N] [--repeat 1] [--seed 0]
        [--keep] [--dir DIR] [--reuse-sqlite DIR] [--reuse-postgres URL]

For each backend it fills a fresh archive with the search corpus (testing/search_corpus.py:
datasets, files and their extracted metadata, no bytes) and prints the fill time, builds
the index with the archive's own `rebuild` (the index build time), then runs --queries
queries of each of four kinds, drawn from the corpus vocabulary with the seed:

  text       q= one or two topic words
  facets     species + region
  text+3     q= a topic word, species, region and format
  range      units_min + units_max

Ours is the service call the HTTP route makes (`search(...)`, anonymous caller), timed
in-process: count, first page, facet counts, highlights and matching files. The peer is
what the archive did before the index: the count and first page (one query) of the visible drafts
whose name, metadata or files' extracted-metadata JSON text hold each word (`LIKE
'%word%'`), whose files' JSON holds the facet values as JSON strings, and whose files'
`nds:summary.unit_count` (JSON extraction) is in range. Both must find the same number of
datasets for every query; any mismatch is printed. At full size the peer takes seconds to
a minute a query: --peer-queries N runs it on the first N queries of each kind only.
Each query runs --repeat times (the best time counts); the table shows p50 and p95 over
the queries and the ratio LIKE / ours.

--keep keeps the archive (a SQLite home folder, a PostgreSQL database) and prints where;
--reuse-sqlite HOME / --reuse-postgres URL skip filling and indexing and query a kept one.
PostgreSQL databases are made fresh on the local server (testing/live.py) and dropped
unless --keep.
"""

from __future__ import annotations

import argparse
import functools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Text, and_, cast, exists, func, or_, select

from neurodatashare.archive import Archive
from neurodatashare.archive.access import visible_clause
from neurodatashare.archive.search import SearchParams, search
from neurodatashare.config import Settings
from neurodatashare.db.models import Asset, Dataset, Derived, Version, VersionAsset
from neurodatashare.testing import search_corpus_words as words
from neurodatashare.testing.live import database_url
from neurodatashare.testing.search_corpus import build_index, fill

KINDS = ("text", "facets", "text+3", "range")
Query = list[tuple[str, str]]


def queries(kind: str, n: int, rng: random.Random) -> list[Query]:
    species = [s[1] for s in words.SPECIES]
    species_weights = [s[2] for s in words.SPECIES]
    regions = [a for a, _n in words.REGIONS[:15]]
    out: list[Query] = []
    for _ in range(n):
        topic = rng.choice(words.TOPICS).split()
        if kind == "text":
            out.append([("q", " ".join(topic[: rng.choice((1, 2))]))])
        elif kind == "facets":
            out.append(
                [
                    ("species", rng.choices(species, species_weights)[0].lower()),
                    ("region", rng.choice(regions).lower()),
                ]
            )
        elif kind == "text+3":
            out.append(
                [
                    ("q", rng.choice(topic)),
                    ("species", rng.choices(species, species_weights)[0].lower()),
                    ("region", rng.choice(regions).lower()),
                    ("format", rng.choice(("nwb", "nwb", "anndata", "swc"))),
                ]
            )
        else:
            low = rng.choice((5, 20, 50, 100, 200))
            high = low * rng.choice((2, 3, 5))
            out.append([("units_min", str(low)), ("units_max", str(high))])
    return out


# --------------------------------------------------------------------------- the peer

SUFFIXES = {"nwb": ".nwb", "anndata": ".h5ad", "swc": ".swc", "neuroml": ".nml"}


def like_scan(archive: Archive, query: Query) -> int:
    """The count (and first page) of what `query` finds by LIKE over the archive's own
    tables: no index, the same visibility rule, answers equal to the index's."""
    postgres = not archive.db.is_sqlite

    def like(column: Any, pattern: str) -> Any:  # SQLite's LIKE ignores ASCII case already
        return column.ilike(pattern) if postgres else column.like(pattern)

    def any_file(*conditions: Any) -> Any:
        return exists(
            select(VersionAsset.asset_id)
            .join(Asset, Asset.id == VersionAsset.asset_id)
            .join(Derived, and_(Derived.blob_id == Asset.blob_id, Derived.kind == "metadata"))
            .where(VersionAsset.version_id == Version.id, *conditions)
        )

    payload = cast(Derived.payload, Text)
    conditions: list[Any] = [Version.version == "draft", visible_clause(None)]
    low = high = None
    for name, value in query:
        if name == "q":
            for word in value.lower().split():
                pattern = f"%{word}%"
                conditions.append(
                    or_(
                        like(Version.name, pattern),
                        like(cast(Version.meta, Text), pattern),
                        any_file(or_(like(payload, pattern), like(Asset.path, pattern))),
                    )
                )
        elif name == "species":
            conditions.append(any_file(like(payload, f'%"{value}%')))
        elif name == "region":
            conditions.append(any_file(like(payload, f'%"{value}"%')))
        elif name == "format":
            conditions.append(any_file(like(Asset.path, f"%{SUFFIXES[value]}")))
        elif name == "units_min":
            low = int(value)
        elif name == "units_max":
            high = int(value)
    if low is not None and high is not None:
        units = Derived.payload[("nds:summary", "unit_count")].as_integer()
        conditions.append(any_file(units >= low, units <= high))
    # One scan gives the count (a window over every match) and the first page.
    page = (
        select(Dataset.id, func.count().over().label("total"))
        .join(Version, Version.dataset_id == Dataset.id)
        .where(and_(*conditions))
        .order_by(Version.modified.desc(), Dataset.id.desc())
        .limit(20)
    )
    with archive.db.read() as s:
        rows = s.execute(page).all()
    return int(rows[0].total) if rows else 0


def ours(archive: Archive, query: Query) -> int:
    body = search(archive, user=None, params=SearchParams.from_query(query))
    return int(body["count"])


def timed(repeat: int, func: Callable[[], int]) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_queries(archive: Archive, args: argparse.Namespace, backend: str) -> None:
    rng = random.Random(args.seed)
    rows = []
    mismatches = 0
    for kind in KINDS:
        ours_ms: list[float] = []
        like_ms: list[float] = []
        found: list[int] = []
        for i, query in enumerate(queries(kind, args.queries, rng)):
            t_ours, n_ours = timed(args.repeat, functools.partial(ours, archive, query))
            ours_ms.append(t_ours * 1000)
            found.append(n_ours)
            if i >= args.peer_queries:
                continue
            t_like, n_like = timed(args.repeat, functools.partial(like_scan, archive, query))
            like_ms.append(t_like * 1000)
            print(
                f"  {kind} {i + 1}: {n_ours} datasets; ours {t_ours * 1000:.0f} ms, "
                f"LIKE {t_like * 1000:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
            if n_ours != n_like:
                mismatches += 1
                print(f"  MISMATCH {kind} {query}: ours {n_ours}, LIKE {n_like}", flush=True)
        print(f"  {kind}: done", file=sys.stderr, flush=True)
        rows.append((kind, ours_ms, like_ms, found))
    header = (
        f"{'query':<8} {'ours p50':>9} {'ours p95':>9} {'LIKE p50':>9} {'LIKE p95':>9} "
        f"{'ratio p50':>9} {'ratio p95':>9} {'datasets found (median)':>24}"
    )
    peer = min(args.peer_queries, args.queries)
    print(
        f"\n{backend}: {args.queries} queries per kind (LIKE: the first {peer}), "
        f"best of {args.repeat}; ms"
    )
    print(header)
    print("-" * len(header))
    for kind, ours_ms, like_ms, found in rows:
        o50, o95, l50, l95 = (
            pct(ours_ms, 0.5),
            pct(ours_ms, 0.95),
            pct(like_ms, 0.5),
            pct(like_ms, 0.95),
        )
        print(
            f"{kind:<8} {o50:9.1f} {o95:9.1f} {l50:9.1f} {l95:9.1f} "
            f"{l50 / o50:9.1f} {l95 / o95:9.1f} {statistics.median(found):24.0f}"
        )
    print(f"answers differing between ours and LIKE: {mismatches}")


# --------------------------------------------------------------------------- archives


def open_archive(backend: str, args: argparse.Namespace) -> tuple[Archive, Callable[[], None]]:
    """A filled, indexed archive (made now, or a kept one) and how to let it go."""
    reuse = args.reuse_sqlite if backend == "sqlite" else args.reuse_postgres
    if reuse:
        if backend == "sqlite":
            home = Path(reuse)
            url = f"sqlite:///{home / 'nds.sqlite3'}"
        else:
            home, url = Path(tempfile.mkdtemp(prefix="nds-bench-search-")), reuse
        archive = Archive.open(Settings(home=home, database_url=url))
        print(f"{backend}: reusing {url}", flush=True)
        return archive, archive.close
    home = Path(tempfile.mkdtemp(prefix=f"nds-search-{backend}-", dir=args.dir))
    url, pg = database_url(backend, home)
    archive = Archive.open(Settings(home=home, database_url=url))
    print(f"{backend}: filling {args.datasets:,} datasets, {args.assets:,} files ...", flush=True)

    def progress(done: int, total: int) -> None:
        if done % 100_000 < 10_000:
            print(f"  {done:,} / {total:,} files", file=sys.stderr, flush=True)

    corpus = fill(
        archive.db, datasets=args.datasets, assets=args.assets, seed=args.seed, progress=progress
    )
    print(f"{backend}: fill time {corpus.fill_seconds:.1f} s", flush=True)
    report = build_index(archive.db, corpus)
    print(
        f"{backend}: index build time {report['seconds']:.1f} s "
        f"({report['datasets']:,} datasets, {report['assets']:,} files)",
        flush=True,
    )

    def release() -> None:
        archive.close()
        if args.keep:
            kept = url if pg is not None else str(home)
            option = "--reuse-postgres" if pg is not None else "--reuse-sqlite"
            print(f"{backend}: kept; rerun the queries with {option} {kept}", flush=True)
            return
        if pg is not None:
            pg.drop()
        else:
            shutil.rmtree(home)

    return archive, release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40, help="queries per kind")
    parser.add_argument(
        "--peer-queries",
        type=int,
        default=1_000,
        help="run the LIKE peer on only the first N queries of each kind (it is slow)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per query (best counts)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the archives")
    parser.add_argument("--dir", default=None, help="where SQLite archives are made")
    parser.add_argument("--reuse-sqlite", metavar="HOME", default=None)
    parser.add_argument("--reuse-postgres", metavar="URL", default=None)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend not in ("sqlite", "postgresql"):
            parser.error(f"unknown backend {backend!r}: sqlite or postgresql")
        archive, release = open_archive(backend, args)
        try:
            run_queries(archive, args, backend)
        finally:
            release()


if __name__ == "__main__":
    main()
