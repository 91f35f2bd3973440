"""The metadata editor: a form for a draft's metadata generated from dandischema's own
JSON schema (web/static/edit.js), for the dataset's owners.

The page carries the owner-written part of the schema and the draft's metadata; saving
PUTs the metadata to the API (the same route `nds meta` uses) and shows dandischema's
errors beside their fields, and the list of what publishing still needs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from neurodatashare.archive import versions
from neurodatashare.archive.access import load_dataset
from neurodatashare.errors import NDSError
from neurodatashare.formatting import script_json
from neurodatashare.metadata.schema import VERSION_COMPUTED
from neurodatashare.web.views import ViewerDep, _archive, error_page, render

router = APIRouter(include_in_schema=False)
# computed or bookkeeping fields the form leaves out, beyond the server-computed ones
NOT_EDITED = VERSION_COMPUTED | {"dateModified", "sameAs", "wasGeneratedBy"}


@lru_cache(maxsize=1)
def owner_schema() -> dict[str, Any]:
    """dandischema's `Dandiset` JSON schema, keeping the fields owners write."""
    from dandischema.models import Dandiset

    schema = Dandiset.model_json_schema()
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in NOT_EDITED}
    schema["required"] = [k for k in schema.get("required", []) if k in schema["properties"]]
    return schema


def page_json(value: Any) -> Markup:
    """JSON for a page's data <script> element (formatting.script_json)."""
    return Markup(script_json(value))


@router.get("/dandiset/{dataset_id}/draft/edit", response_class=HTMLResponse)
def edit_page(request: Request, dataset_id: str, viewer: ViewerDep) -> HTMLResponse:
    archive = _archive(request)
    try:
        with archive.db.read() as s:
            load_dataset(s, dataset_id=dataset_id, user=viewer, edit=True)
        info = versions.get_version(
            archive, dataset_id=dataset_id, version="draft", user=viewer, info=True
        )
    except NDSError as exc:
        return error_page(request, viewer, exc)
    metadata = {k: v for k, v in info["metadata"].items() if k not in NOT_EDITED}
    identifier = info["dandiset"]["identifier"]
    return render(
        request,
        "edit.html",
        viewer,
        dataset_id=identifier,
        dataset_name=info["name"],
        page_data=page_json(
            {
                "dataset": identifier,
                "schema": owner_schema(),
                "metadata": metadata,
                "problems": info["version_validation_errors"],
                "api": archive.api_url,
            }
        ),
    )
