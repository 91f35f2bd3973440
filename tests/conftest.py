"""Fixtures: a real archive behind a real HTTP server, on SQLite and on PostgreSQL.

Every API test runs against both backends. PostgreSQL is required: if it cannot be
reached the tests fail with the reason (set NDS_TEST_POSTGRES_URL to point elsewhere).

Stack mode (NDS_TEST_STACK=<description file>, set by scripts/stack): the `live` fixtures
are the deployed stack instead (nginx, two API processes, two workers, PostgreSQL,
SeaweedFS; testing/stack.py), on the single backend "postgresql"; tests marked
`in_process` or `local_store` are deselected, with their reasons listed at the end.
"""

from __future__ import annotations

import gc
import os
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
from neurodatashare.testing.stack import (
    STACK_VARIABLE,
    live_backends,
    stack_description,
    stack_settings,
)

STACK = os.environ.get(STACK_VARIABLE)
BACKENDS = live_backends()
_deselected: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the tests for pytest-xdist; in stack mode, leave out the tests that need the
    server in this process."""
    _group_by_module(items)
    if not STACK:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("in_process") or item.get_closest_marker("local_store")
        (drop if marker else keep).append(item)
        if marker:
            _deselected.append(f"{item.nodeid} ({marker.name}): {marker.args[0]}")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _group_by_module(items: list[pytest.Item]) -> None:
    """With `--dist loadgroup` (scripts/test), a module's tests run in one process, so its
    module fixtures (a stack, a corpus, an upload) are built once; the browser tests all
    share one process, as their session fixture is a whole demo archive (e2e/conftest.py).
    Heavy groups go first, so that no long module is left to run alone at the end."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        group = "e2e" if module.startswith("tests/e2e/") else module
        item.add_marker(pytest.mark.xdist_group(group))
    heavy = {group: rank for rank, group in enumerate(HEAVY_GROUPS)}
    items.sort(key=lambda item: heavy.get(_group_of(item), len(heavy)))


def _group_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    return str(marker.args[0]) if marker else ""


# The longest groups (a run's --durations), started first by the workers.
HEAVY_GROUPS = (
    "e2e",
    "tests/test_kill_job_kinds.py",
    "tests/test_fuzz_openapi.py",
    "tests/test_kill_loops.py",
    "tests/test_access_matrix.py",
    "tests/test_corpus.py",
    "tests/test_robustness.py",
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _deselected:
        terminalreporter.section("not run on the deployed stack")
        for line in _deselected:
            terminalreporter.write_line(line)


@contextmanager
def _stack_archive(home: Path) -> Iterator[Live]:
    """The deployed stack's URL, with an archive in this process on the same database and
    bucket (no job threads) so tests can make users and read rows."""
    description = stack_description()
    assert description is not None
    archive = Archive.open(stack_settings(description, home=home))
    try:
        yield Live(url=description["url"], archive=archive, backend="postgresql")
    finally:
        archive.close()


@contextmanager
def _live_archive(backend: str, home: Path, **settings: Any) -> Iterator[Live]:
    """An archive on `backend` behind a real HTTP server in a thread; dropped afterwards."""
    if STACK:
        with _stack_archive(home) as live:
            yield live
        return
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


@pytest.fixture(scope="session", params=BACKENDS)
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


@pytest.fixture(scope="session", params=BACKENDS)
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
