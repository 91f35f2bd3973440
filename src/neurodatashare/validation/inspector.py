"""NWB Inspector (DANDI configuration) on an already-open file, as ValidationResults."""

from __future__ import annotations

import functools
import re
from typing import Any

from neurodatashare.validation.rules import REPLACED_INSPECTOR_CHECKS
from neurodatashare.validation.types import Severity, ValidationResult

# Checks that look at the clock or at the file's name and neighbours rather than its
# bytes; the archive caches results by blob digest, so they must not run there.
CONTEXT_CHECKS = (
    "check_session_start_time_future_date",  # depends on today's date
    "check_file_extension",  # depends on the local file name
    "check_image_series_external_file_valid",  # depends on files next to this one
)

_IMPORTANCE_TO_SEVERITY = {
    "ERROR": Severity.ERROR,
    "PYNWB_VALIDATION": Severity.ERROR,
    "CRITICAL": Severity.CRITICAL,
    "BEST_PRACTICE_VIOLATION": Severity.WARNING,
    "BEST_PRACTICE_SUGGESTION": Severity.HINT,
}

_COMPRESS = (
    "Write the dataset with compression, e.g. H5DataIO(data, compression='gzip') in pynwb "
    "(NeuroConv compresses by default)."
)
_CCF = (
    "Use the Allen Mouse Brain Atlas (CCF) acronym for the area, e.g. 'VISp' instead of 'V1' "
    "or 'CA1' for hippocampal CA1."
)

HOW_TO_FIX: dict[str, str] = {
    "check_subject_id_no_slashes": "Replace each '/' in subject_id with '-' or '_'.",
    "check_session_id_no_slashes": "Replace each '/' in session_id with '-' or '_'.",
    "check_subject_weight": "Write the weight as a number, a space and a unit, e.g. '23.5 g'.",
    "check_experimenter_exists": "Add the experimenters, e.g. experimenter=['Doe, Jane'].",
    "check_experimenter_form": "Write each experimenter as 'Last, First', e.g. 'Doe, Jane'.",
    "check_experiment_description": "Add a sentence or two as experiment_description.",
    "check_institution": "Set institution, e.g. 'University of Somewhere'.",
    "check_keywords": "Add a few keywords, e.g. keywords=['hippocampus', 'place cells'].",
    "check_doi_publications": "Write publications as 'doi:10.xxxx/...' or https://doi.org/...",
    "check_session_start_time_old_date": (
        "Set session_start_time to the real start of the recording (not 1970 or 1900)."
    ),
    "check_session_start_time_future_date": (
        "Set session_start_time to the real start of the recording; it is in the future."
    ),
    "check_processing_module_name": (
        "Name processing modules after the modality: 'ecephys', 'ophys', 'icephys', "
        "'behavior', 'misc', 'ogen' or 'retinotopy'."
    ),
    "check_description": "Give the object a description of what it contains.",
    "check_data_orientation": (
        "Store time along the first axis: data.shape should be (time, channels), not "
        "(channels, time); transpose the array before writing."
    ),
    "check_timestamps_match_first_dimension": (
        "Give one timestamp per sample along the first axis of data, or use starting_time "
        "and rate instead of timestamps."
    ),
    "check_regular_timestamps": (
        "The timestamps are evenly spaced; store starting_time and rate instead, which is "
        "smaller and faster to read."
    ),
    "check_timestamps_ascending": "Sort the samples so that timestamps increase.",
    "check_timestamp_of_the_first_sample_is_not_negative": (
        "Shift the times so the session starts at 0 or later (relative to "
        "session_start_time or timestamps_reference_time)."
    ),
    "check_rate_is_not_zero": "Set rate to the real sampling rate in Hz.",
    "check_rate_is_positive": "Set rate to the real sampling rate in Hz.",
    "check_missing_unit": "Set unit to the physical unit of the data, e.g. 'volts'.",
    "check_resolution": (
        "Set resolution to the smallest meaningful difference between values, or -1.0 if unknown."
    ),
    "check_small_dataset_compression": _COMPRESS,
    "check_large_dataset_compression": _COMPRESS,
    "check_electrical_series_unscaled_data": (
        "Keep the raw integers in data and put the scale to volts in conversion (and "
        "channel_conversion) instead of storing unscaled values as volts."
    ),
    "check_electrodes_location_allen_ccf": _CCF,
    "check_imaging_plane_location_allen_ccf": _CCF,
    "check_intracellular_electrode_location_allen_ccf": _CCF,
    "check_ascending_spike_times": "Sort each unit's spike times in increasing order.",
    "check_negative_spike_times": "Spike times must be in seconds from the session start.",
    "check_units_table_has_spikes": "Remove empty units or add their spike times.",
    "check_units_resolution_is_set": (
        "Set Units(resolution=1/sampling_rate) for sorted spikes, e.g. 1/30000."
    ),
    "check_time_series_data_is_not_empty": "Remove the empty series or write its data.",
    "check_empty_table": "Remove the empty table or add its rows.",
    "check_time_intervals_stop_after_start": "Each row's stop_time must be after start_time.",
    "check_name_slashes": "Remove '/' and '\\' from object names; they break paths.",
    "check_name_colons": "Remove ':' from object names.",
    "check_ids_unique": "Give every row of the table a different id.",
    "check_excitation_lambda_in_nm": "Give excitation_lambda in nanometres, e.g. 920.0.",
    "check_emission_lambda_in_nm": "Give emission_lambda in nanometres, e.g. 510.0.",
    "check_image_series_external_file_valid": (
        "Put the external video next to the NWB file under the relative path stored in "
        "external_file, and upload it too."
    ),
    "check_image_series_external_file_relative": (
        "Store external_file as a path relative to the NWB file."
    ),
    "check_file_extension": "Name the file with the .nwb extension.",
}

