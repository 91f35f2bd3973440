"""`nds serve --demo` loads a published, checked, indexed demo dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

from neurodatashare.archive.demo import ensure_demo, find_demo
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


def test_demo_is_published_and_owned_by_demo(
    live: Live, demo_dataset: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    shared, _ = demo_dataset
    root = tmp_path / "home" / "demo"  # as `nds serve --demo` finds it under NDS_HOME
    shutil.copytree(shared, root)
    files = sorted(root.rglob("*.nwb"))
    said: list[str] = []
    dataset_id, key = ensure_demo(live.archive, root=root, say=said.append)
    assert len(said) == 1 and said[0].startswith("Loading it")  # the files were reused
    demo = Caller(live.url, key)
    live.callers.append(demo)
    info = demo.get(f"/api/dandisets/{dataset_id}/").json()
    published = info["most_recent_published_version"]
    assert published is not None and published["asset_count"] == 4
    meta = demo.get(f"/api/dandisets/{dataset_id}/versions/{published['version']}/").json()
    summary = meta["assetsSummary"]
    assert summary["numberOfSubjects"] == 2 and summary["numberOfFiles"] == 4
    approaches = {a["name"] for a in summary["approach"]}
    assert "electrophysiological approach" in approaches
    listing = demo.get(f"/api/dandisets/{dataset_id}/versions/{published['version']}/assets/")
    paths = [a["path"] for a in listing.json()["results"]]
    assert paths == sorted(f.relative_to(root).as_posix() for f in files)
    for asset in listing.json()["results"]:
        assert demo.get(f"/api/assets/{asset['asset_id']}/lindi.json").status_code == 200
    # a second start finds the same dataset and only hands out a new key
    again, key2 = ensure_demo(live.archive, root=root, say=said.append)
    assert again == dataset_id and key2 != key and len(said) == 1
    assert find_demo(live.archive)[1] == dataset_id
