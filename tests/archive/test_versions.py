"""archive/versions.py in-process: list, read and edit the draft; published versions are fixed."""

from __future__ import annotations

import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.users import create_user
from neurodatashare.archive.versions import get_version, list_versions, update_draft_metadata
from neurodatashare.errors import BadRequest, Forbidden, MethodNotAllowed, NotFound


def test_draft_read_and_edit(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(
        archive, user=alice, name="First", metadata={"name": "First", "description": "d"}
    )["identifier"]
    assert [v["version"] for v in list_versions(archive, dataset_id=ident, user=alice)] == ["draft"]
    with pytest.raises(BadRequest, match="order"):
        list_versions(archive, dataset_id=ident, user=alice, order="size")
    edited = update_draft_metadata(
        archive,
        dataset_id=ident,
        version="draft",
        user=alice,
        metadata={"name": "Second", "description": "new", "x-extra": [1, 2]},
    )
    assert edited["name"] == "Second"
    meta = get_version(archive, dataset_id=ident, version="draft", user=None)
    assert meta["name"] == "Second" and meta["description"] == "new"
    assert meta["x-extra"] == [1, 2]  # open DANDI metadata: unknown fields are kept
    with pytest.raises(BadRequest, match="name"):
        update_draft_metadata(
            archive, dataset_id=ident, version="draft", user=alice, metadata={"name": " "}
        )
    with pytest.raises(MethodNotAllowed):
        update_draft_metadata(
            archive, dataset_id=ident, version="0.250101.0000", user=alice, metadata={}
        )
    # bob sees the open dataset but may not edit it
    with pytest.raises(Forbidden):
        update_draft_metadata(
            archive, dataset_id=ident, version="draft", user=bob, metadata={"name": "Mine"}
        )
    with pytest.raises(NotFound):
        get_version(archive, dataset_id=ident, version="0.250101.0000", user=alice)
