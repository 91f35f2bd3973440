"""Dotted paths into a metadata document, as `nds meta set` takes them.

`contributor.0.email` is the first contributor's e-mail; `keywords.+` appends to a list;
`-1` is a list's last item. Missing dictionaries on the way are created; a list index
past the end is refused with what to write instead (silently padding a list would invent
empty contributors). Values are YAML scalars or flow collections (`42`, `true`,
`[a, b]`, `{name: X}`), so a list or a whole contributor can be set in one call.
"""

from __future__ import annotations

from typing import Any

from neurodatashare.errors import BadRequest

APPEND = "+"


def parse_value(text: str) -> Any:
    """The value a user typed: a number, true/false, a [list] or a {mapping} in YAML's
    flow style, else the text as it is ("Imaging: CA1" is a sentence, not a mapping)."""
    import yaml

    stripped = text.strip()
    try:
        value = yaml.safe_load(text) if stripped else text
    except yaml.YAMLError:
        return text
    if isinstance(value, dict | list) and stripped[:1] not in "[{":
        return text
    return value if value is not None else text


def _steps(path: str) -> list[str]:
    steps = path.split(".")
    if not path or any(not step for step in steps):
        raise BadRequest(f"'{path}' is not a field path; write it like contributor.0.email.")
    return steps


def _index(items: list[Any], step: str, where: str) -> int:
    try:
        index = int(step)
    except ValueError:
        raise BadRequest(
            f"{where} is a list: give a position (0 is the first) or + to add an item, "
            f"not '{step}'."
        ) from None
    if not -len(items) <= index < len(items):
        count = f"{len(items)} item" + ("" if len(items) == 1 else "s")
        raise BadRequest(f"{where} has {count}; use {where}.+ to add one.")
    return index


def set_path(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`document` with `value` at `path` (changed in place and returned)."""
    steps = _steps(path)
    node: Any = document
    for depth, step in enumerate(steps):
        where = ".".join(steps[:depth]) or "the metadata"
        last = depth == len(steps) - 1
        if isinstance(node, list):
            if step == APPEND:
                if last:
                    node.append(value)
                    return document
                node.append({})
                node = node[-1]
                continue
            index = _index(node, step, where)
            if last:
                node[index] = value
                return document
            node = node[index]
        elif isinstance(node, dict):
            if step == APPEND:
                raise BadRequest(f"{where} is not a list, so + cannot add to it.")
            if last:
                node[step] = value
                return document
            if node.get(step) is None:
                node[step] = [] if steps[depth + 1] == APPEND else {}
            node = node[step]
        else:
            raise BadRequest(f"{where} is a single value ({node!r}), so it has no '{step}'.")
    return document


def unset_path(document: dict[str, Any], path: str) -> dict[str, Any]:
    """`document` without the field or list item at `path`."""
    steps = _steps(path)
    node: Any = document
    for depth, step in enumerate(steps[:-1]):
        where = ".".join(steps[: depth + 1])
        node = node[_index(node, step, where)] if isinstance(node, list) else node.get(step)
        if node is None or not isinstance(node, dict | list):
            raise BadRequest(f"The metadata has no {where}.")
    last = steps[-1]
    if isinstance(node, list):
        node.pop(_index(node, last, ".".join(steps[:-1])))
    elif last in node:
        del node[last]
    else:
        raise BadRequest(f"The metadata has no {path}.")
    return document
