"""Single-cell expression matrices: AnnData `.h5ad`, read with anndata's element reader.

`X` and the layers are never loaded: anndata reads obs and var, obsm is known by shape, and
the sparse structure is checked from the HDF5 datasets directly, in bounded chunks. The
media type is `application/x-hdf5` (what the bytes are; there is no registered type for
h5ad, and `nds:format` says AnnData).
Species and regions go where the dataset summary counts them (dandischema Participant in
`wasAttributedTo`, Anatomy in `about`), as nwb/extract.py does for NWB files.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from neurodatashare.formats.base import Artifact, Processed
from neurodatashare.formats.common import capped, finding, local_path
from neurodatashare.metadata.vocabulary import match_species
from neurodatashare.validation.types import Severity

log = logging.getLogger("neurodatashare.formats.anndata")

MAX_COLUMNS = 50  # obs columns described
MAX_CATEGORIES = 20  # categories listed per column
MAX_PARTICIPANTS = 500  # donors written into wasAttributedTo
MAX_REGIONS = 50
CHUNK = 2**22  # sparse indices read per step
MAX_INDICES = 2**26  # indices checked in full; past that, the first and last chunks only
UBERON = "http://purl.obolibrary.org/obo/UBERON_"

# Obs columns, by what they say, in the names other tools write (CELLxGENE first).
EXPECTED: dict[str, tuple[str, ...]] = {
    "cell_type": (
        "cell_type",
        "celltype",
        "cell_type_label",
        "cell_class",
        "subclass",
        "cluster",
        "clusters",
        "leiden",
        "louvain",
    ),
    "region": (
        "brain_region",
        "region",
        "tissue",
        "anatomical_region",
        "dissection",
        "tissue_ontology_term_id",
    ),
    "subject": ("donor_id", "subject_id", "donor", "subject", "individual"),
    "species": ("species", "organism", "organism_ontology_term_id"),
}
HOW_TO_FIX = {
    "cell_type": "Add an obs column `cell_type` with each cell's type or cluster label.",
    "region": "Add an obs column `brain_region` (or `tissue`) naming where each cell was taken.",
    "subject": "Add an obs column `donor_id` (or `subject_id`) with the subject each cell came "
    "from, using the same ids as the subject's NWB files so the archive can link them.",
    "species": "Add an obs column `species` with the Latin name (e.g. `Mus musculus`) or an "
    "NCBITaxon id.",
}
SEVERITY = {
    "cell_type": Severity.HINT,
    "region": Severity.HINT,
    "subject": Severity.WARNING,
    "species": Severity.WARNING,
}


def _column(obs: Any, role: str) -> str | None:
    lower = {str(c).lower(): str(c) for c in obs.columns}
    return next((lower[name] for name in EXPECTED[role] if name in lower), None)


def text_counts(series: Any) -> dict[str, int]:
    """Cells per value of a column, values as text (a missing value is "nan"), as
    `series.astype(str).value_counts()` gives them, but from a categorical's codes without
    making a million strings; ordered by count, then by value."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = np.asarray(series.cat.codes)
        tally = np.bincount(codes[codes >= 0], minlength=len(series.cat.categories))
        counts: dict[str, int] = {}
        for name, n in zip(series.cat.categories, tally.tolist(), strict=True):
            if n:
                counts[str(name)] = counts.get(str(name), 0) + n
        if (missing := int((codes < 0).sum())) > 0:
            counts["nan"] = counts.get("nan", 0) + missing
    else:
        values = series.astype(str).value_counts(dropna=False)
        counts = {str(k): int(v) for k, v in values.items()}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _describe_column(series: Any, counts: dict[str, int] | None = None) -> dict[str, Any]:
    import pandas as pd

    dtype = str(series.dtype)
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object:
        counts = text_counts(series) if counts is None else counts
        return {
            "dtype": dtype,
            "n_categories": len(counts),
            "categories": capped(counts, MAX_CATEGORIES),
        }
    values = pd.to_numeric(series, errors="coerce")
    if values.notna().any():
        return {"dtype": dtype, "min": float(values.min()), "max": float(values.max())}
    return {"dtype": dtype}


