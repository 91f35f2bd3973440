"""Reading an AnnData `.h5ad` file for its views: embeddings, gene columns, the obs table.

Everything reads from an open h5py file (the archive's cache of open blobs,
archive/blob_files.py) and never loads X whole: a gene is one column of X, read in chunks
(matrix.py); whole obs columns, embedding coordinates and gene columns are kept in a small
byte-bounded cache per blob (cache.py), since blobs never change. The views answer a
screen's worth: points or a density grid (embedding.py), a dot plot, a gene search and a
page of the obs table (tables.py). Caps are in limits.py.
"""

from __future__ import annotations

from neurodatashare.formats.expression.cache import COLUMNS, ColumnCache
from neurodatashare.formats.expression.embedding import EmbeddingView, embedding
from neurodatashare.formats.expression.matrix import H5ad
from neurodatashare.formats.expression.tables import cells, dotplot, search_genes

__all__ = [
    "COLUMNS",
    "ColumnCache",
    "EmbeddingView",
    "H5ad",
    "cells",
    "dotplot",
    "embedding",
    "search_genes",
]
