"""A tolerant SWC reader: every row it can read, the file's dialect, and its defects.

MorphIO (formats/swc.py) is the strict parse, and it refuses many files that labs publish:
a soma in mid-tree, labels 0 and 5+ used as fork and end markers, a repeated id. Such files
must still be described and shown, and their owners told exactly what to change, so the
rows are read here with NumPy and every defect becomes a finding instead of an exception.
Columns are `id type x y z radius parent` (the SWC specification, 7 fields a row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodatashare.formats.common import finding
from neurodatashare.validation.types import Severity

SOMA, AXON, BASAL, APICAL = 1, 2, 3, 4
TYPE_NAMES = {0: "undefined", 1: "soma", 2: "axon", 3: "basal_dendrite", 4: "apical_dendrite"}
NM_EXTENT = 10_000.0  # a neuron spans at most a few mm: larger numbers are nanometres
MAX_LINES_NAMED = 5  # line numbers quoted in one finding
# header tags of the SWC specification and of NeuroMorpho's CNG files, kept in the summary
HEADER_TAGS = frozenset(
    [
        "contributor",
        "reference",
        "creature",
        "sex",
        "age",
        "region",
        "class",
        "label",
        "coordinate",
        "brainspace",
        "original_source",
        "field/layer",
        "type",
        "raw",
        "extras",
        "soma_area",
        "scale",
        "units",
        "cell_id",
        "subject_id",
        "version_number",
        "version_date",
    ]
)


@dataclass
class Tree:
    """The rows read, as arrays (parent_index -1 for roots), and what was wrong."""

    ids: np.ndarray
    types: np.ndarray
    xyz: np.ndarray
    radius: np.ndarray
    parent: np.ndarray  # parent index into the arrays, -1 for a root
    lines: np.ndarray  # 1-based line of each row
    header: dict[str, str] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    on_cycle: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


def _lines(numbers: np.ndarray | list[int]) -> str:
    shown = ", ".join(str(int(n)) for n in list(numbers)[:MAX_LINES_NAMED])
    more = len(numbers) - MAX_LINES_NAMED
    return f"line {shown}" + (f" and {more} more" if more > 0 else "")


def _where(numbers: np.ndarray | list[int]) -> str | None:
    return f"line {int(numbers[0])}" if len(numbers) else None


def header_tag(line: str, header: dict[str, str]) -> None:
    """Keep a comment line's tag (`# creature Mus musculus`) when it is one of HEADER_TAGS;
    the first occurrence of a tag wins."""
    tag, _, value = line.lstrip().lstrip("#").strip().partition(" ")
    if tag.lower() in HEADER_TAGS and value.strip():
        header.setdefault(tag.lower(), value.strip()[:200])


def parse(text: str) -> Tree:
    """Read every 7-field numeric row; report the rest (header tags are kept)."""
    fast = _parse_fast(text)
    if fast is not None:
        return fast
    return _parse_rows(text)


def _parse_fast(text: str) -> Tree | None:
    """The common case, every row 7 numbers: pandas' C reader, about three times faster
    than splitting rows in Python. None when any row is not like that."""
    import io

    import pandas as pd

    lines: list[int] = []
    header: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip()
        if not line:
            continue
        if line[0] == "#":
            header_tag(line, header)
            continue
        lines.append(number)
    if not lines:
        return None
    try:
        table = pd.read_csv(io.StringIO(text), sep=r"\s+", comment="#", header=None, engine="c")
    except (ValueError, pd.errors.ParserError):
        return None
    numeric = all(pd.api.types.is_numeric_dtype(t) for t in table.dtypes)
    if table.shape != (len(lines), 7) or not numeric:
        return None
    values = table.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        return None
    tree = _build(values, np.asarray(lines, dtype=np.int64), [])
    tree.header = header
    return tree


def _parse_rows(text: str) -> Tree:
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    bad_columns: list[int] = []
    header: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            header_tag(line, header)
            continue
        parts = line.split()
        if len(parts) < 7:
            bad_columns.append(number)
            continue
        rows.append(parts[:7])
        line_numbers.append(number)
    findings: list[dict[str, Any]] = []
    if bad_columns:
        findings.append(
            finding(
                Severity.ERROR,
                "swc.columns",
                f"{len(bad_columns)} rows have fewer than 7 columns ({_lines(bad_columns)}).",
                "Each row is `id type x y z radius parent`; export the file again.",
                object_path=_where(bad_columns),
            )
        )
    values, keep = _numbers(rows)
    if not keep.all():
        skipped = np.asarray(line_numbers)[~keep]
        findings.append(
            finding(
                Severity.ERROR,
                "swc.not_numeric",
                f"{len(skipped)} rows have fields that are not numbers ({_lines(skipped)}).",
                "Every field of a row must be a number; remove or correct these rows.",
                object_path=_where(skipped),
            )
        )
    lines = np.asarray(line_numbers, dtype=np.int64)[keep]
    tree = _build(values[keep], lines, findings)
    tree.header = header
    return tree


def _numbers(rows: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """All rows as float64 (fast path), or row by row when some field is not a number."""
    if not rows:
        return np.zeros((0, 7)), np.zeros(0, dtype=bool)
    try:
        return np.array(rows, dtype=np.float64), np.ones(len(rows), dtype=bool)
    except ValueError:
        values = np.full((len(rows), 7), np.nan)
        keep = np.ones(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            try:
                values[i] = [float(v) for v in row]
            except ValueError:
                keep[i] = False
        return values, keep


def _build(values: np.ndarray, lines: np.ndarray, findings: list[dict[str, Any]]) -> Tree:
    raw_ids, raw_parents = values[:, 0], values[:, 6]
    fractional = (raw_ids != np.round(raw_ids)) | (raw_parents != np.round(raw_parents))
    if fractional.any():
        at = lines[fractional]
        findings.append(
            finding(
                Severity.ERROR,
                "swc.fractional_id",
                f"{len(at)} rows have an id or parent that is not a whole number ({_lines(at)}).",
                "Ids and parents are integers; renumber the rows.",
                object_path=_where(at),
            )
        )
    ids = np.round(raw_ids).astype(np.int64)
    parents = np.round(raw_parents).astype(np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    repeated = np.zeros(len(ids), dtype=bool)
    repeated[order[1:]] = sorted_ids[1:] == sorted_ids[:-1]
    if repeated.any():
        at = lines[repeated]
        findings.append(
            finding(
                Severity.ERROR,
                "swc.duplicate_id",
                f"{len(at)} rows repeat an id already used ({_lines(at)}); the first use is kept.",
                "Give every row its own id (renumber the file, and its parents with it).",
                object_path=_where(at),
            )
        )
        keep = ~repeated
        values, lines, ids, parents = values[keep], lines[keep], ids[keep], parents[keep]
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
    if len(ids):
        pos = np.minimum(np.searchsorted(sorted_ids, parents), len(ids) - 1)
        found = sorted_ids[pos] == parents
        parent_index = np.where(found, order[pos], -1)
    else:
        found = np.zeros(0, dtype=bool)
        parent_index = np.zeros(0, dtype=np.int64)
    missing = ~found & (parents >= 0)
    if missing.any():
        at = lines[missing]
        findings.append(
            finding(
                Severity.ERROR,
                "swc.missing_parent",
                f"{len(at)} rows name a parent id that no row has ({_lines(at)}); "
                "they are read as roots.",
                "Correct the parent column, or use -1 for a root.",
                object_path=_where(at),
            )
        )
    return Tree(
        ids=ids,
        types=np.round(values[:, 1]).astype(np.int64),
        xyz=values[:, 2:5],
        radius=values[:, 5],
        parent=parent_index.astype(np.int64),
        lines=lines,
        findings=findings,
    )


def _cycles(tree: Tree) -> np.ndarray:
    """Rows that never reach a root (on a cycle or hanging below one), found by pointer
    jumping towards the roots in log n NumPy steps."""
    n = len(tree)
    idx = np.arange(n)
    jump = np.where(tree.parent >= 0, tree.parent, idx)
    for _ in range(max(1, int(np.ceil(np.log2(n + 1))) + 1)):
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        jump = nxt
    stuck = tree.parent[jump] >= 0  # a root's parent is -1; anything else loops
    return stuck


def soma_form(tree: Tree) -> str:
    """none, single point, NeuroMorpho three-point, contour or cylinders."""
    soma = np.flatnonzero(tree.types == SOMA)
    if len(soma) == 0:
        return "none"
    if len(soma) == 1:
        return "single point"
    pts = tree.xyz[soma]
    if len(soma) == 3:
        top = [i for i in soma if tree.parent[i] < 0 or tree.types[tree.parent[i]] != SOMA]
        centre = top[0] if top else soma[0]
        others = [i for i in soma if i != centre]
        r = tree.radius[centre]
        d = tree.xyz[others] - tree.xyz[centre]
        if all(tree.parent[i] == centre for i in others) and r > 0:
            tol = 0.1 * r + 1e-6
            on_y = np.all(np.abs(d[:, [0, 2]]) <= tol) and np.allclose(
                np.sort(d[:, 1]), [-r, r], atol=tol
            )
            if on_y:
                return "NeuroMorpho three-point"
    centre = pts.mean(axis=0)
    dist = np.linalg.norm(pts - centre, axis=1)
    spread = float(dist.std() / dist.mean()) if dist.mean() > 0 else 1.0
    if len(soma) >= 4 and spread < 0.35 and dist.mean() > np.median(tree.radius[soma]):
        return "contour"
    return "cylinders"


def check(tree: Tree) -> list[dict[str, Any]]:
    """The dialect's defects, each a finding with how to fix it."""
    out = list(tree.findings)
    if len(tree) == 0:
        out.append(
            finding(
                Severity.ERROR,
                "swc.empty",
                "The file has no rows SWC can read.",
                "An SWC file has one `id type x y z radius parent` row per point.",
            )
        )
        return out
    stuck = _cycles(tree)
    tree.on_cycle = stuck
    if stuck.any():
        at = tree.lines[stuck]
        out.append(
            finding(
                Severity.ERROR,
                "swc.cycle",
                f"{len(at)} rows never reach a root through their parents: the parent links "
                f"form a cycle ({_lines(at)}).",
                "A reconstruction is a tree: make one row of each loop a root (-1) or point it "
                "at the right parent.",
                object_path=_where(at),
            )
        )
    tree_roots = np.flatnonzero(tree.parent < 0)
    trees = len(tree_roots)
    if trees > 1:
        at = tree.lines[tree_roots]
        out.append(
            finding(
                Severity.WARNING,
                "swc.disconnected_trees",
                f"The file holds {trees} separate trees (roots at {_lines(at)}).",
                "Connect each neurite to the soma, or publish the pieces as separate files.",
                object_path=_where(at[1:]),
            )
        )
    types = tree.types
    soma = types == SOMA
    has_parent = tree.parent >= 0
    mid = soma & has_parent & (types[np.maximum(tree.parent, 0)] != SOMA)
    if mid.any():
        at = tree.lines[mid]
        out.append(
            finding(
                Severity.WARNING,
                "swc.soma_mid_tree",
                f"{len(at)} soma points have a neurite point as parent ({_lines(at)}); MorphIO "
                "and NEURON refuse such files.",
                "Re-root the tree at the soma: the soma's first point has parent -1 and "
                "neurites start from soma points.",
                object_path=_where(at),
            )
        )
    form = soma_form(tree)
    if form == "none":
        out.append(
            finding(
                Severity.WARNING,
                "swc.no_soma",
                "No point has type 1 (soma).",
                "Mark the soma with type 1 (one point with the soma radius is enough).",
            )
        )
    elif form == "contour":
        out.append(
            finding(
                Severity.INFO,
                "swc.soma_contour",
                "The soma is a contour (an outline of points), which the SWC specification "
                "does not define; tools read it differently.",
                "Replace the outline by one point at its centre with its mean radius, or by "
                "NeuroMorpho's three-point soma.",
            )
        )
    out += _label_findings(types)
    bad_radius = ~(tree.radius > 0)
    if bad_radius.any():
        at = tree.lines[bad_radius]
        out.append(
            finding(
                Severity.WARNING,
                "swc.zero_radius",
                f"{len(at)} points have a radius of zero, a negative or no radius ({_lines(at)}).",
                "Give each point its measured radius (xyz2swc uses 0.5 µm when unknown).",
                object_path=_where(at),
            )
        )
    nan = ~np.isfinite(tree.xyz).all(axis=1)
    if nan.any():
        at = tree.lines[nan]
        out.append(
            finding(
                Severity.ERROR,
                "swc.nan_coordinates",
                f"{len(at)} points have coordinates that are not numbers ({_lines(at)}).",
                "Every point needs finite x, y and z.",
                object_path=_where(at),
            )
        )
    return out + units_findings(extent(tree))


