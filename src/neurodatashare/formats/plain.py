"""Any file no other format claims: stored and served as is, nothing to check."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any, BinaryIO

from neurodatashare.formats.base import Artifact, Processed


class Plain:
    name = "plain"
    media_type = "application/octet-stream"
    suffixes: tuple[str, ...] = ()
    version = "plain-1"
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes) -> bool:
        return True

    def media_type_for(self, path: str) -> str:
        return mimetypes.guess_type(path)[0] or self.media_type

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        return None

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["download"]


PLAIN = Plain()
