"""The import structure of DESIGN.md, checked by neurodatashare.tools.layers: no upward
import, nothing but tests and benchmarks imports `testing`, and no import cycle between
modules (function-local imports count)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neurodatashare.tools.layers import analyse, format_report

PKG = Path(__file__).resolve().parent.parent / "src" / "neurodatashare"

# No import cycles between modules: issue 10 removed the four there were (archive's
# six-module cycle, the client package with the top-level module, nwb.explore <->
# nwb.overview, storage.base <-> storage.local), and this keeps it so.
CYCLES_TODAY = 0

MAX_LINES = 600  # the developers' guide: a module longer than this does more than one job
# module -> why it may be longer than MAX_LINES; none today
OVER_MAX_LINES: dict[str, str] = {}


def test_layers_import_only_downwards() -> None:
    report = analyse(PKG)
    assert not report.violations, "\n".join(report.violations)


def test_no_new_import_cycles() -> None:
    report = analyse(PKG)
    assert len(report.cycles) <= CYCLES_TODAY, (
        f"{len(report.cycles)} import cycles between modules, more than the "
        f"{CYCLES_TODAY} known; run `python -m neurodatashare.tools.layers`:\n"
        + "\n".join(", ".join(c) for c in report.cycles)
    )


def test_no_module_is_over_the_line_limit() -> None:
    report = analyse(PKG)
    over = {m: n for m, n in report.lines.items() if n > MAX_LINES and m not in OVER_MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines (split them by job): {over}"
    # an exception that is no longer needed goes, so the dict only shrinks
    stale = sorted(m for m in OVER_MAX_LINES if report.lines.get(m, 0) <= MAX_LINES)
    assert not stale, f"remove from OVER_MAX_LINES, now within {MAX_LINES} lines: {stale}"


def test_the_product_does_not_live_in_the_test_helpers() -> None:
    report = analyse(PKG)
    importers = {i.source for i in report.imports if i.target.startswith("neurodatashare.testing")}
    assert all(m.startswith("neurodatashare.testing") for m in importers), sorted(importers)
    graph = report.package_graph()
    assert "demo" in graph["cli"] and "testing" not in graph["cli"]


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checker_sees_relative_lazy_and_testing_imports(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "archive/__init__.py": "from . import a\n",
            "archive/a.py": "from .b import g\n",
            # the cycle back is function-local: it still counts
            "archive/b.py": "def g():\n    from pkg.archive.a import x\n    return x\n",
            "archive/c.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from .d import T\n",
            "archive/d.py": "from .c import y\n",
            "cli/__init__.py": "def run():\n    from ..testing import helpers\n",
            "testing/__init__.py": "",
            "testing/helpers.py": "import pkg.db\nfrom pkg.archive import a\n",
            "db.py": "from pkg.archive import b\n",
        },
    )
    report = analyse(root, package="pkg")
    edges = {(i.source, i.target, i.local) for i in report.imports}
    assert ("pkg.archive", "pkg.archive.a", False) in edges  # `from . import a` in __init__
    assert ("pkg.archive.a", "pkg.archive.b", False) in edges
    assert ("pkg.cli", "pkg.testing.helpers", True) in edges  # `from ..testing import ...`
    # a.py <-> b.py is a cycle; c.py <-> d.py is not (its one way back is for typing only)
    assert report.cycles == [["pkg.archive.a", "pkg.archive.b"]]
    broken = "\n".join(report.violations)
    assert "pkg.cli:2 imports pkg.testing.helpers: only tests and benchmarks" in broken
    assert "pkg.db:1 imports pkg.archive.b: an upward import" in broken
    assert "pkg.testing" not in broken.split(" imports ")[0]  # testing may import anything
    assert len(report.violations) == 2
    text = format_report(report)
    assert "cli -> testing(L)" in text and "Layer rules broken: 2" in text
    assert "1. archive.a, archive.b" in text


def test_the_command_prints_the_graph_and_fails_on_a_broken_rule() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "neurodatashare.tools.layers"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cli -> " in done.stdout and "Import cycles between modules" in done.stdout
    assert "Function-local imports:" in done.stdout and "Largest modules" in done.stdout


def test_no_benchmark_shadows_a_package() -> None:
    """`python bench/x.py` puts bench/ first on sys.path: a bench/zarr.py once hid the zarr
    package from every benchmark that reads h5ad (anndata imports zarr)."""
    import importlib.util
    import sys

    bench = Path(__file__).resolve().parent.parent / "bench"
    shadowing = []
    for script in sorted(bench.glob("*.py")):
        name = script.stem
        if name in sys.stdlib_module_names or importlib.util.find_spec(name) is not None:
            shadowing.append(script.name)
    assert not shadowing, (
        f"rename these benchmarks, they hide packages of the same name: {shadowing}"
    )
