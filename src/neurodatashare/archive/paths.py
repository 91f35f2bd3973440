"""Paths the archive accepts: asset paths in a version, and entry paths inside a Zarr."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from neurodatashare.errors import BadRequest

MAX_PATH = 512
# Unicode categories refused anywhere in a path: controls (Cc) and format characters (Cf).
_INVISIBLE = frozenset({"Cc", "Cf"})
# unicodedata has no names for control characters; these are their Unicode name aliases.
_CONTROL_NAMES = {
    "\x00": "NULL (NUL)",
    "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
}


def _describe_char(ch: str) -> str:
    """'U+202E RIGHT-TO-LEFT OVERRIDE': how a message names a character a person cannot see."""
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(ch, "control character")
    return f"U+{ord(ch):04X} {name}"


def validate_path(path: Any) -> str:
    """Return `path`, in Unicode NFC, if it is a safe relative asset path, else raise a 400.

    NFC makes two paths that look identical (a precomposed "é" and "e" + combining accent)
    one path. Control and format characters (categories Cc and Cf: newlines, bidirectional
    overrides such as U+202E, zero-width spaces, byte-order marks) make a path display as
    something other than what it is, so they are refused by name, as are folder or file names
    that start or end with whitespace.
    """
    if not isinstance(path, str) or not path:
        raise BadRequest("The asset metadata needs a 'path' (a relative file path).")
    path = unicodedata.normalize("NFC", path)
    for ch in path:
        if unicodedata.category(ch) in _INVISIBLE:
            raise BadRequest(
                f"Asset path {path!r} contains the invisible character {_describe_char(ch)}; "
                "remove it from the file or folder name."
            )
    if len(path) > MAX_PATH:
        raise BadRequest(f"Asset paths may be at most {MAX_PATH} characters (got {len(path)}).")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise BadRequest(f"Asset path {path!r} is absolute; give a path relative to the dataset.")
    if "\\" in path:
        raise BadRequest(f"Asset path {path!r} contains a backslash; separate folders with '/'.")
    parts = path.split("/")
    if any(p == "" for p in parts):
        raise BadRequest(
            f"Asset path {path!r} has an empty folder name ('//' or a '/' at the end)."
        )
    if any(p in (".", "..") for p in parts):
        raise BadRequest(f"Asset path {path!r} may not contain '.' or '..' folders.")
    for part in parts:
        if part != part.strip():
            ch = part[0] if part[0].isspace() else part[-1]
            where = "starts" if part[0].isspace() else "ends"
            raise BadRequest(
                f"The name {part!r} in asset path {path!r} {where} with whitespace "
                f"({_describe_char(ch)}); remove it."
            )
    return path


MAX_ENTRY_PATH = 1024


def validate_entry_path(path: Any) -> str:
    """A file path inside a Zarr ("0/.zarray", "0/0.0.0"): relative, '/'-separated, no
    '.' or '..' folders, no empty names, no control characters; else a 400 that says why."""
    if not isinstance(path, str) or not path:
        raise BadRequest("Each Zarr file needs a 'path' relative to the Zarr, like '0/.zarray'.")
    for ch in path:
        if unicodedata.category(ch) in _INVISIBLE:
            raise BadRequest(
                f"Zarr path {path!r} contains the invisible character {_describe_char(ch)}."
            )
    if len(path) > MAX_ENTRY_PATH:
        raise BadRequest(f"Zarr paths may be at most {MAX_ENTRY_PATH} characters.")
    if path.startswith("/"):
        raise BadRequest(f"Zarr path {path!r} is absolute; give it relative to the Zarr.")
    if "\\" in path:
        raise BadRequest(f"Zarr path {path!r} contains a backslash; separate folders with '/'.")
    parts = path.split("/")
    if any(p == "" for p in parts):
        raise BadRequest(f"Zarr path {path!r} has an empty name ('//' or a '/' at either end).")
    if any(p in (".", "..") for p in parts):
        raise BadRequest(f"Zarr path {path!r} may not contain '.' or '..' folders.")
    return path