def units_findings(span: float) -> list[dict[str, Any]]:
    """The nanometre warning, for a reconstruction spanning `span` units."""
    if span <= NM_EXTENT:
        return []
    return [
        finding(
            Severity.WARNING,
            "swc.units_nm",
            f"The reconstruction spans {span:,.0f} units: it looks like nanometres, "
            "while SWC coordinates are micrometres.",
            "Divide x, y, z and radius by 1000, or say so in a `# units nm` header.",
        )
    ]


def _label_findings(types: np.ndarray) -> list[dict[str, Any]]:
    labels, counts = np.unique(types, return_counts=True)
    return label_findings(dict(zip(labels.tolist(), counts.tolist(), strict=True)))


def label_findings(by_label: dict[int, int]) -> list[dict[str, Any]]:
    """Findings on the type codes used, from the number of points per code."""
    out = []
    if 0 in by_label:
        out.append(
            finding(
                Severity.WARNING,
                "swc.label_undefined",
                f"{by_label[0]} points have type 0 (undefined); some tools (navis, neuPrint) "
                "write it for fork points.",
                "Give each point its neurite type (2 axon, 3 basal, 4 apical dendrite).",
            )
        )
    custom = {k: v for k, v in by_label.items() if k >= 5}
    if custom:
        refused = sorted(k for k in custom if k >= 20)
        note = f"; MorphIO refuses types {refused}" if refused else ""
        out.append(
            finding(
                Severity.WARNING if refused else Severity.INFO,
                "swc.label_custom",
                f"Custom types are used: {dict(sorted(custom.items()))} (points per type){note}.",
                "Describe custom types in the header; use 2, 3 and 4 for axon and dendrites, "
                "and types below 20.",
            )
        )
    negative = [k for k in by_label if k < 0]
    if negative:
        out.append(
            finding(
                Severity.ERROR,
                "swc.label_negative",
                f"Negative types are used: {sorted(negative)}.",
                "Types are 0 or more (1 soma, 2 axon, 3 basal, 4 apical dendrite).",
            )
        )
    return out


