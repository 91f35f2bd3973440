"""Every cap and size the explorer uses, in one place: what the readers of
:mod:`neurodatashare.nwb.explore` refuse or cut, and the page sizes the explorer's scripts
ask for.

The asset page embeds :data:`PUBLIC_LIMITS` as JSON (``<script id="nds-limits">`` in
web/templates/asset.html, read by web/static/explorer/limits.js), so the scripts never
ask for more than the server serves. This module imports nothing, so the web pages, the
routes and :mod:`neurodatashare.nwb.minmax` can read it without loading h5py or the readers.
"""

from __future__ import annotations

from neurodatashare.formatting import script_json

# -- time series windows (nwb/explore/window.py) ------------------------------------------

#: Widest plot (pixels) a window or a band heatmap may be asked for.
MAX_WIDTH = 10_000
#: Narrowest band heatmap (pixels).
MIN_BAND_WIDTH = 10
#: Raw values a window may read when no overview level can serve it (4 M int16 = 8 MB).
MAX_RAW_VALUES = 4_000_000
#: Bytes of the file a raw window may make HDF5 read, as values x channels per chunk: the
#: archive's layout keeps 64 channels in a chunk, so a one-channel window reads 64 values
#: per sample. A contiguous file with hundreds of channels (pynwb's default) reads whole
#: rows, and is held to the same bound (about 512 MB uncompressed of int16).
MAX_RAW_BYTES = MAX_RAW_VALUES * 64 * 2
#: Chunks a raw window may touch: a file with tiny chunks costs HDF5 per chunk, whatever
#: their size (the archive's layout: about 250 chunks for the whole raw budget).
MAX_RAW_CHUNKS = 20_000
#: When the raw samples are over budget and no overview level is fine enough, the finest
#: level still serves a window if one of its blocks spans at most this many pixels (its
#: blocks are then wider than a pixel: a coarser but true envelope, instead of a 409).
MAX_PIXELS_PER_BLOCK = 32

# -- tables (nwb/explore/table.py) ----------------------------------------------------------

#: Longest list of table rows per request.
MAX_TABLE_LIMIT = 1000
#: Largest table that may be sorted, filtered or summarised (whole columns are read).
MAX_SORT_ROWS = 1_000_000
#: Elements shown of one ragged cell (its length is always given).
MAX_CELL_ITEMS = 20
#: Cells with more elements than this (image masks, waveforms) show only their shape.
MAX_CELL_VALUES = 64
#: Elements a "contains" filter may scan in a ragged column.
MAX_RAGGED_SCAN = 5_000_000

# -- units (nwb/explore/units.py) -------------------------------------------------------------

#: Units per spikes/waveforms request, and per PSTH request.
MAX_UNITS = 1000
MAX_PSTH_UNITS = 200
#: Bins per PSTH, and spikes a PSTH may read in total.
MAX_PSTH_BINS = 2000
MAX_PSTH_SPIKES = 20_000_000
MAX_PSTH_CELLS = 20_000_000  # trials x bins, per unit
#: Spikes a spikes request returns times for (more: only the counts).
MAX_SPIKES = 200_000
#: A unit's spike train is read whole up to this many spikes; longer ones are bisected.
READ_WHOLE_TRAIN = 65_536

# -- imaging (nwb/explore/imaging.py) ---------------------------------------------------------

#: Largest frame (pixels) an imaging view returns.
MAX_FRAME_PIXELS = 4096 * 4096
#: Frames a projection averages by default, and at most.
PROJECTION_FRAMES = 500
MAX_PROJECTION_FRAMES = 5000
#: ROIs per request, and mask pixels returned in total.
MAX_ROIS = 5000
MAX_ROI_PIXELS = 4_000_000

# -- views chosen by type (nwb/explore/views.py, nwb/explore/events.py) ---------------------

