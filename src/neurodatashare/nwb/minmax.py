"""The min/max arithmetic that the trace windows and the overview pyramids share.

:func:`block_minmax` reduces consecutive blocks of samples to their range; both
:func:`~neurodatashare.nwb.explore.read_window` (for a zoomed-out window read raw) and
:mod:`neurodatashare.nwb.overview` (for the stored levels) call it, so the two agree
exactly. The shape of the pyramid (:data:`FACTOR`, :data:`FIRST_LEVEL`) and the rule for
which series get one (:func:`needs_overview`) live here too, because the explorer reports
"not needed" for a series without an overview: neither side imports the other.
"""

from __future__ import annotations

import numpy as np

from neurodatashare.nwb.limits import MAX_RAW_VALUES

#: Block length ratio between consecutive levels.
FACTOR = 4
#: The finest stored level: blocks of FACTOR ** FIRST_LEVEL = 64 samples.
FIRST_LEVEL = 3
#: Series shorter than this (and small in values) need no pyramid.
MIN_SAMPLES = 100_000


def block_size(level: int) -> int:
    """Samples per block at ``level``."""
    return int(FACTOR**level)


def needs_overview(n_samples: int, n_channels: int) -> bool:
    """Whether a series is long enough for a pyramid to pay off."""
    if n_samples < 2 * block_size(FIRST_LEVEL):
        return False
    return n_samples >= MIN_SAMPLES or n_samples * n_channels > MAX_RAW_VALUES


def block_minmax(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of consecutive blocks of ``size`` rows (the last may be shorter).

    NaNs are ignored (a block of only NaNs gives NaN). Integer input keeps its dtype.
    Shared by the trace windows and the overview builder, so both agree exactly.
    """
    n = values.shape[0]
    full = n // size
    lo_op, hi_op = (np.fmin, np.fmax) if values.dtype.kind == "f" else (np.minimum, np.maximum)
    parts_lo, parts_hi = [], []
    if full:
        body = values[: full * size].reshape(full, size, *values.shape[1:])
        parts_lo.append(lo_op.reduce(body, axis=1))
        parts_hi.append(hi_op.reduce(body, axis=1))
    if n > full * size:
        tail = values[full * size :]
        parts_lo.append(lo_op.reduce(tail, axis=0, keepdims=True))
        parts_hi.append(hi_op.reduce(tail, axis=0, keepdims=True))
    if not parts_lo:
        empty = np.empty((0, *values.shape[1:]), dtype=values.dtype)
        return empty, empty.copy()
    if len(parts_lo) == 1:
        return parts_lo[0], parts_hi[0]
    return np.concatenate(parts_lo), np.concatenate(parts_hi)