_CRASH_RE = re.compile(r"During evaluation of '([^']+)' - (.*)", re.S)


@functools.cache
def configured_checks(*, context: bool) -> tuple[Any, ...]:
    """The inspector checks to run, with DANDI's importance levels; configured once."""
    from nwbinspector import Importance, configure_checks, load_config

    ignore = list(REPLACED_INSPECTOR_CHECKS)
    if not context:
        ignore += CONTEXT_CHECKS
    checks = configure_checks(
        config=load_config("dandi"),
        ignore=ignore,
        importance_threshold=Importance.BEST_PRACTICE_SUGGESTION,
    )
    return tuple(checks)


def _location(message: Any) -> str | None:
    location = message.location
    if not location:
        return None
    return location if location.startswith("/") else "/" + location


def to_result(message: Any) -> ValidationResult:
    """One InspectorMessage as a ValidationResult."""
    severity = _IMPORTANCE_TO_SEVERITY.get(message.importance.name, Severity.ERROR)
    check = message.check_function_name or "nwbinspector"
    text = str(message.message).strip()
    if message.importance.name == "ERROR":
        # A check crashed: the inspector puts the reason in the name and a traceback in
        # the message. Show the reason; a traceback helps no scientist.
        m = _CRASH_RE.match(check)
        if m:
            check, reason = m.group(1), m.group(2).strip()
        else:
            reason = text.splitlines()[-1] if text else "unknown error"
        text = f"The inspector check could not run on this object: {reason}"
    return ValidationResult(
        severity=severity,
        origin="nwbinspector",
        check=check,
        object_path=_location(message),
        message=text,
        how_to_fix=HOW_TO_FIX.get(check),
    )


def run_inspector(nwbfile: Any, *, context: bool = False) -> list[ValidationResult]:
    """Inspect an NWBFile that is already in memory (no second read of the file)."""
    from nwbinspector import inspect_nwbfile_object

    checks = list(configured_checks(context=context))
    return [
        to_result(m)
        for m in inspect_nwbfile_object(nwbfile_object=nwbfile, checks=checks)
        if m is not None
    ]
