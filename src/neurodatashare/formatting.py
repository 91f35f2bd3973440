"""How the archive writes values for people and pages, the same in the CLI and on the web.

Sizes use SI units (1 kB = 1,000 bytes), as the DANDI Archive and file managers do.
"""

from __future__ import annotations

import json
from typing import Any


def script_json(value: Any, **dumps: Any) -> str:
    """`value` as JSON safe inside an HTML <script> element: `<`, `>` and `&` escaped, so no
    text in it can end the element or open another."""
    text = json.dumps(value, **dumps)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def human_size(size: float) -> str:
    """1234567 -> '1.2 MB'; bytes below 1 kB as whole numbers ('512 B')."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"
