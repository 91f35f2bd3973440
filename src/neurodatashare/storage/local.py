"""Blobs as files in a folder; multipart uploads written in place.

Each upload gets `uploads/<id>/data`, pre-sized to the file size. A part is written at
its offset as it streams in, hashed on the way (no second pass), and its MD5 recorded in
`part-NNNNN.md5` only once the part is complete. Assembling therefore costs no copy:
the dandi-etag comes from the recorded MD5s, and committing is one rename.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import time
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlencode

from neurodatashare.errors import BadRequest, Forbidden, NotFound
from neurodatashare.storage.base import BlobFacts, PartPlan
from neurodatashare.storage.digests import etag_from_part_md5s, part_plan
from neurodatashare.storage.signing import signature_matches

_UPLOAD_ID = re.compile(r"^[0-9a-f-]{36}$")
PART_URL_LIFETIME = 7 * 24 * 3600  # as dandi-archive signs its S3 part URLs


class PartWriter:
    """Writes one part at its offset and hashes it; `finish()` records it as complete.

    `write` stores a chunk at once (in the caller's thread, while the chunk is still in
    the CPU cache) and queues it for hashing; `hash_chunks` MD5s what `take_queued` hands
    over, and may run in another thread, one call at a time (hashlib releases the GIL).
    """

    def __init__(self, upload_dir: Path, part_number: int, offset: int, size: int) -> None:
        self._dir = upload_dir
        self._number = part_number
        self._remaining = size
        self._size = size
        self._md5 = hashlib.md5()
        self._queued: list[bytes] = []
        self.queued_bytes = 0
        self._file = open(upload_dir / "data", "r+b")  # noqa: SIM115 - closed in finish/close
        self._file.seek(offset)

    def write(self, chunk: bytes) -> None:
        if len(chunk) > self._remaining:
            self.close()
            raise BadRequest(
                f"Part {self._number} is longer than the {self._size} bytes planned for it."
            )
        self._file.write(chunk)
        self._queued.append(chunk)
        self.queued_bytes += len(chunk)
        self._remaining -= len(chunk)

    def take_queued(self) -> list[bytes]:
        """The chunks written since the last call, for `hash_chunks`."""
        chunks, self._queued, self.queued_bytes = self._queued, [], 0
        return chunks

    def hash_chunks(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self._md5.update(chunk)

    def finish(self) -> str:
        self.close()
        self.hash_chunks(self.take_queued())
        if self._remaining:
            raise BadRequest(
                f"Part {self._number} is {self._size - self._remaining} bytes long, "
                f"but {self._size} bytes were planned for it."
            )
        digest = self._md5.hexdigest()
        marker = self._dir / f"part-{self._number:05d}.md5"
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(digest)
        os.replace(tmp, marker)
        return digest

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class LocalBlobStore:
    def __init__(self, *, root: Path, public_url: str, secret: str) -> None:
        self.root = Path(root)
        self.public_url = public_url.rstrip("/")
        self._secret = secret.encode()
        (self.root / "uploads").mkdir(parents=True, exist_ok=True)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)

    # -- signing ------------------------------------------------------------------------
    def _sign(self, *fields: object) -> str:
        msg = "\n".join(str(f) for f in fields).encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def _upload_dir(self, upload_id: str) -> Path:
        # ids become folder names: never let one climb out of the upload area
        if not _UPLOAD_ID.match(upload_id):
            raise NotFound("This upload does not exist.")
        return self.root / "uploads" / upload_id

    # -- uploads ------------------------------------------------------------------------
    def begin_upload(self, *, upload_id: str, size: int) -> list[PartPlan]:
        d = self._upload_dir(upload_id)
        d.mkdir(parents=True, exist_ok=False)
        with open(d / "data", "wb") as f:
            f.truncate(size)
        return self._part_plans(upload_id, size)

    def resume_upload(self, *, upload_id: str, size: int) -> list[PartPlan] | None:
        if not (self._upload_dir(upload_id) / "data").exists():
            return None
        return self._part_plans(upload_id, size)

    def _part_plans(self, upload_id: str, size: int) -> list[PartPlan]:
        expires = int(time.time()) + PART_URL_LIFETIME
        plans = []
        for part in part_plan(size):
            query = urlencode(
                {
                    "total": size,
                    "expires": expires,
                    "signature": self._sign(upload_id, part.number, size, expires),
                }
            )
            url = f"{self.public_url}/api/uploads/{upload_id}/parts/{part.number}/?{query}"
            plans.append(PartPlan(part_number=part.number, size=part.size, upload_url=url))
        return plans

    def part_writer(
        self, *, upload_id: str, part_number: int, total: int, expires: int, signature: str
    ) -> PartWriter:
        """Check a part URL's signature and open the part for writing."""
        good = self._sign(upload_id, part_number, total, expires)
        if not signature_matches(good, signature):
            raise Forbidden("This upload URL's signature is not valid.")
        if expires < time.time():
            raise Forbidden("This upload URL has expired; start the upload again.")
        d = self._upload_dir(upload_id)
        if not (d / "data").exists():
            raise NotFound("This upload does not exist or was already completed.")
        plan = part_plan(total)
        if not 1 <= part_number <= len(plan):
            raise BadRequest(f"Part number {part_number} is out of range 1..{len(plan)}.")
        part = plan[part_number - 1]
        return PartWriter(d, part_number, part.offset, part.size)

    def complete_url(self, *, upload_id: str) -> str:
        sig = self._sign(upload_id, "complete")
        return f"{self.public_url}/api/uploads/{upload_id}/storage-complete/?signature={sig}"

    def check_complete_signature(self, *, upload_id: str, signature: str) -> None:
        if not signature_matches(self._sign(upload_id, "complete"), signature):
            raise Forbidden("This completion URL's signature is not valid.")

    def recorded_parts(self, *, upload_id: str) -> dict[int, str]:
        d = self._upload_dir(upload_id)
        if not d.exists():
            raise NotFound("This upload does not exist or was already completed.")
        return {int(p.stem.split("-")[1]): p.read_text() for p in d.glob("part-*.md5")}

    def assemble(self, *, upload_id: str, part_count: int, size: int) -> BlobFacts:
        recorded = self.recorded_parts(upload_id=upload_id)
        missing = [n for n in range(1, part_count + 1) if n not in recorded]
        if missing:
            raise BadRequest(f"Parts {missing} of this upload were never received.")
        data = self._upload_dir(upload_id) / "data"
        etag = etag_from_part_md5s(recorded[n] for n in range(1, part_count + 1))
        # No second read here: the etag comes from the MD5s taken as parts arrived, and
        # sha256 is computed by a background job (validate stays O(1) in the file size).
        return BlobFacts(size=data.stat().st_size, etag=etag, sha256=None)

    def commit(self, *, upload_id: str, key: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._upload_dir(upload_id) / "data", target)
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def abort(self, *, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def stale_uploads(self) -> list[str]:
        return [p.name for p in (self.root / "uploads").iterdir() if p.is_dir()]

    # -- blobs --------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def open(self, key: str) -> BinaryIO:
        return open(self.root / key, "rb")

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self.root / key, "rb") as f:
            f.seek(start)
            return f.read(length)

    def size(self, key: str) -> int:
        return (self.root / key).stat().st_size

    def local_path(self, key: str) -> Path | None:
        return self.root / key

    def download_url(self, key: str, *, filename: str) -> str | None:
        return None  # served by the API itself, with Range

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def put(self, key: str, data: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def put_file(self, key: str, source: Path) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def adopt_file(self, key: str, source: Path) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)  # same file system: no copy
        except OSError:
            self.put_file(key, source)
            Path(source).unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise NotFound("This derived file is missing from storage.") from None