def _index_findings(names: Any, axis: str) -> list[dict[str, Any]]:
    if names.is_unique:
        return []
    dup = names[names.duplicated()].unique()
    shown = ", ".join(repr(str(d)) for d in dup[:5])
    return [
        finding(
            Severity.ERROR,
            f"anndata.{axis}_index_unique",
            f"{len(dup)} {axis} names occur more than once (e.g. {shown}).",
            f"Make the {axis} names unique (`adata.{axis}_names_make_unique()`) and write the "
            "file again; links to cells and genes need one name per row.",
            origin="metadata",
            object_path=axis,
        )
    ]


def _sparse_findings(group: Any, name: str, shape: tuple[int, int]) -> list[dict[str, Any]]:
    """CSR or CSC soundness: indptr length, start, end and monotonicity; indices in range
    (all of them up to MAX_INDICES, else the first and last chunks)."""
    kind = str(group.attrs.get("encoding-type", ""))
    major, minor = (shape[0], shape[1]) if kind.startswith("csr") else (shape[1], shape[0])

    def bad(message: str, fix: str) -> list[dict[str, Any]]:
        check = f"anndata.sparse.{name.replace('/', '.')}"
        return [finding(Severity.ERROR, check, message, fix, origin="hdf5", object_path=name)]

    rewrite = "Write the matrix again with anndata (`adata.write_h5ad`) from a sound scipy matrix."
    if not all(k in group for k in ("data", "indices", "indptr")):
        return bad(f"{name} ({kind}) lacks data, indices or indptr.", rewrite)
    indptr = group["indptr"][()]
    nnz = group["indices"].shape[0]
    if len(indptr) != major + 1:
        return bad(f"{name}: indptr has {len(indptr)} entries; {kind} needs {major + 1}.", rewrite)
    if group["data"].shape[0] != nnz:
        return bad(f"{name}: data and indices differ in length.", rewrite)
    if indptr[0] != 0 or indptr[-1] != nnz or (np.diff(indptr) < 0).any():
        return bad(f"{name}: indptr does not run monotonically from 0 to {nnz}.", rewrite)
    if not _indices_in_range(group["indices"], nnz, minor):
        return bad(f"{name}: indices outside 0..{minor - 1}.", rewrite)
    return []


def _indices_in_range(indices: Any, nnz: int, minor: int) -> bool:
    """Whether every index lies in 0..minor-1 (all of them up to MAX_INDICES, else the
    first and last chunks): read chunk by chunk into one buffer, and checked in one pass
    as unsigned numbers, where a negative index is a huge one."""
    spans = [(0, nnz)] if nnz <= MAX_INDICES else [(0, CHUNK), (nnz - CHUNK, nnz)]
    dtype = np.dtype(indices.dtype)
    if dtype.kind not in "iu":
        return False
    buffer = np.empty(min(CHUNK, nnz), dtype=dtype)
    unsigned = buffer.view(dtype.str.replace("i", "u"))
    for lo, hi in spans:
        for start in range(lo, hi, CHUNK):
            stop = min(start + CHUNK, hi)
            if stop <= start:
                continue
            indices.read_direct(buffer, np.s_[start:stop], np.s_[0 : stop - start])
            if int(unsigned[: stop - start].max()) >= minor:
                return False
    return True


