"""`nds serve --demo` loads a published, checked, indexed demo dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.archive.demo import find_demo, load_demo
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    from neurodatashare.demo.write import write_demo_dataset

    root = tmp_path_factory.mktemp("demo")
    return root, write_demo_dataset(root, duration_s=6)


def test_demo_is_published_and_owned_by_demo(
    live: Live, demo_files: tuple[Path, list[Path]]
) -> None:
    root, files = demo_files
    dataset_id, key = load_demo(live.archive, files=files, root=root)
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
    again, key2 = load_demo(live.archive, files=files, root=root)
    assert again == dataset_id and key2 != key
    assert find_demo(live.archive)[1] == dataset_id
