"""The metadata editor page (web/edit_pages.py) through the live server: owners get the
form with dandischema's schema and the draft's fields; others get what a missing or
foreign dataset gives them."""

from __future__ import annotations

import json
import re

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live


def _signed_in(live: Live, username: str) -> Caller:
    """A user whose web session is open (the pages know sessions, not API keys)."""
    caller = live.user(username, password=f"{username}-web-password")
    r = caller.post("/login", data={"username": username, "password": f"{username}-web-password"})
    assert r.status_code == 303, r.text
    return caller


def _page_data(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="edit-data">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_owners_get_the_form_with_schema_and_draft(live: Live) -> None:
    alice = _signed_in(live, "alice")
    ident = alice.create_dataset("Edited </script><b>x</b>")
    r = alice.get(f"/dandiset/{ident}/draft/edit")
    assert r.status_code == 200 and 'id="meta-form"' in r.text
    assert "<b>x</b>" not in r.text  # the name is escaped in the page and in its JSON
    data = _page_data(r.text)
    schema = data["schema"]
    assert isinstance(schema, dict)
    assert {"name", "description", "contributor", "license", "keywords"} <= set(
        schema["properties"]
    )
    assert not {"id", "citation", "assetsSummary", "doi", "version"} & set(schema["properties"])
    assert data["metadata"]["name"] == "Edited </script><b>x</b>"  # type: ignore[index]
    assert data["problems"] == []


def test_others_get_no_form(live: Live) -> None:
    alice, bob = live.user("alice"), _signed_in(live, "bob")
    shared = alice.create_dataset("Open to read")
    hidden = alice.create_dataset("Private", access="private")
    r = bob.get(f"/dandiset/{shared}/draft/edit")
    assert r.status_code == 403 and "Only the owners" in r.text and "meta-form" not in r.text
    for caller in (bob, live.anonymous()):
        gone = caller.get(f"/dandiset/{hidden}/draft/edit")
        never = caller.get("/dandiset/999999/draft/edit")
        assert gone.status_code == never.status_code and "meta-form" not in gone.text
