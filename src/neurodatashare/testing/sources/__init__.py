"""Corpora of source files as acquisition and analysis software writes them, for testing
converters without downloading test data.

Each writer returns the path a user would hand to ``nds convert --source`` and fills it
with a few seconds of the demo's simulated signals (:mod:`neurodatashare.demo.simulate`),
so a test can compare what comes out of the NWB file with what went in.

==========================  =======  ====================================  ========================
writer                      module   layout                                read by
==========================  =======  ====================================  ========================
``write_openephys_binary``  ephys    Open Ephys GUI 0.6 binary format      neo / spikeinterface
``write_spikeglx``          ephys    SpikeGLX run folder, Neuropixels 1.0  neo / probeinterface
``write_phy``               sorting  Kilosort/Phy output folder            spikeinterface
``write_tiff_stack``        imaging  multi-page TIFF of 2-photon frames    tifffile / roiextractors
``write_suite2p``           imaging  ``suite2p/plane0/*.npy``              roiextractors
``write_timeseries_npy``    tables   one ``.npy`` array, time first        numpy
``write_timeseries_csv``    tables   CSV with a ``time`` column            pandas / csv
``write_trials_csv``        tables   CSV with ``start_time, stop_time``    pandas / csv
``write_events_csv``        tables   CSV with a ``timestamp`` column       pandas / csv
==========================  =======  ====================================  ========================

Every writer is also importable from here, as ``sources.write_phy``.
"""

from neurodatashare.testing.sources.ephys import (
    DEFAULT_START,
    EphysFixture,
    write_openephys_binary,
    write_spikeglx,
)
from neurodatashare.testing.sources.imaging import Suite2pFixture, write_suite2p, write_tiff_stack
from neurodatashare.testing.sources.sorting import SortingFixture, write_phy
from neurodatashare.testing.sources.tables import (
    write_events_csv,
    write_timeseries_csv,
    write_timeseries_npy,
    write_trials_csv,
)

__all__ = [
    "DEFAULT_START",
    "EphysFixture",
    "SortingFixture",
    "Suite2pFixture",
    "write_events_csv",
    "write_openephys_binary",
    "write_phy",
    "write_spikeglx",
    "write_suite2p",
    "write_tiff_stack",
    "write_timeseries_csv",
    "write_timeseries_npy",
    "write_trials_csv",
]