def extent(tree: Tree) -> float:
    finite = tree.xyz[np.isfinite(tree.xyz).all(axis=1)]
    if len(finite) == 0:
        return 0.0
    return float((finite.max(axis=0) - finite.min(axis=0)).max())


def units(tree: Tree) -> str:
    """The unit the coordinates are most likely in: nm past NM_EXTENT, else µm."""
    return "nm" if extent(tree) > NM_EXTENT else "µm"


def sholl(tree: Tree, centre: np.ndarray, radii: list[float]) -> list[int]:
    """Sholl crossings: segments whose ends lie on either side of each sphere. Vectorised
    (sorted end distances and searchsorted), because NeuroM's takes seconds per cell."""
    child = np.flatnonzero((tree.parent >= 0) & (tree.types != SOMA))
    if len(child) == 0:
        return [0 for _ in radii]
    d_child = np.linalg.norm(tree.xyz[child] - centre, axis=1)
    d_parent = np.linalg.norm(tree.xyz[tree.parent[child]] - centre, axis=1)
    low = np.sort(np.minimum(d_child, d_parent))
    high = np.sort(np.maximum(d_child, d_parent))
    r = np.asarray(radii)
    inside = np.searchsorted(low, r, side="left") - np.searchsorted(high, r, side="left")
    return [int(x) for x in inside]


