"""The Python client of a neurodatashare (or any DANDI-compatible) archive.

`Client` talks to one archive; `RemoteDataset`, `RemoteVersion` and `RemoteAsset` are
what it returns. Errors are the classes in `neurodatashare.client.errors`.
"""

from neurodatashare.client.errors import (
    AuthenticationError,
    ClientError,
    ConfigurationError,
    HTTPError,
    NetworkError,
    NotFoundError,
    TransferError,
    VerificationError,
)
from neurodatashare.client.remote import Client, RemoteAsset, RemoteDataset, RemoteVersion

__all__ = [
    "AuthenticationError",
    "Client",
    "ClientError",
    "ConfigurationError",
    "HTTPError",
    "NetworkError",
    "NotFoundError",
    "RemoteAsset",
    "RemoteDataset",
    "RemoteVersion",
    "TransferError",
    "VerificationError",
]
