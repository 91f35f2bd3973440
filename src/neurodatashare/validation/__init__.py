"""Validation of NWB files: ValidationResult records and the runners that produce them.

from neurodatashare.validation import validate_nwb_file
for finding in validate_nwb_file(path):
    print(finding.severity.name, finding.message)
"""

from neurodatashare.validation.run import (
    VALIDATOR_VERSION,
    blocks_publishing,
    validate_nwb_file,
    validate_paths,
    worst_severity,
)
from neurodatashare.validation.types import Severity, ValidationResult

__all__ = [
    "VALIDATOR_VERSION",
    "Severity",
    "ValidationResult",
    "blocks_publishing",
    "validate_nwb_file",
    "validate_paths",
    "worst_severity",
]
