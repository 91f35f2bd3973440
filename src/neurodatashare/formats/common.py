"""Helpers the community-format plugins share: findings as ValidationResult dicts, and a
local path for libraries that only open files by name."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from neurodatashare.validation.types import Origin, Severity, ValidationResult


def finding(
    severity: Severity,
    check: str,
    message: str,
    how_to_fix: str | None = None,
    *,
    origin: Origin = "file",
    object_path: str | None = None,
) -> dict[str, Any]:
    """One finding, shaped and checked by ValidationResult so reports read like NWB's."""
    result = ValidationResult(
        severity=severity,
        origin=origin,
        check=check,
        message=message,
        how_to_fix=how_to_fix,
        object_path=object_path,
    )
    return result.model_dump(mode="json")


@contextmanager
def local_path(reader: BinaryIO, suffix: str) -> Iterator[Path]:
    """The reader's own file when it is one (the local store hands out real files);
    otherwise a temporary copy, because anndata, MorphIO and libNeuroML open by name."""
    name = getattr(reader, "name", None)
    if isinstance(name, str) and Path(name).is_file():
        yield Path(name)
        return
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"blob{suffix}"
        reader.seek(0)
        with open(target, "wb") as dst:
            shutil.copyfileobj(reader, dst, 8 * 2**20)
        yield target


def suffix_of(path: str, suffixes: tuple[str, ...]) -> str:
    """The claimed suffix `path` ends with (the first one when none does)."""
    lower = path.lower()
    return next((s for s in suffixes if lower.endswith(s)), suffixes[0])


def capped(counts: dict[str, int], limit: int) -> dict[str, int]:
    """The `limit` largest counts, largest first (ties by name), so summaries stay small."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ordered[:limit])
