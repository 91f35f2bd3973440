"""Read what one explorer view needs from an open NWB (HDF5) file, and nothing more.

Every function takes an open :class:`h5py.File` (local, or any file object h5py can open,
such as a remote or byte-counting file) and the HDF5 path of an object in it, like
``/acquisition/ElectricalSeries``. None of them reads a dataset whole unless it is small:

* :func:`describe_tree` reads attributes, shapes and datasets of a few elements only, and
  :func:`tree_page` does so for one page of objects (:mod:`.tree`);
* :func:`read_window` reads the samples of the requested window, or, for a zoomed-out
  view, the min/max blocks of an overview level (:mod:`neurodatashare.nwb.overview`); if a
  window would need more than ``max_raw_values`` raw values and no overview can serve it,
  it refuses (409) instead of reading the range (:mod:`.window`, :mod:`.series`);
* irregular timestamps are binary-searched with a few small reads;
* tables read one page of rows; sorting, filtering and summaries read whole columns only
  for tables up to :data:`MAX_SORT_ROWS` rows; ragged cells show their first
  :data:`MAX_CELL_ITEMS` elements, and multi-dimensional cells (image masks, waveforms)
  only their shape (:mod:`.table`);
* spikes, PSTHs, frames, projections and ROI masks have explicit count limits
  (:mod:`.units`, :mod:`.imaging`), and so do the views chosen by neurodata type
  (:mod:`.views`, :mod:`.events`) and the file's summary (:mod:`.summary`).

Every limit is in :mod:`neurodatashare.nwb.limits`. So a "bomb" (a dataset declared with
billions of rows but tiny on disk) costs the same as a normal file: nothing here is
proportional to a declared shape.

A bad request (a path that is not in the file, the wrong kind of object, a window outside
the recording) raises :class:`~neurodatashare.errors.BadRequest` or
:class:`~neurodatashare.errors.NotFound` with a sentence a scientist understands; a
zoomed-out window that needs an overview that is not built yet raises
:class:`~neurodatashare.errors.Conflict`.

Orientation of images: NWB (and NeuroConv) store imaging data as ``(frame, x, y)`` and
image masks as ``(roi, x, y)``. Frames and projections are returned as
``(height, width) = (y, x)`` arrays, i.e. the stored frame transposed, so that row 0 is the
top of the picture; ROI pixel coordinates are ``x`` (column) and ``y`` (row) in that same
picture. The metadata of every image says so in ``orientation``.
"""

from __future__ import annotations

from neurodatashare.nwb.explore.events import read_events
from neurodatashare.nwb.explore.imaging import Image, projection, read_frame, read_rois
from neurodatashare.nwb.explore.series import parse_index_list, series_info
from neurodatashare.nwb.explore.summary import file_overview
from neurodatashare.nwb.explore.table import read_table
from neurodatashare.nwb.explore.tree import describe_tree, trace_series_paths, tree_page
from neurodatashare.nwb.explore.units import psth, read_spikes, read_waveforms
from neurodatashare.nwb.explore.views import Payload, read_bands, read_picture, read_snippets
from neurodatashare.nwb.explore.window import Window, read_window
from neurodatashare.nwb.limits import (
    DEFAULT_PAGE,
    MAX_CELL_ITEMS,
    MAX_CELL_VALUES,
    MAX_EVENTS,
    MAX_FRAME_PIXELS,
    MAX_PAGE,
    MAX_PIXELS_PER_BLOCK,
    MAX_PSTH_BINS,
    MAX_PSTH_CELLS,
    MAX_PSTH_SPIKES,
    MAX_PSTH_UNITS,
    MAX_RAGGED_SCAN,
    MAX_RAW_VALUES,
    MAX_ROI_PIXELS,
    MAX_ROIS,
    MAX_SNIPPETS,
    MAX_SORT_ROWS,
    MAX_TABLE_LIMIT,
    MAX_TREE_ENTRIES,
    MAX_UNITS,
    MAX_WIDTH,
)
from neurodatashare.nwb.minmax import block_minmax

__all__ = [
    "DEFAULT_PAGE",
    "MAX_CELL_ITEMS",
    "MAX_CELL_VALUES",
    "MAX_EVENTS",
    "MAX_FRAME_PIXELS",
    "MAX_PAGE",
    "MAX_PIXELS_PER_BLOCK",
    "MAX_PSTH_BINS",
    "MAX_PSTH_CELLS",
    "MAX_PSTH_SPIKES",
    "MAX_PSTH_UNITS",
    "MAX_RAGGED_SCAN",
    "MAX_RAW_VALUES",
    "MAX_ROIS",
    "MAX_ROI_PIXELS",
    "MAX_SNIPPETS",
    "MAX_SORT_ROWS",
    "MAX_TABLE_LIMIT",
    "MAX_TREE_ENTRIES",
    "MAX_UNITS",
    "MAX_WIDTH",
    "Image",
    "Payload",
    "Window",
    "block_minmax",
    "describe_tree",
    "file_overview",
    "parse_index_list",
    "projection",
    "psth",
    "read_bands",
    "read_events",
    "read_frame",
    "read_picture",
    "read_rois",
    "read_snippets",
    "read_spikes",
    "read_table",
    "read_waveforms",
    "read_window",
    "series_info",
    "trace_series_paths",
    "tree_page",
]