def soma_centre(tree: Tree) -> np.ndarray:
    soma = np.flatnonzero(tree.types == SOMA)
    if len(soma):
        return tree.xyz[soma].mean(axis=0)
    roots = np.flatnonzero(tree.parent < 0)
    return tree.xyz[roots[0]] if len(roots) else np.zeros(3)


def morphometrics(tree: Tree) -> dict[str, Any]:
    """What the tolerant rows alone give: length per type, branch points and tips, max
    branch order, bounding box. Used when the strict parse fails."""
    n = len(tree)
    is_child = (tree.parent >= 0) & (tree.types != SOMA)
    if tree.on_cycle is not None:
        is_child &= ~tree.on_cycle
    child = np.flatnonzero(is_child)
    seg = np.linalg.norm(tree.xyz[child] - tree.xyz[tree.parent[child]], axis=1)
    lengths: dict[str, float] = {}
    for t in np.unique(tree.types[child]).tolist():
        name = TYPE_NAMES.get(t, f"type_{t}")
        lengths[name] = round(float(seg[tree.types[child] == t].sum()), 3)
    children = np.bincount(tree.parent[child], minlength=n) if n else np.zeros(0, dtype=int)
    neurite = tree.types != SOMA
    branch_points = neurite & (children >= 2)
    tips = neurite & (children == 0) & is_child
    return {
        "total_length": lengths,
        "branch_points": int(branch_points.sum()),
        "tips": int(tips.sum()),
        "max_branch_order": _max_branch_order(tree, branch_points),
    }


def _max_branch_order(tree: Tree, branch_points: np.ndarray) -> int:
    """Branch points on the path from each point up to its root, by pointer jumping."""
    n = len(tree)
    if n == 0:
        return 0
    idx = np.arange(n)
    up = np.where(tree.parent >= 0, tree.parent, idx)
    # order[i] sums the edges from i up to up[i]; a root adds 0, so jumps past it are safe
    order = np.where(tree.parent >= 0, branch_points[up].astype(np.int64), 0)
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):
        order = order + order[up]
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    if tree.on_cycle is not None:
        order = np.where(tree.on_cycle, 0, order)
    return int(order.max(initial=0))


def bounding_box(tree: Tree) -> dict[str, list[float]]:
    finite = tree.xyz[np.isfinite(tree.xyz).all(axis=1)]
    if len(finite) == 0:
        return {"min": [0.0, 0.0, 0.0], "max": [0.0, 0.0, 0.0]}
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    return {"min": [round(float(v), 3) for v in lo], "max": [round(float(v), 3) for v in hi]}


def labels(tree: Tree) -> dict[str, int]:
    values, counts = np.unique(tree.types, return_counts=True)
    pairs = zip(values.tolist(), counts.tolist(), strict=True)
    return {TYPE_NAMES.get(v, f"type_{v}"): c for v, c in pairs}
