"""Content-addressed blob storage behind the small BlobStore interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatashare.errors import ConfigError
from neurodatashare.storage.base import BlobFacts, BlobStore, PartPlan

if TYPE_CHECKING:
    from neurodatashare.config import Settings

__all__ = ["BlobFacts", "BlobStore", "PartPlan", "get_blob_store"]


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
