"""OAI-PMH 2.0 (`/oai`): repositories harvest the published versions of open datasets.

Items are published versions, identified as `oai:<host>:<dataset id>/<version>`; their
datestamp is the publication time (a published version never changes). Each dataset with
a published version is a set, `dandiset:<id>`. Records come as `oai_dc` (Dublin Core) and
`oai_datacite` (DataCite's OAI wrapper around the DataCite 4.5 XML of archive/citation.py).
Lists come in pages of `PAGE` with a resumption token: an opaque, signed position (the last
version row sent and the request's arguments), so a token that was changed is refused.
Deleted or hidden versions are not reported (deletedRecord "no"): what stops being open
leaves the lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from sqlalchemy import func, select

from neurodatashare.archive import citation
from neurodatashare.archive.access import visible_clause
from neurodatashare.archive.context import Archive
from neurodatashare.archive.harvest import published_document, published_rows
from neurodatashare.archive.oai_formats import datacite_payload, dublin_core
from neurodatashare.db.models import Dataset, Version

PAGE = 100
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
FORMATS = {
    "oai_dc": (OAI_DC_NS, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
    "oai_datacite": (OAI_DATACITE_NS, "http://schema.datacite.org/oai/oai-1.1/oai.xsd"),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
LISTS = {"ListSets", "ListIdentifiers", "ListRecords"}  # the verbs with resumption tokens
SET_RE = re.compile(r"^dandiset:(\d{6})$")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECOND_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Context:
    archive: Archive
    base_url: str
    host: str

    @classmethod
    def of(cls, archive: Archive) -> Context:
        url = archive.settings.resolved_public_url
        return cls(archive, f"{url}/oai", urlsplit(url).hostname or "localhost")

    def identifier(self, dataset: Dataset, version: Version) -> str:
        return f"oai:{self.host}:{dataset.id:06d}/{version.version}"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def respond(archive: Archive, *, arguments: list[tuple[str, str]]) -> str:
    """The XML answer to one OAI-PMH request (the query or form arguments, repeats kept)."""
    ctx = Context.of(archive)
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(
        f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
    )
    etree.SubElement(root, f"{{{OAI_NS}}}responseDate").text = _stamp(datetime.now(UTC))
    request = etree.SubElement(root, f"{{{OAI_NS}}}request")
    request.text = ctx.base_url
    try:
        verb, args = _parse(arguments)
        for name, value in sorted({"verb": verb, **args}.items()):
            request.set(name, value)
        root.append(HANDLERS[verb](ctx, args))
    except OAIError as exc:
        if exc.code in ("badVerb", "badArgument"):  # the spec: echo no arguments then
            request.attrib.clear()
        error = etree.SubElement(root, f"{{{OAI_NS}}}error", code=exc.code)
        error.text = exc.message
    text: str = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    return text


def _parse(arguments: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    names = [name for name, _ in arguments]
    args = dict(arguments)
    verb = args.pop("verb", None)
    if names.count("verb") > 1:
        raise OAIError("badVerb", "The verb argument may be given once.")
    if verb not in VERBS:
        raise OAIError("badVerb", f"{verb!r} is not an OAI-PMH verb." if verb else "No verb.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise OAIError("badArgument", f"Arguments given more than once: {', '.join(repeated)}.")
    required, optional = VERBS[verb]
    if "resumptionToken" in args and verb in LISTS:
        if len(args) > 1:
            raise OAIError("badArgument", "resumptionToken is an exclusive argument.")
        return verb, args
    unknown = sorted(set(args) - required - optional)
    if unknown:
        raise OAIError("badArgument", f"{verb} does not take {', '.join(unknown)}.")
    missing = sorted(required - set(args))
    if missing:
        raise OAIError("badArgument", f"{verb} needs {', '.join(missing)}.")
    return verb, args


def _element(tag: str, text: str | None = None, **attrs: str) -> Any:
    el = etree.Element(f"{{{OAI_NS}}}{tag}", **attrs)
    if text is not None:
        el.text = text
    return el


def _sub(parent: Any, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{{{OAI_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def identify(ctx: Context, _args: dict[str, str]) -> Any:
    settings = ctx.archive.settings
    with ctx.archive.db.read() as s:
        earliest = s.scalar(
            select(func.min(Version.created))
            .join(Dataset, Dataset.id == Version.dataset_id)
            .where(visible_clause(None), Version.version != "draft")
        )
    out = _element("Identify")
    _sub(out, "repositoryName", f"{settings.instance_name} archive")
    _sub(out, "baseURL", ctx.base_url)
    _sub(out, "protocolVersion", "2.0")
    _sub(out, "adminEmail", settings.admin_email or f"admin@{ctx.host}")
    _sub(out, "earliestDatestamp", _stamp(earliest or datetime.now(UTC)))
    _sub(out, "deletedRecord", "no")
    _sub(out, "granularity", "YYYY-MM-DDThh:mm:ssZ")
    return out


def _metadata_prefix(args: dict[str, str]) -> str:
    prefix = args["metadataPrefix"]
    if prefix not in FORMATS:
        raise OAIError(
            "cannotDisseminateFormat",
            f"{prefix!r} is not offered; the formats are {', '.join(FORMATS)}.",
        )
    return prefix


def _find(ctx: Context, identifier: str) -> tuple[Dataset, Version, dict[str, Any]]:
    """The published open version an identifier names, with its metadata document."""
    pattern = rf"^oai:{re.escape(ctx.host)}:(\d{{6}})/(\d+\.\d{{6}}\.\d{{4}})$"
    match = re.match(pattern, identifier)
    if match is not None:
        with ctx.archive.db.read() as s:
            row = s.execute(
                select(Dataset, Version)
                .join(Version, Version.dataset_id == Dataset.id)
                .where(
                    visible_clause(None),
                    Dataset.id == int(match.group(1)),
                    Version.version == match.group(2),
                )
            ).first()
            if row is not None:
                dataset, version = row
                doc = published_document(ctx.archive, s, dataset=dataset, version=version)
                return dataset, version, doc
    raise OAIError("idDoesNotExist", f"No item has the identifier {identifier!r}.")


def list_metadata_formats(ctx: Context, args: dict[str, str]) -> Any:
    if "identifier" in args:
        _find(ctx, args["identifier"])  # every item is offered in every format
    out = _element("ListMetadataFormats")
    for prefix, (namespace, schema) in FORMATS.items():
        fmt = _sub(out, "metadataFormat")
        _sub(fmt, "metadataPrefix", prefix)
        _sub(fmt, "schema", schema)
        _sub(fmt, "metadataNamespace", namespace)
    return out


def get_record(ctx: Context, args: dict[str, str]) -> Any:
    prefix = _metadata_prefix(args)
    dataset, version, doc = _find(ctx, args["identifier"])
    out = _element("GetRecord")
    record = _record(ctx, dataset, version, doc, prefix)
    if record is None:
        raise OAIError("cannotDisseminateFormat", f"This item has no {prefix} record.")
    out.append(record)
    return out


def _header(ctx: Context, dataset: Dataset, version: Version) -> Any:
    header = _element("header")
    _sub(header, "identifier", ctx.identifier(dataset, version))
    _sub(header, "datestamp", _stamp(version.created))
    _sub(header, "setSpec", f"dandiset:{dataset.id:06d}")
    return header


def _record(
    ctx: Context, dataset: Dataset, version: Version, doc: dict[str, Any], prefix: str
) -> Any:
    """The item's record in `prefix`; None when it has none in that format (a version
    whose metadata does not convert to DataCite), which lists leave out, as OAI-PMH says."""
    if prefix == "oai_dc":
        payload = dublin_core(ctx.archive, doc)
    else:
        try:
            xml = citation.datacite_xml(citation.datacite_record(ctx.archive, doc))
        except citation.NotConvertible:
            return None
        payload = datacite_payload(ctx.archive, xml)
    record = _element("record")
    record.append(_header(ctx, dataset, version))
    _sub(record, "metadata").append(payload)
    return record


# -- lists and resumption tokens ------------------------------------------------------------


def _serializer(archive: Archive) -> Any:
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(archive.settings.resolved_secret_key, salt="nds-oai-pmh")


def _resume(ctx: Context, verb: str, args: dict[str, str]) -> tuple[dict[str, str], int, int]:
    """(the list's arguments, the last row sent, how many were sent) of a token."""
    from itsdangerous import BadData

    token = args.get("resumptionToken")
    if token is None:
        return args, 0, 0
    try:
        state = _serializer(ctx.archive).loads(token)
        assert isinstance(state, dict) and state["verb"] == verb
        return dict(state["args"]), int(state["after"]), int(state["cursor"])
    except (BadData, AssertionError, KeyError, TypeError, ValueError):
        raise OAIError("badResumptionToken", "The resumption token is not valid.") from None


def _token(
    ctx: Context, out: Any, verb: str, args: dict[str, str], after: int, cursor: int, more: bool
) -> None:
    if not more and cursor == 0:
        return  # a complete list in one answer has no token
    el = _sub(out, "resumptionToken")
    el.set("cursor", str(cursor))
    if more:
        state = {"verb": verb, "args": args, "after": after, "cursor": cursor + PAGE}
        el.text = _serializer(ctx.archive).dumps(state)


def _when(value: str | None, *, end: bool) -> tuple[datetime | None, str]:
    if value is None:
        return None, ""
    try:
        if DAY_RE.match(value):
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day + timedelta(days=1, microseconds=-1) if end else day), "day"
        if SECOND_RE.match(value):
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            return (moment + timedelta(microseconds=999_999) if end else moment), "second"
    except ValueError:
        pass
    raise OAIError("badArgument", f"{value!r} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ).")


