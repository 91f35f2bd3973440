"""FastAPI application: the DANDI-compatible API, our extensions and the web pages."""

from neurodatashare.server.app import create_api

__all__ = ["create_api"]
