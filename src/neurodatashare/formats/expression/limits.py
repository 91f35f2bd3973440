"""Caps of the expression views (formats/expression/): what one request may ask for and how
big an answer grows. A screen shows about a million pixels, so no answer needs more."""

from __future__ import annotations

#: Cells in view drawn as points; more are binned into a density grid.
POINT_BUDGET = 20_000
#: Bins in one density grid (two float32 per bin: 1.6 MB at most).
MAX_BINS = 200_000
#: Pixels per bin when the request does not say.
DEFAULT_BIN_PIXELS = 4
#: Categories an obs column may have to colour by it (their names travel in the header).
MAX_LEGEND = 200
#: Genes in one dot plot, and groups along its other axis.
MAX_DOTPLOT_GENES = 50
MAX_DOTPLOT_GROUPS = 100
#: Genes a search returns.
MAX_GENE_RESULTS = 50
#: Rows of the obs table per page.
MAX_CELLS_LIMIT = 1000
#: Entries of a sparse matrix read per step while collecting gene columns.
SCAN_CHUNK = 2**22
#: Bytes of columns (coordinates, gene columns, obs columns) kept in memory for all blobs.
CACHE_BYTES = 512 * 2**20
#: Longest text of one table cell.
MAX_TEXT = 200
