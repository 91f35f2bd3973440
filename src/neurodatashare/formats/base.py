"""The format protocol: what the archive needs to know about one kind of asset file.

A format recognises its files (path and first bytes), processes one open file into
dandischema-shaped metadata plus validation results, lists the derived artifacts it
builds, and names the explorer views it offers. The pipeline (archive/pipeline.py)
and the asset metadata (archive/assets.py) only talk to this protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol


@dataclass
class Processed:
    """One file's processing result: metadata (None if unreadable), findings, error."""

    metadata: dict[str, Any] | None
    results: list[dict[str, Any]] = field(default_factory=list)  # ValidationResult dicts
    error: str | None = None


@dataclass(frozen=True)
class Artifact:
    """A derived artifact: `build(reader, out)` writes it to the path `out` from the open
    file and returns a small JSON-able summary (or None); `producer()` is its version.
    `sidecars` name extra files `build` may write beside `out`, stored under their name."""

    kind: str
    producer: Callable[[], str]
    build: Callable[..., Any]
    sidecars: tuple[str, ...] = ()


class Format(Protocol):
    name: str
    media_type: str
    suffixes: tuple[str, ...]  # lower-case path endings; SQL filters use them
    version: str  # producer version of `process` (a change means reprocess)
    artifacts: Sequence[Artifact]

    def claims(self, path: str, head: bytes) -> bool: ...

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        """None: this format has nothing to check (plain files)."""
        ...

    def views(self, asset: dict[str, Any]) -> list[str]:
        """Names of the explorer views offered for an asset of this format."""
        ...


class StoreFormat(Protocol):
    """A format whose assets are Zarr archives (a folder of entries, not one file).

    `process_store` reads the Zarr through a read-only mapping from its entry paths
    (".zattrs", "0/.zarray", "zarr.json", ...) to their bytes, read lazily from storage
    (archive/zarrs.py, `open_zarr_store`); zarr-python opens it with
    `zarr.open_group(store, mode="r")`. Results are stored per Zarr checksum.
    """

    name: str
    media_type: str
    suffixes: tuple[str, ...]  # lower-case path endings, like (".ome.zarr",)
    version: str  # producer version of `process_store` (a change means reprocess)

    def claims(self, path: str, head: bytes = b"") -> bool: ...

    def process_store(self, store: Mapping[str, bytes], *, path: str) -> Processed: ...

    def views(self, asset: dict[str, Any]) -> list[str]:
        """Names of the explorer views offered for an asset of this format."""
        ...
