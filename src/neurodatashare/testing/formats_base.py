"""What a format-corpus writer returns: the files it wrote and how NeuroConv reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

START = datetime(2024, 3, 4, 10, 15, 0)  # acquisition systems write local, naive times


@dataclass(frozen=True)
class FormatSample:
    """One small valid sample of a format NeuroConv reads.

    ``InterfaceClass(**source_options)`` opens it, where the class is
    ``neuroconv.datainterfaces.<interface>``; ``conversion_options`` go to
    ``run_conversion`` and ``metadata`` is merged over the interface's own metadata (what
    a user must supply that the format does not record).
    """

    name: str
    interface: str
    source_options: dict[str, Any]
    written_by: str  # the writer library, or the spec the bytes follow
    conversion_options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: For raw recordings written from a spec: the signal in volts, (samples, channels),
    #: that the converted ElectricalSeries must hold (data * conversion + offset).
    volts: np.ndarray | None = field(default=None, compare=False, repr=False)
