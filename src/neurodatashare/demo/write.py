"""Writing the demo: one session to one NWB file, or the whole dataset in worker processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from pynwb import NWBHDF5IO

from neurodatashare.demo.nwbfile import build_demo_nwbfile
from neurodatashare.demo.simulate.session import simulate_session
from neurodatashare.demo.subjects import (
    DEMO_SESSIONS,
    DEMO_SUBJECTS,
    DemoSubject,
    demo_relpath,
    session_id,
)


def write_demo_session(
    path: Path,
    *,
    subject: DemoSubject,
    session_index: int,
    seed: int = 0,
    duration_s: float = 60.0,
    subject_index: int = 0,
) -> Path:
    """Simulate and write one demo NWB file to ``path``."""
    session = simulate_session(seed, (subject_index, session_index), duration_s)
    nwbfile = build_demo_nwbfile(session, subject, session_index, session_id(session_index))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.nwb")
    with NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwbfile)
    tmp.replace(path)
    return path


def _write_job(job: tuple[Path, DemoSubject, int, int, int, float]) -> Path:
    path, subject, k, seed, si, duration_s = job
    return write_demo_session(
        path,
        subject=subject,
        session_index=k,
        seed=seed,
        duration_s=duration_s,
        subject_index=si,
    )


def write_demo_dataset(
    out: Path,
    *,
    seed: int = 0,
    duration_s: float = 60.0,
    subjects: Sequence[DemoSubject] = DEMO_SUBJECTS,
    n_sessions: int = len(DEMO_SESSIONS),
    jobs: int = 1,
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the demo dataset under ``out`` and return the file paths, in a stable order.

    ``duration_s`` shortens every recording (tests use a few seconds); the default, 60 s,
    gives four files of ~175 MB (230 MB of raw int16 ephys each, before compression).
    ``jobs`` > 1 writes that many files at once in worker processes (same bytes either
    way); ``progress`` is called with each path as it is finished.
    """
    if duration_s < 5:
        raise ValueError("duration_s must be at least 5 seconds (one trial is 3-4.5 s)")
    out = Path(out)
    work = [
        (out / demo_relpath(subject.subject_id, session_id(k)), subject, k, seed, si, duration_s)
        for si, subject in enumerate(subjects)
        for k in range(n_sessions)
    ]
    if jobs <= 1 or len(work) == 1:
        for job in work:
            _write_job(job)
            if progress is not None:
                progress(job[0])
    else:
        ctx = multiprocessing.get_context("spawn")  # safe beside threads (servers, test runners)
        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=ctx) as pool:
            futures = [pool.submit(_write_job, job) for job in work]
            for future in as_completed(futures):
                path = future.result()
                if progress is not None:
                    progress(path)
    return [job[0] for job in work]
