"""Validation cost: plain NWB Inspector (DANDI config) vs `validate_nwb_file`.

    python bench/validate.py [FOLDER] [--synthetic] [--repeat 3]

Without FOLDER it writes the demo dataset (`nds demo`: four multi-modal files) into a
temporary folder. With --synthetic it writes other realistic files instead: a 64-channel,
60 s, 30 kHz recording with sorted units; a two-photon session with ROIs, traces and
position; and a file with 300 small TimeSeries (inspection cost grows with the number of
objects, not bytes). For each file it times, best of --repeat runs:

  plain   nwbinspector.inspect_nwbfile(config=dandi): pynwb schema validation + checks
  ours    validate_nwb_file: the same two plus the archive's metadata rules, in one read
  sha256  hashing the file, which the archive does at upload anyway
  hit     looking a report up by sha256, which is all a re-validation costs: the archive
          keys reports by blob digest and VALIDATOR_VERSION and skips blobs it has seen.

Target: ours / plain under 1.1.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def make_files(folder: Path) -> list[Path]:
    from pynwb.base import TimeSeries

    from neurodatashare.testing import nwbfiles as nf

    print(f"writing synthetic files to {folder} ...", flush=True)
    ephys = nf.make_ephys_file(
        folder / "sub-mouse001_ses-1_ecephys.nwb",
        n_channels=64,
        duration_s=60.0,
        rate=30_000.0,
        n_units=40,
        identifier="bench-ephys",
    )
    ophys = nf.make_ophys_file(
        folder / "sub-mouse001_ses-2_behavior+ophys.nwb",
        n_frames=3000,
        frame_shape=(128, 128),
        n_rois=150,
        rate=30.0,
        identifier="bench-ophys",
    )
    nwbfile = nf.make_nwbfile(identifier="bench-many")
    module = nwbfile.create_processing_module("behavior", "many small signals")
    for i in range(300):
        module.add(
            TimeSeries(
                name=f"signal{i:03d}",
                description="a small synthetic signal",
                data=list(range(100)),
                unit="a.u.",
                rate=10.0,
            )
        )
    many = nf.write_nwbfile(nwbfile, folder / "sub-mouse001_ses-3_behavior.nwb")
    return [ephys, ophys, many]


def plain_inspector(path: Path) -> list[Any]:
    from nwbinspector import inspect_nwbfile, load_config

    return list(inspect_nwbfile(nwbfile_path=path, config=load_config("dandi")))


def ours(path: Path) -> list[Any]:
    from neurodatashare.validation import validate_nwb_file

    return validate_nwb_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="folder of .nwb files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--synthetic", action="store_true", help="bench synthetic files instead of the demo dataset"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from neurodatashare.validation import VALIDATOR_VERSION
    from neurodatashare.validation.run import iter_nwb_paths

    with tempfile.TemporaryDirectory() as tmp:
        if args.folder:
            files = iter_nwb_paths([args.folder])
        elif args.synthetic:
            files = make_files(Path(tmp))
        else:
            from neurodatashare.demo.write import write_demo_dataset

            print(f"writing the demo dataset to {tmp} ...", flush=True)
            files = write_demo_dataset(Path(tmp), jobs=2)
        if not files:
            raise SystemExit(f"no .nwb files under {args.folder}")
        # Warm up imports and pynwb's type-map cache so neither side pays for them.
        plain_inspector(files[-1])
        ours(files[-1])

        rows = []
        cache: dict[tuple[str, str], list[Any]] = {}
        for path in files:
            t_plain, plain_msgs = best_of(args.repeat, functools.partial(plain_inspector, path))
            t_ours, results = best_of(args.repeat, functools.partial(ours, path))
            t_sha, digest = best_of(1, functools.partial(sha256, path))
            cache[(digest, VALIDATOR_VERSION)] = results
            t_hit, _ = best_of(
                1000, functools.partial(cache.__getitem__, (digest, VALIDATOR_VERSION))
            )
            size_mb = path.stat().st_size / 1e6
            rows.append(
                (path.name, size_mb, t_plain, t_ours, t_sha, t_hit, len(plain_msgs), len(results))
            )

    header = (
        f"{'file':<42} {'MB':>7} {'plain s':>8} {'ours s':>8} {'ratio':>6} "
        f"{'sha256 s':>8} {'hit µs':>7} {'plain#':>6} {'ours#':>6}"
    )
    print(f"\nvalidator {VALIDATOR_VERSION}; best of {args.repeat}")
    print(header)
    print("-" * len(header))
    for name, mb, tp, to, ts, th, n_plain, n_ours in rows:
        print(
            f"{name[:42]:<42} {mb:>7.1f} {tp:>8.3f} {to:>8.3f} {to / tp:>6.2f} "
            f"{ts:>8.3f} {th * 1e6:>7.2f} {n_plain:>6} {n_ours:>6}"
        )
    total_plain = sum(r[2] for r in rows)
    total_ours = sum(r[3] for r in rows)
    ratio = total_ours / total_plain
    verdict = "meets" if ratio < 1.1 else "MISSES"
    print("-" * len(header))
    print(f"overall ours / plain = {ratio:.2f} ({verdict} the 1.1 target)")
    print(
        "A cache hit (blob digest seen before) costs one dict lookup; the archive skips "
        "validation for such blobs entirely."
    )


if __name__ == "__main__":
    main()
