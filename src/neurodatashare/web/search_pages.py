"""The search page: `/search?q=...&species=...&units_min=...`, over archive/search.py.

Every bit of state (words, ticked facets, ranges, ordering, page) is in the query string,
so a plain GET form drives it without JavaScript and a link reproduces a search. The
service's `highlights` are the only HTML the page takes from it (see :func:`highlighted`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from neurodatashare.archive import search as search_service
from neurodatashare.errors import NDSError
from neurodatashare.web.views import ViewerDep, _archive, licence_name, render, templates

router = APIRouter(include_in_schema=False)

#: The facets of the service's body, in the order the page shows them, with their headings.
FACETS: tuple[tuple[str, str], ...] = (
    ("species", "Species"),
    ("modality", "Modality"),
    ("approach", "Approach"),
    ("technique", "Technique"),
    ("region", "Brain region"),
    ("neurodata_type", "Neurodata type"),
    ("cell_type", "Cell type"),
    ("format", "File format"),
    ("licence", "Licence"),
    ("access", "Access"),
)
#: The numeric ranges: (parameter stem, heading). Each is `<stem>_min` / `<stem>_max`.
RANGES: tuple[tuple[str, str], ...] = (
    ("units", "Sorted units"),
    ("electrodes", "Electrodes"),
    ("rois", "ROIs"),
    ("cells", "Cells"),
    ("genes", "Genes"),
)
ORDERINGS: tuple[tuple[str, str], ...] = (
    ("relevance", "Best match"),
    ("-modified", "Newest first"),
    ("modified", "Oldest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("id", "Identifier, ascending"),
    ("-id", "Identifier, descending"),
)
#: How many values of a facet show before the rest fold under "more".
FACET_SHOWN = 8
_MARK = re.compile(r"</?mark>")


def highlighted(text: Any) -> Markup:
    """A service highlight (escaped text with <mark> tags) as HTML.

    The service escapes the text and adds only <mark> and </mark>. Trust is checked, not
    assumed: if anything else that looks like a tag is left once the marks are removed, the
    text is shown escaped, without marks.
    """
    value = "" if text is None else str(text)
    plain = _MARK.sub("", value)
    if "<" in plain or ">" in plain:
        return Markup(escape(plain))
    return Markup(value)


templates.env.filters["highlighted"] = highlighted


#: The kinds of file a cell can have (`linked`: cells with files of every ticked kind).
LINKED: tuple[tuple[str, str], ...] = (
    ("icephys", "a patch-clamp recording"),
    ("morphology", "a reconstruction"),
    ("transcriptomics", "a transcriptome"),
    ("model", "a model"),
)


def _state(request: Request) -> list[tuple[str, str]]:
    """The query string's pairs without empty values (an empty range box is no range).

    `linked=morphology,transcriptomics` (the API's form) and one `linked` per ticked box
    (the form's) are the same: each kind becomes a pair of its own.
    """
    pairs = []
    for key, value in request.query_params.multi_items():
        if key == "linked":
            pairs += [(key, part.strip()) for part in value.split(",") if part.strip()]
        elif value.strip() != "":
            pairs.append((key, value))
    return pairs


def _service_query(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the service reads: the kinds of `linked` joined by commas, as the API has them."""
    linked = [v for k, v in pairs if k == "linked"]
    rest = [(k, v) for k, v in pairs if k != "linked"]
    return rest + ([("linked", ",".join(linked))] if linked else [])


def _url(pairs: list[tuple[str, str]], **change: Any) -> str:
    """`/search` with `pairs`, each key in `change` replaced (None drops it)."""
    kept = [(k, v) for k, v in pairs if k not in change]
    kept += [(k, str(v)) for k, v in change.items() if v is not None]
    return "/search" + (f"?{urlencode(kept)}" if kept else "")


def _without(pairs: list[tuple[str, str]], key: str, value: str) -> str:
    """The URL with one ticked value (or range bound) taken off, and back to page 1."""
    kept = [(k, v) for k, v in pairs if not (k == key and v == value) and k != "page"]
    return _url(kept)


def _facet_groups(body: dict[str, Any], pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each facet's values with counts and ticked state (from the URL, case-insensitive).

    A ticked value the current query no longer counts still shows (count 0), so it can be
    unticked.
    """
    facets = body.get("facets") or {}
    groups = []
    for key, heading in FACETS:
        ticked = [v for k, v in pairs if k == key]
        ticked_lower = {v.casefold() for v in ticked}
        values: list[dict[str, Any]] = []
        for item in facets.get(key) or []:
            value = str(item.get("value", ""))
            label = str(item.get("label") or value)
            if key == "licence":  # the label is the licence as written: spdx:CC-BY-4.0
                label = licence_name(label)["short"]
            values.append(
                {
                    "value": value,
                    "label": label,
                    "count": int(item.get("count") or 0),
                    "checked": value.casefold() in ticked_lower,
                }
            )
        seen = {v["value"].casefold() for v in values}
        for value in ticked:
            if value.casefold() not in seen:
                seen.add(value.casefold())
                label = licence_name(value)["short"] if key == "licence" else value
                values.append({"value": value, "label": label, "count": 0, "checked": True})
        # ticked values first, so they never hide under "more"
        values.sort(key=lambda v: not v["checked"])
        if values:
            groups.append(
                {
                    "key": key,
                    "heading": heading,
                    "shown": values[:FACET_SHOWN],
                    "more": values[FACET_SHOWN:],
                    "ticked": len(ticked),
                }
            )
    return groups


def _chips(pairs: list[tuple[str, str]], body: dict[str, Any] | None) -> list[dict[str, str]]:
    """The active filters, each with the URL that removes it, named as the facet names them."""
    headings = dict(FACETS)
    names = {
        (key, str(item.get("value", "")).casefold()): str(item.get("label") or item.get("value"))
        for key, items in ((body or {}).get("facets") or {}).items()
        for item in items or []
    }
    bounds = {f"{stem}_{end}": (heading, end) for stem, heading in RANGES for end in ("min", "max")}
    chips = []
    for key, value in pairs:
        if key in headings:
            shown = names.get((key, value.casefold()), value)
            if key == "licence":
                shown = licence_name(shown)["short"]
            chips.append({"label": f"{headings[key]}: {shown}", "url": _without(pairs, key, value)})
        elif key in bounds:
            heading, end = bounds[key]
            sign = "≥" if end == "min" else "≤"
            chips.append({"label": f"{heading} {sign} {value}", "url": _without(pairs, key, value)})
        elif key == "linked":
            kind = dict(LINKED).get(value, value)
            chips.append({"label": f"Cells with {kind}", "url": _without(pairs, key, value)})
    return chips


def _pages(body: dict[str, Any], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    params = dict(pairs)
    try:
        page = max(1, int(params.get("page", 1)))
        size = max(1, int(params.get("page_size", 20)))
    except ValueError:
        page, size = 1, 20
    count = int(body.get("count") or 0)
    return {
        "page": page,
        "pages": max(1, -(-count // size)),
        "first": (page - 1) * size + 1 if count else 0,
        "last": min(count, page * size),
        "next": _url(pairs, page=page + 1) if body.get("next") else None,
        "previous": (
            _url(pairs, page=page - 1 if page > 2 else None) if body.get("previous") else None
        ),
    }


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """Datasets and their files matching words and filters, with facet counts."""
    pairs = _state(request)
    values = dict(pairs)
    context: dict[str, Any] = {
        "q": values.get("q", ""),
        "pairs": pairs,
        "ranges": [
            {
                "stem": stem,
                "heading": heading,
                "min": values.get(f"{stem}_min", ""),
                "max": values.get(f"{stem}_max", ""),
            }
            for stem, heading in RANGES
        ],
        "orderings": [o for o in ORDERINGS if o[0] != "relevance" or values.get("q")],
        "ordering": values.get("ordering", ""),
        "hidden": [(k, v) for k, v in pairs if k == "page_size"],
        "linked": [
            {"value": value, "label": label, "checked": ("linked", value) in pairs}
            for value, label in LINKED
        ],
        "clear_url": _url([(k, v) for k, v in pairs if k == "q"]),
        "search_form": "search-form",
    }
    try:
        params = search_service.SearchParams.from_query(_service_query(pairs))
        body = search_service.search(_archive(request), user=viewer, params=params)
    except NDSError as exc:
        return render(
            request,
            "search.html",
            viewer,
            status=exc.status_code,
            error=exc.message,
            body=None,
            chips=_chips(pairs, None),
            facets=[],
            pager=None,
            **context,
        )
    return render(
        request,
        "search.html",
        viewer,
        error=None,
        body=body,
        chips=_chips(pairs, body),
        facets=_facet_groups(body, pairs),
        pager=_pages(body, pairs),
        **context,
    )
