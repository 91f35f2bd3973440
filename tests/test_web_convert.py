"""The conversion wizard's page (web/convert_pages.py) through the live server: served to
signed-in users when NDS_CONVERT_ROOTS is set, with the roots in its data and a "Convert"
link in the navigation; a 404 saying why when conversion is off; a login prompt for
anonymous visitors, who never see the link."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live

NAV_LINK = '<a href="/convert">Convert</a>'


def _signed_in(live: Live, username: str) -> Caller:
    caller = live.user(username, password=f"{username}-web-password")
    r = caller.post("/login", data={"username": username, "password": f"{username}-web-password"})
    assert r.status_code == 303, r.text
    return caller


@pytest.fixture
def enabled(live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lab"
    root.mkdir()
    monkeypatch.setattr(live.archive.settings, "convert_roots", str(root))
    return root.resolve()


def test_signed_in_users_get_the_wizard(live: Live, enabled: Path) -> None:
    alice = _signed_in(live, "alice")
    r = alice.get("/convert")
    assert r.status_code == 200, r.text
    for step in ("format-search", "find-sessions", "load-metadata", "preview", "convert", "upload"):
        assert f'id="{step}"' in r.text
    found = re.search(r'<script type="application/json" id="convert-data">(.*?)</script>', r.text)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["roots"] == [str(enabled)]
    assert data["api"].endswith("/api")
    assert NAV_LINK in r.text
    assert NAV_LINK in alice.get("/").text  # every page links to it
    assert alice.get("/static/convert.js").status_code == 200


def test_anonymous_visitors_are_asked_to_log_in_and_see_no_link(live: Live, enabled: Path) -> None:
    anonymous = live.anonymous()
    r = anonymous.get("/convert")
    assert r.status_code == 401
    assert "Log in to convert" in r.text and "/login?next=/convert" in r.text
    assert 'id="format-search"' not in r.text
    assert NAV_LINK not in anonymous.get("/").text


def test_off_unless_the_administrator_sets_roots(live: Live) -> None:
    assert not live.archive.settings.convert_roots
    alice = _signed_in(live, "alice")
    r = alice.get("/convert")
    assert r.status_code == 404
    assert "Conversion is not enabled on this archive" in r.text
    assert 'id="format-search"' not in r.text
    assert NAV_LINK not in alice.get("/").text
