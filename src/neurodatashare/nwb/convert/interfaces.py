"""Any NeuroConv interface, by name, with source options checked against its JSON schema.

A *stream* is one interface and its source options (``SpikeGLXRecording`` with
``folder_path`` and ``stream_id``). Several streams in one file (a recording, its
sorting, a video) are one NeuroConv ``ConverterPipe``. The CLI and the API both come
here: :func:`check_source` (every problem names the option), :func:`source_metadata`
(what the files say, as NeuroConv's metadata dict), :func:`metadata_schema` (the
converter's form schema) and :func:`build_converter`. Writing is in :mod:`.streams`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from neurodatashare.errors import BadRequest

# Source options that name files or folders (checked against NDS_CONVERT_ROOTS by the API).
PATH_FORMATS = frozenset({"file-path", "directory-path", "path"})


@dataclass(frozen=True)
class Stream:
    """One interface of a conversion: its registry name and checked source options."""

    format: str  # NeuroConv's name without "Interface", e.g. "SpikeGLXRecording"
    options: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return {"format": self.format, "source": dict(self.options)}


@cache
def _by_name() -> dict[str, str]:
    """lower-case name (with or without "Interface") -> interface class name."""
    from neurodatashare.nwb.convert.registry import _interfaces

    out: dict[str, str] = {}
    for cls_name in _interfaces():
        out[cls_name.lower()] = cls_name
        out[cls_name.removesuffix("Interface").lower()] = cls_name
    return out


def interface_class(name: str) -> Any:
    """The NeuroConv interface class called `name` (case-insensitive, "Interface" optional);
    a 400 naming the closest formats when there is none."""
    from neurodatashare.nwb.convert.registry import (
        INSTALL_NEUROCONV,
        _interfaces,
        neuroconv_installed,
    )

    if not neuroconv_installed():
        raise BadRequest(f"Format '{name}' needs NeuroConv: {INSTALL_NEUROCONV}")
    key = str(name).strip().lower()
    found = _by_name().get(key)
    if found is None:
        import difflib

        names = sorted({n.removesuffix("Interface") for n in _interfaces()})
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise BadRequest(
            f"Unknown format '{name}'.{hint} `nds convert --list-formats` (or GET "
            "/api/convert/formats/) lists every format."
        )
    return _interfaces()[found]


def format_name(name: str) -> str:
    return str(interface_class(name).__name__).removesuffix("Interface")


def _require_installed(name: str) -> None:
    from neurodatashare.nwb.convert.registry import neuroconv_formats

    for f in neuroconv_formats():
        if f.name == name and not f.installed:
            raise BadRequest(f"Format {name} needs libraries that are not installed: {f.install}")


def source_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = interface_class(name).get_source_schema()
    return schema


def path_options(schema: dict[str, Any]) -> list[str]:
    """The option names of a source schema that are paths (or lists of paths)."""
    out = []
    for key, prop in (schema.get("properties") or {}).items():
        variants = [prop, *(prop.get("anyOf") or []), prop.get("items") or {}]
        variants += [v.get("items") or {} for v in prop.get("anyOf") or []]
        if any(v.get("format") in PATH_FORMATS for v in variants) or key.endswith(
            ("_path", "_paths", "_directory")
        ):
            out.append(key)
    return out


def _types(prop: dict[str, Any]) -> set[str]:
    found = {prop["type"]} if isinstance(prop.get("type"), str) else set(prop.get("type") or [])
    for v in prop.get("anyOf") or []:
        found |= _types(v)
    return found


def coerce_option(schema: dict[str, Any], key: str, text: str) -> Any:
    """A command-line value (always text) as the type the schema asks for: booleans,
    numbers, lists and objects are read as JSON (or YAML's true/false), paths stay text."""
    prop = (schema.get("properties") or {}).get(key)
    if prop is None:
        return text  # unknown: check_source names it
    types = _types(prop)
    if "string" in types and not ({"array", "object"} & types):
        return None if text == "null" and "null" in types else text
    if "boolean" in types and text.lower() in ("true", "false", "yes", "no", "1", "0"):
        return text.lower() in ("true", "yes", "1")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "array" in types and "," in text:
            return [p.strip() for p in text.split(",")]
        if "array" in types:
            return [text]
        return text


def check_source(*, format: str, options: Any, where: str = "source") -> Stream:
    """The stream, if `options` fit the interface's source schema; else a 400 whose every
    line names the option (`source option 'stream_id' of SpikeGLXRecording: ...`)."""
    import jsonschema

    name = format_name(format)
    if not isinstance(options, dict):
        raise BadRequest(f"The {where} of {name} must be an object of option: value.")
    schema = source_schema(name)
    props = schema.get("properties") or {}
    problems: list[str] = []
    for key in options:
        if key not in props:
            problems.append(
                f"{where} option '{key}' of {name}: not an option of this format "
                f"(its options: {', '.join(props) or 'none'})."
            )
    for key in schema.get("required") or []:
        if key not in options:
            desc = (props.get(key, {}).get("description") or "").split("\n")[0]
            problems.append(f"{where} option '{key}' of {name} is required. {desc}".strip())
    if not problems:
        validator = jsonschema.Draft7Validator(schema)
        for err in sorted(validator.iter_errors(options), key=lambda e: list(e.path)):
            key = ".".join(str(p) for p in err.path) or "(all)"
            problems.append(f"{where} option '{key}' of {name}: {err.message}")
    if problems:
        raise BadRequest("\n".join(problems))
    for key in path_options(schema):
        value = options.get(key)
        for p in value if isinstance(value, list) else [value]:
            if isinstance(p, str) and not Path(p).exists():
                raise BadRequest(f"{where} option '{key}' of {name}: {p}: no such file or folder.")
    return Stream(format=name, options=dict(options))


def parse_cli_sources(formats: Sequence[str], args: Iterable[str]) -> list[Stream]:
    """`--format A --format B --source [A.]KEY=VALUE ...` -> checked streams.

    With one --format the prefix may be left out; with several, each --source names its
    format (`--source PhySorting.folder_path=phy/`).
    """
    names = [format_name(f) for f in formats]
    if len(set(names)) != len(names):
        raise BadRequest("Each --format may be given once.")
    given: dict[str, dict[str, Any]] = {n: {} for n in names}
    lower = {n.lower(): n for n in names}
    for arg in args:
        key, eq, text = arg.partition("=")
        if not eq or not key:
            raise BadRequest(
                f"--source {arg!r}: give KEY=VALUE, e.g. --source folder_path=/data/run1 "
                "(see the format's options with --list-formats --format NAME)."
            )
        target, dot, option = key.rpartition(".")
        if dot and target.lower() in lower:
            name = lower[target.lower()]
        elif dot and target:
            raise BadRequest(
                f"--source {arg!r}: '{target}' is not one of the --format given "
                f"({', '.join(names)})."
            )
        elif len(names) == 1:
            name, option = names[0], key
        else:
            raise BadRequest(
                f"--source {arg!r}: with several --format, say which one it is for: "
                + " or ".join(f"--source {n}.{key}=..." for n in names)
            )
        schema = source_schema(name)
        if option in given[name]:
            raise BadRequest(f"--source option '{option}' of {name} is given twice.")
        given[name][option] = coerce_option(schema, option, text)
    return [check_source(format=n, options=given[n], where="--source") for n in names]


def _keys(streams: Sequence[Stream]) -> list[str]:
    return [s.format for s in streams]


def build_converter(*, streams: Sequence[Stream]) -> Any:
    """A NeuroConv ConverterPipe of the streams' interfaces (keyed by format name)."""
    from neuroconv import ConverterPipe

    if not streams:
        raise BadRequest("Give at least one format to convert.")
    interfaces: dict[str, Any] = {}
    for s in streams:
        _require_installed(s.format)
        cls = interface_class(s.format)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                interfaces[s.format] = cls(**s.options)
        except (BadRequest, ModuleNotFoundError, ImportError) as exc:
            raise BadRequest(f"{s.format} needs a library that is missing: {exc}") from exc
        except Exception as exc:  # the reader refusing the files: say which stream
            raise BadRequest(
                f"{s.format} could not read its source ({_options_text(s)}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return ConverterPipe(data_interfaces=interfaces)


def _options_text(s: Stream) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.options.items())


def json_safe(value: Any) -> Any:
    """NeuroConv's metadata (datetimes, numpy numbers, tuples) as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def source_metadata(*, converter: Any) -> dict[str, Any]:
    """What the files say (NeuroConv's get_metadata()), as JSON."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = json_safe(dict(converter.get_metadata()))
    return meta


def metadata_schema(*, converter: Any) -> dict[str, Any]:
    """The converter's metadata JSON schema (NeuroConv's get_metadata_schema())."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return json_safe(converter.get_metadata_schema())


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, merged key by key in nested objects (lists are replaced)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


BUFFER_BYTES = 256 * 1024 * 1024  # raw data read per write step, as for the built-in formats


class WriteProgress:
    """Counts the buffers NeuroConv's data iterators have written, over all streams; hdmf
    makes one `bar` per iterator (its tqdm hook), so a caller sees one fraction."""

    def __init__(self, report: Callable[[float], None] | None) -> None:
        self.total = 0
        self.done = 0
        self.report = report

    def bar(self) -> type:
        counter = self

        class Bar:
            def __init__(self, total: int = 0, **_options: Any) -> None:
                counter.total += total

            def update(self, n: int = 1) -> None:
                counter.done += n
                if counter.report is not None and counter.total:
                    counter.report(min(1.0, counter.done / counter.total))

            def write(self, _text: str) -> None:
                pass

            def close(self) -> None:
                pass

        return Bar


def conversion_options(
    *, converter: Any, stub: bool, progress: WriteProgress | None = None
) -> dict[str, dict[str, Any]]:
    """Per-interface conversion options: for a preview (`stub`), the first seconds of each
    stream (nwb/convert/preview.py) or stub_test; for recordings, the archive's chunk
    layout, large write buffers and a progress hook; for imaging, the progress hook."""
    from neurodatashare.nwb.convert.layout import ephys_chunks
    from neurodatashare.nwb.convert.preview import cut_to_preview

    cut = cut_to_preview(converter) if stub else {}
    out: dict[str, dict[str, Any]] = {}
    for key, iface in converter.data_interface_objects.items():
        props = (iface.get_conversion_options_schema() or {}).get("properties") or {}
        if key in cut:
            out[key] = dict(cut[key])
        else:
            out[key] = {"stub_test": True} if stub and "stub_test" in props else {}
        if "iterator_options" not in props or (stub and key not in cut):
            continue  # NeuroConv's own stub: its few samples, its own chunks
        rec = getattr(iface, "recording_extractor", None)
        if rec is None:
            # imaging (and other) writers keep their own chunking; they still report progress
            if progress is not None and getattr(iface, "imaging_extractor", None) is not None:
                out[key]["iterator_options"] = {
                    "display_progress": True,
                    "progress_bar_class": progress.bar(),
                }
            continue
        n_samples, n_ch = rec.get_num_samples(segment_index=0), rec.get_num_channels()
        itemsize = rec.get_dtype().itemsize
        chunks = ephys_chunks(n_samples, n_ch, itemsize)
        rows = max(1, BUFFER_BYTES // (chunks[0] * n_ch * itemsize)) * chunks[0]
        options: dict[str, Any] = {
            "chunk_shape": chunks,
            "buffer_shape": (min(rows, n_samples), n_ch),
            "display_progress": progress is not None,
        }
        if progress is not None:
            options["progress_bar_class"] = progress.bar()
        out[key]["iterator_options"] = options
    return out
