"""The explorer's file tree of a 30,000-object file: whole tree vs the first page.

python bench/tree.py [--series 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import h5py

from neurodatashare.nwb.explore import describe_tree, tree_page
from neurodatashare.testing.bigtree import write_many_objects


def timed(label: str, fn) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    size = len(json.dumps(result, separators=(",", ":")))
    print(f"{label:<40} {took:7.2f} s  {size / 1e6:6.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_many_objects(Path(tmp) / "big.nwb", n_series=args.series)
        with h5py.File(path, "r") as h5:
            timed("whole tree (before: describe_tree)", lambda: describe_tree(h5))
            timed("first page (after: default limit 1000)", lambda: tree_page(h5))
            timed(
                "one group's children, first 1000",
                lambda: tree_page(h5, path="/acquisition", depth=1),
            )
            timed("last page (offset 25000)", lambda: tree_page(h5, offset=25_000))


if __name__ == "__main__":
    main()