def _window(args: dict[str, str]) -> tuple[datetime | None, datetime | None, int | None]:
    start, start_kind = _when(args.get("from"), end=False)
    until, until_kind = _when(args.get("until"), end=True)
    if start_kind and until_kind and start_kind != until_kind:
        raise OAIError("badArgument", "from and until must have the same granularity.")
    if start is not None and until is not None and start > until:
        raise OAIError("badArgument", "from is after until.")
    dataset_id = None
    if "set" in args:
        match = SET_RE.match(args["set"])
        if match is None:
            raise OAIError("noRecordsMatch", f"There is no set {args['set']!r}.")
        dataset_id = int(match.group(1))
    return start, until, dataset_id


def list_items(ctx: Context, args: dict[str, str], *, verb: str) -> Any:
    args, after, cursor = _resume(ctx, verb, args)
    prefix = _metadata_prefix(args)
    start, until, dataset_id = _window(args)
    out = _element(verb)
    with ctx.archive.db.read() as s:
        rows = published_rows(
            s, after_id=after, start=start, until=until, dataset_id=dataset_id, limit=PAGE + 1
        )
        if not rows:  # (also when a list's last versions stopped being open meanwhile)
            raise OAIError("noRecordsMatch", "No published version matches the request.")
        for dataset, version in rows[:PAGE]:
            if verb == "ListIdentifiers":
                out.append(_header(ctx, dataset, version))
            else:
                doc = published_document(ctx.archive, s, dataset=dataset, version=version)
                record = _record(ctx, dataset, version, doc, prefix)
                if record is not None:
                    out.append(record)
    last = rows[:PAGE][-1][1].id if rows else after
    _token(ctx, out, verb, args, last, cursor, more=len(rows) > PAGE)
    return out


