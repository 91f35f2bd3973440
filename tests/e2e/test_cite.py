"""The version page's "Cite" box in a real browser: formats from the citation API, Copy."""

from __future__ import annotations

import json

import pytest

from .conftest import DemoServer, Page

pytestmark = pytest.mark.slow


def test_cite_box_formats_and_copy(demo: DemoServer, page: Page) -> None:
    page.goto(f"{demo.url}/dandiset/{demo.dataset_id}/{demo.version}")
    box = page.page.locator(".cite-box")
    # the APA text comes from the API (citeproc-py), replacing the server's stored citation
    page.wait_text(".cite-text", r"\[Dataset\]\. .* archive\. http")
    page.page.select_option(".cite-format", "bibtex")
    page.wait_text(".cite-text", r"^@misc\{")
    page.page.select_option(".cite-format", "csl-json")
    page.wait_text(".cite-text", r'"type": "dataset"')
    item = json.loads(box.locator(".cite-text").inner_text())[0]
    assert item["version"] == demo.version
    page.page.select_option(".cite-format", "datacite-xml")
    page.wait_text(".cite-text", r"<resource ")
    href = box.locator(".cite-download").get_attribute("href")
    assert href and href.endswith("citation/?format=datacite-xml")
    box.locator(".cite-copy").click()
    # headless Chromium on http:// may have no clipboard: then the text is selected instead
    page.wait_text(".cite-status", r"Copied|Selected")
    if "Selected" in box.locator(".cite-status").inner_text():
        assert page.js("() => window.getSelection().toString()").startswith("<?xml")
    # the published version's page carries JSON-LD; the draft's does not
    scripts = page.page.locator('script[type="application/ld+json"]')
    assert scripts.count() == 1
    assert json.loads(scripts.first.inner_text())["version"] == demo.version
    page.goto(f"{demo.url}/dandiset/{demo.dataset_id}/draft")
    assert page.page.locator('script[type="application/ld+json"]').count() == 0
    options = page.page.locator(".cite-format option").all_inner_texts()
    assert options == ["APA", "BibTeX", "RIS", "CSL-JSON"]  # no DataCite record for a draft
    page.shot("cite-box")
    page.assert_no_errors()
