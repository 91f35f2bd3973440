"""The import direction of DESIGN.md: cli/server/web -> services -> db/storage/config."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "src" / "neurodatashare"
EDGE = {"cli", "server", "web"}
LOWER = {"db", "storage", "metadata", "errors", "config", "formatting"}
SERVICES = {"archive", "client", "nwb", "formats", "validation", "jobs"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "neurodatashare" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_layers_import_only_downwards() -> None:
    problems = []
    for path in PKG.rglob("*.py"):
        layer = path.relative_to(PKG).parts[0]
        layer = layer.removesuffix(".py")
        used = imports_of(path)
        if layer in EDGE:
            bad = used & (EDGE - {layer})
        elif layer in SERVICES:
            bad = used & EDGE
        elif layer in LOWER:
            bad = used & (EDGE | SERVICES)
        else:
            continue
        if bad:
            problems.append(f"{path.relative_to(PKG)} imports {sorted(bad)}")
    assert not problems, "\n".join(problems)
