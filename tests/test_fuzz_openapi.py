"""Property-based fuzzing of the whole HTTP API from its OpenAPI document (schemathesis).

Every operation in /api/openapi.json gets requests generated from its schema, sent to the
real server with a real API key, against a small populated archive (an open dataset with
an NWB asset), so most requests reach real code instead of stopping at "not found". The
property: no response is a 5xx, and no request resets the connection.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error

from neurodatashare.testing.live import Live

# Examples per operation and backend; about 2,300 requests per backend by default.
EXAMPLES = int(os.environ.get("NDS_FUZZ_EXAMPLES", "60"))
STATS: dict[str, Counter[str]] = {}


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neurodatashare.testing.nwbfiles import make_ephys_file

    return make_ephys_file(tmp_path_factory.mktemp("fuzz") / "rec.nwb", duration_s=2.0)


def _real_values(live: Live, nwb_file: Path) -> tuple[str, dict[str, Any]]:
    alice = live.user("alice")
    ds = alice.create_dataset("fuzzed")
    asset = alice.add_file(ds, "sub-1/sub-1_ecephys.nwb", nwb_file.read_bytes())
    alice.add_file(ds, "README.txt", b"hello")
    alice.wait_for_checks(asset["asset_id"])
    zarr = alice.add_zarr(ds, "sub-1/vol.zarr", {".zgroup": b'{"zarr_format": 2}', "0/0": b"x"})
    tree = alice.get(f"/api/assets/{asset['asset_id']}/explore/tree").json()
    paths = [n["path"] for n in tree["nodes"]]
    assert alice.key is not None
    return alice.key, {
        "dataset_id": ds,
        "version": "draft",
        "asset_id": asset["asset_id"],
        "zarr_id": zarr["zarr"],
        "paths": paths,
    }


def _aim(case: Any, real: dict[str, Any], rng: random.Random) -> None:
    """Point most requests at the real dataset/asset/object, so they reach real code."""
    if rng.random() < 0.25 or case.method.upper() == "DELETE":
        return
    for name in ("dataset_id", "version", "asset_id", "zarr_id"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = real[name]
    if case.query is not None and "path" in case.query and rng.random() < 0.7:
        case.query["path"] = rng.choice(real["paths"])


def test_no_server_errors_anywhere(live: Live, nwb_file: Path) -> None:
    key, real = _real_values(live, nwb_file)
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    schema.config.base_url = live.url
    session = requests.Session()
    headers = {"Authorization": f"token {key}"}
    rng = random.Random(8)
    stats = STATS.setdefault(live.backend, Counter())
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # the whole API, not a part of it

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            _aim(case, real, rng)
            stats["requests"] += 1
            try:
                response = case.call(session=session, headers=headers, timeout=60)
            except requests.ConnectionError as exc:
                stats["connection errors"] += 1
                failures.append(f"{case.method} {case.formatted_path}: connection {exc}")
                return
            stats[f"status {response.status_code}"] += 1
            if response.status_code >= 500:
                stats["5xx"] += 1
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis groups failures
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {exc}"[:600])

        run()

    print(f"\nfuzz on {live.backend}: {dict(stats)}")
    assert stats["requests"] >= len(operations) * 5
    assert not failures, "\n".join(failures[:20])
