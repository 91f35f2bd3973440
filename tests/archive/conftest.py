"""In-process fixtures: the archive services called directly, no HTTP server.

These tests mirror `neurodatashare/archive/` module by module and are fast; the same
behaviours are also tested through the real server in tests/test_api_*.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neurodatashare.archive import Archive
from neurodatashare.config import Settings
from neurodatashare.testing.live import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archive]:
    """A fresh archive in `tmp_path`, on SQLite and on a throw-away PostgreSQL database."""
    url, pg = database_url(request.param, tmp_path)
    opened = Archive.open(Settings(home=tmp_path, database_url=url))
    try:
        yield opened
    finally:
        opened.close()
        if pg is not None:
            pg.drop()