def _hdf5_findings(h5: Any, n_obs: int, n_vars: int) -> tuple[list[dict[str, Any]], dict]:
    """Checks on the HDF5 layout anndata writes (encoding-type attributes), and X's storage,
    in the open file."""
    import h5py

    out: list[dict[str, Any]] = []
    storage: dict[str, Any] = {}
    if "encoding-type" not in h5.attrs:
        out.append(
            finding(
                Severity.INFO,
                "anndata.legacy_layout",
                "The file has no `encoding-type` attribute: it was written by anndata "
                "before 0.7 (compound obs and var tables).",
                "Read and write it once with a current anndata to get today's layout.",
                origin="hdf5",
            )
        )
    for name in ["X", *(f"layers/{k}" for k in h5.get("layers", {}))]:
        if name not in h5:
            continue
        node = h5[name]
        if isinstance(node, h5py.Group):
            shape = tuple(int(v) for v in node.attrs.get("shape", (0, 0)))
            kind = str(node.attrs.get("encoding-type", "group"))
            sparse = _sparse_findings(node, name, (shape[0], shape[1]))
            out += sparse
            nnz = int(node["indices"].shape[0]) if "indices" in node else 0
            info = {"storage": kind.replace("_matrix", ""), "nnz": nnz}
            dtype = str(node["data"].dtype) if "data" in node else None
        else:
            shape, info, dtype = tuple(node.shape), {"storage": "dense"}, str(node.dtype)
        storage[name] = {**info, "dtype": dtype}
        if shape[:2] != (n_obs, n_vars):
            out.append(
                finding(
                    Severity.ERROR,
                    "anndata.shape",
                    f"{name} has shape {list(shape)}, but obs x var is {n_obs} x {n_vars}.",
                    "Every matrix needs one row per obs and one column per var.",
                    origin="hdf5",
                    object_path=name,
                )
            )
    return out, storage


def _codes(series: Any) -> tuple[np.ndarray, list[str]]:
    """Each cell's value as a code into a list of texts (a missing value is "nan")."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        names = [str(c) for c in series.cat.categories]
        codes = np.asarray(series.cat.codes, dtype=np.int64)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(names), codes)
            names.append("nan")
        return codes, names
    codes, uniques = pd.factorize(series.astype(str))
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniques]


def _participants(obs: Any, subject: str | None, species: str | None) -> list[dict[str, Any]]:
    """Each donor as a dandischema Participant (up to MAX_PARTICIPANTS, by id), with the
    species most of its cells have when there is a species column, so the dataset summary
    counts subjects and species (metadata/assets_summary.py counts distinct subjects
    over the assets, a file of several donors included)."""
    if subject is None:
        return []
    donor_of, donors = _codes(obs[subject])
    kind: dict[int, str] = {}
    if species:
        species_of, names = _codes(obs[species])
        joint = np.bincount(donor_of * len(names) + species_of, minlength=len(donors) * len(names))
        for d, row in enumerate(joint.reshape(len(donors), len(names))):
            if row.max() > 0:  # the most frequent; on a tie the first by name, as mode() does
                kind[d] = min(names[k] for k in np.flatnonzero(row == row.max()))
    seen = np.bincount(donor_of, minlength=len(donors))
    ids: dict[str, int] = {}
    for d, name in enumerate(donors):
        if seen[d] and name not in ids:
            ids[name] = d
    out = []
    for name in sorted(ids)[:MAX_PARTICIPANTS]:
        person: dict[str, Any] = {"schemaKey": "Participant", "identifier": name}
        hit = match_species(kind[ids[name]]) if ids[name] in kind else None
        if hit is not None and hit.identifier:
            named = {"name": hit.name} if hit.name else {}
            person["species"] = {"schemaKey": "SpeciesType", "identifier": hit.identifier, **named}
        out.append(person)
    return out


def _regions(counts: dict[str, int] | None) -> list[dict[str, Any]]:
    """The regions of the region column's counts (text_counts), most cells first."""
    about = []
    for value in list(counts or {})[:MAX_REGIONS]:
        term: dict[str, Any] = {"schemaKey": "Anatomy", "name": value}
        if value.upper().startswith("UBERON:"):
            term["identifier"] = UBERON + value.split(":", 1)[1]
        about.append(term)
    return about


