"""JSON request bodies: every one has a schema in the OpenAPI document, and a body that does
not fit its model gets one 400 sentence naming the field (archive/requests.py,
server/bodies.py), never a 422 list or a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from neurodatashare.app import create_app
from neurodatashare.archive import Archive
from neurodatashare.config import Settings
from neurodatashare.testing.live import Live

ETAG = {"algorithm": "dandi:dandi-etag", "value": "0" * 32 + "-1"}

# Write routes that take no JSON body, and why. Every other POST/PUT/PATCH must document one.
NOT_JSON = {
    ("POST", "/login"): "an HTML form",
    ("POST", "/oai"): "an OAI-PMH request: the same form-encoded arguments as its GET",
    ("POST", "/logout"): "no body",
    ("PUT", "/api/uploads/{upload_id}/parts/{part_number}/"): "the raw bytes of a part",
    ("POST", "/api/uploads/{upload_id}/storage-complete/"): "S3's completion XML",
    ("POST", "/api/uploads/{upload_id}/validate/"): "no body",
    ("POST", "/api/dandisets/{dataset_id}/versions/draft/publish/"): "no body",
    ("POST", "/api/zarr/{zarr_id}/finalize/"): "no body",
    ("PUT", "/api/zarr/{zarr_id}/upload/"): "the raw bytes of one Zarr file (a signed URL)",
}


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return dict(doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    return schema


def test_every_json_body_has_a_schema(tmp_path: Path) -> None:
    archive = Archive.open(Settings(home=tmp_path))
    try:
        app = create_app(archive=archive)
        doc = app.openapi()
        writes = [
            (method, route.path or "")
            for route in iter_route_contexts(app.routes)
            if isinstance(route.original_route, APIRoute)
            for method in sorted(route.methods or ())
            if method in ("POST", "PUT", "PATCH")
        ]
    finally:
        archive.close()
    assert len(writes) >= 15
    assert set(NOT_JSON) <= set(writes), set(NOT_JSON) - set(writes)
    documented = 0
    for method, path in writes:
        if (method, path) in NOT_JSON:
            continue
        operation = doc["paths"].get(path, {}).get(method.lower())
        assert operation is not None, f"{method} {path} is missing from the OpenAPI document"
        body = operation.get("requestBody")
        assert body and body.get("required"), f"{method} {path} documents no request body"
        schema = _schema(doc, body["content"]["application/json"]["schema"])
        assert schema.get("properties") or schema.get("type") == "array", (method, path, schema)
        documented += 1
    assert documented >= 9
    initialize = _schema(
        doc,
        doc["paths"]["/api/uploads/initialize/"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"],
    )
    assert {"contentSize", "digest"} <= set(initialize["required"])  # DANDI's wire names


def _bad(response: Any, *words: str) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    detail: str = response.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail, detail
    return detail


def test_missing_and_wrong_fields(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("bodies")
    init = "/api/uploads/initialize/"
    _bad(alice.post(init, json={"digest": ETAG, "dandiset": ds}), "needs a 'contentSize' field")
    _bad(
        alice.post(init, json={"contentSize": "abc", "digest": ETAG, "dandiset": ds}),
        "'contentSize' must be a whole number",
        '"abc"',
    )
    for size in (True, 1.5, "10", None):
        _bad(alice.post(init, json={"contentSize": size, "digest": ETAG, "dandiset": ds}))
    _bad(
        alice.post(init, json={"contentSize": 10, "digest": {"algorithm": "dandi:dandi-etag"}}),
        "'digest' needs a 'value' field",
    )
    _bad(
        alice.post(init, json={"contentSize": 10, "digest": {**ETAG, "algorithm": "md5"}}),
        "'digest.algorithm' must be",
        "dandi:dandi-etag",
    )
    # the service's rules about values still answer with their own sentences
    _bad(alice.post(init, json={"contentSize": -1, "digest": ETAG, "dandiset": ds}), "bytes")
    _bad(alice.post(init, json={"contentSize": 10, "digest": ETAG}), "dandiset")
    upload = alice.post(init, json={"contentSize": 10, "digest": ETAG, "dandiset": ds}).json()
    complete = f"/api/uploads/{upload['upload_id']}/complete/"
    _bad(
        alice.post(complete, json={"parts": [{"part_number": "1", "size": 10, "etag": "x"}]}),
        "'parts[0].part_number' must be a whole number",
    )
    _bad(alice.post(complete, json={"parts": {"part_number": 1}}), "'parts' must be a list")
    _bad(alice.post(complete, json={"parts": [{"part_number": 1}]}), "'parts[0]' needs a 'size'")
    _bad(
        alice.put(f"/api/dandisets/{ds}/access/", json={"access": "secret"}),
        "'access' must be one of",
        "'private'",
    )
    _bad(alice.post("/api/dandisets/", json={"name": {"nested": 1}}), "'name' must be a string")
    _bad(
        alice.post("/api/dandisets/", json={"name": "x", "metadata": []}),
        "'metadata' must be a JSON object",
    )
    _bad(
        alice.put(f"/api/dandisets/{ds}/versions/draft/", json={"name": "x"}),
        "needs a 'metadata' field",
    )
    assets = f"/api/dandisets/{ds}/versions/draft/assets/"
    _bad(
        alice.post(assets, json={"metadata": {"path": "a.txt"}}),
        "exactly one of blob_id",
        "zarr_id",
    )
    _bad(alice.post("/api/blobs/digest/", json={"algorithm": "md5", "value": "x"}), "algorithm")
    # a wrong key is still a 401 before the body is looked at
    r = live.anonymous().post(init, json={}, headers={"Authorization": "token wrong"})
    assert r.status_code == 401


def test_the_body_itself(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("bodies")
    _bad(
        alice.post("/api/dandisets/", json=["a", "list"]), "The request body must be a JSON object"
    )
    _bad(alice.post("/api/uploads/initialize/"), "The request body must be a JSON object")
    _bad(alice.post("/api/dandisets/", json="a string"), "JSON object")
    owners = f"/api/dandisets/{ds}/users/"
    _bad(alice.put(owners, json={"username": "alice"}), "JSON list", "Send a list of owners")
    _bad(alice.put(owners, json=[{"user": "alice"}]), "'[0]' needs a 'username'")
    _bad(
        alice.post(
            "/api/dandisets/",
            content=b'{"name": "x",}',
            headers={"Content-Type": "application/json"},
        ),
        "not valid JSON",
        "line 1",
    )


def test_extra_fields_are_accepted(live: Live) -> None:
    """The dandi client sends fields we do not read; they are ignored, not refused."""
    alice = live.user("alice")
    live.user("bob")
    r = alice.post(
        "/api/dandisets/", json={"name": "extra", "metadata": {"name": "extra"}, "x-tool": 1}
    )
    assert r.status_code == 200, r.text
    ds = r.json()["identifier"]
    blob = alice.upload_blob(ds, b"hello")
    r = alice.post(
        f"/api/dandisets/{ds}/versions/draft/assets/",
        json={"metadata": {"path": "a.txt"}, "blob_id": blob, "zarr_id": None},
    )
    assert r.status_code == 200, r.text
    r = alice.put(
        f"/api/dandisets/{ds}/users/",
        json=[{"username": "alice", "name": "Alice A."}, {"username": "bob", "name": "Bob"}],
    )
    assert r.status_code == 200 and len(r.json()) == 2, r.text
    r = alice.post(
        "/api/uploads/initialize/",
        json={"contentSize": 10, "digest": {**ETAG, "note": 1}, "dandiset": ds, "extra": [1]},
    )
    assert r.status_code == 200, r.text
    # the name may come from the metadata alone, as before
    r = alice.post("/api/dandisets/", json={"metadata": {"name": "From metadata"}})
    assert r.status_code == 200, r.text


def test_json_whatever_the_content_type(live: Live) -> None:
    """`curl -d` labels JSON as a form; the body was always read as JSON, and still is."""
    alice = live.user("alice")
    r = alice.post(
        "/api/dandisets/",
        content=b'{"name": "curl"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    r = alice.post("/api/dandisets/", content=b'{"name": "unlabelled"}')
    assert r.status_code == 200, r.text


def test_size_limit_before_parsing(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("big")
    limit = live.archive.settings.max_json_bytes
    big = {"metadata": {"description": "y" * limit}}
    r = alice.put(f"/api/dandisets/{ds}/versions/draft/", json=big)
    assert r.status_code == 413 and f"larger than {limit} bytes" in r.json()["detail"]

    def chunks() -> Any:  # no Content-Length: the limit holds while the body streams in
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    r = alice.post(
        "/api/uploads/initialize/", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    # just under the limit is read, then judged on its fields
    r = alice.post("/api/uploads/initialize/", json={"pad": "x" * (limit - 100)})
    _bad(r, "needs a 'contentSize' field")
