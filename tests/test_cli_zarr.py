"""`nds upload` / `nds download` of Zarr folders: one asset each, every file (dot-files
included) travels, re-uploads send only what changed, downloads are byte-identical."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from neurodatashare.client import config, http
from neurodatashare.client.upload import collect_uploads
from neurodatashare.testing.live import Live
from test_api_zarr import write_zarr
from test_cli_client import nds


@pytest.fixture(autouse=True)
def isolated_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv(config.ENV_URL, raising=False)
    monkeypatch.delenv(config.ENV_KEY, raising=False)
    monkeypatch.setattr(http, "DEFAULT_BACKOFF", 0.01)
    monkeypatch.setenv(http.ENV_RETRY_SECONDS, "3")  # a lost network is given up soon


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_collect_keeps_a_zarr_whole(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_zarr(src / "sub-1" / "vol.zarr")
    write_zarr(src / "img.NGFF")
    (src / "notes.txt").write_text("n")
    (src / ".hidden").write_text("h")
    items = {i.path: i for i in collect_uploads([src])}
    assert set(items) == {"img.NGFF", "notes.txt", "sub-1/vol.zarr"}
    assert items["sub-1/vol.zarr"].zarr and not items["notes.txt"].zarr
    assert items["sub-1/vol.zarr"].size == sum(map(len, tree(src / "sub-1/vol.zarr").values()))
    (one,) = collect_uploads([src / "sub-1" / "vol.zarr"], path_prefix="x")
    assert one.path == "x/vol.zarr" and one.zarr


def test_upload_and_download_a_zarr(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("cli zarr")
    src = tmp_path / "src"
    write_zarr(src / "sub-1" / "vol.zarr")
    (src / "notes.txt").write_text("notes")
    local = src / "sub-1" / "vol.zarr"

    def run(*args: str, **kw: Any) -> Result:
        return nds(list(args), alice, live.url, **kw)

    r = run("upload", str(src), "--dataset", ds, "--json")
    assert r.exit_code == 0, r.output
    files = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert files["sub-1/vol.zarr"]["status"] == "uploaded" and set(files) == {
        "notes.txt",
        "sub-1/vol.zarr",
    }
    listed = alice.get(f"/api/dandisets/{ds}/versions/draft/assets/").json()["results"]
    zarr_asset = next(a for a in listed if a["path"] == "sub-1/vol.zarr")
    zid = zarr_asset["zarr"]
    remote = {
        e["Key"]
        for e in alice.get(f"/api/zarr/{zid}/files", params={"limit": 1000}).json()["results"]
    }
    assert remote == set(tree(local)) and ".zattrs" in remote and "raw/.zarray" in remote
    # again: nothing changed, nothing sent
    r = run("upload", str(local), "--dataset", ds, "--path-prefix", "sub-1", "--json")
    assert r.exit_code == 0, r.output
    (again,) = json.loads(r.stdout)["files"]
    assert again["status"] == "skipped"
    # change one chunk and remove an array: only that chunk is sent, the array deleted
    (local / "raw" / "0.0").write_bytes(b"changed")
    shutil.rmtree(local / "empty")
    before = dict(_keys(live, zid))
    r = run("upload", str(local), "--dataset", ds, "--path-prefix", "sub-1", "--json")
    assert r.exit_code == 0, r.output
    after = dict(_keys(live, zid))
    assert set(after) == set(tree(local))
    assert [p for p in after if after[p] != before.get(p)] == ["raw/0.0"]
    # the download is byte-identical, and a second one fetches nothing
    out = tmp_path / "out"
    r = run("download", ds, "-o", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert tree(out / ds / "sub-1" / "vol.zarr") == tree(local)
    assert (out / ds / "notes.txt").read_text() == "notes"
    stale = out / ds / "sub-1" / "vol.zarr" / "stale" / "file"
    stale.parent.mkdir()
    stale.write_bytes(b"not in the Zarr")
    r = run("download", f"{ds}/sub-1/vol.zarr", "-o", str(out / "one"), "--json")
    assert r.exit_code == 0, r.output
    assert tree(out / "one" / "vol.zarr") == tree(local)
    r = run("download", ds, "-o", str(out), "--json")
    statuses = {f["path"]: f["status"] for f in json.loads(r.stdout)["files"]}
    assert statuses["sub-1/vol.zarr"] == "skipped"
    assert not stale.exists()  # a file the Zarr does not have is removed


def _keys(live: Live, zarr_id: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from neurodatashare.db.models import ZarrEntry

    with live.archive.db.read() as s:
        rows = s.execute(
            select(ZarrEntry.path, ZarrEntry.storage_key).where(ZarrEntry.zarr_id == zarr_id)
        )
        return [(p, k) for p, k in rows]
