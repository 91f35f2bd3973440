"""A realistic, seeded, multi-modal demo dataset: 2 mice x 2 sessions of simultaneous
extracellular ephys, two-photon imaging and behaviour in a visual task, as NWB files laid
out the way ``dandi organize`` names them. ``nds demo`` and ``nds serve --demo`` write it.

Everything is simulated from one seed, and the signals are consistent with each other:
the raw voltage holds the sorted units' spikes (at exactly their spike times, with their
mean waveforms) on top of the LFP and noise; visual-cortex units and ROIs are tuned to the
trials' grating orientation and scale with contrast; hippocampal units lock to the LFP's
theta rhythm, whose power follows running speed; licks follow the task's go trials.

The same seed gives byte-identical files (object ids, identifiers and creation dates are
all derived from the seed) for a given version of neurodatashare and its libraries on a
given machine; across machines the data values agree up to floating-point rounding of
the imaging model's matrix products.

The package, by job:

- ``subjects``: the mice, their sessions and the DANDI-style file names;
- ``simulate/``: the signal models (``task``, ``ephys``, ``imaging``, one ``session``),
  with numpy only; they also feed the acquisition-format writers of the converter tests;
- ``nwbfile``: one session's in-memory NWB file, one function per part;
- ``write``: writing a session, or the whole dataset in worker processes.

This ``__init__`` imports nothing, so ``neurodatashare.demo.simulate`` stays free of pynwb.
"""
