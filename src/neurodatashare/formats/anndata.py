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


def _describe_column(series: Any) -> dict[str, Any]:
    import pandas as pd

    dtype = str(series.dtype)
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object:
        counts = series.astype(str).value_counts(dropna=False)
        return {
            "dtype": dtype,
            "n_categories": len(counts),
            "categories": capped({str(k): int(v) for k, v in counts.items()}, MAX_CATEGORIES),
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
    spans = [(0, nnz)] if nnz <= MAX_INDICES else [(0, CHUNK), (nnz - CHUNK, nnz)]
    for lo, hi in spans:
        for start in range(lo, hi, CHUNK):
            part = group["indices"][start : min(start + CHUNK, hi)]
            if len(part) and (part.min() < 0 or part.max() >= minor):
                return bad(f"{name}: indices outside 0..{minor - 1}.", rewrite)
    return []


def _hdf5_findings(path: Path, n_obs: int, n_vars: int) -> tuple[list[dict[str, Any]], dict]:
    """Checks on the HDF5 layout anndata writes (encoding-type attributes), and X's storage."""
    import h5py

    out: list[dict[str, Any]] = []
    storage: dict[str, Any] = {}
    with h5py.File(path, "r") as h5:
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


def _participants(obs: Any, subject: str | None, species: str | None) -> list[dict[str, Any]]:
    """The donor as a dandischema Participant, with its species when there is a species
    column (the dataset summary counts both). Only for a file of one donor: dandischema's
    aggregate_assets_summary asserts no more subjects than files, so a file of several
    donors lists them in `nds:summary.subject_ids` instead."""
    if subject is None or obs[subject].nunique() != 1:
        return []
    out = []
    table = obs[[subject, *([species] if species else [])]].astype(str)
    for donor, rows in list(table.groupby(subject, sort=True))[:MAX_PARTICIPANTS]:
        person: dict[str, Any] = {"schemaKey": "Participant", "identifier": str(donor)}
        if species:
            hit = match_species(rows[species].mode().iloc[0])
            if hit is not None and hit.identifier:
                named = {"name": hit.name} if hit.name else {}
                person["species"] = {
                    "schemaKey": "SpeciesType",
                    "identifier": hit.identifier,
                    **named,
                }
        out.append(person)
    return out


def _regions(obs: Any, column: str | None) -> list[dict[str, Any]]:
    if column is None:
        return []
    about = []
    for value in obs[column].astype(str).value_counts().index[:MAX_REGIONS]:
        term: dict[str, Any] = {"schemaKey": "Anatomy", "name": str(value)}
        if str(value).upper().startswith("UBERON:"):
            term["identifier"] = UBERON + str(value).split(":", 1)[1]
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


def _read_tables(path: Path) -> Tables:
    """obs and var through anndata's element reader; X, layers, raw and obsm stay on disk.
    `read_h5ad(backed="r")` would keep only X there and load every layer, which for an
    atlas is gigabytes. Files from anndata < 0.7 (no encoding attributes) have small
    compound tables, and are read by read_h5ad in backed mode."""
    import anndata
    import h5py
    from anndata.io import read_elem

    with h5py.File(path, "r") as h5:
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
    """Findings and description of one h5ad file; X and layers are never loaded."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tables = _read_tables(path)
    except Exception as exc:
        message = f"anndata cannot read this file ({type(exc).__name__}: {str(exc)[:300]})."
        fix = "Open it with `anndata.read_h5ad` to see the problem, or write it again."
        return Processed(
            None, [finding(Severity.CRITICAL, "anndata.unreadable", message, fix)], message
        )
    return _describe(tables, path, [str(w.message) for w in caught if _from_this_read(w)])


# Where the warnings of reading an h5ad come from. `catch_warnings` records the warnings of
# every thread (the server checks other files at the same time), so a warning raised by
# other code (pynwb, hdmf, nwbinspector...) is not this file's.
_READING_CODE = ("/anndata/", "/pandas/", "/h5py/", "/scipy/", "formats/anndata.py")


def _from_this_read(caught: warnings.WarningMessage) -> bool:
    where = str(caught.filename).replace("\\", "/")
    return any(part in where for part in _READING_CODE)


def _describe(adata: Tables, path: Path, caught: list[str]) -> Processed:
    obs, var = adata.obs, adata.var
    results = _index_findings(obs.index, "obs") + _index_findings(var.index, "var")
    hdf5, storage = _hdf5_findings(path, adata.n_obs, adata.n_vars)
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
    described = {str(c): _describe_column(obs[c]) for c in list(obs.columns)[:MAX_COLUMNS]}
    species_names = []
    if columns["species"]:
        for value in obs[columns["species"]].astype(str).unique()[:20]:
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
        "regions": [t["name"] for t in _regions(obs, columns["region"])],
        "obs_names_sample": [str(n) for n in obs.index[:5]],
    }
    if columns["subject"]:
        donors = obs[columns["subject"]].astype(str).unique()
        summary["subjects"] = len(donors)
        summary["subject_ids"] = sorted(donors)[:MAX_PARTICIPANTS]
    meta: dict[str, Any] = {
        "schemaKey": "BareAsset",
        "encodingFormat": ANNDATA.media_type,
        "nds:summary": summary,
    }
    if people := _participants(obs, columns["subject"], columns["species"]):
        meta["wasAttributedTo"] = people
    if about := _regions(obs, columns["region"]):
        meta["about"] = about
    return Processed(meta, results)


class AnnDataFormat:
    name = "anndata"
    media_type = "application/x-hdf5"
    suffixes: tuple[str, ...] = (".h5ad",)
    version = "anndata-1"
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
