"""Audit every metadata document the archive builds against dandischema (tests only).

`DocumentAudit` wraps the two builders (`assets.asset_metadata_json`,
`versions.version_metadata_json`), so each version and asset document served by any route
(the metadata routes, `info/`, listings with `metadata=true`, publish answers) is kept as
JSON text; `problems()` then validates each distinct document once per test session
(cached by its SHA-256), with dandischema's `Dandiset` or `Asset` model:

- a published document (one with `datePublished`) must be valid, every field;
- a draft document may be wrong only in what its owners or uploaders wrote (for a
  version, its `version_validation_errors`; publishing refuses both); a field the server
  computes must never be wrong.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from neurodatashare.metadata.schema import ASSET_COMPUTED, VERSION_COMPUTED, schema_errors

_verdicts: dict[str, list[str]] = {}  # sha256 of a document -> its problems (session cache)


def document_problems(text: str, kind: str) -> list[str]:
    """What is wrong with one document (JSON text) of `kind` Dandiset or Asset."""
    key = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()
    cached = _verdicts.get(key)
    if cached is not None:
        return cached
    doc = json.loads(text)
    errors = schema_errors(doc, kind=kind)
    if "datePublished" not in doc:
        computed = VERSION_COMPUTED if kind == "Dandiset" else ASSET_COMPUTED
        errors = [e for e in errors if e["field"].split(".", 1)[0] in computed]
    where = doc.get("id") or doc.get("path")
    found = [f"{kind} {where}: {e['field']}: {e['message']}" for e in errors]
    _verdicts[key] = found
    return found


class DocumentAudit:
    """Keeps (kind, JSON text) of every document built while installed."""

    def __init__(self) -> None:
        self.documents: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def wrap(self, build: Callable[..., dict[str, Any]], kind: str) -> Callable[..., Any]:
        def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
            doc = build(*args, **kwargs)
            text = json.dumps(doc, sort_keys=True, default=str)
            with self._lock:
                self.documents.append((kind, text))
            return doc

        return recording

    def problems(self) -> list[str]:
        with self._lock:
            seen = list(dict.fromkeys(self.documents))
        found: list[str] = []
        for kind, text in seen:
            found.extend(document_problems(text, kind))
        return found