def list_sets(ctx: Context, args: dict[str, str]) -> Any:
    args, after, cursor = _resume(ctx, "ListSets", args)
    with ctx.archive.db.read() as s:
        has_published = select(Version.id).where(
            Version.dataset_id == Dataset.id, Version.version != "draft"
        )
        rows = s.scalars(
            select(Dataset.id)
            .where(visible_clause(None), has_published.exists(), Dataset.id > after)
            .order_by(Dataset.id)
            .limit(PAGE + 1)
        ).all()
    if not rows and cursor == 0:  # the schema wants one set at least
        raise OAIError("noSetHierarchy", "No dataset has a published version yet.")
    out = _element("ListSets")
    for dataset_id in rows[:PAGE]:
        item = _sub(out, "set")
        _sub(item, "setSpec", f"dandiset:{dataset_id:06d}")
        # the set's name is the dataset's id: its draft name may differ from what was published
        _sub(item, "setName", f"Dataset {dataset_id:06d}")
    last = rows[:PAGE][-1] if rows else after
    _token(ctx, out, "ListSets", args, last, cursor, more=len(rows) > PAGE)
    return out


HANDLERS = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": lambda ctx, args: list_items(ctx, args, verb="ListIdentifiers"),
    "ListRecords": lambda ctx, args: list_items(ctx, args, verb="ListRecords"),
}
