"""archive/uploads.py in-process: an upload is refused, with a reason, before any byte moves."""

from __future__ import annotations

from typing import Any

import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.uploads import initialize_upload
from neurodatashare.archive.users import create_user
from neurodatashare.errors import BadRequest, Forbidden, NotAuthenticated

ETAG = {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-1"}


def test_upload_refusals(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    with pytest.raises(NotAuthenticated):
        initialize_upload(archive, user=None, content_size=10, digest=ETAG, dataset_id=ident)
    bad: list[tuple[Any, Any, Any, str]] = [
        (-1, ETAG, ident, "contentSize"),
        (True, ETAG, ident, "contentSize"),
        (10, {"algorithm": "md5"}, ident, "digest"),
        (10, {**ETAG, "value": "xyz"}, ident, "dandi-etag"),
        (10, {**ETAG, "value": "0" * 32 + "-3"}, ident, "parts"),
        (10, ETAG, None, "dataset"),
    ]
    for size, digest, dataset, words in bad:
        with pytest.raises(BadRequest, match=words):
            initialize_upload(
                archive, user=alice, content_size=size, digest=digest, dataset_id=dataset
            )
    with pytest.raises(Forbidden):
        initialize_upload(archive, user=bob, content_size=10, digest=ETAG, dataset_id=ident)


def test_upload_starts_for_owner(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    started = initialize_upload(archive, user=alice, content_size=10, digest=ETAG, dataset_id=ident)
    assert started["upload_id"] and len(started["parts"]) == 1
