"""Domain services: keyword-only functions that own their transactions and access checks."""

from neurodatashare.archive.context import Archive

__all__ = ["Archive"]