#: Snippets drawn per request (by default, and at most), and events averaged for the mean.
SNIPPETS = 200
MAX_SNIPPETS = 500
MEAN_EVENTS = 2000
#: Values (channels x samples) of one snippet, and pixels of a picture.
MAX_SNIPPET_VALUES = 20_000
MAX_PICTURE_PIXELS = 4096 * 4096
#: Samples x bands a band window may read (more: evenly spaced samples are used).
MAX_BAND_VALUES = 4_000_000
#: Events returned per window.
MAX_EVENTS = 20_000

# -- the tree and the summary (nwb/explore/tree.py, nwb/explore/summary.py) -----------------

#: `describe_tree` stops listing after this many objects.
MAX_TREE_ENTRIES = 100_000
#: Objects per tree page: at most, and when the request does not say.
MAX_PAGE = 5_000
DEFAULT_PAGE = 1_000
#: Series looked at for the recording's span (the first ones found in each top group).
MAX_SPAN_SERIES = 2000
#: Strings longer than this are cut in tree attributes and table cells.
MAX_TEXT = 200
#: Array attributes longer than this are cut; attributes stored in more bytes are not read.
MAX_ATTR_ITEMS = 32
MAX_ATTR_BYTES = 1 << 20

# -- what the explorer's scripts ask for (web/static/explorer) -------------------------------

#: Rows per page of the table view, and of the pages read to gather a whole small table
#: (trials for the behaviour and PSTH views), which stops after ALL_ROWS_MAX rows.
TABLE_PAGE = 50
ALL_ROWS_PAGE = 500
ALL_ROWS_MAX = 5000
#: Channels per page of the traces view, and of its heatmap.
TRACE_CHANNEL_PAGE = 32
HEATMAP_CHANNEL_PAGE = 256
#: Units per page of the raster.
UNIT_PAGE = 40
#: Channel panels of the snippets view, pictures of a gallery, event series drawn under a
#: trajectory.
SNIPPET_PANELS = 8
GALLERY_PICTURES = 12
EVENT_SERIES = 6

#: What the page embeds for its scripts (web/static/explorer/limits.js): the names above.
PUBLIC_LIMITS: dict[str, int] = {
    "MAX_WIDTH": MAX_WIDTH,
    "MIN_BAND_WIDTH": MIN_BAND_WIDTH,
    "MAX_TABLE_LIMIT": MAX_TABLE_LIMIT,
    "MAX_UNITS": MAX_UNITS,
    "MAX_PSTH_UNITS": MAX_PSTH_UNITS,
    "MAX_PSTH_BINS": MAX_PSTH_BINS,
    "MAX_SPIKES": MAX_SPIKES,
    "PROJECTION_FRAMES": PROJECTION_FRAMES,
    "MAX_PROJECTION_FRAMES": MAX_PROJECTION_FRAMES,
    "MAX_ROIS": MAX_ROIS,
    "SNIPPETS": SNIPPETS,
    "MAX_SNIPPETS": MAX_SNIPPETS,
    "MAX_EVENTS": MAX_EVENTS,
    "MAX_PAGE": MAX_PAGE,
    "DEFAULT_PAGE": DEFAULT_PAGE,
    "TABLE_PAGE": TABLE_PAGE,
    "ALL_ROWS_PAGE": ALL_ROWS_PAGE,
    "ALL_ROWS_MAX": ALL_ROWS_MAX,
    "TRACE_CHANNEL_PAGE": TRACE_CHANNEL_PAGE,
    "HEATMAP_CHANNEL_PAGE": HEATMAP_CHANNEL_PAGE,
    "UNIT_PAGE": UNIT_PAGE,
    "SNIPPET_PANELS": SNIPPET_PANELS,
    "GALLERY_PICTURES": GALLERY_PICTURES,
    "EVENT_SERIES": EVENT_SERIES,
}


def limits_json() -> str:
    """:data:`PUBLIC_LIMITS` as JSON that is safe inside a ``<script>`` element."""
    return script_json(PUBLIC_LIMITS, sort_keys=True)