@dataclass
class Tables:
    """What the checks read: obs and var in memory, the rest by name and shape only."""

    obs: Any
    var: Any
    obsm: dict[str, list[int]]
    obsp: list[str]
    raw: bool

    @property
    def n_obs(self) -> int:
        return len(self.obs)

    @property
    def n_vars(self) -> int:
        return len(self.var)


def _dims(node: Any) -> list[int]:
    shape = node.shape if hasattr(node, "shape") else node.attrs.get("shape")
    if shape is None:  # a data frame in obsm (e.g. spatial coordinates by name)
        return [len(node.attrs.get("column-order", ()))]
    return [int(v) for v in shape][1:]


def _read_tables(h5: Any, path: Path) -> Tables:
    """obs and var through anndata's element reader, from the open file; X, layers, raw and
    obsm stay on disk. `read_h5ad(backed="r")` would keep only X there and load every
    layer, which for an atlas is gigabytes. Files from anndata < 0.7 (no encoding
    attributes) have small compound tables, and are read by read_h5ad in backed mode."""
    import anndata
    from anndata.io import read_elem

    if "encoding-type" in h5.attrs:
        obsm = h5.get("obsm", {})
        return Tables(
            obs=read_elem(h5["obs"]),
            var=read_elem(h5["var"]),
            obsm={str(k): _dims(obsm[k]) for k in obsm},
            obsp=sorted(str(k) for k in h5.get("obsp", {})),
            raw="raw" in h5 or "raw.X" in h5,
        )
    adata = anndata.read_h5ad(path, backed="r")
    try:
        return Tables(
            obs=adata.obs,
            var=adata.var,
            obsm={str(k): list(np.shape(v))[1:] for k, v in adata.obsm.items()},
            obsp=sorted(str(k) for k in adata.obsp),
            raw=adata.raw is not None,
        )
    finally:
        adata.file.close()


def analyse(path: Path) -> Processed:
    """Findings and description of one h5ad file, opened once; X and layers are never
    loaded (only their sparse indices are read, to check them)."""
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except Exception as exc:
        return _unreadable(exc)
    with h5:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tables = _read_tables(h5, path)
        except Exception as exc:
            return _unreadable(exc)
        said = [str(w.message) for w in caught if _from_this_read(w)]
        return _describe(tables, h5, said)


def _unreadable(exc: Exception) -> Processed:
    message = f"anndata cannot read this file ({type(exc).__name__}: {str(exc)[:300]})."
    fix = "Open it with `anndata.read_h5ad` to see the problem, or write it again."
    return Processed(
        None, [finding(Severity.CRITICAL, "anndata.unreadable", message, fix)], message
    )


# Where the warnings of reading an h5ad come from. `catch_warnings` records the warnings of
# every thread (the server checks other files at the same time), so a warning raised by
# other code (pynwb, hdmf, nwbinspector...) is not this file's.
_READING_CODE = ("/anndata/", "/pandas/", "/h5py/", "/scipy/", "formats/anndata.py")


def _from_this_read(caught: warnings.WarningMessage) -> bool:
    where = str(caught.filename).replace("\\", "/")
    return any(part in where for part in _READING_CODE)


