"""The metadata editor in Chromium: a signed-in owner adds a contributor, sees dandischema's
error beside the field in plain words, fixes it, saves, and publishes; no console errors."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from neurodatashare.testing.factories import Caller
from neurodatashare.testing.server import nds_executable, server_env

from .conftest import DemoServer, Page

pytestmark = pytest.mark.slow
PASSWORD = "edit-page-password"


@pytest.fixture(scope="module")
def editor(demo: DemoServer) -> tuple[str, str]:
    """A user with a web password (made by `nds admin` beside the server), and a dataset of
    theirs with a file and a description, but no licence and no contact person."""
    port = int(demo.url.rsplit(":", 1)[1])
    username = f"editor-{uuid.uuid4().hex[:6]}"  # NDS_E2E_HOME keeps users between runs
    made = subprocess.run(
        [str(nds_executable()), "admin", "create-user", username, "--password"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=server_env(demo.home, port=port),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    caller = Caller(demo.url, made.stdout.strip().splitlines()[-1])
    try:
        ident = caller.create_dataset(
            "Edited in the browser", metadata={"description": "Recordings edited in a browser."}
        )
        asset = caller.add_file(ident, "notes.txt", b"notes")
        caller.wait_for_checks(asset["asset_id"])
    finally:
        caller.close()
    return username, ident


def _log_in(page: Page, demo: DemoServer, username: str, target: str) -> None:
    page.goto(f"{demo.url}/login?next={target}")
    page.page.fill("input[name=username]", username)
    page.page.fill("input[name=password]", PASSWORD)
    with page.page.expect_navigation():
        page.page.click("form[action='/login'] button[type=submit]")
    assert page.page.url.endswith(target), (page.page.url, page.page.content()[-1500:])


def test_fill_a_contributor_see_the_error_fix_it_and_publish(
    demo: DemoServer, editor: tuple[str, str], page: Page
) -> None:
    username, ident = editor
    target = f"/dandiset/{ident}/draft/edit"
    _log_in(page, demo, username, target)
    page.wait("() => document.body?.dataset.editorReady === '1'")
    needs = page.js("() => document.getElementById('needs').innerText")
    assert "license" in needs and "contributor" in needs
    assert page.page.locator("#publish").is_disabled()

    page.page.check("#field-license .choice:has-text('CC-BY-4.0') input")
    contributors = page.page.locator("#field-contributor")
    contributors.locator("select[aria-label='Kind of item']").select_option("Person")
    contributors.locator("button:has-text('Add')").click()
    page.page.fill("#field-contributor\\.0\\.name input", "Doe, Jane")
    page.page.fill("#field-contributor\\.0\\.email input", "jane at example.org")
    page.page.fill("#field-contributor\\.0\\.identifier input", "0000-0002-1825-0098")
    orcid = page.page.locator("#field-contributor\\.0\\.identifier .hint").inner_text()
    assert "last digit does not match" in orcid
    page.page.fill("#field-contributor\\.0\\.identifier input", "0000-0002-1825-0097")
    assert page.page.locator("#field-contributor\\.0\\.identifier .hint").inner_text() == ""
    page.page.check("#field-contributor\\.0\\.roleName .choice:has-text('Contact Person') input")
    page.page.click("#save")
    page.wait_text("#save-status", "Saved")
    error = page.page.locator("#field-contributor\\.0\\.email .problem")
    assert error.inner_text() == "This is not an e-mail address (like name@example.org)."
    assert page.page.locator("#publish").is_disabled()
    needs = page.js("() => document.getElementById('needs').innerText")
    assert "Contributor \u203a #1 \u203a email" in needs
    page.page.locator("#field-contributor").scroll_into_view_if_needed()
    page.shot("metadata-editor-error", docs=True)

    page.page.fill("#field-contributor\\.0\\.email input", "jane.doe@example.org")
    page.page.click("#save")
    page.wait_text("#save-status", "^Saved\\.$")
    assert page.page.locator(".problem").count() == 0
    assert page.page.locator("#ready").is_visible()
    assert page.page.locator("#publish").is_enabled()
    page.page.click("#publish")
    page.page.wait_for_url(f"**/dandiset/{ident}/0.*")
    assert "Edited in the browser" in page.page.content()
    page.assert_no_errors()


def test_other_people_get_no_editor(demo: DemoServer, editor: tuple[str, str], page: Page) -> None:
    _username, ident = editor
    page.goto(f"{demo.url}/dandiset/{ident}/draft/edit")  # anonymous
    assert page.page.locator("#meta-form").count() == 0
    assert "Log in" in page.page.content()
