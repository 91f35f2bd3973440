"""Turn library errors into one clear CLI message and a non-zero exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from neurodatashare.errors import NDSError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NDSError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapper  # type: ignore[return-value]
