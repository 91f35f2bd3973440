"""The real `dandi` client with Zarr assets against `nds serve`, on SQLite and PostgreSQL:
upload of a zarr-python 2 folder, `ls`, a byte-identical `download`, re-upload of a
changed Zarr (only the changed files are sent, removed ones deleted) and `delete`.

`dandi upload` takes any `*.zarr` folder as one Zarr asset under DANDI_DEVEL=1 with
`--allow-any-path` (a BIDS-less path), as for the raw file of test_dandi_client.py.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neurodatashare.testing.stack import live_backends

from .test_dandi_client import Site, dandi_ls, serve_site

pytestmark = pytest.mark.slow
ZARR_PATH = "data/vol.zarr"


def write_zarr(path: Path) -> None:
    """Arrays at the root and in nested groups, attributes, an empty array."""
    import numpy as np
    import zarr

    root = zarr.open_group(str(path), mode="w")
    root.attrs["description"] = "a test volume"
    root.create_dataset("raw", data=np.arange(4096, dtype="u2").reshape(64, 64), chunks=(16, 16))
    seg = root.create_group("labels").create_group("cells")
    seg.attrs["kind"] = "segmentation"
    seg.create_dataset("mask", data=np.eye(32, dtype="u1"), chunks=(8, 8))
    root.create_dataset("scratch", data=np.ones(10, dtype="f4"), chunks=(5,))


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module", params=live_backends())
def zsite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with serve_site(request, tmp_path_factory.mktemp(f"dandi-zarr-{request.param}")) as site:
        yield site


@pytest.fixture(scope="module")
def uploaded(zsite: Site) -> dict[str, Any]:
    ds = zsite.create_dataset("Zarr integration")
    zsite.dandi(
        "download",
        "-i",
        zsite.api,
        "--download",
        "dandiset.yaml",
        f"{zsite.api}/dandisets/{ds}/",
        cwd=zsite.work,
    )
    local = zsite.work / ds
    write_zarr(local / ZARR_PATH)
    offset = zsite.server.log_offset()
    zsite.dandi(
        "upload",
        "-i",
        zsite.api,
        "--allow-any-path",
        ZARR_PATH,
        cwd=local,
        env=zsite.client_env(DANDI_DEVEL="1"),
    )
    return {"id": ds, "local": local, "log": zsite.server.log_since(offset)}


def _zarr(site: Site, zarr_id: str) -> dict[str, Any]:
    with site.http() as c:
        r = c.get(f"/zarr/{zarr_id}/")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def _puts(log: str) -> list[str]:
    return re.findall(r'"PUT /api/zarr/[0-9a-f-]+/upload/\?path=([^&]+)&', log)


def test_upload_makes_one_zarr_asset(zsite: Site, uploaded: dict[str, Any]) -> None:
    from dandi.support.digests import get_zarr_checksum

    local = uploaded["local"] / ZARR_PATH
    assets = zsite.assets(uploaded["id"])
    assert list(assets) == [ZARR_PATH]  # one asset, not loose files
    asset = assets[ZARR_PATH]
    assert asset["blob"] is None and asset["zarr"]
    z = _zarr(zsite, asset["zarr"])
    files = tree(local)
    assert {".zattrs", ".zgroup", "raw/.zarray", "labels/cells/.zattrs"} <= set(files)
    assert z["status"] == "Complete" and z["file_count"] == len(files)
    assert z["checksum"] == get_zarr_checksum(local)
    md = zsite.asset_metadata(uploaded["id"], asset["asset_id"])
    assert md["digest"]["dandi:dandi-zarr-checksum"] == z["checksum"]
    assert md["encodingFormat"] == "application/x-zarr"
    assert len(_puts(uploaded["log"])) == len(files)  # every file, dot-files included


def test_ls_shows_the_zarr(zsite: Site, uploaded: dict[str, Any]) -> None:
    listed = dandi_ls(zsite, uploaded["id"])
    assert set(listed) == {ZARR_PATH}
    row = listed[ZARR_PATH]
    assert row["size"] == sum(len(b) for b in tree(uploaded["local"] / ZARR_PATH).values())


def test_download_is_byte_identical(zsite: Site, uploaded: dict[str, Any]) -> None:
    out = zsite.work / "dl-1"
    out.mkdir()
    zsite.dandi("download", f"{zsite.api}/dandisets/{uploaded['id']}/", cwd=out)
    got = tree(out / uploaded["id"] / ZARR_PATH)
    assert got == tree(uploaded["local"] / ZARR_PATH)


def test_reupload_sends_only_changes(zsite: Site, uploaded: dict[str, Any]) -> None:
    import numpy as np
    import zarr
    from dandi.support.digests import get_zarr_checksum

    local = uploaded["local"] / ZARR_PATH
    before = tree(local)
    group = zarr.open_group(str(local), mode="r+")
    group["raw"][0:16, 0:16] = np.full((16, 16), 7, dtype="u2")  # one chunk changes
    shutil.rmtree(local / "scratch")  # an array goes away
    after = tree(local)
    changed = sorted(p for p in after if before.get(p) != after[p])
    assert changed == ["raw/0.0"]
    zarr_id = zsite.assets(uploaded["id"])[ZARR_PATH]["zarr"]
    offset = zsite.server.log_offset()
    zsite.dandi(
        "upload",
        "-i",
        zsite.api,
        "--allow-any-path",
        ZARR_PATH,
        cwd=uploaded["local"],
        env=zsite.client_env(DANDI_DEVEL="1"),
    )
    log = zsite.server.log_since(offset)
    assert _puts(log) == ["raw%2F0.0"], log[-3000:]
    assert f'"DELETE /api/zarr/{zarr_id}/files/' in log
    z = _zarr(zsite, zarr_id)
    assert z["checksum"] == get_zarr_checksum(local) and z["file_count"] == len(after)
    assert zsite.assets(uploaded["id"])[ZARR_PATH]["zarr"] == zarr_id  # the same Zarr
    out = zsite.work / "dl-2"
    out.mkdir()
    zsite.dandi("download", f"{zsite.api}/dandisets/{uploaded['id']}/", cwd=out)
    assert tree(out / uploaded["id"] / ZARR_PATH) == after


def test_delete_the_zarr_asset(zsite: Site, uploaded: dict[str, Any]) -> None:
    zsite.dandi("delete", "-i", zsite.api, "--force", ZARR_PATH, cwd=uploaded["local"])
    assert dandi_ls(zsite, uploaded["id"]) == {}
    assert zsite.assets(uploaded["id"]) == {}
