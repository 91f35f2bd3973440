"""The server-rendered pages: dataset list, landing page, login, and access rules."""

from __future__ import annotations

import httpx

from neurodatashare.testing.live import Live


def test_index_lists_visible_datasets_with_size_and_access(live: Live) -> None:
    alice = live.user("alice")
    open_ds = alice.create_dataset("Visual cortex survey")
    alice.add_file(open_ds, "sub-1/a.nwb", b"x" * 2500)
    alice.create_dataset("Hidden lab notes", access="private")
    page = httpx.get(f"{live.url}/")
    assert page.status_code == 200
    html = page.text
    assert "Visual cortex survey" in html and "2.5 kB" in html
    assert 'class="badge open"' in html
    assert "Hidden lab notes" not in html
    # words go to the search page (tests/test_web_search.py)
    found = httpx.get(f"{live.url}/", params={"q": "cortex"}, follow_redirects=True)
    shown = found.text.replace("<mark>", "").replace("</mark>", "")  # matches are marked
    assert found.url.path == "/search" and "Visual cortex survey" in shown
    none = httpx.get(f"{live.url}/search", params={"q": "zebrafish"}).text
    assert "No datasets match" in none


def test_landing_page_has_metadata_citation_versions_and_files(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset(
        "Hippocampus",
        metadata={
            "description": "Place cells in CA1.",
            "license": ["spdx:CC-BY-4.0"],
            "contributor": [
                {
                    "schemaKey": "Person",
                    "name": "Doe, Jane",
                    "email": "jane.doe@example.org",
                    "roleName": ["dcite:ContactPerson"],
                }
            ],
        },
    )
    asset = alice.add_file(ds, "sub-1/sub-1_ses-1.bin", b"x" * 100)
    version = alice.publish(ds)["version"]
    r = httpx.get(f"{live.url}/dandiset/{ds}", follow_redirects=True)
    assert r.status_code == 200 and r.url.path == f"/dandiset/{ds}/{version}"
    html = r.text
    for text in (
        "Hippocampus",
        "Place cells in CA1.",
        "Doe, Jane",
        "CC BY 4.0",
        f"Version {version}",
        "draft",
        "sub-1/",
    ):
        assert text in html, text
    inner = httpx.get(f"{live.url}/dandiset/{ds}/{version}", params={"location": "sub-1"}).text
    assert f"/api/assets/{asset['asset_id']}/download/" in inner
    assert "sub-1_ses-1.bin" in inner


def test_private_pages_need_login_and_ownership(live: Live) -> None:
    alice = live.user("alice", password="alice-password")
    live.user("bob", password="bob-password")
    ds = alice.create_dataset("Secret", access="private")
    anon = httpx.get(f"{live.url}/dandiset/{ds}/draft")
    assert anon.status_code == 401 and "Log in" in anon.text and "Secret" not in anon.text
    with httpx.Client(base_url=live.url) as bob:
        r = bob.post("/login", data={"username": "bob", "password": "bob-password"})
        assert r.status_code == 303
        page = bob.get(f"/dandiset/{ds}/draft")
        assert page.status_code == 404 and "Secret" not in page.text
        assert "Secret" not in bob.get("/").text
    with httpx.Client(base_url=live.url) as web:
        r = web.post(
            "/login",
            data={
                "username": "alice",
                "password": "alice-password",
                "next": f"/dandiset/{ds}/draft",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == f"/dandiset/{ds}/draft"
        page = web.get(f"/dandiset/{ds}/draft")
        assert page.status_code == 200 and "Secret" in page.text
        assert "Secret" in web.get("/").text
        # the session cookie also works on the API, for the pages' own scripts
        assert web.get(f"/api/dandisets/{ds}/").status_code == 200
        web.post("/logout")
        assert web.get(f"/dandiset/{ds}/draft").status_code == 401


def test_login_errors_and_open_redirects(live: Live) -> None:
    live.user("alice", password="alice-password")
    r = httpx.post(f"{live.url}/login", data={"username": "alice", "password": "wrong"})
    assert r.status_code == 401 and "Wrong username or password" in r.text
    r = httpx.post(f"{live.url}/login", data={"username": "nobody", "password": "x"})
    assert r.status_code == 401
    r = httpx.post(
        f"{live.url}/login",
        data={"username": "alice", "password": "alice-password", "next": "//evil.example/"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert httpx.get(f"{live.url}/login").status_code == 200


def test_unknown_dataset_page_is_a_clear_404(live: Live) -> None:
    r = httpx.get(f"{live.url}/dandiset/000042/draft")
    assert r.status_code in (401, 404)
    assert "000042" in r.text
    r = httpx.get(f"{live.url}/dandiset/not-an-id/draft")
    assert r.status_code == 404 and "six digits" in r.text


def test_description_is_markdown_with_html_escaped(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset(
        "Markdown",
        metadata={
            "description": "# Methods\n\nMice were **head-fixed**; see [the protocol]"
            "(https://example.org/p).\n\n- one\n- two\n\n<script>alert(1)</script>"
            " [bad](javascript:alert(2))",
            "license": ["spdx:CC0-1.0"],
        },
    )
    r = httpx.get(f"{live.url}/dandiset/{ds}/draft")
    html = r.text
    assert "<h1>Methods</h1>" in html and "<strong>head-fixed</strong>" in html
    assert '<a href="https://example.org/p">the protocol</a>' in html
    assert "<li>one</li>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    # licences by name, the draft labelled as a draft
    assert "CC0 1.0" in html and "spdx:CC0-1.0" not in html
    assert 'class="badge draft"' in html and "This is the <strong>draft</strong>" in html


def test_folder_links_keep_the_folder_through_the_redirect(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("Folders")
    alice.add_file(ds, "sub-1/sub-1_ses-1.bin", b"x" * 10)
    alice.add_file(ds, "sub-2/sub-2_ses-1.bin", b"x" * 10)
    r = httpx.get(f"{live.url}/dandiset/{ds}", params={"location": "sub-2"})
    assert r.status_code == 302
    assert r.headers["location"] == f"/dandiset/{ds}/draft?location=sub-2"
    page = httpx.get(
        f"{live.url}/dandiset/{ds}/", params={"location": "sub-2"}, follow_redirects=True
    ).text
    assert "sub-2_ses-1.bin" in page and "sub-1_ses-1.bin" not in page


def test_unknown_paths_get_the_sites_404_page_and_the_api_json(live: Live) -> None:
    page = httpx.get(f"{live.url}/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and "/no/such/page" in page.text
    assert "Back to all datasets" in page.text
    api = httpx.get(f"{live.url}/api/no/such/thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert "/api/no/such/thing" in api.json()["detail"]


def test_api_docs_work_offline(live: Live) -> None:
    import re

    page = httpx.get(f"{live.url}/api/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text[:500]
    assert not [u for u in urls if re.match(r"(https?:)?//", u)], urls
    for url in urls:
        r = httpx.get(f"{live.url}{url}")
        assert r.status_code == 200 and len(r.content) > 100, url
    assert '"validatorUrl": null' in page.text  # no badge fetched from a validator
