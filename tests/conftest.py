"""Fixtures: a real archive behind a real HTTP server, on SQLite and on PostgreSQL.

Every API test runs against both backends. PostgreSQL is required: if it cannot be
reached the tests fail with the reason (set NDS_TEST_POSTGRES_URL to point elsewhere).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from neurodatashare.archive import Archive, assets, versions
from neurodatashare.cli.cmd_demo import command as demo_command
from neurodatashare.config import Settings
from neurodatashare.testing.live import Live, database_url, free_port, serve_in_thread
from neurodatashare.testing.schema_audit import DocumentAudit
from neurodatashare.testing.seaweed import SeaweedHandle, run_seaweed


@contextmanager
def _live_archive(backend: str, home: Path, **settings: Any) -> Iterator[Live]:
    """An archive on `backend` behind a real HTTP server in a thread; dropped afterwards."""
    url, pg = database_url(backend, home)
    port = free_port()
    archive = Archive.open(Settings(home=home, database_url=url, port=port, **settings))
    try:
        with serve_in_thread(archive, port) as base_url:
            yield Live(url=base_url, archive=archive, backend=backend)
    finally:
        archive.close()
        if pg is not None:
            pg.drop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    backend: str = request.param
    home = tmp_path_factory.mktemp(f"home-{backend}")
    with _live_archive(backend, home, max_json_bytes=64 * 1024) as live:
        yield live


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedHandle]:
    """A real S3 server (SeaweedFS `weed mini`) that enforces signatures."""
    with run_seaweed(tmp_path_factory.mktemp("seaweed") / "s3") as s3:
        yield s3


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live_s3_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seaweed: SeaweedHandle,
) -> Iterator[Live]:
    """As `live_server`, with its blobs in an S3 bucket of its own on SeaweedFS."""
    backend: str = request.param
    home = tmp_path_factory.mktemp(f"home-s3-{backend}")
    s3 = seaweed.settings(bucket=f"nds-{backend}")
    with _live_archive(backend, home, blob_store="s3", **s3) as live:
        yield live


@pytest.fixture
def live_s3(live_s3_server: Live) -> Iterator[Live]:
    """The shared S3-backed server with an empty database and bucket for this test."""
    live_s3_server.reset()
    yield live_s3_server
    live_s3_server.reset()


@pytest.fixture
def live(live_server: Live) -> Iterator[Live]:
    """The shared server with an empty database for this test."""
    live_server.reset()
    yield live_server
    live_server.reset()


@pytest.fixture
def hdf5_over_http() -> Iterator[None]:
    """For a test whose own thread reads HDF5 with h5py over HTTP from a server in this
    process (remfile, fsspec): no automatic garbage collection while the test runs.

    h5py holds its global lock while it calls a Python file object, so during a remote
    read the test thread holds the lock and waits for the server's answer. A collection
    may start in any thread that allocates, a server thread included; if it finds an
    unreachable h5py object (hdmf's IO of an NWBFile a test dropped: a reference cycle),
    that object's finaliser needs the lock, the request never answers and the test hangs
    until pytest-timeout (h5py's docs on file-like objects and threads). With automatic
    collection off, only the collections below run, in the test thread, with no remote
    read under way. Separate processes (a real client and server) never share the lock.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


DEMO_SECONDS = 6.0  # per session: two trials' worth, and a raw series long enough for overviews


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The demo dataset (seed 0, 6 s sessions), written once per test session by `nds demo`
    itself (2 worker processes), so every test using it covers the CLI too.

    Shared by every test: read it, and copy a file before changing it.
    """
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        demo_command, ["--out", str(out), "--seed", "0", "--duration", str(DEMO_SECONDS)]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 4 NWB files" in result.output, result.output
    return out, sorted(out.rglob("*.nwb"))


@pytest.fixture(scope="session")
def demo_file(demo_dataset: tuple[Path, list[Path]]) -> Path:
    """The first demo file: sub-mouse01, session day1."""
    return demo_dataset[1][0]


@pytest.fixture(autouse=True)
def dandischema_audit(monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentAudit]:
    """Every version and asset document the archive builds during a test must validate
    against dandischema (testing/schema_audit.py has the rules); the test fails if not."""
    audit = DocumentAudit()
    monkeypatch.setattr(
        assets, "asset_metadata_json", audit.wrap(assets.asset_metadata_json, "Asset")
    )
    monkeypatch.setattr(
        versions,
        "version_metadata_json",
        audit.wrap(versions.version_metadata_json, "Dandiset"),
    )
    yield audit
    problems = audit.problems()
    if problems:
        pytest.fail(
            f"{len(problems)} metadata document(s) do not validate against dandischema:\n"
            + "\n".join(problems[:20]),
            pytrace=False,
        )
