"""The explorer's pages without a browser: the asset page and its JSON twin, access rules,
plotly.js served from the installed package, the limits the page gives its scripts, and the
dataset page's links and summary."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from neurodatashare.nwb import limits
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ophys_file


@pytest.fixture(scope="module")
def ophys_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = make_ophys_file(tmp_path_factory.mktemp("nwb") / "ophys.nwb", n_rois=3, n_frames=20)
    return Path(path).read_bytes()


def test_asset_page_has_the_explorer_and_a_json_twin(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Imaging")
    asset = alice.add_file(ds, "sub-1/sub-1_ses-1_ophys.nwb", b"x" * 300)
    aid = asset["asset_id"]
    page = httpx.get(f"{live.url}/asset/{aid}")
    assert page.status_code == 200
    html = page.text
    for text in (
        f'data-asset-id="{aid}"',
        "sub-1_ses-1_ophys.nwb",
        "/static/explorer/main.js",
        "/static/vendor/plotly.min.js?v=",
        "/static/explorer.css",
        f"/api/assets/{aid}/download/",
        'id="tree"',
        "Keyboard shortcuts",
    ):
        assert text in html, text
    twin = httpx.get(f"{live.url}/asset/{aid}.json")
    assert twin.status_code == 200
    data = twin.json()
    assert data["asset_id"] == aid and data["nwb"] is True and data["dataset"] is None
    assert data["links"]["tree"] == f"/api/assets/{aid}/explore/tree"
    assert data["links"]["page"] == f"/asset/{aid}"


STATIC_JS = Path(__file__).resolve().parent.parent / "src/neurodatashare/web/static/explorer"


def test_asset_page_carries_the_limits_of_nwb_limits(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Limits")
    aid = alice.add_file(ds, "sub-1/sub-1_ses-1_ecephys.nwb", b"x" * 300)["asset_id"]
    html = httpx.get(f"{live.url}/asset/{aid}").text
    found = re.search(r'<script type="application/json" id="nds-limits">(.*?)</script>', html)
    assert found, "the explorer page embeds no #nds-limits"
    embedded = json.loads(found.group(1))
    assert embedded == limits.PUBLIC_LIMITS
    assert all(getattr(limits, name) == value for name, value in embedded.items())
    assert embedded["MAX_WIDTH"] == limits.MAX_WIDTH == 10_000  # what read_window accepts
    # the page loads the limits before its scripts run
    assert html.index('id="nds-limits"') < html.index("/static/explorer/main.js")


def test_scripts_read_their_limits_from_the_page() -> None:
    used: set[str] = set()
    for script in STATIC_JS.glob("*.js"):
        text = script.read_text()
        used |= set(re.findall(r"LIMITS\.([A-Z_]+)", text))
        assert "8192" not in text, script.name
    assert used, "no script reads LIMITS"
    assert used <= set(limits.PUBLIC_LIMITS), used - set(limits.PUBLIC_LIMITS)
    # the page sizes the scripts ask for are within what the server serves
    assert limits.TABLE_PAGE <= limits.MAX_TABLE_LIMIT
    assert limits.ALL_ROWS_PAGE <= limits.MAX_TABLE_LIMIT
    assert limits.SNIPPETS <= limits.MAX_SNIPPETS
    assert limits.UNIT_PAGE <= limits.MAX_UNITS
    assert limits.PROJECTION_FRAMES <= limits.MAX_PROJECTION_FRAMES
    assert limits.DEFAULT_PAGE <= limits.MAX_PAGE


def test_breadcrumb_only_for_the_version_that_holds_the_asset(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Crumbs")
    other = alice.create_dataset("Elsewhere")
    aid = alice.add_file(ds, "sub-1/a.nwb", b"x" * 100)["asset_id"]
    page = httpx.get(f"{live.url}/asset/{aid}", params={"dataset": ds, "version": "draft"})
    assert f'href="/dandiset/{ds}/draft"' in page.text
    assert f"/dandiset/{ds}/draft?location=sub-1" in page.text
    wrong = httpx.get(f"{live.url}/asset/{aid}", params={"dataset": other, "version": "draft"})
    assert wrong.status_code == 200 and f"/dandiset/{other}/" not in wrong.text
    junk = httpx.get(f"{live.url}/asset/{aid}", params={"dataset": "../x", "version": "<b>"})
    assert junk.status_code == 200 and "<b>" not in junk.text
    assert httpx.get(
        f"{live.url}/asset/{aid}.json", params={"dataset": ds, "version": "draft"}
    ).json()["dataset"] == {"dataset": ds, "version": "draft"}


def test_non_nwb_files_get_a_message_not_the_explorer(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Notes")
    aid = alice.add_file(ds, "notes.txt", b"hello")["asset_id"]
    page = httpx.get(f"{live.url}/asset/{aid}")
    assert page.status_code == 200
    assert "no view for this file yet" in page.text and "/static/explorer/main.js" not in page.text
    data = httpx.get(f"{live.url}/asset/{aid}.json").json()
    assert data["nwb"] is False and data["format"] == "plain" and data["views"] == ["download"]


def test_asset_page_follows_access_rules(live: Live) -> None:
    alice = live.user("alice", password="alice-password")
    live.user("bob", password="bob-password")
    ds = alice.create_dataset("Secret lab", access="private")
    aid = alice.add_file(ds, "sub-1/secret.nwb", b"x" * 100)["asset_id"]
    anon = httpx.get(f"{live.url}/asset/{aid}")
    assert anon.status_code == 401 and "Log in" in anon.text and "secret.nwb" not in anon.text
    assert f"/login?next=/asset/{aid}" in anon.text
    anon_json = httpx.get(f"{live.url}/asset/{aid}.json")
    assert anon_json.status_code == 401 and "detail" in anon_json.json()
    with httpx.Client(base_url=live.url) as bob:
        bob.post("/login", data={"username": "bob", "password": "bob-password"})
        page = bob.get(f"/asset/{aid}")
        assert page.status_code == 404 and "secret.nwb" not in page.text
        assert bob.get(f"/asset/{aid}.json").status_code == 404
    with httpx.Client(base_url=live.url) as owner:
        owner.post("/login", data={"username": "alice", "password": "alice-password"})
        page = owner.get(f"/asset/{aid}")
        assert page.status_code == 200 and "secret.nwb" in page.text
    # hidden is absent: a missing id gets the very same login page as the private one
    other = str(uuid.uuid4())
    missing = httpx.get(f"{live.url}/asset/{other}")
    assert missing.status_code == 401
    assert missing.text.replace(other, aid) == anon.text
    garbage = httpx.get(f"{live.url}/asset/not-a-uuid")
    assert garbage.status_code in (400, 404) and "Not available" in garbage.text


def test_plotly_js_is_served_from_the_package_with_a_long_cache(live: Live) -> None:
    url = f"{live.url}/static/vendor/plotly.min.js"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in plain.headers["cache-control"]
    assert "immutable" in plain.headers["cache-control"]
    assert "window.Plotly" in plain.text[-2000:]
    assert len(plain.content) > 1_000_000
    etag = plain.headers["etag"]
    packed = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers.get("content-encoding") == "gzip"
    assert len(packed.content) == len(plain.content)  # httpx decodes it
    raw = httpx.Client().send(
        httpx.Request("GET", url, headers={"Accept-Encoding": "gzip"}), stream=True
    )
    body = b"".join(raw.iter_raw())
    raw.close()
    assert len(body) < len(plain.content) / 2 and gzip.decompress(body) == plain.content
    cached = httpx.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert httpx.head(url).status_code == 200


def test_explorer_static_files_are_served(live: Live) -> None:
    for name in (
        "main.js",
        "api.js",
        "state.js",
        "plot.js",
        "tree.js",
        "ui.js",
        "traces.js",
        "units.js",
        "imaging.js",
        "behavior.js",
        "events.js",
        "table.js",
        "rows.js",
        "limits.js",
    ):
        r = httpx.get(f"{live.url}/static/explorer/{name}")
        assert r.status_code == 200, name
        assert "javascript" in r.headers["content-type"], name
    assert httpx.get(f"{live.url}/static/explorer.css").status_code == 200


def test_dataset_page_links_nwb_files_and_shows_the_summary(live: Live, ophys_bytes: bytes) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Summarised")
    nwb = alice.add_file(ds, "sub-mouse001/sub-mouse001_ses-1_ophys.nwb", ophys_bytes)
    txt = alice.add_file(ds, "sub-mouse001/readme.txt", b"notes")
    alice.wait_for_checks(nwb["asset_id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        summary = alice.get(f"/api/dandisets/{ds}/versions/draft/").json()["assetsSummary"]
        if summary.get("species"):
            break
        time.sleep(0.1)
    html = httpx.get(f"{live.url}/dandiset/{ds}/draft", params={"location": "sub-mouse001"}).text
    assert f"/asset/{nwb['asset_id']}?dataset={ds}&amp;version=draft" in html
    assert "Explore" in html
    assert f"/asset/{txt['asset_id']}" not in html  # only NWB files are explorable
    top = httpx.get(f"{live.url}/dandiset/{ds}/draft").text
    assert "At a glance" in top
    for text in ("Species", "Mus musculus", "Approaches", "Techniques", "Variables measured"):
        assert text in top, text
    assert "subject" in top and "2</strong> files" in top
