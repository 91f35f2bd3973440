"""How the archive writes numbers for people, the same in the CLI and on the web pages.

Sizes use SI units (1 kB = 1,000 bytes), as the DANDI Archive and file managers do.
"""

from __future__ import annotations


def human_size(size: float) -> str:
    """1234567 -> '1.2 MB'; bytes below 1 kB as whole numbers ('512 B')."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"
