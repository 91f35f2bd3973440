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


def file_digests(path: str, *, chunk: int = 8 * 1024 * 1024) -> tuple[str, str]:
    """Return (sha256, dandi-etag) of a file in one read pass."""

    sha = hashlib.sha256()
    part_md5s = []
    with open(path, "rb") as f:
        for part in part_plan(os.path.getsize(path)):
            md5 = hashlib.md5()
            remaining = part.size
            while remaining:
                block = f.read(min(chunk, remaining))
                if not block:
                    raise ValueError(f"{path} is shorter than its size")
                md5.update(block)
                sha.update(block)
                remaining -= len(block)
            part_md5s.append(md5.hexdigest())
    return sha.hexdigest(), etag_from_part_md5s(part_md5s)
