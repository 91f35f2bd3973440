"""archive/uploads.py in-process: an upload is refused, with a reason, before any byte moves."""

from __future__ import annotations

import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.datasets import create_dataset
from neurodatashare.archive.uploads import initialize_upload
from neurodatashare.archive.users import create_user
from neurodatashare.errors import BadRequest, Forbidden, NotAuthenticated

ETAG = "0" * 32 + "-1"


def test_upload_refusals(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    with pytest.raises(NotAuthenticated):
        initialize_upload(archive, user=None, content_size=10, etag=ETAG, dataset_id=ident)
    # wrong types (a string size, true, another digest algorithm) stop at the edge's model
    bad: list[tuple[int, str, str | None, str]] = [
        (-1, ETAG, ident, "contentSize"),
        (6 * 2**40, ETAG, ident, "5 TiB"),
        (10, "xyz", ident, "dandi-etag"),
        (10, "0" * 32 + "-3", ident, "parts"),
        (10, ETAG, None, "dataset"),
    ]
    for size, etag, dataset, words in bad:
        with pytest.raises(BadRequest, match=words):
            initialize_upload(archive, user=alice, content_size=size, etag=etag, dataset_id=dataset)
    with pytest.raises(Forbidden):
        initialize_upload(archive, user=bob, content_size=10, etag=ETAG, dataset_id=ident)


def test_upload_starts_for_owner(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    started = initialize_upload(archive, user=alice, content_size=10, etag=ETAG, dataset_id=ident)
    assert started["upload_id"] and len(started["parts"]) == 1
