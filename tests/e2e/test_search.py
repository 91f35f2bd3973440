"""The search page in a real browser on the `nds serve --demo` archive: words typed in the
header box, a facet ticked (the page searches again by itself, the state in the URL), and a
matching file followed to its explorer page."""

from __future__ import annotations

import re

import pytest

from .conftest import DemoServer, Page

pytestmark = pytest.mark.slow


def test_header_search_facet_and_file_link(demo: DemoServer, page: Page) -> None:
    page.goto(f"{demo.url}/dandiset/{demo.dataset_id}/{demo.version}")
    box = page.page.locator("header input[type=search]")
    box.fill("mice")
    box.press("Enter")
    page.page.wait_for_url(re.compile(r"/search\?q=mice$"))
    hits = page.page.locator("li.hit")
    assert hits.count() >= 1
    assert page.page.locator(f"li.hit[data-dataset='{demo.dataset_id}']").count() == 1
    hit = page.page.locator(f"li.hit[data-dataset='{demo.dataset_id}']")
    assert hit.locator("li.file > a").count() >= 1  # its matching files are listed under it
    assert box.input_value() == "mice"  # the header box keeps the words
    # tick a facet: the page searches again by itself and the URL holds the state
    facet = page.page.locator("fieldset[data-facet=modality] input[value=ecephys]")
    assert not facet.is_checked()
    facet.check()
    page.page.wait_for_url(re.compile(r"modality=ecephys"))
    assert "q=mice" in page.page.url
    assert page.page.locator("fieldset[data-facet=modality] input[value=ecephys]").is_checked()
    assert re.search(r"\bModality: ", page.page.locator(".active-filters").inner_text())
    page.shot("search", full=True)
    # follow a matching file of the demo dataset to its explorer page
    link = hit.locator("li.file > a").first
    path = link.inner_text()
    assert path in demo.assets
    link.click()
    page.page.wait_for_url(re.compile(rf"/asset/{demo.assets[path]}\?dataset={demo.dataset_id}"))
    page.wait("() => document.getElementById('explorer').dataset.state === 'ready'")
    assert path.rsplit("/", 1)[1] in page.page.locator("main").inner_text()
    # back: the search is restored from the URL
    page.page.go_back()
    page.page.wait_for_url(re.compile(r"/search\?.*modality=ecephys"))
    assert page.page.locator("fieldset[data-facet=modality] input[value=ecephys]").is_checked()
    page.assert_no_errors()
