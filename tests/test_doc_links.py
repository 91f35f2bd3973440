"""The README and the docs point only at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# a code span that names a file or folder of the repository, like `scripts/test` or `bench/`
REPO_PATH = re.compile(r"`((?:\.ci|bench|docs|scripts|src|tests)/[^`\s]*)`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_point_at_files_that_exist(page: Path) -> None:
    text = page.read_text()
    missing = []
    for link in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", link) or link.startswith("#"):
            continue  # a web address or an anchor on the same page
        if not (page.parent / link.split("#", 1)[0]).exists():
            missing.append(link)
    if page.name == "README.md":
        missing += [p for p in REPO_PATH.findall(text) if not (ROOT / p).exists()]
    assert not missing, f"{page.name} points at files that do not exist: {missing}"
