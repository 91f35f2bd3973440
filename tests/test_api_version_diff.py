"""GET .../versions/{a}/diff/{b}/: files added, removed and changed, and metadata fields."""

from __future__ import annotations

from typing import Any

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


def _json(caller: Caller, url: str, **kw: Any) -> Any:
    r = caller.get(url, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_diff_between_a_published_version_and_the_draft(live: Live) -> None:
    alice = live.user("alice")
    ident = alice.create_dataset("Diff")
    alice.add_file(ident, "keep.txt", b"same bytes")
    alice.add_file(ident, "change.txt", b"first")
    alice.add_file(ident, "gone.txt", b"to be removed")
    alice.add_file(ident, "moved/meta.txt", b"described again")
    v1 = alice.publish(ident)["version"]

    assets = {
        a["path"]: a
        for a in _json(alice, f"/api/dandisets/{ident}/versions/draft/assets/")["results"]
    }
    alice.delete(f"/api/dandisets/{ident}/versions/draft/assets/{assets['gone.txt']['asset_id']}/")
    r = alice.put(  # new content at the same path
        f"/api/dandisets/{ident}/versions/draft/assets/{assets['change.txt']['asset_id']}/",
        json={
            "metadata": {"path": "change.txt"},
            "blob_id": alice.upload_blob(ident, b"second, longer"),
        },
    )
    assert r.status_code == 200, r.text
    alice.add_file(ident, "new.txt", b"added")
    meta_asset = assets["moved/meta.txt"]
    r = alice.put(
        f"/api/dandisets/{ident}/versions/draft/assets/{meta_asset['asset_id']}/",
        json={
            "metadata": {"path": "moved/meta.txt", "description": "re-described"},
            "blob_id": meta_asset["blob"],
        },
    )
    assert r.status_code == 200, r.text
    draft = _json(alice, f"/api/dandisets/{ident}/versions/draft/")
    draft["keywords"] = ["new keyword"]
    r = alice.put(
        f"/api/dandisets/{ident}/versions/draft/", json={"metadata": draft, "name": "Diff 2"}
    )
    assert r.status_code == 200, r.text

    diff = _json(alice, f"/api/dandisets/{ident}/versions/{v1}/diff/draft/")
    assert diff["from"] == v1 and diff["to"] == "draft"
    files = diff["assets"]
    assert [i["path"] for i in files["added"]["items"]] == ["new.txt"]
    assert files["added"]["items"][0]["size"] == 5
    assert [i["path"] for i in files["removed"]["items"]] == ["gone.txt"]
    changed = {i["path"]: i for i in files["changed"]["items"]}
    assert set(changed) == {"change.txt", "moved/meta.txt"} and files["changed"]["count"] == 2
    assert changed["change.txt"]["what"] == "content"
    assert (changed["change.txt"]["size_before"], changed["change.txt"]["size_after"]) == (5, 14)
    assert changed["moved/meta.txt"]["what"] == "metadata"
    fields = {m["field"]: m for m in diff["metadata"]}
    assert fields["name"]["before"] == "Diff" and fields["name"]["after"] == "Diff 2"
    assert fields["keywords"]["after"] == ["new keyword"]
    assert "version" not in fields and "citation" not in fields  # computed: always differ

    page = alice.get(f"/dandiset/{ident}/draft")  # the version page shows the same
    assert page.status_code == 200 and f"Changes since {v1}" in page.text
    changes = page.text.split('id="changes"', 1)[1].split("</div>", 1)[0]
    assert "<code>new.txt</code>" in changes and "<code>gone.txt</code>" in changes
    assert "new content" in changes and "new description" in changes and "keywords" in changes
    assert 'id="changes"' not in alice.get(f"/dandiset/{ident}/{v1}").text  # the first one

    backwards = _json(alice, f"/api/dandisets/{ident}/versions/draft/diff/{v1}/")
    assert [i["path"] for i in backwards["assets"]["removed"]["items"]] == ["new.txt"]
    same = _json(alice, f"/api/dandisets/{ident}/versions/{v1}/diff/{v1}/")
    assert all(same["assets"][k]["count"] == 0 for k in ("added", "removed", "changed"))
    assert same["metadata"] == []

    capped = _json(alice, f"/api/dandisets/{ident}/versions/{v1}/diff/draft/", params={"limit": 1})
    assert (
        capped["assets"]["changed"]["count"] == 2 and len(capped["assets"]["changed"]["items"]) == 1
    )
    for bad in ("0", "10001", "x"):
        r = alice.get(f"/api/dandisets/{ident}/versions/{v1}/diff/draft/", params={"limit": bad})
        assert r.status_code == 400 and "limit" in r.text, (bad, r.text)
    r = alice.get(f"/api/dandisets/{ident}/versions/0.000000.0000/diff/draft/")
    assert r.status_code == 404 and "has no version" in r.text


def test_a_hidden_datasets_diff_is_absent(live: Live) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ident = alice.create_dataset("Private", access="private")
    assert alice.get(f"/api/dandisets/{ident}/versions/draft/diff/draft/").status_code == 200
    for caller in (bob, live.anonymous()):
        r = caller.get(f"/api/dandisets/{ident}/versions/draft/diff/draft/")
        missing = caller.get("/api/dandisets/999999/versions/draft/diff/draft/")
        assert r.status_code == missing.status_code in (401, 404)  # as for a dataset never made
