"""Web pages. They call the archive services directly, with the same access checks."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from neurodatashare.archive import (
    Archive,
    assets,
    datasets,
    model_links,
    users,
    version_diff,
    versions,
)
from neurodatashare.archive.citation import FORMATS as CITATION_FORMATS
from neurodatashare.archive.jsonld import dataset_jsonld, script_tag
from neurodatashare.db.models import User
from neurodatashare.errors import NDSError, NotAuthenticated, NotFound
from neurodatashare.formats import format_for, store_format_for
from neurodatashare.formatting import human_size
from neurodatashare.nwb.limits import limits_json

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


templates.env.filters["size"] = human_size
templates.env.filters["urlquote"] = lambda s: quote(str(s))

#: The licences dandischema allows, by their SPDX short identifier: (short name, full name).
LICENCES = {
    "CC-BY-4.0": ("CC BY 4.0", "Creative Commons Attribution 4.0 International"),
    "CC0-1.0": ("CC0 1.0", "Creative Commons Zero v1.0 Universal (public domain)"),
    "CC-BY-NC-4.0": (
        "CC BY-NC 4.0",
        "Creative Commons Attribution Non Commercial 4.0 International",
    ),
}


def licence_name(value: str) -> dict[str, str]:
    """'spdx:CC-BY-4.0' -> {short: 'CC BY 4.0', full: ..., url: the SPDX page}."""
    ident = str(value).removeprefix("spdx:")
    short, full = LICENCES.get(ident, (ident, ident))
    return {"short": short, "full": full, "url": f"https://spdx.org/licenses/{quote(ident)}.html"}


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # CommonMark with raw HTML switched off: tags in a description are shown as text, and
    # markdown-it refuses javascript: and data: links by itself.
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def markdown(text: str | None) -> Markup:
    return Markup(_markdown().render(text or ""))


templates.env.filters["licence"] = licence_name
templates.env.filters["markdown"] = markdown


def _archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def _viewer(request: Request) -> User | None:
    """The signed-in user; an ended session (signed out elsewhere, disabled) is anonymous."""
    if not request.session:
        return None
    try:
        return users.session_user(_archive(request), session=request.session)
    except NotAuthenticated:
        return None


ViewerDep = Annotated[User | None, Depends(_viewer)]


def render(
    request: Request, name: str, viewer: User | None, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"viewer": viewer, **context}, status_code=status
    )


def not_found_page(request: Request) -> HTMLResponse:
    """The site's 404 page for a path no route serves."""
    try:
        viewer = _viewer(request)
    except (NDSError, AssertionError):
        viewer = None
    return render(
        request,
        "error.html",
        viewer,
        status=404,
        title="Page not found",
        message=f"There is no page at {request.url.path}.",
        needs_login=False,
    )


