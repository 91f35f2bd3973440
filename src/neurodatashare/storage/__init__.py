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
    raise ConfigError(f"NDS_BLOB_STORE={settings.blob_store!r} is not known; use 'local'.")
