"""Fixtures: a real archive behind a real HTTP server, on SQLite and on PostgreSQL.

Every API test runs against both backends. PostgreSQL is required: if it cannot be
reached the tests fail with the reason (set NDS_TEST_POSTGRES_URL to point elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from neurodatashare.archive import Archive
from neurodatashare.config import Settings
from neurodatashare.testing.live import Live, database_url, free_port, serve_in_thread


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    backend: str = request.param
    home = tmp_path_factory.mktemp(f"home-{backend}")
    url, pg = database_url(backend, home)
    port = free_port()
    settings = Settings(home=home, database_url=url, port=port, max_json_bytes=64 * 1024)
    archive = Archive.open(settings)
    try:
        with serve_in_thread(archive, port) as base_url:
            yield Live(url=base_url, archive=archive, backend=backend)
    finally:
        archive.close()
        if pg is not None:
            pg.drop()


@pytest.fixture
def live(live_server: Live) -> Iterator[Live]:
    """The shared server with an empty database for this test."""
    live_server.reset()
    yield live_server
    live_server.reset()
