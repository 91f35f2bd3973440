"""archive/assets.py in-process: paths are checked and only owners may add assets."""

from __future__ import annotations

import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.assets import create_asset, list_assets, validate_path
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.users import create_user
from neurodatashare.errors import BadRequest, Forbidden, NDSError


def test_paths_are_checked() -> None:
    assert validate_path("sub-1/sub-1_ecephys.nwb") == "sub-1/sub-1_ecephys.nwb"
    for bad in ("../escape.nwb", "/abs.nwb", "", 7):
        with pytest.raises(BadRequest):
            validate_path(bad)


def test_only_owners_add_assets(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    meta = {"path": "sub-1/a.nwb"}
    with pytest.raises(Forbidden):
        create_asset(
            archive, dataset_id=ident, version="draft", user=bob, metadata=meta, blob_id="0" * 36
        )
    # an unknown blob is a user error (4xx), never a crash
    with pytest.raises(NDSError) as unknown:
        create_asset(
            archive, dataset_id=ident, version="draft", user=alice, metadata=meta, blob_id="nope"
        )
    assert 400 <= unknown.value.status_code < 500
    assert list_assets(archive, dataset_id=ident, version="draft", user=alice)[0] == 0
