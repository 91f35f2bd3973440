"""Content-addressed blob storage behind the small BlobStore interface."""

from neurodatashare.storage.base import BlobFacts, BlobStore, PartPlan, get_blob_store

__all__ = ["BlobFacts", "BlobStore", "PartPlan", "get_blob_store"]
