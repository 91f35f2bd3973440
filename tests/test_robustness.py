"""No 500s: every numeric query parameter is bounded, odd signatures are 403s.

The routes and their numeric parameters are read from the application itself, so a new
route or parameter is covered the day it is added.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from neurodatashare.app import create_app
from neurodatashare.config import Settings
from neurodatashare.testing.live import Live

# Invalid for every numeric parameter, whatever its range.
ALWAYS_BAD = ("inf", "-inf", "nan", "NaN", "1e308", "-1e308", "1" + "0" * 400, "1e999", "x")
# Invalid for some parameters (negative sizes, sub-normal bin widths): never a 5xx.
ODD = ("-1", "5e-324", "0", "-0", "9223372036854775808", "1.5")
FILL = {"path": "/acquisition/x", "start": "0", "end": "1", "index": "0", "signature": "ab"}
FILL.update({"total": "10", "expires": "2000000000", "part_number": "1"})


def _walk(dependant: Dependant) -> list[Dependant]:
    """The route's own parameters and those of every dependency (Paging...)."""
    out = [dependant]
    for sub in dependant.dependencies:
        out.extend(_walk(sub))
    return out


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, also inside included routers (kept apart by this FastAPI version)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_routes(inner.routes) if inner is not None else [route])
    return out


def numeric_params(tmp_path: Path) -> list[tuple[str, str, str, str]]:
    """(method, path template, parameter, where) for every int/float parameter of every route."""
    app = create_app(Settings(home=tmp_path))
    found = []
    try:
        for route in _routes(app.routes):
            if not isinstance(route, APIRoute):
                continue
            if not route.methods - {"HEAD"}:
                continue  # HEAD twins of GET routes: same parameters, no body to read
            method = sorted(route.methods - {"HEAD"})[0]
            for dependant in _walk(route.dependant):
                for where, params in (
                    ("query", dependant.query_params),
                    ("path", dependant.path_params),
                ):
                    for param in params:
                        annotation = str(param.field_info.annotation)
                        if "int" in annotation or "float" in annotation:
                            found.append((method, route.path, param.alias, where))
    finally:
        app.state.archive.close()
    return found


def _request(live: Live, method: str, template: str, name: str, value: str) -> httpx.Response:
    ids = {"dataset_id": "000001", "version": "draft", "asset_id": str(uuid.uuid4())}
    ids["upload_id"] = str(uuid.uuid4())
    url = template
    for key, fill in {**ids, **FILL}.items():
        url = url.replace("{" + key + "}", value if key == name else fill)
    query = {k: v for k, v in FILL.items() if "{" + k + "}" not in template}
    if "{" + name + "}" not in template:
        query[name] = value
    return httpx.request(method, f"{live.url}{url}", params=query, content=b"", timeout=60)


def test_every_route_has_numeric_parameters_found(tmp_path: Path) -> None:
    names = {(p, n) for _m, p, n, _w in numeric_params(tmp_path)}
    assert ("/api/dandisets/", "page") in names
    assert ("/api/assets/{asset_id}/explore/psth", "bin") in names
    assert ("/", "page") in names  # web pages too


def test_numeric_parameters_refuse_non_finite_and_huge_values(live: Live, tmp_path: Path) -> None:
    params = numeric_params(tmp_path)
    assert len(params) >= 15
    for method, template, name, _where in params:
        for value in ALWAYS_BAD:
            r = _request(live, method, template, name, value)
            assert r.status_code == 400, (method, template, name, value, r.status_code, r.text)
            assert f"'{name}'" in r.json()["detail"], (template, name, r.text)
        for value in ODD:
            r = _request(live, method, template, name, value)
            assert r.status_code < 500, (method, template, name, value, r.text)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/dandisets/?page=-1", "page"),
        ("/api/dandisets/?page_size=0", "page_size"),
        ("/api/assets/{a}/explore/psth?bin=5e-324", "bin"),
        ("/api/assets/{a}/explore/psth?pre=-1", "pre"),
        ("/api/assets/{a}/explore/window?path=/x&start=0&end=1&width=-5", "width"),
        ("/api/assets/{a}/explore/table?path=/x&offset=-1", "offset"),
        ("/api/assets/{a}/explore/frame?path=/x&index=-1", "index"),
        ("/?page=0", "page"),
    ],
)
def test_out_of_range_values_name_the_parameter(live: Live, url: str, name: str) -> None:
    r = httpx.get(live.url + url.replace("{a}", str(uuid.uuid4())))
    assert r.status_code == 400
    assert f"query parameter '{name}'" in r.json()["detail"]


@pytest.mark.parametrize(
    "signature", ["é", "\u202e", "%ZZ", "a" * 5000, "", "0" * 64, "ab\x00cd", "😀" * 64]
)
def test_malformed_signatures_are_403(live: Live, signature: str) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("secret", access="private")
    asset = alice.add_file(ds, "a.bin", b"secret bytes")
    signed = alice.get(f"/api/assets/{asset['asset_id']}/download-url/").json()["url"]
    good = httpx.get(signed)
    assert good.status_code == 200 and good.content == b"secret bytes"
    url = httpx.URL(signed)
    bad = httpx.get(url.copy_set_param("signature", signature))
    assert bad.status_code == 403, bad.text
    assert "signature" in bad.json()["detail"]
    upload = alice.post(
        "/api/uploads/initialize/",
        json={
            "contentSize": 5,
            "digest": {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-1"},
            "dandiset": ds,
        },
    )
    assert upload.status_code == 200, upload.text
    part_url = httpx.URL(upload.json()["parts"][0]["upload_url"])
    put = httpx.put(part_url.copy_set_param("signature", signature), content=b"12345")
    assert put.status_code == 403, put.text
    done = httpx.post(
        f"{live.url}/api/uploads/{upload.json()['upload_id']}/storage-complete/",
        params={"signature": signature},
    )
    assert done.status_code == 403, done.text
