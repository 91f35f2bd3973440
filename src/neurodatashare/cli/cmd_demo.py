"""`nds demo --out DIR`: write the seeded multi-modal demo dataset (4 NWB files)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from neurodatashare.cli.errors import friendly_errors


@click.command("demo")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the dataset into (created if missing).",
)
@click.option("--seed", default=0, show_default=True, help="Same seed, same files.")
@click.option(
    "--duration",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=5.0),
    help="Seconds of recording per session.",
)
@click.option(
    "--jobs",
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    type=click.IntRange(min=1),
    help="Files written at once (worker processes).",
)
@click.option(
    "--patchseq/--no-patchseq",
    default=True,
    show_default=True,
    help="Also write the Patch-seq dataset (NWB sweeps, SWC, h5ad, NeuroML) to OUT-patchseq.",
)
@friendly_errors
def command(out: Path, seed: int, duration: float, jobs: int, patchseq: bool) -> None:
    """Write a realistic, simulated demo dataset: 2 mice x 2 sessions of 64-channel ephys
    (raw, LFP, sorted units), two-photon imaging (frames, ROIs, traces) and behaviour
    (position, running speed, licks, trials), as NWB files named the way DANDI does.

    Takes 15-30 s and writes about 700 MB at the default 60 s per session. Then (unless
    --no-patchseq) a second, Patch-seq-style dataset beside it: four cells with sweeps,
    reconstructions and expression, linked by subject and cell id (about 10 s, 22 MB).
    """
    from rich.console import Console

    from neurodatashare.demo.write import write_demo_dataset

    console = Console(stderr=True)
    t0 = time.perf_counter()
    existing = sorted(out.glob("sub-*/*.nwb")) if out.exists() else []
    if existing:
        console.print(f"[yellow]note:[/] replacing {len(existing)} existing file(s) in {out}")

    def done(path: Path) -> None:
        size = path.stat().st_size / 1e6
        click.echo(f"{path.relative_to(out)}  {size:.0f} MB  ({time.perf_counter() - t0:.1f} s)")

    with console.status("Simulating and writing the demo sessions ..."):
        paths = write_demo_dataset(out, seed=seed, duration_s=duration, jobs=jobs, progress=done)
    total = sum(p.stat().st_size for p in paths) / 1e6
    console.print(
        f"[green]Wrote {len(paths)} NWB files ({total:.0f} MB) to {out} in "
        f"{time.perf_counter() - t0:.1f} s.[/]"
    )
    if patchseq:
        from neurodatashare.demo.patchseq import write_patchseq_dataset

        second = out.with_name(out.name + "-patchseq")
        t1 = time.perf_counter()
        with console.status("Writing the Patch-seq dataset ..."):
            files = write_patchseq_dataset(second, seed=seed)
        size = sum(p.stat().st_size for p in files) / 1e6
        console.print(
            f"[green]Wrote the Patch-seq dataset ({len(files)} files, {size:.0f} MB) to "
            f"{second} in {time.perf_counter() - t1:.1f} s.[/]"
        )
