"""The NGFF axis rules (0.4 and 0.5): names, types, count, order and UDUNITS-2 units; and
the report the checks add their findings to (formats/ome_zarr/checks.py)."""

from __future__ import annotations

from typing import Any

from neurodatashare.formats.common import finding
from neurodatashare.formats.ome_zarr import ngff
from neurodatashare.validation.types import Severity

# UDUNITS-2 units the specification lists for space and time axes
_SPACE_UNITS = (
    "angstrom attometer centimeter decimeter exameter femtometer foot gigameter "
    "hectometer inch kilometer megameter meter micrometer mile millimeter nanometer "
    "parsec petameter picometer terameter yard yoctometer yottameter zeptometer "
    "zettameter "
)
SPACE_UNITS = frozenset(_SPACE_UNITS.split())
_TIME_UNITS = (
    "attosecond centisecond day decisecond exasecond femtosecond gigasecond hectosecond "
    "hour kilosecond megasecond microsecond millisecond minute nanosecond petasecond "
    "picosecond second terasecond yoctosecond yottasecond zeptosecond zettasecond "
)
TIME_UNITS = frozenset(_TIME_UNITS.split())
UNIT_ALIASES = {
    "um": "micrometer",
    "µm": "micrometer",
    "μm": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "s": "second",
    "ms": "millisecond",
    "micron": "micrometer",
}


class Report:
    def __init__(self, where: str) -> None:
        self.where = where
        self.out: list[dict[str, Any]] = []

    def add(
        self, severity: Severity, check: str, message: str, fix: str, at: str | None = None
    ) -> None:
        self.out.append(
            finding(severity, f"ome_zarr.{check}", message, fix, object_path=at or self.where)
        )

    @property
    def errors(self) -> int:
        return sum(Severity.parse(r["severity"]) >= Severity.ERROR for r in self.out)


def check_axes(value: Any, rep: Report) -> list[dict[str, Any]] | None:
    at = "multiscales[0].axes"
    if not isinstance(value, list) or not value:
        rep.add(
            Severity.ERROR,
            "axes",
            "The multiscale has no `axes` list.",
            "Add `axes`: a list of 2 to 5 objects with `name`, `type` and `unit`, "
            "e.g. z, y, x of type space in micrometer.",
            at,
        )
        return None
    axes: list[dict[str, Any]] = []
    for i, a in enumerate(value):
        if isinstance(a, str):  # 0.3 style
            rep.add(
                Severity.ERROR,
                "axes.name",
                f"Axis {i} is the bare string {a!r}.",
                'Since NGFF 0.4 each axis is an object: {"name": "x", "type": '
                '"space", "unit": "micrometer"}.',
                at,
            )
            a = {"name": a}
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not a["name"]:
            rep.add(
                Severity.ERROR,
                "axes.name",
                f"Axis {i} has no name.",
                "Give every axis a `name` (t, c, z, y, x).",
                at,
            )
            return None
        axes.append(dict(a))
    names = [a["name"] for a in axes]
    ok = True
    if len(set(names)) != len(names):
        rep.add(
            Severity.ERROR,
            "axes.duplicate",
            f"Axis names repeat: {names}.",
            "Give each axis a different name.",
            at,
        )
        ok = False
    if not 2 <= len(axes) <= 5:
        rep.add(
            Severity.ERROR,
            "axes.count",
            f"There are {len(axes)} axes; NGFF allows 2 to 5.",
            "Use at most t, c, z, y, x (one time, one channel, two or three space).",
            at,
        )
        ok = False
    for a in axes:  # fill in the type of the well-known names, as ome-zarr-py does
        if "type" not in a and a["name"] in ("x", "y", "z"):
            rep.add(
                Severity.WARNING,
                "axes.type",
                f"Axis {a['name']!r} has no type.",
                'Add `"type": "space"` to it.',
                at,
            )
            a["type"] = ngff.SPATIAL
        elif "type" not in a and a["name"] in ("t", "c"):
            rep.add(
                Severity.WARNING,
                "axes.type",
                f"Axis {a['name']!r} has no type.",
                f'Add `"type": "{"time" if a["name"] == "t" else "channel"}"` to it.',
                at,
            )
            a["type"] = ngff.TIME if a["name"] == "t" else ngff.CHANNEL
    types = [a.get("type") for a in axes]
    spaces = types.count(ngff.SPATIAL)
    if not 2 <= spaces <= 3:
        rep.add(
            Severity.ERROR,
            "axes.space",
            f"There are {spaces} space axes; an image needs 2 or 3.",
            'Mark the image\'s y and x (and z) axes `"type": "space"`.',
            at,
        )
        ok = False
    if types.count(ngff.TIME) > 1:
        rep.add(
            Severity.ERROR,
            "axes.time",
            "More than one axis is of type time.",
            "Keep one time axis.",
            at,
        )
        ok = False
    others = [t for t in types if t not in (ngff.SPATIAL, ngff.TIME)]
    if len(others) > 1:
        rep.add(
            Severity.ERROR,
            "axes.channel",
            f"More than one axis is of type channel or a custom type: {others}.",
            "Keep one channel (or custom) axis.",
            at,
        )
        ok = False
    rank = {ngff.TIME: 0, ngff.SPATIAL: 2}
    order = [rank.get(t if isinstance(t, str) else "", 1) for t in types]
    if order != sorted(order):
        rep.add(
            Severity.ERROR,
            "axes.order",
            f"The axes are in the order {names}; NGFF requires time first, then channel, "
            "then space.",
            "Transpose the arrays to t, c, z, y, x order (dropping absent axes).",
            at,
        )
        ok = False
    space_names = [a["name"] for a in axes if a.get("type") == ngff.SPATIAL]
    if ok and space_names not in (["z", "y", "x"], ["y", "x"]):
        rep.add(
            Severity.WARNING,
            "axes.zyx",
            f"The space axes are {space_names}; NGFF recommends z, y, x (or y, x), and "
            "viewers take the last two as the image's rows and columns.",
            "Name the space axes z, y, x in that order.",
            at,
        )
    for a in axes:
        _unit(a, rep, at)
    return axes if ok else None


def _unit(a: dict[str, Any], rep: Report, at: str) -> None:
    unit, kind = a.get("unit"), a.get("type")
    allowed = SPACE_UNITS if kind == ngff.SPATIAL else TIME_UNITS if kind == ngff.TIME else None
    if allowed is None:
        if a.get("unit") is not None and not isinstance(a["unit"], str):
            a.pop("unit")
        return
    if unit is None:
        if kind == ngff.SPATIAL:
            rep.add(
                Severity.WARNING,
                "axes.unit",
                f"Space axis {a['name']!r} has no unit, so its voxel size has none.",
                'Add `"unit": "micrometer"` (or the right length unit).',
                at,
            )
        return
    if not isinstance(unit, str) or unit not in allowed:
        if not isinstance(unit, str):
            a.pop("unit")  # described without one
        hint = UNIT_ALIASES.get(str(unit))
        rep.add(
            Severity.WARNING,
            "axes.unit",
            f"Axis {a['name']!r} has unit {unit!r}, which is not a UDUNITS-2 "
            f"{'length' if kind == ngff.SPATIAL else 'time'} unit NGFF lists.",
            f"Use {hint!r}."
            if hint
            else "Use a unit spelled out as NGFF lists them (micrometer, nanometer, second).",
            at,
        )
