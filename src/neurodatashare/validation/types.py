"""The record every validator produces: one problem in one file, in plain words."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema


class Severity(IntEnum):
    """How bad a finding is; ordered, so `severity >= Severity.ERROR` reads naturally.

    CRITICAL and ERROR block publishing; WARNING, HINT and INFO never do.
    """

    INFO = 10
    HINT = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, value: Any) -> Severity:
        """Accept a Severity, its name in any case ("error") or its number."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                names = ", ".join(s.name for s in cls)
                raise ValueError(f"unknown severity {value!r}; use one of {names}") from None
        return cls(value)


# The API shows severities by name ("ERROR"), never by number.
SeverityField = Annotated[
    Severity,
    BeforeValidator(Severity.parse),
    PlainSerializer(lambda s: s.name, return_type=str),
    WithJsonSchema({"type": "string", "enum": [s.name for s in Severity]}),
]

Origin = Literal["file", "hdf5", "pynwb", "nwbinspector", "metadata"]


class ValidationResult(BaseModel):
    """One problem found in one file.

    `origin` says which validator found it: "file" (the file cannot be opened as NWB),
    "hdf5" (its HDF5 structure: links, unknown types, compression), "pynwb" (NWB
    schema), "nwbinspector" (best practice, DANDI configuration) or "metadata" (what the
    archive needs to publish the file).
    """

    model_config = ConfigDict(frozen=True)

    severity: SeverityField
    origin: Origin
    check: str
    object_path: str | None = None
    message: str
    how_to_fix: str | None = None
    file: str | None = None

    @property
    def blocking(self) -> bool:
        """True when this finding stops the file from being published."""
        return self.severity >= Severity.ERROR


def sort_key(result: ValidationResult) -> tuple[int, str, str, str, str, str]:
    """Most severe first, then a stable order so reports compare equal run to run."""
    return (
        -int(result.severity),
        result.file or "",
        result.object_path or "",
        result.origin,
        result.check,
        result.message,
    )
