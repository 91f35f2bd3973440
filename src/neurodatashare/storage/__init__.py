"""Content-addressed blob storage behind the small BlobStore interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatashare.errors import ConfigError, Unavailable
from neurodatashare.storage.base import BlobFacts, BlobStore, PartPlan

if TYPE_CHECKING:
    from neurodatashare.config import Settings

__all__ = ["BlobFacts", "BlobStore", "PartPlan", "get_blob_store", "unavailable"]


def unavailable(exc: BaseException) -> bool:
    """True if `exc`, or an error it was raised from (h5py wraps a failed read), says the
    object storage is not answering: no connection, a timeout, or an S3 5xx after boto3's
    retries. Such failures pass; the request or job should be tried again later."""
    try:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return False
    down = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError)
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, (*down, Unavailable)):  # ours: a service said "later" (DataCite)
            return True
        if isinstance(seen, ClientError):
            status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return int(status or 0) >= 500
        seen = seen.__cause__ or seen.__context__
    return False


def get_blob_store(settings: Settings) -> BlobStore:
    """The store `NDS_BLOB_STORE` names.

    Here rather than in storage/base.py, which the backends import: the factory there
    made base and local import each other.
    """
    if settings.blob_store == "local":
        # Imported on use: the client imports storage/digests.py, which runs this module.
        from neurodatashare.storage.local import LocalBlobStore

        return LocalBlobStore(
            root=settings.resolved_blob_dir,
            public_url=settings.resolved_public_url,
            secret=settings.resolved_secret_key,
        )
    if settings.blob_store == "s3":
        from neurodatashare.storage.s3 import S3BlobStore  # boto3 is imported on use

        return S3BlobStore(
            bucket=settings.s3_bucket or "",
            endpoint_url=settings.s3_endpoint_url,
            public_endpoint_url=settings.s3_public_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
            public_url=settings.resolved_public_url,
            secret=settings.resolved_secret_key,
            cache_bytes=settings.s3_cache_mb * 2**20,
        )
    raise ConfigError(f"NDS_BLOB_STORE={settings.blob_store!r} is not known; use 'local' or 's3'.")
