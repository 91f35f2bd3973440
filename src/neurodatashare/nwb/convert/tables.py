"""Our own CSV importers: a trials table, and point-event tables (rewards, TTLs, licks).

A trials CSV needs ``start_time`` and ``stop_time`` columns (seconds from the session
start); every other column becomes a trial column. An events CSV needs a ``timestamp``
(or ``time``) column and may have ``duration``; it becomes an NWB ``EventsTable`` named
after the file. Column types are inferred: true/false, integers, numbers (an empty cell is
NaN), otherwise text. Column descriptions come from the metadata YAML
(``trials.columns`` / ``events.columns``).
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatashare.errors import BadRequest
from neurodatashare.nwb.convert.metadata import TableMetadata

if TYPE_CHECKING:
    from pynwb import NWBFile

_TRUE = {"true", "yes", "y", "t"}
_FALSE = {"false", "no", "n", "f"}
_RESERVED = {"id", "tags", "timeseries"}


@dataclass(frozen=True)
class CsvTable:
    path: Path
    columns: dict[str, list[Any]]  # column name -> typed values

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))


def _typed(name: str, raw: list[str], path: Path) -> list[Any]:
    values = [v.strip() for v in raw]
    present = [v for v in values if v != ""]
    lowered = {v.lower() for v in present}
    if present and lowered <= _TRUE | _FALSE:
        if len(present) != len(values):
            row = values.index("") + 2
            raise BadRequest(
                f"{path.name}: column '{name}' holds true/false values but row {row} is empty."
            )
        return [v.lower() in _TRUE for v in values]
    try:
        ints = [int(v) for v in values]
        return ints
    except ValueError:
        pass
    try:
        return [float(v) if v != "" else math.nan for v in values]
    except ValueError:
        return values


def read_csv_table(path: Path) -> CsvTable:
    """Read a CSV (comma, semicolon or tab separated) with a header row into typed columns."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadRequest(f"Cannot read {path}: {exc.strerror or exc}") from exc
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(text.splitlines(), dialect) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise BadRequest(f"{path.name}: needs a header row and at least one data row.")
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header):
        raise BadRequest(
            f"{path.name}: column {header.index('') + 1} has no name in the header row."
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise BadRequest(f"{path.name}: the column name '{dupes[0]}' appears twice.")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise BadRequest(
                f"{path.name}: row {i} has {len(row)} cells but the header has {len(header)}."
            )
    columns = {h: _typed(h, [r[j] for r in rows[1:]], path) for j, h in enumerate(header)}
    return CsvTable(path=path, columns=columns)


def _numeric(table: CsvTable, name: str) -> list[float]:
    values = table.columns[name]
    out: list[float] = []
    for i, v in enumerate(values, start=2):
        if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(float(v)):
            raise BadRequest(
                f"{table.path.name}: '{name}' must be a number of seconds in every row; row {i} "
                f"holds {v!r}."
            )
        out.append(float(v))
    return out


def _find(table: CsvTable, wanted: str, aliases: tuple[str, ...] = ()) -> str:
    lower = {c.lower(): c for c in table.columns}
    for name in (wanted, *aliases):
        if name in lower:
            return lower[name]
    close = difflib.get_close_matches(wanted, list(table.columns), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'? Rename it to '{wanted}'." if close else ""
    raise BadRequest(
        f"{table.path.name}: needs a '{wanted}' column (seconds from the session start); it has "
        f"{', '.join(table.columns)}.{hint}"
    )


def _description(meta: TableMetadata, column: str, path: Path) -> str:
    return meta.columns.get(column) or f"Column '{column}' of {path.name}."


def _check_columns(meta: TableMetadata, table: CsvTable, section: str) -> None:
    for name in meta.columns:
        if name not in table.columns:
            raise BadRequest(
                f"{section}.columns.{name}: the metadata describes a column that {table.path.name} "
                f"does not have (it has {', '.join(table.columns)})."
            )


def add_trials(nwbfile: NWBFile, path: Path, meta: TableMetadata) -> int:
    """Add the trials in ``path`` to ``nwbfile.trials``; returns the number of trials."""
    table = read_csv_table(path)
    _check_columns(meta, table, "trials")
    start_col = _find(table, "start_time", ("start", "trial_start", "t_start"))
    stop_col = _find(table, "stop_time", ("stop", "end_time", "end", "trial_end", "t_stop"))
    start, stop = _numeric(table, start_col), _numeric(table, stop_col)
    for i, (a, b) in enumerate(zip(start, stop, strict=True), start=2):
        if b < a:
            raise BadRequest(f"{path.name}: row {i} stops ({b}) before it starts ({a}).")
        if a < 0:
            raise BadRequest(f"{path.name}: row {i} starts before the session ({a} s).")
    extra = [c for c in table.columns if c not in (start_col, stop_col)]
    if nwbfile.trials is None:
        from pynwb.epoch import TimeIntervals

        nwbfile.trials = TimeIntervals(
            name="trials", description=meta.description or f"Trials from {path.name}."
        )
    for c in extra:
        if c.lower() in _RESERVED:
            raise BadRequest(f"{path.name}: '{c}' is a reserved column name in NWB; rename it.")
        nwbfile.add_trial_column(name=c, description=_description(meta, c, path))
    for i in range(len(table)):
        nwbfile.add_trial(
            start_time=start[i],
            stop_time=stop[i],
            **{c: table.columns[c][i] for c in extra},
        )
    return len(table)


def _table_name(path: Path) -> str:
    name = re.sub(r"[^0-9A-Za-z_]+", "_", path.stem).strip("_")
    return name or "events"


def add_events(nwbfile: NWBFile, path: Path, meta: TableMetadata) -> str:
    """Add the point events in ``path`` as an EventsTable named after the file."""
    from pynwb.event import DurationVectorData, EventsTable, TimestampVectorData

    table = read_csv_table(path)
    _check_columns(meta, table, "events")
    ts_col = _find(table, "timestamp", ("timestamps", "time", "times", "t"))
    times = _numeric(table, ts_col)
    duration_col = next((c for c in table.columns if c.lower() == "duration"), None)
    name = _table_name(path)
    if name in nwbfile.events:
        raise BadRequest(f"{path.name}: an events table named '{name}' was already added.")
    columns: list[Any] = [
        TimestampVectorData(name="timestamp", description="Time of each event (s).", data=times)
    ]
    if duration_col:
        columns.append(
            DurationVectorData(
                name="duration",
                description=_description(meta, duration_col, path),
                data=_numeric(table, duration_col),
            )
        )
    from hdmf.common import VectorData

    for c in table.columns:
        if c in (ts_col, duration_col):
            continue
        if c.lower() in _RESERVED:
            raise BadRequest(f"{path.name}: '{c}' is a reserved column name in NWB; rename it.")
        columns.append(
            VectorData(name=c, description=_description(meta, c, path), data=table.columns[c])
        )
    events = EventsTable(
        name=name,
        description=meta.description or f"Events from {path.name}.",
        columns=columns,
    )
    nwbfile.add_events_table(events)
    return name