def _describe(adata: Tables, h5: Any, caught: list[str]) -> Processed:
    import pandas as pd

    obs, var = adata.obs, adata.var
    results = _index_findings(obs.index, "obs") + _index_findings(var.index, "var")
    hdf5, storage = _hdf5_findings(h5, adata.n_obs, adata.n_vars)
    results += hdf5
    columns = {role: _column(obs, role) for role in EXPECTED}
    for role, column in columns.items():
        if column is None:
            names = ", ".join(EXPECTED[role][:4])
            results.append(
                finding(
                    SEVERITY[role],
                    f"anndata.obs_{role}",
                    f"No obs column names the {role.replace('_', ' ')} (looked for {names}, ...).",
                    HOW_TO_FIX[role],
                    origin="metadata",
                    object_path="obs",
                )
            )
    # anndata's own warnings (old layouts, moved elements) in one finding, not dozens
    said = [
        t for t in dict.fromkeys(caught) if "names_duplicates" not in t and "not unique" not in t
    ]
    if said:
        shown = " | ".join(" ".join(t.split())[:160] for t in said[:3])
        more = f" (and {len(said) - 3} more)" if len(said) > 3 else ""
        results.append(
            finding(
                Severity.INFO,
                "anndata.read_warning",
                f"anndata warned {len(said)} times while reading: {shown}{more}.",
                "Read and write the file once with a current anndata.",
            )
        )
    # cells per value, once per column that needs it (categoricals from their codes)
    texts = {
        str(c): text_counts(obs[c])
        for c in dict.fromkeys([*list(obs.columns)[:MAX_COLUMNS], *filter(None, columns.values())])
        if isinstance(obs[c].dtype, pd.CategoricalDtype)
        or obs[c].dtype == object
        or c in columns.values()
    }
    described = {
        str(c): _describe_column(obs[c], texts.get(str(c))) for c in list(obs.columns)[:MAX_COLUMNS]
    }
    species_names = []
    if columns["species"]:
        for value in list(texts[columns["species"]])[:20]:
            hit = match_species(value)
            species_names.append(hit.name if hit is not None and hit.name else value)
    summary: dict[str, Any] = {
        "cells": int(adata.n_obs),
        "genes": int(adata.n_vars),
        "X": storage.get("X", {}),
        "layers": {k[len("layers/") :]: v for k, v in storage.items() if k.startswith("layers/")},
        "obsm": adata.obsm,
        "obsp": adata.obsp,
        "raw": adata.raw,
        "obs_columns": described,
        "obs_columns_total": len(obs.columns),
        "var_columns": [str(c) for c in list(var.columns)[:MAX_COLUMNS]],
        "roles": {role: column for role, column in columns.items() if column},
        "species": sorted(species_names),
        "regions": [t["name"] for t in _regions(texts.get(columns["region"] or ""))],
        "obs_names_sample": [str(n) for n in obs.index[:5]],
    }
    if columns["subject"]:
        donors = list(texts[columns["subject"]])
        summary["subjects"] = len(donors)
        summary["subject_ids"] = sorted(donors)[:MAX_PARTICIPANTS]
    meta: dict[str, Any] = {
        "schemaKey": "BareAsset",
        "encodingFormat": ANNDATA.media_type,
        "nds:summary": summary,
    }
    if people := _participants(obs, columns["subject"], columns["species"]):
        meta["wasAttributedTo"] = people
    if about := _regions(texts.get(columns["region"] or "")):
        meta["about"] = about
    return Processed(meta, results)


class AnnDataFormat:
    name = "anndata"
    media_type = "application/x-hdf5"
    suffixes: tuple[str, ...] = (".h5ad",)
    version = "anndata-2"  # 2: a Participant per donor
    artifacts: Sequence[Artifact] = ()

    def claims(self, path: str, head: bytes) -> bool:
        return path.lower().endswith(self.suffixes)

    def process(self, reader: BinaryIO, *, path: str) -> Processed | None:
        with local_path(reader, ".h5ad") as local:
            return analyse(local)

    def views(self, asset: dict[str, Any]) -> list[str]:
        # the embedding only when the file's summary lists an obsm entry of two or more
        # coordinates (formats/expression/ draws it; web/static/views/embedding.js)
        summary = asset.get("nds:summary") if isinstance(asset, dict) else None
        obsm = summary.get("obsm") if isinstance(summary, dict) else None
        has_embedding = isinstance(obsm, dict) and any(
            isinstance(d, list) and d and isinstance(d[0], int) and d[0] >= 2 for d in obsm.values()
        )
        return [
            "download",
            *(["embedding"] if has_embedding else []),
            "dotplot",
            "cells",
            "summary",
        ]


ANNDATA = AnnDataFormat()
