"""Adding a format is one small class and `register`: its files get checked, typed and a view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest

from neurodatashare import formats
from neurodatashare.formats import Processed
from neurodatashare.testing.live import Live


class Toy:
    name, media_type, suffixes, version, artifacts = "toy", "text/x-toy", (".toy",), "toy-1", ()

    def claims(self, path: str, head: bytes) -> bool:
        return path.endswith(".toy") and (not head or head.startswith(b"TOY"))

    def process(self, reader: BinaryIO, *, path: str) -> Processed:
        first = reader.readline().strip()
        bad = [] if first == b"TOY" else [{"severity": "ERROR", "message": "no TOY line"}]
        return Processed({"nds:summary": {"lines": 1 + len(reader.readlines())}}, bad)

    def views(self, asset: dict[str, Any]) -> list[str]:
        return ["summary", "toy-lines"]


@pytest.fixture
def toy() -> Iterator[None]:
    formats.register(Toy())
    yield
    formats.unregister("toy")


def test_a_registered_format_types_checks_and_views_its_files(live: Live, toy: None) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("toys")
    good = alice.add_file(ds, "a.toy", b"TOY\nline\n")
    bad = alice.add_file(ds, "b.toy", b"NOT A TOY\n")
    report = alice.wait_for_checks(good["asset_id"])
    assert report["status"] == "done" and report["results"] == []
    meta = alice.get(f"/api/assets/{good['asset_id']}/").json()
    assert meta["nds:format"] == "toy" and meta["encodingFormat"] == "text/x-toy"
    assert meta["nds:summary"] == {"lines": 2}
    page = alice.get(f"/asset/{good['asset_id']}.json").json()
    assert page["format"] == "toy" and page["views"] == ["summary", "toy-lines"]
    html = alice.get(f"/asset/{good['asset_id']}").text  # the summary view, drawn
    assert '<th scope="row">lines</th><td>2</td>' in html
    assert "/static/explorer/main.js" not in html  # not the NWB explorer
    failed = alice.wait_for_checks(bad["asset_id"])
    assert failed["results"][0]["message"] == "no TOY line"
    assert alice.wait_for_status(ds)["status"] == "Invalid"


def test_plain_files_are_the_fallback(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("plain")
    a = alice.add_file(ds, "notes.toy", b"TOY\n")  # no toy format registered here
    meta = alice.get(f"/api/assets/{a['asset_id']}/").json()
    assert meta["nds:format"] == "plain"
    report = alice.get(f"/api/assets/{a['asset_id']}/validation/").json()
    assert report["status"] == "not-applicable"
