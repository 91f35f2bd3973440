"""What can go wrong when talking to an archive, as typed exceptions with exit codes.

Every error carries one sentence for a person (`message`) and the exit status the `nds`
client commands use for it (`exit_code`), so scripts can tell a missing dataset from a
refused key from a lost connection:

| exit | meaning |
|---|---|
| 0 | success |
| 1 | anything else: a usage error, or the server refused the request (400, 409) |
| 2 | not found: the dataset, version or path does not exist, or you may not see it |
| 3 | authentication: no key, a wrong key, or not allowed (401, 403) |
| 4 | network: the archive could not be reached, the connection was lost, or it kept failing |
| 5 | verification or partial transfer: a file did not match its digest, or some files failed |
"""

from __future__ import annotations

from typing import Any

from neurodatashare.errors import NDSError

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_NOT_FOUND = 2
EXIT_AUTH = 3
EXIT_NETWORK = 4
EXIT_VERIFY = 5


class ClientError(NDSError):
    """Base class of the client's errors."""

    exit_code = EXIT_OTHER


class ConfigurationError(ClientError):
    """No archive URL is configured, or the configuration file cannot be read."""


class HTTPError(ClientError):
    """The archive answered with an error status; `message` is its `detail`."""

    def __init__(
        self, message: str, *, status: int, method: str = "", url: str = "", detail: Any = None
    ) -> None:
        super().__init__(message)
        self.status_code = status
        self.method = method
        self.url = url
        self.detail = detail


class BadRequestError(HTTPError):
    """400 (or another 4xx without a more specific class)."""


class AuthenticationError(HTTPError):
    """401: no key, or a key the archive does not know."""

    exit_code = EXIT_AUTH


class PermissionDeniedError(HTTPError):
    """403: the key is valid but may not do this."""

    exit_code = EXIT_AUTH


class NotFoundError(HTTPError):
    """404: it does not exist, or you may not see it (the archive does not say which)."""

    exit_code = EXIT_NOT_FOUND


class ConflictError(HTTPError):
    """409: the request clashes with what is there (a path taken, files still checked)."""


class ServerError(HTTPError):
    """5xx that kept coming back after the retries."""

    exit_code = EXIT_NETWORK


class NetworkError(ClientError):
    """The archive could not be reached, or the connection broke and retries did not help."""

    exit_code = EXIT_NETWORK


class VerificationError(ClientError):
    """Downloaded or uploaded bytes do not match their digest."""

    exit_code = EXIT_VERIFY


class NotNWBError(ClientError):
    """`asset.open()`: the asset is not an NWB file, or its bytes cannot be read as one."""


class TransferError(ClientError):
    """Some files of an upload or download failed; `failures` maps each file to its error."""

    def __init__(self, message: str, *, failures: dict[str, ClientError]) -> None:
        super().__init__(message)
        self.failures = failures
        codes = {e.exit_code for e in failures.values()}
        self.exit_code = codes.pop() if len(codes) == 1 else EXIT_VERIFY


def error_for_status(
    status: int, message: str, *, method: str = "", url: str = "", detail: Any = None
) -> HTTPError:
    """The exception class that fits an HTTP error status."""
    cls: type[HTTPError]
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = ConflictError
    elif status >= 500:
        cls = ServerError
    else:
        cls = BadRequestError
    return cls(message, status=status, method=method, url=url, detail=detail)
