"""Many sessions at once: NeuroConv's LocalPathExpander turns a pattern under a root
(``{subject_id}/{session_id}/raw``) into one session per match, each with its source
paths and the subject and session ids read from the path."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.interfaces import (
    check_source,
    format_name,
    json_safe,
    path_options,
    source_schema,
)

PATTERN_KEYS = ("file_path", "folder_path")  # the options LocalPathExpander fills in


def expand_sessions(*, root: Path, streams: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each stream is {"format": NAME, "source": {OPTION: VALUE}}: one of file_path or
    folder_path is a pattern relative to `root` with {subject_id}, {session_id} (and any
    other {field}); the other options are the same for every session.

    Returns one entry per session found, sorted by subject then session:
    {"subject_id", "session_id", "streams": [{"format", "source"}], "metadata": {...}};
    only sessions every stream matched are returned.
    """
    from neuroconv.tools.path_expansion import LocalPathExpander

    if not streams:
        raise BadRequest("Give at least one stream: {'format': NAME, 'source': {...}}.")
    spec: dict[str, dict[str, Any]] = {}
    fixed: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(streams):
        if not isinstance(s, dict) or not isinstance(s.get("source"), dict):
            raise BadRequest(f"streams[{i}] must be {{'format': NAME, 'source': {{...}}}}.")
        name = format_name(str(s.get("format") or ""))
        options = dict(s["source"])
        keys = [k for k in PATTERN_KEYS if isinstance(options.get(k), str)]
        if len(keys) != 1 or "{" not in options[keys[0]]:
            raise BadRequest(
                f"streams[{i}] ({name}): give one of file_path or folder_path as a pattern "
                "relative to the root, like '{subject_id}/{session_id}/raw'."
            )
        pattern = options.pop(keys[0])
        if pattern.startswith("/") or ".." in Path(pattern).parts:
            raise BadRequest(
                f"streams[{i}] ({name}) {keys[0]} {pattern!r}: a pattern is relative to the "
                "root and may not contain '..'."
            )
        if name in spec:
            raise BadRequest(f"streams[{i}]: {name} is given twice.")
        spec[name] = {"base_directory": str(root), keys[0]: pattern}
        fixed[name] = options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = LocalPathExpander().expand_paths(spec)
        except (ValueError, KeyError) as exc:  # a malformed pattern
            raise BadRequest(f"Bad path pattern: {exc}") from exc
    sessions = []
    for entry in found:
        source_data = dict(entry["source_data"])
        if set(source_data) != set(spec):
            continue  # a session some stream has no files for
        metadata = json_safe({k: dict(v) for k, v in dict(entry["metadata"]).items()})
        checked = [
            check_source(
                format=name,
                options={**fixed[name], **dict(source_data[name])},
                where=f"session {_label(metadata)}: source",
            ).json()
            for name in spec
        ]
        sessions.append(
            {
                "subject_id": metadata.get("Subject", {}).get("subject_id"),
                "session_id": metadata.get("NWBFile", {}).get("session_id"),
                "streams": checked,
                "metadata": metadata,
            }
        )
    return sorted(sessions, key=lambda s: (str(s["subject_id"]), str(s["session_id"])))


def _label(metadata: dict[str, Any]) -> str:
    subject = metadata.get("Subject", {}).get("subject_id", "?")
    session = metadata.get("NWBFile", {}).get("session_id", "?")
    return f"{subject}/{session}"


def source_paths(stream: dict[str, Any]) -> list[str]:
    """The paths a stream's source options name (to check them against the roots)."""
    name = format_name(str(stream.get("format") or ""))
    options = stream.get("source") or {}
    out: list[str] = []
    for key in path_options(source_schema(name)):
        value = options.get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                out.append(v)
    return out
