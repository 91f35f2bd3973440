"""A preview's window: the first seconds of every stream.

NeuroConv's `stub_test` writes the first 100 samples of a recording (3 ms at 30 kHz) and
the sorting up to its units' first spikes: enough to test a conversion, too little to look
at in the explorer. A preview here (the wizard's, and `nds convert --format NAME --stub`)
holds the first PREVIEW_SECONDS of each recording and sorting, cut as NeuroConv cuts its
own extractors (a frame slice in place of the interface's extractor), and as many frames
of each movie (NeuroConv's `stub_samples`). Other interfaces keep `stub_test`.
"""

from __future__ import annotations

from typing import Any

PREVIEW_SECONDS = 2.0


def _frames(extractor: Any, total: int | None = None) -> int:
    wanted = max(1, int(extractor.get_sampling_frequency() * PREVIEW_SECONDS))
    return wanted if total is None else min(total, wanted)


def cut_to_preview(converter: Any) -> dict[str, dict[str, Any]]:
    """Cut the converter's recordings and sortings to the preview's window; the conversion
    options of every interface this handled, by key (the others take `stub_test`)."""
    options: dict[str, dict[str, Any]] = {}
    for key, iface in converter.data_interface_objects.items():
        props = (iface.get_conversion_options_schema() or {}).get("properties") or {}
        rec = getattr(iface, "recording_extractor", None)
        sorting = getattr(iface, "sorting_extractor", None)
        imaging = getattr(iface, "imaging_extractor", None)
        if rec is not None and rec.get_num_segments() == 1:
            end = _frames(rec, rec.get_num_samples(segment_index=0))
            iface.recording_extractor = rec.frame_slice(start_frame=0, end_frame=end)
            options[key] = {}
        elif sorting is not None and sorting.get_num_segments() == 1:
            iface.sorting_extractor = sorting.frame_slice(start_frame=0, end_frame=_frames(sorting))
            options[key] = {}
        elif imaging is not None and "stub_samples" in props:
            frames = _frames(imaging, imaging.get_num_samples())
            options[key] = {"stub_test": True, "stub_samples": frames}
    return options
