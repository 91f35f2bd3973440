"""archive/datasets.py and archive/users.py in-process: create, list, access, owners, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodatashare.archive import Archive
from neurodatashare.archive.datasets import (
    create_dataset,
    delete_dataset,
    get_dataset,
    list_datasets,
    list_owners,
    set_access,
    set_owners,
)
from neurodatashare.archive.users import create_user, get_user, new_api_key, user_for_api_key
from neurodatashare.errors import BadRequest, Conflict, NotAuthenticated, NotFound

META = {"name": "Mouse V1", "description": "Two-photon imaging of V1."}


def test_create_get_list_delete(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    made = create_dataset(archive, user=alice, name="Mouse V1", metadata=dict(META))
    ident = made["identifier"]
    assert get_dataset(archive, dataset_id=ident, user=alice)["identifier"] == ident
    total, page = list_datasets(archive, user=None)
    assert total == 1 and [d["identifier"] for d in page] == [ident]
    assert list_datasets(archive, user=alice, mine=True)[0] == 1
    assert list_datasets(archive, user=None, mine=True) == (0, [])
    delete_dataset(archive, dataset_id=ident, user=alice)
    with pytest.raises(NotFound):
        get_dataset(archive, dataset_id=ident, user=alice)


def test_anonymous_cannot_create(archive: Archive) -> None:
    with pytest.raises(NotAuthenticated):
        create_dataset(archive, user=None, name="x", metadata=dict(META))


def test_embargoed_is_hidden_from_others(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    made = create_dataset(
        archive,
        user=alice,
        name="Secret",
        metadata=dict(META),
        access="embargoed",
        embargo_end="2099-01-01",
    )
    ident = made["identifier"]
    # hidden is indistinguishable from absent: the same answers as for a missing id
    for caller, error in ((None, NotAuthenticated), (bob, NotFound)):
        with pytest.raises(error) as hidden:
            get_dataset(archive, dataset_id=ident, user=caller)
        with pytest.raises(error) as missing:
            get_dataset(archive, dataset_id="999999", user=caller)
        assert str(hidden.value).replace(ident, "999999") == str(missing.value)
        assert list_datasets(archive, user=caller)[0] == 0
    with pytest.raises(NotFound):
        delete_dataset(archive, dataset_id=ident, user=bob)
    opened = set_access(archive, dataset_id=ident, user=alice, access="open")
    assert opened["access"] == "open"
    assert get_dataset(archive, dataset_id=ident, user=None)["identifier"] == ident


def test_owners(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata=dict(META))["identifier"]
    assert [o["username"] for o in list_owners(archive, dataset_id=ident, user=alice)] == ["alice"]
    with pytest.raises(BadRequest):
        set_owners(archive, dataset_id=ident, user=alice, usernames=[])
    owners = set_owners(archive, dataset_id=ident, user=alice, usernames=["alice", "bob"])
    assert sorted(o["username"] for o in owners) == ["alice", "bob"]


def test_users_and_keys(archive: Archive) -> None:
    alice = create_user(archive, username="alice")
    with pytest.raises(Conflict):
        create_user(archive, username="alice")
    with pytest.raises(BadRequest):
        create_user(archive, username="no spaces")
    key = new_api_key(archive, user=alice)
    assert user_for_api_key(archive, key=key).username == "alice"
    with pytest.raises(NotAuthenticated):
        user_for_api_key(archive, key="wrong")
    with pytest.raises(NotFound):
        get_user(archive, username="nobody")


def test_a_page_of_datasets_costs_the_same_queries_however_long(
    archive: Archive, tmp_path: Path
) -> None:
    from sqlalchemy import event

    from neurodatashare.archive.datasets import list_datasets
    from neurodatashare.archive.ingest import ingest_file
    from neurodatashare.archive.publish import publish
    from neurodatashare.testing.factories import publishable_metadata

    alice = create_user(archive, username="alice")
    made = [
        create_dataset(archive, user=alice, name=f"d{i}", metadata=publishable_metadata())
        for i in range(12)
    ]
    source = made[0]["identifier"]
    path = tmp_path / "a.txt"
    path.write_bytes(b"twelve bytes")
    for ident in (source, made[5]["identifier"]):
        ingest_file(archive, user=alice, dataset_id=ident, path="a.txt", source=path)
    publish(archive, dataset_id=source, user=alice)

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(archive.db.engine, "before_cursor_execute", count)
    try:
        _, few = list_datasets(archive, user=alice, limit=3)
        small = len(statements)
        statements.clear()
        _, many = list_datasets(archive, user=alice, limit=12)
        large = len(statements)
    finally:
        event.remove(archive.db.engine, "before_cursor_execute", count)
    assert len(few) == 3 and len(many) == 12 and small == large, (small, large)
    first = many[0]
    assert first["draft_version"]["asset_count"] == 1
    assert first["draft_version"]["size"] == 12
    assert first["most_recent_published_version"]["asset_count"] == 1
    assert many[5]["draft_version"]["asset_count"] == 1
    assert many[5]["most_recent_published_version"] is None
    assert many[1]["draft_version"]["asset_count"] == 0
