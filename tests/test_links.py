"""External links: listed without following, resolved only to sibling paths, and HDF5
never opens another file by itself once the archive has isolated it."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from neurodatashare.nwb import links


@pytest.mark.parametrize(
    ("asset", "link", "expected"),
    [
        ("sub-1/a.nwb", "b.nwb", "sub-1/b.nwb"),
        ("sub-1/a.nwb", "./raw/b.nwb", "sub-1/raw/b.nwb"),
        ("sub-1/a.nwb", "../sub-2/b.nwb", "sub-2/b.nwb"),
        ("a.nwb", "b.nwb", "b.nwb"),
        ("a.nwb", "../b.nwb", None),  # leaves the dataset
        ("sub-1/a.nwb", "/data/b.nwb", None),  # absolute
        ("sub-1/a.nwb", "C:\\data\\b.nwb", None),
        ("sub-1/a.nwb", "", None),
    ],
)
def test_sibling_path(asset: str, link: str, expected: str | None) -> None:
    assert links.sibling_path(asset, link) == expected


def test_links_are_listed_hidden_and_never_followed_once_isolated(tmp_path: Path) -> None:
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["x"] = np.arange(3)
    up = tmp_path / "up"
    up.mkdir()
    evil = up / "evil.h5"
    with h5py.File(evil, "w") as f:
        f["g/kept"] = np.arange(2)
        f["g/absolute"] = h5py.ExternalLink(str(secret), "/x")
        f["relative"] = h5py.ExternalLink("../secret.h5", "/x")
    links.isolate()
    links.isolate()  # idempotent
    with h5py.File(evil, "r") as f:
        found = links.external_links(f)
        assert {(x.path, x.file, x.target) for x in found} == {
            ("/g/absolute", str(secret), "/x"),
            ("/relative", "../secret.h5", "/x"),
        }
        assert f.get("g/absolute") is None and f.get("relative") is None
        hidden = links.without_external_links(f)
        assert list(hidden.keys()) == ["g"] and list(hidden["g"].keys()) == ["kept"]
        assert list(hidden["g"]) == ["kept"]


def test_follow_outside_the_explorer_does_nothing() -> None:
    assert links.follow("/acquisition/x") == (None, None)
