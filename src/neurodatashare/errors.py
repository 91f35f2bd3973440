"""The NDSError tree: every error a user can cause carries an HTTP status and a message.

Problems in *data* are ValidationResult records (see validation/); these are problems in a
*request*. The HTTP layer turns them into `{"detail": message}` with the status; the CLI
prints the message.
"""

from __future__ import annotations


class NDSError(Exception):
    """Base class: a problem the user can fix, described in words a scientist understands."""

    status_code = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(NDSError):
    status_code = 400


class NotAuthenticated(NDSError):
    status_code = 401


class Forbidden(NDSError):
    status_code = 403


class NotFound(NDSError):
    status_code = 404


class MethodNotAllowed(NDSError):
    status_code = 405


class Conflict(NDSError):
    status_code = 409


class PayloadTooLarge(NDSError):
    status_code = 413


class Unreadable(NDSError):
    """Stored bytes that cannot be read as the file they claim to be (the explorer's views)."""

    status_code = 422


class TooBusy(NDSError):
    """The server is already doing as much of this kind of work as it allows; retry."""

    status_code = 429


class Unavailable(NDSError):
    """A service the archive stands on (its object storage) is not answering; retry."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class ConfigError(NDSError):
    """A setting is missing or wrong; raised at start-up."""

    status_code = 500
