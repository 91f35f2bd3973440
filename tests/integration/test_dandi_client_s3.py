"""The real `dandi` client against a real `nds serve` whose blobs live on S3 (SeaweedFS).

The client sends the parts straight to S3 with the presigned URLs the archive hands out,
completes the multipart upload at S3, and downloads through the archive's redirect to a
presigned GET: the server's log must show no part or storage-complete request at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neurodatashare.testing.seaweed import SeaweedHandle

from .test_dandi_client import BIG_SIZE, MiB, Site, local_files, make_nwb, serve_site, sha256

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def s3_site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seaweed: SeaweedHandle,
) -> Iterator[Site]:
    backend: str = request.param
    env = {"NDS_BLOB_STORE": "s3"}
    for name, value in seaweed.settings(bucket=f"nds-dandi-{backend}").items():
        env[f"NDS_{name.upper()}"] = str(value)
    # its own `nds serve` on its own bucket even in stack mode: the stack is S3 already
    root = tmp_path_factory.mktemp(f"dandi-s3-{backend}")
    with serve_site(request, root, env, on_stack=False) as site:
        yield site


def test_dandi_upload_and_download_through_s3(s3_site: Site, seaweed: SeaweedHandle) -> None:
    site = s3_site
    ds = site.create_dataset("S3 client")
    src = site.work / "src"
    make_nwb(src / "a.nwb", "m1")
    site.dandi(
        "download", "--download", "dandiset.yaml", f"{site.api}/dandisets/{ds}/", cwd=site.work
    )
    local = site.work / ds
    site.dandi("organize", "-f", "copy", str(src), cwd=local)
    big = local / "raw" / "big.bin"
    big.parent.mkdir()
    with open(big, "wb") as f:
        for _ in range(BIG_SIZE // MiB):
            f.write(os.urandom(MiB))
    offset = site.server.log_offset()
    site.dandi("upload", "-i", site.api, cwd=local)
    site.dandi(
        "upload",
        "-i",
        site.api,
        "--allow-any-path",
        "raw/big.bin",
        cwd=local,
        env=site.client_env(DANDI_DEVEL="1"),
    )
    log = site.server.log_since(offset)
    assert "/validate/" in log
    # the bytes went to S3, never through the API
    assert not re.search(r"/parts/\d+/|/storage-complete/", log), log[-3000:]
    remote: dict[str, dict[str, Any]] = site.assets(ds)
    files = local_files(local)
    assert set(remote) == set(files) and "raw/big.bin" in remote
    md = site.asset_metadata(ds, remote["raw/big.bin"]["asset_id"])
    assert md["digest"]["dandi:dandi-etag"].endswith("-2")
    # the direct URL is the archive's blob route (the bucket is private): a redirect to S3
    direct = md["contentUrl"][1]
    assert direct.startswith(f"{site.server.url}/blobs/"), md["contentUrl"]
    r = httpx.get(direct, headers={"Authorization": f"token {site.key}"})
    assert r.status_code == 302 and r.headers["location"].startswith(f"{seaweed.endpoint_url}/")
    out = site.work / "dl"
    out.mkdir()
    site.dandi("download", "-o", str(out), f"{site.api}/dandisets/{ds}/", cwd=site.work)
    got = local_files(out / ds)
    assert set(got) == set(files)
    for path in files:
        assert sha256(got[path]) == sha256(files[path]), path
    log = site.server.log_since(offset)
    assert re.search(r'"GET /api/assets/[0-9a-f-]+/download/ HTTP/1.1" 302', log), log[-3000:]


def test_server_log_has_no_errors(s3_site: Site) -> None:
    text = s3_site.server.log_text()
    assert "Traceback" not in text and " 500 " not in text, text[-3000:]
