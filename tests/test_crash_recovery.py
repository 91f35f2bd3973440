"""A server killed mid-upload comes back consistent, and the upload can be redone."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.testing.factories import Caller, dandi_etag
from neurodatashare.testing.server import create_user, run_server


@pytest.mark.slow
def test_kill_mid_upload_then_restart(tmp_path: Path) -> None:
    data = bytes(range(256)) * (70 * 4096)  # 70 MiB: two parts
    with run_server(tmp_path / "home") as server:
        key = create_user(server, "alice")
        alice = Caller(server.direct_url, key)
        ds = alice.create_dataset("crash")
        r = alice.post(
            "/api/uploads/initialize/",
            json={
                "contentSize": len(data),
                "digest": {"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)},
                "dandiset": ds,
            },
        )
        assert r.status_code == 200
        first = r.json()["parts"][0]
        assert (
            alice.storage.put(first["upload_url"], content=data[: first["size"]]).status_code == 200
        )
        alice.close()
        server.restart(crash=True)  # SIGKILL, as a power cut would
        alice = Caller(server.direct_url, key)
        # nothing half-done is visible
        assert alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["count"] == 0
        found = alice.post(
            "/api/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": dandi_etag(data)}
        )
        assert found.status_code == 404
        blobs = [p for p in (server.home / "blobs" / "blobs").rglob("*") if p.is_file()]
        assert blobs == []
        # and the upload simply starts again and finishes
        asset = alice.add_file(ds, "big.bin", data)
        got = alice.get(
            f"/api/assets/{asset['asset_id']}/download/",
            headers={"Range": "bytes=67108860-67108869"},
        )
        assert got.content == data[67108860:67108870]
        alice.close()
