"""Check the import structure of the package: layers, cycles, function-local imports.

Run ``python -m neurodatashare.tools.layers``. It prints the package graph (``L`` marks an
edge made only of function-local imports, ``T`` one made only of ``if TYPE_CHECKING:``
imports), every import cycle between modules, the number of function-local imports and
the five largest modules, and exits with status 1 when a layer rule is broken.

The layers (docs/architecture.md): a package may import packages of its own layer or of
the layers below it, never above; the edge packages never import each other.

    cli, server, web  ->  archive, client, demo  ->  formats, nwb, validation
                      ->  jobs, db, storage, metadata, errors, config, formatting

``app`` is the composition root (it joins ``server`` and ``web``; only ``cli`` starts it),
the top-level ``neurodatashare`` module is the public face (``__version__``, ``Client``)
that any module may import, ``testing`` (tests and benchmarks only) and ``tools`` may import
anything, and nothing else in the package imports either of them.

A cycle is a strongly connected component of the module graph with more than one module.
Function-local imports count as edges (they only postpone a cycle to run time);
``TYPE_CHECKING`` imports do not (they never run). ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg``; relative imports are resolved first.

Written with :mod:`ast` because no maintained library checks these rules together:
import-linter checks layers but not function-local cycles counted this way, and pydeps
draws graphs but does not check them.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"cli", "server", "web"}),
    frozenset({"archive", "client", "demo"}),
    frozenset({"formats", "nwb", "validation"}),
    frozenset({"jobs", "db", "storage", "metadata", "errors", "config", "formatting"}),
)
EDGE = LAYERS[0]
ROOT = "(root)"  # the top-level neurodatashare/__init__.py
FREE = frozenset({"testing", "tools"})  # may import anything; nothing else imports them
COMPOSITION = {"app": frozenset({"cli"})}  # composition root -> who may import it


@dataclass(frozen=True)
class Import:
    """One import statement's edge from a module to a module of the package."""

    source: str  # dotted module names
    target: str
    line: int
    local: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``


@dataclass
class Report:
    package: str
    lines: dict[str, int]  # module -> lines
    imports: list[Import]
    local_imports_all: int  # function-local import statements, of any module
    violations: list[str] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)

    @property
    def local_imports(self) -> list[Import]:
        """Function-local imports of the package's own modules."""
        return [i for i in self.imports if i.local]

    def package_of(self, module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else ROOT

    def package_graph(self) -> dict[str, dict[str, str]]:
        """package -> {imported package: "" | "L" | "T"} (L/T: every such import is lazy/typing)."""
        kinds: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for imp in self.imports:
            a, b = self.package_of(imp.source), self.package_of(imp.target)
            if a != b:
                kinds[a][b].add("T" if imp.type_only else "L" if imp.local else "")
        graph: dict[str, dict[str, str]] = {}
        for a in sorted(set(map(self.package_of, self.lines))):
            graph[a] = {b: "" if "" in k else "L" if "L" in k else "T" for b, k in kinds[a].items()}
        return graph


def module_name(package: str, root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(
    node: ast.AST, local: bool = False, typing: bool = False
) -> Iterator[tuple[ast.AST, bool, bool]]:
    """Every import node, with whether it is function-local and whether type-only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, local, typing
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, True, typing)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), local, True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), local, typing)
        else:
            yield from _walk(child, local, typing)


def analyse(root: Path, package: str = "neurodatashare") -> Report:
    """Read every module under ``root`` (the package's folder) and check the rules."""
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(package, root, p): p for p in paths}
    known = set(modules)

    def target(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    imports: list[Import] = []
    local_all = 0
    lines: dict[str, int] = {}
    for module, path in modules.items():
        text = path.read_text()
        lines[module] = text.count("\n")
        for node, local, typing in _walk(ast.parse(text)):
            local_all += local
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                assert isinstance(node, ast.ImportFrom)
                base = _resolve(node, module, path.name == "__init__.py")
                names = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
                ]
            for name in dict.fromkeys(names):
                if name == package or name.startswith(package + "."):
                    found = target(name)
                    if found is not None and found != module:
                        imports.append(Import(module, found, node.lineno, local, typing))
    report = Report(package=package, lines=lines, imports=imports, local_imports_all=local_all)
    report.violations = _violations(report)
    report.cycles = _cycles(report)
    return report


def _rank(pkg: str) -> int | None:
    for i, layer in enumerate(LAYERS):
        if pkg in layer:
            return i
    return None


def _rule_broken(a: str, b: str) -> str | None:
    """Why ``a`` may not import ``b``, or None if it may."""
    if b in FREE and a not in FREE:
        return f"only tests and benchmarks import {b}"
    if a in FREE or a == ROOT or b == ROOT:
        return None
    if b in COMPOSITION:
        return None if a in COMPOSITION[b] else f"only {sorted(COMPOSITION[b])} start {b}"
    if a in COMPOSITION:
        return None
    ra, rb = _rank(a), _rank(b)
    if ra is None or rb is None:
        return f"{a if ra is None else b} is in no layer (add it to LAYERS)"
    if ra == rb == 0:
        return "the edge packages never import each other"
    if rb < ra:
        return "an upward import"
    return None


def _violations(report: Report) -> list[str]:
    out = []
    for imp in report.imports:
        a, b = report.package_of(imp.source), report.package_of(imp.target)
        why = None if a == b else _rule_broken(a, b)
        if why is not None:
            out.append(f"{imp.source}:{imp.line} imports {imp.target}: {why}")
    return out


def _cycles(report: Report) -> list[list[str]]:
    """Strongly connected components (Tarjan) of more than one module, biggest first."""
    graph: dict[str, set[str]] = {m: set() for m in report.lines}
    for imp in report.imports:
        if not imp.type_only:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found, key=lambda c: (-len(c), c))


def format_report(report: Report, largest: int = 5) -> str:
    short = len(report.package) + 1
    out = ["Package graph (L: only function-local imports; T: only under TYPE_CHECKING):"]
    for a, targets in report.package_graph().items():
        edges = ", ".join(f"{b}({k})" if k else b for b, k in sorted(targets.items()))
        out.append(f"  {a} -> {edges or '(nothing)'}")
    out.append("")
    if report.violations:
        out.append(f"Layer rules broken: {len(report.violations)}")
        out += [f"  {v}" for v in report.violations]
    else:
        out.append("Layer rules: all kept.")
    out.append(
        f"Import cycles between modules (function-local imports counted): {len(report.cycles)}"
    )
    for i, cycle in enumerate(report.cycles, 1):
        out.append(f"  {i}. {', '.join(m[short:] or ROOT for m in cycle)}")
    local = report.local_imports
    out.append(
        f"Function-local imports: {len(local)} of the package's own modules "
        f"(in {len({i.source for i in local})} modules); {report.local_imports_all} of any module."
    )
    out.append(f"Largest modules (lines), of {len(report.lines)}:")
    for module, n in sorted(report.lines.items(), key=lambda kv: -kv[1])[:largest]:
        out.append(f"  {n:6d}  {module}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # no options: it checks the installed package it is part of
    root = Path(__file__).resolve().parent.parent
    report = analyse(root)
    print(format_report(report))
    return 1 if report.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
