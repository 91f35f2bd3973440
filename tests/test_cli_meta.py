"""`nds meta show | set | unset | edit` against a real server, as a user runs them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from neurodatashare.errors import BadRequest
from neurodatashare.metadata.dotted import parse_value, set_path, unset_path
from neurodatashare.testing.live import Live
from test_cli_client import isolated_client, nds  # noqa: F401 - the fixture is used by name


def _draft(live: Live, caller: object, ident: str) -> dict[str, object]:
    r = caller.get(f"/api/dandisets/{ident}/versions/draft/")  # type: ignore[attr-defined]
    assert r.status_code == 200
    data: dict[str, object] = r.json()
    return data


def test_show_lists_the_owned_fields_and_what_publishing_needs(live: Live) -> None:
    alice = live.user("alice")
    ident = alice.create_dataset("Bare", metadata={"name": "Bare"})
    out = nds(["meta", "show", ident], alice, url=live.url)
    assert out.exit_code == 0, out.output
    shown = yaml.safe_load(out.output.split("\n\n", 1)[0])
    assert shown["name"] == "Bare" and "identifier" not in shown and "citation" not in shown
    assert "Publishing still needs:" in out.output and "description" in out.output
    as_json = json.loads(nds(["meta", "show", ident, "--json"], alice, url=live.url).output)
    assert any(line.startswith("license") for line in as_json["publishing_needs"])


def test_set_fields_lists_and_new_contributors_until_publishable(live: Live) -> None:
    alice = live.user("alice")
    ident = alice.create_dataset("CA1", metadata={"name": "CA1"})
    steps = [
        ["description", "Two-photon imaging of CA1 during a linear track task."],
        ["license", "[spdx:CC-BY-4.0]"],
        ["keywords.+", "hippocampus"],
        ["keywords.+", "place cells"],
        [
            "contributor.+",
            '{schemaKey: Person, name: "Doe, Jane", roleName: [dcite:ContactPerson]}',
        ],
        ["contributor.0.email", "jane.doe@example.org"],
    ]
    for field, value in steps:
        out = nds(["meta", "set", ident, field, value], alice, url=live.url)
        assert out.exit_code == 0, (field, out.output)
        assert "Saved the draft" in out.output
    assert "Nothing is missing for publishing." in out.output
    meta = _draft(live, alice, ident)
    assert meta["keywords"] == ["hippocampus", "place cells"]
    assert meta["contributor"][0]["email"] == "jane.doe@example.org"  # type: ignore[index]
    out = nds(["meta", "unset", ident, "keywords.0"], alice, url=live.url)
    assert out.exit_code == 0 and _draft(live, alice, ident)["keywords"] == ["place cells"]


def test_a_wrong_value_is_refused_with_its_field_and_nothing_changes(live: Live) -> None:
    alice = live.user("alice")
    ident = alice.create_dataset("CA1")  # publishable metadata
    before = _draft(live, alice, ident)
    out = nds(["meta", "set", ident, "contributor.0.email", "not-an-address"], alice, url=live.url)
    assert out.exit_code == 1 and "contributor.0.email" in out.output
    out = nds(["meta", "set", ident, "contributor.7.email", "x@example.org"], alice, url=live.url)
    assert out.exit_code == 1 and "contributor has 1 item; use contributor.+" in out.output
    assert _draft(live, alice, ident) == before


def test_only_owners_may_change_and_others_get_what_they_would_without_the_dataset(
    live: Live,
) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    ident = alice.create_dataset("Private", access="private")
    out = nds(["meta", "set", ident, "description", "mine now"], bob, url=live.url)
    assert out.exit_code == 2 and "Traceback" not in out.output  # hidden: not found
    out = nds(["meta", "show", ident], bob, url=live.url)
    assert out.exit_code == 2


EDITOR = """import json, sys
from pathlib import Path
queue = Path(sys.argv[0]).with_suffix(".json")
steps = json.loads(queue.read_text())
target = Path(sys.argv[1])
seen = Path(sys.argv[0]).with_suffix(".seen")
before = seen.read_text() + "\\f" if seen.exists() else ""
seen.write_text(before + target.read_text())
text = target.read_text()
for old, new in steps.pop(0):
    text = text.replace(old, new)
target.write_text(text)
queue.write_text(json.dumps(steps))
"""


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$EDITOR: a script that makes the next queued replacements (editor.json) and keeps
    what it was shown (editor.seen, one form feed between openings)."""
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    return script


def test_edit_reopens_with_the_errors_until_the_yaml_is_right(live: Live, editor: Path) -> None:
    alice = live.user("alice")
    ident = alice.create_dataset("CA1")
    steps = [  # the replacements made at each opening of the editor
        [("name: CA1", "name: [unclosed")],  # not YAML
        [("name: [unclosed", "name: CA1 again"), ("@", " at ")],  # YAML, a wrong e-mail
        [(" at ", "@")],  # fixed
    ]
    editor.with_suffix(".json").write_text(json.dumps(steps))
    out = nds(["meta", "edit", ident], alice, url=live.url)
    assert out.exit_code == 0, out.output
    assert "Saved the draft" in out.output
    views = editor.with_suffix(".seen").read_text().split("\f")
    assert len(views) == 3
    assert "# ERROR YAML:" in views[1] and "name: [unclosed" in views[1]
    assert "# ERROR contributor.0.email" in views[2] and "# ERROR YAML" not in views[2]
    assert _draft(live, alice, ident)["name"] == "CA1 again"


def test_edit_without_a_change_saves_nothing(live: Live, editor: Path) -> None:
    alice = live.user("alice")
    ident = alice.create_dataset("CA1")
    editor.with_suffix(".json").write_text(json.dumps([[("name: CA1", "name: CA1")]]))
    before = _draft(live, alice, ident)
    out = nds(["meta", "edit", ident], alice, url=live.url)
    assert out.exit_code == 0 and "Nothing changed." in out.output
    assert _draft(live, alice, ident)["dateCreated"] == before["dateCreated"]


def test_dotted_paths() -> None:
    doc: dict[str, object] = {"keywords": ["a"], "contributor": [{"name": "X"}]}
    assert set_path(doc, "keywords.-1", "b")["keywords"] == ["b"]
    assert set_path(doc, "study.species.+", "mouse")["study"] == {"species": ["mouse"]}
    assert set_path(doc, "contributor.+.name", "Y")["contributor"][1] == {"name": "Y"}  # type: ignore[index]
    assert unset_path(doc, "contributor.0")["contributor"] == [{"name": "Y"}]
    assert parse_value("42") == 42 and parse_value("[a, b]") == ["a", "b"]
    assert parse_value("Ratio: 1:2 [approx") == "Ratio: 1:2 [approx"
    assert parse_value("Imaging: CA1") == "Imaging: CA1" and parse_value("- a") == "- a"
    assert parse_value("{name: X}") == {"name": "X"} and parse_value("true") is True
    for path, message in [
        ("", "not a field path"),
        ("keywords.x", "is a list"),
        ("keywords.0.name", "single value"),
        ("study.+", "not a list"),
    ]:
        with pytest.raises(BadRequest, match=message):
            set_path(doc, path, 1)
    with pytest.raises(BadRequest, match="has no ghost"):
        unset_path(doc, "ghost")
