"""Blobs as objects in an S3 bucket (AWS, SeaweedFS, Ceph RGW, ...), through boto3.

Uploads never pass through an API process, as in DANDI: `begin_upload` starts an S3
multipart upload straight at the blob's final key (`blobs/abc/def/<upload id>`; the
archive names the blob after its upload) and hands out presigned part URLs with the part
size signed in, then a presigned POST that completes it. The object is there before
`validate`, but nobody can read it: the bucket takes signed requests only, and the
archive signs URLs only for blobs it has accepted. `assemble` reads the multipart ETag,
which is the dandi-etag when the parts follow dandischema's plan (the archive compares
them); `commit` then only checks that the object is there.

Reads are ranged GETs; `open` wraps them in a RangedReader with its bounded block cache,
so no request ever copies a whole blob. URLs given to clients are signed for
`public_endpoint_url` (where clients reach S3 by another name than the server does).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from neurodatashare.errors import BadRequest, ConfigError, Forbidden, NotFound
from neurodatashare.storage.base import BlobFacts, PartPlan, blob_key
from neurodatashare.storage.digests import EMPTY_ETAG, part_plan
from neurodatashare.storage.ranged import BlockCache, RangedReader
from neurodatashare.storage.signing import signature_matches

PART_URL_LIFETIME = 7 * 24 * 3600  # as dandi-archive signs its part URLs (the AWS maximum)
DOWNLOAD_URL_LIFETIME = 3600  # a redirect target: fetched at once, short so revocation bites
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}
# Objects under these prefixes never change once the archive refers to them (derived
# artifacts may be rebuilt in place, so they are asked for afresh).
_IMMUTABLE = ("blobs/", "zarrs/")
_KNOWN_SIZES = 10_000


def _missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code")) in _MISSING


class S3BlobStore:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        public_endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str,
        public_url: str,
        secret: str,
        cache_bytes: int = 256 * 2**20,
        create_bucket: bool = True,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if not bucket:
            raise ConfigError("NDS_BLOB_STORE=s3 needs NDS_S3_BUCKET, the bucket's name.")
        self.bucket = bucket
        self.public_url = public_url.rstrip("/")
        self._secret = secret.encode()
        # Path-style for a named endpoint (SeaweedFS, MinIO, RGW know no bucket subdomains);
        # AWS itself picks its own style.
        style = "path" if endpoint_url else "auto"
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": style},
            retries={"max_attempts": 4, "mode": "standard"},
            max_pool_connections=32,  # RangedReaders of several requests share it
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._s3: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        # Signing is local arithmetic, but the host is part of what is signed: URLs for
        # clients are signed for the name the clients use.
        self._public_endpoint = (public_endpoint_url or endpoint_url or "").rstrip("/")
        self._signer: Any = session.client(
            "s3", endpoint_url=public_endpoint_url or endpoint_url, config=config
        )
        # one-request copies up to S3's 5 GiB limit, multipart copies above it
        self._transfer = TransferConfig(multipart_threshold=5 * 2**30, multipart_chunksize=2**29)
        self._upload_ids: dict[str, str] = {}  # our upload id -> S3's, filled on use
        # blocks shared by every reader of this store: the page cache a local file has
        self.blocks = BlockCache(cache_bytes)
        self._identity: OrderedDict[str, tuple[int, str]] = OrderedDict()  # key -> size, etag
        if create_bucket:
            self._ensure_bucket()

    @property
    def client(self) -> Any:
        """The boto3 S3 client the server uses (tests and admin tools)."""
        return self._s3

    def _ensure_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if not _missing(exc):
                raise ConfigError(
                    f"The S3 bucket {self.bucket!r} cannot be reached: {exc}. Check "
                    "NDS_S3_ENDPOINT_URL, NDS_S3_ACCESS_KEY_ID and NDS_S3_SECRET_ACCESS_KEY."
                ) from exc
            self._s3.create_bucket(Bucket=self.bucket)

    # -- uploads ------------------------------------------------------------------------
    def _s3_upload_id(self, upload_id: str) -> str | None:
        """S3's id of the multipart upload at this upload's key, None when there is none
        (never started, completed or aborted). Asked of S3 so any process can answer."""
        known = self._upload_ids.get(upload_id)
        if known is not None:
            return known
        key = blob_key(upload_id)
        page = self._s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        for item in page.get("Uploads", []):
            if item["Key"] == key:
                self._upload_ids[upload_id] = item["UploadId"]
                return str(item["UploadId"])
        return None

    def begin_upload(self, *, upload_id: str, size: int) -> list[PartPlan]:
        key = blob_key(upload_id)
        plan = part_plan(size)
        if not plan:
            # S3 has no multipart upload of zero parts: the empty object is stored now
            # (still unreadable: no blob row) and completion is the archive's own URL.
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=b"")
            return []
        started = self._s3.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType="application/octet-stream"
        )
        s3_id = started["UploadId"]
        self._upload_ids[upload_id] = s3_id
        return self._part_plans(key, s3_id, plan)

    def resume_upload(self, *, upload_id: str, size: int) -> list[PartPlan] | None:
        plan = part_plan(size)
        if not plan:
            return None  # the empty file is stored at initialize: nothing to resume
        # ask S3, not the cache: the client completes at S3 without telling this process
        self._upload_ids.pop(upload_id, None)
        s3_id = self._s3_upload_id(upload_id)
        if s3_id is None:
            return None
        return self._part_plans(blob_key(upload_id), s3_id, plan)

    def _part_plans(self, key: str, s3_id: str, plan: list[Any]) -> list[PartPlan]:
        return [
            PartPlan(
                part_number=part.number,
                size=part.size,
                upload_url=self._signer.generate_presigned_url(
                    "upload_part",
                    Params={
                        "Bucket": self.bucket,
                        "Key": key,
                        "UploadId": s3_id,
                        "PartNumber": part.number,
                        "ContentLength": part.size,  # signed: a truncated part is refused
                    },
                    ExpiresIn=PART_URL_LIFETIME,
                ),
            )
            for part in plan
        ]

    def part_writer(
        self, *, upload_id: str, part_number: int, total: int, expires: int, signature: str
    ) -> Any:
        raise NotFound("On this archive, parts are sent to S3 with the URLs initialize gave.")

    def _sign(self, *fields: object) -> str:
        msg = "\n".join(str(f) for f in fields).encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def complete_url(self, *, upload_id: str) -> str:
        s3_id = self._s3_upload_id(upload_id)
        if s3_id is None:  # the empty file: nothing to join, the archive answers itself
            sig = self._sign(upload_id, "complete")
            return f"{self.public_url}/api/uploads/{upload_id}/storage-complete/?signature={sig}"
        url: str = self._signer.generate_presigned_url(
            "complete_multipart_upload",
            Params={"Bucket": self.bucket, "Key": blob_key(upload_id), "UploadId": s3_id},
            ExpiresIn=PART_URL_LIFETIME,
            HttpMethod="POST",
        )
        return url

    def check_complete_signature(self, *, upload_id: str, signature: str) -> None:
        if self._s3_upload_id(upload_id) is not None:
            raise NotFound("This upload is completed at S3, with the URL complete/ gave.")
        if not signature_matches(self._sign(upload_id, "complete"), signature):
            raise Forbidden("This completion URL's signature is not valid.")

    def recorded_parts(self, *, upload_id: str) -> dict[int, str]:
        s3_id = self._s3_upload_id(upload_id)
        if s3_id is None:
            if self._head(blob_key(upload_id)).get("ContentLength") == 0:
                return {}  # the empty file, stored whole at initialize
            raise NotFound("This upload does not exist or was already completed.")
        parts: dict[int, str] = {}
        pages = self._s3.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=blob_key(upload_id), UploadId=s3_id
        )
        try:
            for page in pages:
                for part in page.get("Parts", []):
                    parts[int(part["PartNumber"])] = str(part["ETag"]).strip('"')
        except Exception as exc:
            if _missing(exc):
                self._upload_ids.pop(upload_id, None)
                raise NotFound("This upload does not exist or was already completed.") from None
            raise
        return parts

    def assemble(self, *, upload_id: str, part_count: int, size: int) -> BlobFacts:
        key = blob_key(upload_id)
        head = self._head(key)
        if not head:
            if self._s3_upload_id(upload_id) is not None:
                raise BadRequest(
                    "The parts of this upload were never joined: POST the body that "
                    "complete/ answered to its complete_url, then validate again."
                )
            raise NotFound("This upload does not exist or was already completed.")
        length = int(head["ContentLength"])
        etag = EMPTY_ETAG if length == 0 else str(head["ETag"]).strip('"')
        return BlobFacts(size=length, etag=etag, sha256=None)

    def commit(self, *, upload_id: str, key: str) -> None:
        source = blob_key(upload_id)
        self._upload_ids.pop(upload_id, None)
        if key == source:  # completed in place: the archive accepting it is the commit
            if not self._head(key):
                raise NotFound("The bytes of this upload are gone (it expired); upload again.")
            return
        self._s3.copy(
            {"Bucket": self.bucket, "Key": source}, self.bucket, key, Config=self._transfer
        )
        self._s3.delete_object(Bucket=self.bucket, Key=source)

    def abort(self, *, upload_id: str) -> None:
        """Drop the upload's parts and its object. The archive calls this only for an
        upload it did not accept, whose key therefore belongs to no blob."""
        key = blob_key(upload_id)
        self._upload_ids.pop(upload_id, None)
        page = self._s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        for item in page.get("Uploads", []):
            if item["Key"] == key:
                self._s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=item["UploadId"]
                )
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def stale_uploads(self) -> list[str]:
        """Upload ids with a multipart upload in progress (parts held, never joined)."""
        found = []
        pages = self._s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix="blobs/"
        )
        for page in pages:
            found += [item["Key"].rsplit("/", 1)[-1] for item in page.get("Uploads", [])]
        return found

    # -- blobs --------------------------------------------------------------------------
    def _head(self, key: str) -> dict[str, Any]:
        try:
            head: dict[str, Any] = self._s3.head_object(Bucket=self.bucket, Key=key)
            return head
        except Exception as exc:
            if _missing(exc):
                return {}
            raise

    def exists(self, key: str) -> bool:
        return bool(self._head(key))

    def _size_and_etag(self, key: str) -> tuple[int, str]:
        known = self._identity.get(key)
        if known is not None:
            return known
        head = self._head(key)
        if not head:
            raise NotFound("The bytes of this file are missing from storage.")
        found = (int(head["ContentLength"]), str(head.get("ETag", "")))
        if key.startswith(_IMMUTABLE):
            self._identity[key] = found
            while len(self._identity) > _KNOWN_SIZES:
                self._identity.popitem(last=False)
        return found

    def open(self, key: str) -> BinaryIO:
        size, etag = self._size_and_etag(key)
        reader = RangedReader(
            lambda start, length: self.read_range(key, start, length),
            size,
            cache_blocks=8,  # the shared cache holds the rest
            shared=self.blocks,
            name=(key, etag),  # a rebuilt artifact at the same key gets a new ETag
        )
        return reader  # type: ignore[return-value]  # a RawIOBase: all h5py needs

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            got = self._s3.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
            )
        except Exception as exc:
            code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code"))
            if code in {"InvalidRange", "416"}:
                return b""  # from at or past the end: nothing, as a file read would give
            if _missing(exc):
                raise NotFound("The bytes of this file are missing from storage.") from None
            raise
        data: bytes = got["Body"].read()
        return data

    def size(self, key: str) -> int:
        return self._size_and_etag(key)[0]

    def local_path(self, key: str) -> Path | None:
        return None

    def download_url(self, key: str, *, filename: str) -> str | None:
        url: str = self._signer.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": (
                    f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
                ),
            },
            ExpiresIn=DOWNLOAD_URL_LIFETIME,
        )
        return url

    def object_url(self, key: str) -> str:
        """The object's bare URL, without a signature: what the bucket must refuse (the
        archive never hands it out; contentUrl names its own access-checked route)."""
        if not self._public_endpoint:  # AWS without an endpoint: its regional address
            return f"https://{self.bucket}.s3.amazonaws.com/{key}"
        return f"{self._public_endpoint}/{self.bucket}/{key}"

    def delete(self, key: str) -> None:
        self._identity.pop(key, None)
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    # -- derived artifacts ----------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)  # atomic on S3

    def read(self, key: str) -> bytes:
        try:
            data: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            if _missing(exc):
                raise NotFound("This derived file is missing from storage.") from None
            raise
        return data

    def put_file(self, key: str, source: Path) -> None:
        self._s3.upload_file(str(source), self.bucket, key)

    def adopt_file(self, key: str, source: Path) -> None:
        self.put_file(key, source)
        Path(source).unlink(missing_ok=True)
