"""sha256 and the dandi-etag (the S3 multipart ETag), using dandischema's part plan."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable

from dandischema.digests.dandietag import Part, PartGenerator

ETAG_RE = re.compile(r"^[0-9a-f]{32}-\d{1,5}$")
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e-0"


def part_plan(size: int) -> list[Part]:
    """The parts a file of `size` bytes is cut into; the client computes the same plan."""
    return list(PartGenerator.for_file_size(size))


def etag_from_part_md5s(md5_hexes: Iterable[str]) -> str:
    """Combine per-part MD5s into the dandi-etag.

    dandischema's DandiETag only accepts raw bytes of each part; at upload time we already
    hashed every part while writing it, so we combine the recorded digests with the same
    formula (md5 of the concatenated binary digests, then "-N"). A test checks that this
    agrees with DandiETag.from_file.
    """
    digests = [bytes.fromhex(h) for h in md5_hexes]
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


class EtagHasher:
    """The dandi-etag of `size` bytes fed in order, in one pass (client and server alike)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.plan = part_plan(size)
        self.part_md5s: list[str] = []
        self.fed = 0
        self._md5 = hashlib.md5()
        self._left = self.plan[0].size if self.plan else 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view.nbytes:
            if len(self.part_md5s) >= len(self.plan):
                raise ValueError(f"more than the expected {self.size} bytes")
            take = min(view.nbytes, self._left)
            self._md5.update(view[:take])
            self._left -= take
            self.fed += take
            view = view[take:]
            if self._left == 0:
                self.part_md5s.append(self._md5.hexdigest())
                if len(self.part_md5s) < len(self.plan):
                    self._md5 = hashlib.md5()
                    self._left = self.plan[len(self.part_md5s)].size

    def hexdigest(self) -> str:
        if self.fed != self.size:
            raise ValueError(f"got {self.fed} of {self.size} bytes")
        return etag_from_part_md5s(self.part_md5s)


def file_digests(path: str, *, chunk: int = 8 * 1024 * 1024) -> tuple[str, str]:
    """Return (sha256, dandi-etag) of a file in one read pass."""
    sha = hashlib.sha256()
    etag = EtagHasher(os.path.getsize(path))
    with open(path, "rb") as f:
        while block := f.read(chunk):
            sha.update(block)
            etag.update(block)
    try:
        return sha.hexdigest(), etag.hexdigest()
    except ValueError as exc:
        raise ValueError(f"{path} changed while it was read: {exc}") from None