def error_page(request: Request, viewer: User | None, exc: NDSError) -> HTMLResponse:
    return render(
        request,
        "error.html",
        viewer,
        status=exc.status_code,
        message=exc.message,
        needs_login=isinstance(exc, NotAuthenticated),
    )


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    viewer: ViewerDep,
    q: str = "",
    page: Annotated[int, Query(ge=1, le=2**31 - 1)] = 1,
) -> Response:
    """Every dataset the viewer may see, newest first. Words go to the search page
    (web/search_pages.py): `/?q=mice` from an old link or bookmark redirects there."""
    if q.strip():
        return RedirectResponse(f"/search?{urlencode({'q': q})}", 302)
    total, rows = datasets.list_datasets(
        _archive(request),
        user=viewer,
        ordering="-modified",
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    for row in rows:
        draft = row["draft_version"]
        shown = row["most_recent_published_version"] or draft
        row["name"] = draft["name"]
        row["shown_version"] = shown["version"]
        row["size"] = draft["size"]
        row["asset_count"] = draft["asset_count"]
    return render(
        request,
        "index.html",
        viewer,
        datasets=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


@router.get("/dandiset/{dataset_id}", response_class=HTMLResponse)
@router.get("/dandiset/{dataset_id}/", response_class=HTMLResponse)
def dataset_latest(request: Request, dataset_id: str, viewer: ViewerDep) -> Response:
    try:
        data = datasets.get_dataset(_archive(request), dataset_id=dataset_id, user=viewer)
    except NDSError as exc:
        return error_page(request, viewer, exc)
    latest = data["most_recent_published_version"] or data["draft_version"]
    target = f"/dandiset/{data['identifier']}/{latest['version']}"
    if request.url.query:  # keep the folder (?location=...) and anything else asked for
        target += f"?{request.url.query}"
    return RedirectResponse(target, 302)


@router.get("/dandiset/{dataset_id}/{version}", response_class=HTMLResponse)
def landing(
    request: Request, dataset_id: str, version: str, viewer: ViewerDep, location: str = ""
) -> HTMLResponse:
    archive = _archive(request)
    try:
        data = datasets.get_dataset(archive, dataset_id=dataset_id, user=viewer)
        info = versions.get_version(
            archive, dataset_id=dataset_id, version=version, user=viewer, info=True
        )
        all_versions = versions.list_versions(
            archive, dataset_id=dataset_id, user=viewer, order="-created"
        )
        entries = assets.list_paths(
            archive, dataset_id=dataset_id, version=version, user=viewer, path_prefix=location
        )
        owners = datasets.list_owners(archive, dataset_id=dataset_id, user=viewer)
        changes = version_diff.changes_since_previous(
            archive, dataset_id=dataset_id, version=version, user=viewer
        )
    except NDSError as exc:
        return error_page(request, viewer, exc)
    location = location.strip("/")
    crumbs = []
    if location:
        acc = []
        for part in location.split("/"):
            acc.append(part)
            crumbs.append(("/".join(acc), part))
    meta = info["metadata"]
    # crawlers get schema.org JSON-LD for published versions of open datasets only; the
    # draft (which changes) and anything not open never carry it (archive/jsonld.py)
    published_open = version != "draft" and data["access"] == "open"
    jsonld = Markup(script_tag(dataset_jsonld(archive, meta))) if published_open else None
    return render(
        request,
        "dataset.html",
        viewer,
        jsonld=jsonld,
        citation_formats=list(CITATION_FORMATS),
        dataset=data,
        info=info,
        meta=meta,
        versions=all_versions,
        version=version,
        entries=entries,
        location=location,
        crumbs=crumbs,
        owners=owners,
        is_owner=viewer is not None and any(o["username"] == viewer.username for o in owners),
        api=archive.api_url,
        changes=changes,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, viewer: ViewerDep, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", viewer, next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    """Only same-site paths, so the login page cannot bounce people to another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        user = users.user_for_password(_archive(request), username=username, password=password)
    except NDSError as exc:
        return render(
            request, "login.html", None, status=401, next=_safe_next(next), error=exc.message
        )
    users.start_session(request.session, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, viewer: ViewerDep) -> Response:
    """Sign out of this browser and every other session of the same user."""
    if viewer is not None:
        users.end_sessions(_archive(request), user_id=viewer.id)
    request.session.clear()
    return RedirectResponse("/", status_code=303)


# -- the explorer ---------------------------------------------------------------------------

VERSION_RE = re.compile(r"^(draft|\d+\.\d{6}\.\d{4})$")
DATASET_RE = re.compile(r"^\d{6}$")
# The views this page draws itself. A format names the views it offers (formats/base.py);
# `tree` is the NWB explorer (static/explorer/), `summary` the card of a file's
# `nds:summary` that any format gets by naming it. Other names are passed on in the
# page's JSON for scripts that know them.
EXPLORER_VIEW, SUMMARY_VIEW = "tree", "summary"
# A view of any other name is drawn by web/static/views/<name>.js, when that module exists:
# the page gives it a <section data-view="<name>"> and loads it (see docs/architecture.md).
VIEW_SCRIPTS = HERE / "static" / "views"


def view_scripts(views: list[str]) -> list[str]:
    """The views of `views` that have a script of their own, in the format's order."""
    known = {p.stem for p in VIEW_SCRIPTS.glob("*.js")} if VIEW_SCRIPTS.is_dir() else set()
    return [v for v in views if v in known]


def offered_views(
    path: str, metadata: dict[str, Any] | None = None, *, zarr: bool = False
) -> list[str]:
    """The views of the asset's format; a Zarr asset's from its Zarr format, if any."""
    store_format = store_format_for(path)
    if zarr or store_format is not None:
        return store_format.views(metadata or {"path": path}) if store_format else []
    return format_for(path).views(metadata or {"path": path})


def is_explorable(path: str) -> bool:
    """Whether the file list links a file to its page (it has a view beyond download)."""
    views = offered_views(path)
    return EXPLORER_VIEW in views or SUMMARY_VIEW in views or bool(view_scripts(views))


def summary_rows(summary: Any) -> list[tuple[str, str]]:
    """`nds:summary` as (name, value) rows; nested values as compact JSON."""
    if not isinstance(summary, dict):
        return []
    rows = []
    for key, value in summary.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))
        rows.append((str(key), text if len(text) <= 400 else text[:399] + "…"))
    return rows


templates.env.tests["explorable"] = is_explorable


@router.get("/asset/{asset_id}", response_class=HTMLResponse)
@router.get("/asset/{asset_id}/", response_class=HTMLResponse)
def asset_page(
    request: Request,
    asset_id: str,
    viewer: ViewerDep,
    dataset: str = "",
    version: str = "",
) -> Response:
    """The explorer for one file. `/asset/ID.json` is the same page's data as JSON.

    Everything else the page shows (selected object, time window, channel page...) lives
    in the query string and is read by the page's scripts, so a link reproduces a view.
    `dataset` and `version` only say where the visitor came from (for the breadcrumb);
    they are shown only if the asset really is in that version.
    """
    as_json = asset_id.endswith(".json")
    asset_id = asset_id.removesuffix(".json")
    archive = _archive(request)
    try:
        asset = assets.get_asset_by_id(archive, asset_id=asset_id, user=viewer)
    except NDSError as exc:
        if as_json:
            return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
        return error_page(request, viewer, exc)
    context = None
    if DATASET_RE.match(dataset) and VERSION_RE.match(version):
        try:
            assets.get_asset(
                archive, dataset_id=dataset, version=version, asset_id=asset_id, user=viewer
            )
            context = {"dataset": dataset, "version": version}
        except NDSError:
            context = None
    api = f"/api/assets/{asset_id}"
    metadata = asset.get("metadata") or {}
    zarr_id = asset.get("zarr")
    views = offered_views(asset["path"], metadata, zarr=bool(zarr_id))
    where = context or {}
    related = model_links.related(
        archive,
        asset_id=asset_id,
        user=viewer,
        dataset=where.get("dataset"),
        version=where.get("version"),
    )
    data = {
        "asset_id": asset_id,
        "path": asset["path"],
        "size": asset["size"],
        "format": metadata.get("nds:format"),
        "zarr": zarr_id,
        "views": views,
        "nwb": EXPLORER_VIEW in views,  # the NWB explorer's scripts are loaded
        "scripted_views": view_scripts(views),
        "dataset": context,
        "links": {
            "page": f"/asset/{asset_id}",
            # a Zarr is downloaded file by file (dandi download does it): its file list
            "download": f"/api/zarr/{zarr_id}/files/" if zarr_id else f"{api}/download/",
            "metadata": f"{api}/info/",
            "validation": f"{api}/validation/",
            "tree": f"{api}/explore/tree",
            "explore_api": f"{api}/explore/",
            "related": f"{api}/related/",
        },
        # a model's sources and the models built from this file (archive/model_links.py)
        "related": {k: related[k] for k in ("built_from", "models", "models_truncated")},
    }
    if as_json:
        return JSONResponse(data)
    summary = summary_rows(metadata.get("nds:summary")) if SUMMARY_VIEW in views else []
    return render(request, "asset.html", viewer, asset=asset, page=data, summary=summary)


PLOTLY_REL = Path("package_data") / "plotly.min.js"


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes, str]:
    """plotly.js from the `plotly` Python package: (plain, gzipped, etag). Read once."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("plotly.js is not installed on this server (pip install plotly).")
    path = Path(next(iter(spec.submodule_search_locations))) / PLOTLY_REL
    if not path.is_file():
        raise NotFound(f"plotly.js was not found at {path}; reinstall the plotly package.")
    plain = path.read_bytes()
    etag = '"' + hashlib.sha256(plain).hexdigest()[:32] + '"'
    return plain, gzip.compress(plain, compresslevel=6, mtime=0), etag


@router.api_route("/static/vendor/plotly.min.js", methods=["GET", "HEAD"])
def plotly_js(request: Request) -> Response:
    """plotly.js, served from the installed plotly package, cached for a year by browsers.

    The page asks for it with the package version in the query string, so an upgrade
    changes the URL and the long cache never serves a stale copy.
    """
    try:
        plain, packed, etag = _plotly_bytes()
    except NDSError as exc:
        return Response(f"/* {exc.message} */\n", status_code=404, media_type="text/javascript")
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="text/javascript", headers=headers)
    return Response(plain, media_type="text/javascript", headers=headers)


def plotly_version() -> str:
    try:
        from importlib.metadata import version

        return version("plotly")
    except Exception:
        return "missing"


templates.env.globals["plotly_version"] = plotly_version


def explorer_limits() -> Markup:
    """The explorer's caps and page sizes for the page's scripts (static/explorer/limits.js).

    Marked safe because it goes inside a ``<script>`` element, where HTML escapes would
    stay in the JSON; :func:`~neurodatashare.nwb.limits.limits_json` escapes ``<``.
    """
    return Markup(limits_json())


templates.env.globals["explorer_limits"] = explorer_limits
