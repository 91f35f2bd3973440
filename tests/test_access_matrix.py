"""The access matrix: every route of the application, every role, every access state.

Routes come from the application's own router (`create_app().routes`), so a route added
tomorrow is checked tomorrow: if this test does not know how to fill one of its path
parameters, required query parameters or (for POST/PUT) its body, it fails and says so.

For an open, an embargoed and a private dataset, and one that was open (read by everyone,
indexes built, links handed out) and then made private, each with a draft and a published
version, an NWB asset with its streaming index, an unfinished upload and a blob, every
route is called as anonymous, as another signed-in user (API key and web session) and as
the owner; each dataset also holds a Zarr asset (its draft Zarr and the published
version's frozen copy). Then:

- for a caller who may not see the dataset, the answer about it must equal, status and
  body, the answer about identifiers that do not exist (after putting the request's own
  identifiers back to placeholders);
- no answer to a caller without access may contain a hidden dataset's name, description,
  asset path, asset id, blob id, digest or file bytes (listings, search, digests, indexes,
  explorer data, web pages and signed links included);
- the owner's answer differs from the missing-id answer (so the fill reaches real data).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from neurodatashare.testing.factories import dandi_etag, poll, publishable_metadata
from neurodatashare.testing.live import Live
from neurodatashare.testing.nwbfiles import make_ephys_file

# "made-private" was open (files uploaded, a version published, indexes built) and was
# then made private: nothing handed out or cached while it was open may still show it.
STATES = ("open", "embargoed", "private", "made-private")
LEVEL = {"open": "open", "embargoed": "embargoed", "private": "private", "made-private": "private"}
ROLES = ("anonymous", "other", "owner")
EMBARGO_END = "2099-01-01"
MISSING_DATASET = "999999"
MISSING_ASSET = "5d0c4a52-8f59-4e7f-9d61-2b8a3c9e1f00"
MISSING_UPLOAD = "0b7e6d7a-3a4f-4c1e-8e2d-6f5a4b3c2d10"
MISSING_BLOB = "7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8"
MISSING_ZARR = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98"
ZARR_MD5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
FUTURE = str(int(time.time()) + 3600)
FORGED = "0" * 64

# Routes that need no dataset fill and hold nothing private: docs and static files.
STATIC = {
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/assets",  # Swagger UI files (fastapi-offline): the same for everyone
    "/docs/oauth2-redirect",
    "/static",
}


@dataclass
class Target:
    """The identifiers a request is filled with: one dataset's, or ones that do not exist."""

    state: str
    ds: str
    version: str
    asset_id: str
    upload_id: str
    blob_id: str
    etag: str
    size: int
    name: str
    zarr_id: str = MISSING_ZARR
    zarr_path: str = "missing.zarr"
    part_query: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    real: bool = True

    def missing(self) -> Target:
        """Identifiers that do not exist, in the same shapes (bodies stay alike)."""
        return Target(
            real=False,
            state=self.state,
            ds=MISSING_DATASET,
            version=self.version,
            asset_id=MISSING_ASSET,
            upload_id=MISSING_UPLOAD,
            blob_id=MISSING_BLOB,
            zarr_id=MISSING_ZARR,
            zarr_path="matrix-missing-name-q7x/vol-missing.zarr",
            etag=("f" * 32) + self.etag[32:],  # the same part count, never uploaded
            size=self.size,
            name="Matrix-missing-name-q7x",
            part_query={"total": str(self.size), "expires": FUTURE, "signature": FORGED},
        )

    def placeholders(self) -> dict[str, str]:
        return {
            self.ds: "<DS>",
            self.asset_id: "<ASSET>",
            self.upload_id: "<UPLOAD>",
            self.blob_id: "<BLOB>",
            self.zarr_id: "<ZARR>",
            self.etag: "<ETAG>",
            self.name: "<NAME>",
        }


Fill = Callable[[Target, str, "World"], Any]

PATH_PARAMS: dict[str, Fill] = {
    "dataset_id": lambda t, _r, _w: t.ds,
    "version": lambda t, _r, _w: t.version,
    "asset_id": lambda t, _r, _w: t.asset_id,
    "upload_id": lambda t, _r, _w: t.upload_id,
    "blob_id": lambda t, _r, _w: t.blob_id,  # /blobs/{blob_id}, the direct contentUrl
    "part_number": lambda _t, _r, _w: "1",
    "subject_id": lambda _t, _r, _w: "mouse001",  # the Subject of make_ephys_file
    "cell_id": lambda _t, _r, _w: "cell-matrix",  # no such cell: a clear 404 for the owner
    "zarr_id": lambda t, _r, _w: t.zarr_id,
    "name": lambda _t, _r, _w: ".zgroup",  # the signed Zarr file route's file name
    "other": lambda _t, _r, _w: "draft",  # a version diff: the published one to the draft
    "job_id": lambda _t, _r, _w: "0" * 16,  # a conversion job: nobody's (404, or 403 when off)
}


def _part(name: str) -> Fill:
    """Part URLs are capabilities: the owner has the real one, nobody else does."""

    def fill(t: Target, role: str, _w: World) -> str:
        if role == "owner" and t.real:
            return t.part_query[name]
        return {"total": str(t.size), "expires": FUTURE, "signature": FORGED}[name]

    return fill


REQUIRED_QUERY: dict[str, Fill] = {
    "path": lambda _t, _r, _w: "/units",
    "start": lambda _t, _r, _w: "0",
    "end": lambda _t, _r, _w: "0.5",
    "index": lambda _t, _r, _w: "0",
    "genes": lambda _t, _r, _w: "Gad1,Sst",  # the expression views (routes/expression.py)
    "total": _part("total"),
    "expires": _part("expires"),
    "signature": _part("signature"),
    "md5": lambda _t, _r, _w: "0" * 32,  # Zarr upload URLs: forged for everyone
    "key": lambda _t, _r, _w: "zarrs/abc/x",  # Zarr download links: forged for everyone
    "offset": lambda _t, _r, _w: "0",  # chunk tables: a byte range
    "length": lambda _t, _r, _w: "16",
}


def _published(t: Target, w: World) -> str:
    """The target's published version (routes without {version} are filled as the draft)."""
    return next(x.version for x in w.targets[t.state] if x.version != "draft")


def _oai_id(t: Target, w: World) -> str:
    host = httpx.URL(w.live.url).host
    return f"oai:{host}:{t.ds}/{_published(t, w)}"


# Routes for crawlers (sitemap, OAI-PMH): they show published open data to everyone alike,
# so even the owner of a hidden dataset gets the answer about a missing one.
PUBLIC_ONLY = {"/oai", "/sitemap.xml"}

# (method, path) -> the JSON (or form) bodies to send; writes need one entry each.
BODIES: dict[tuple[str, str], Fill] = {
    ("POST", "/api/dandisets/"): lambda _t, _r, _w: {"name": "Matrix created"},
    ("PUT", "/api/dandisets/{dataset_id}/users/"): lambda _t, _r, _w: [{"username": "alice"}],
    ("PUT", "/api/dandisets/{dataset_id}/access/"): lambda t, _r, _w: {
        "access": LEVEL[t.state],
        "embargo_end": EMBARGO_END if t.state == "embargoed" else None,
    },
    ("PUT", "/api/dandisets/{dataset_id}/versions/{version}/"): lambda t, _r, _w: {
        "name": t.name,
        "metadata": publishable_metadata(name=t.name),
    },
    ("POST", "/api/dandisets/{dataset_id}/versions/draft/publish/"): lambda _t, _r, _w: None,
    ("POST", "/api/dandisets/{dataset_id}/versions/{version}/assets/"): lambda t, _r, _w: {
        "metadata": {"path": "added/by-matrix.nwb"},
        "blob_id": t.blob_id,
    },
    (
        "PUT",
        "/api/dandisets/{dataset_id}/versions/{version}/assets/{asset_id}/",
    ): lambda t, _r, _w: {
        "metadata": {"path": "replaced/by-matrix.nwb"},
        "blob_id": t.blob_id,
    },
    ("POST", "/api/uploads/initialize/"): lambda t, _r, _w: {
        "contentSize": t.size,
        "digest": {"algorithm": "dandi:dandi-etag", "value": t.etag},
        "dandiset": t.ds,
    },
    ("POST", "/api/uploads/{upload_id}/complete/"): lambda _t, _r, _w: {"parts": []},
    ("POST", "/api/uploads/{upload_id}/validate/"): lambda _t, _r, _w: None,
    ("POST", "/api/blobs/digest/"): lambda t, _r, _w: {
        "algorithm": "dandi:dandi-etag",
        "value": t.etag,
    },
    ("PUT", "/api/uploads/{upload_id}/parts/{part_number}/"): lambda _t, _r, _w: b"x",
    ("POST", "/api/uploads/{upload_id}/storage-complete/"): lambda _t, _r, _w: None,
    ("POST", "/api/zarr/"): lambda t, _r, _w: {"name": "added/by-matrix.zarr", "dandiset": t.ds},
    ("POST", "/api/zarr/{zarr_id}/files/"): lambda _t, _r, _w: [
        {"path": "matrix/added", "base64md5": ZARR_MD5}
    ],
    ("DELETE", "/api/zarr/{zarr_id}/files/"): lambda _t, _r, _w: [{"path": "matrix/none"}],
    ("POST", "/api/zarr/{zarr_id}/finalize/"): lambda _t, _r, _w: None,
    ("PUT", "/api/zarr/{zarr_id}/upload/"): lambda _t, _r, _w: b"x",
    ("POST", "/login"): lambda _t, _r, _w: {"username": "nobody", "password": "wrong"},
    ("POST", "/oai"): lambda t, _r, w: {
        "verb": "GetRecord",
        "identifier": _oai_id(t, w),
        "metadataPrefix": "oai_dc",
    },
    ("POST", "/logout"): lambda _t, _r, _w: None,
    ("POST", "/api/convert/sessions/"): lambda _t, _r, _w: {"root": "/", "streams": []},
    ("POST", "/api/convert/metadata/"): lambda _t, _r, _w: {"streams": []},
    ("POST", "/api/convert/jobs/"): lambda _t, _r, _w: {"kind": "preview", "streams": []},
    ("POST", "/api/convert/jobs/{job_id}/upload/"): lambda t, _r, _w: {"dataset_id": t.ds},
}
FORM_BODIES = {("POST", "/login"), ("POST", "/oai")}

# Extra requests per route (beyond the plain fill): searches, filters, signed links...
VARIANTS: dict[str, list[dict[str, Fill]]] = {
    "/api/dandisets/": [
        # (DANDI leaves embargoed datasets out of listings unless asked: embargoed=true)
        {"search": lambda t, _r, _w: t.name, "embargoed": lambda _t, _r, _w: "true"},
        {"search": lambda t, _r, _w: t.ds, "embargoed": lambda _t, _r, _w: "true"},
        {"user": lambda _t, _r, _w: "me"},
        {"embargoed": lambda _t, _r, _w: "true"},
        {"embargoed": lambda _t, _r, _w: "True", "search": lambda t, _r, _w: t.name},
        {"embargoed": lambda _t, _r, _w: "true", "draft": lambda _t, _r, _w: "false"},
        {"embargoed": lambda _t, _r, _w: "true", "empty": lambda _t, _r, _w: "false"},
        {"embargoed": lambda _t, _r, _w: "true", "user": lambda _t, _r, _w: "me"},
        {"ordering": lambda _t, _r, _w: "-modified"},
        {"ordering": lambda _t, _r, _w: "-size", "embargoed": lambda _t, _r, _w: "true"},
        {"ordering": lambda _t, _r, _w: "name", "embargoed": lambda _t, _r, _w: "true"},
    ],
    # the search page (the home page redirects words there); hidden data must not count
    "/search": [
        {"q": lambda t, _r, _w: t.name},
        {"q": lambda t, _r, _w: t.ds},
        {"access": lambda t, _r, _w: LEVEL[t.state]},
        {"q": lambda _t, _r, _w: "ephys mouse", "species": lambda _t, _r, _w: "Mus musculus"},
    ],
    "/api/search/": [
        {"q": lambda t, _r, _w: t.name},
        {"q": lambda t, _r, _w: t.ds},
        {"q": lambda _t, _r, _w: "ephys mouse"},  # words of every target's files
        {"species": lambda _t, _r, _w: "Mus musculus"},
        {"format": lambda _t, _r, _w: "nwb", "ordering": lambda _t, _r, _w: "name"},
        {"access": lambda _t, _r, _w: "private"},
        {"access": lambda _t, _r, _w: "embargoed"},
        {"electrodes_min": lambda _t, _r, _w: "1"},
        {"q": lambda t, _r, _w: t.name, "format": lambda _t, _r, _w: "zarr"},
    ],
    "/api/dandisets/{dataset_id}/versions/{version}/assets/": [
        {"metadata": lambda _t, _r, _w: "true"},
        {"glob": lambda _t, _r, _w: "sub-*"},
        {"glob": lambda _t, _r, _w: "SUB-*"},
    ],
    "/api/dandisets/{dataset_id}/versions/{version}/assets/paths/": [
        {"path_prefix": lambda t, _r, _w: t.name.lower()},
    ],
    "/api/assets/{asset_id}/download/": [
        {"expires": lambda _t, _r, _w: FUTURE, "signature": lambda _t, _r, _w: FORGED},
    ],
    "/asset/{asset_id}": [
        {"dataset": lambda t, _r, _w: t.ds, "version": lambda _t, _r, _w: "draft"},
    ],
    "/dandiset/{dataset_id}/{version}": [{"location": lambda t, _r, _w: t.name.lower()}],
    "/api/assets/{asset_id}/explore/embedding": [
        {"key": lambda _t, _r, _w: "X_umap", "color": lambda _t, _r, _w: "cell_type"},
        {"x0": lambda _t, _r, _w: "-1", "x1": lambda _t, _r, _w: "1", "bin": lambda *_: "8"},
    ],
    "/api/assets/{asset_id}/explore/genes": [{"q": lambda _t, _r, _w: "gad"}],
    "/api/zarr/": [
        {"dandiset": lambda t, _r, _w: t.ds},
        {"dandiset": lambda t, _r, _w: t.ds, "name": lambda t, _r, _w: t.zarr_path},
    ],
    **{
        files: [
            {"prefix": lambda _t, _r, _w: "0"},
            {"prefix": lambda _t, _r, _w: ".zgroup", "download": lambda _t, _r, _w: "true"},
        ]
        for files in ("/api/zarr/{zarr_id}/files", "/api/zarr/{zarr_id}/files/")
    },
    "/api/assets/{asset_id}/explore/elements": [
        {"path": lambda _t, _r, _w: "/0", "offset": lambda *_: "1", "limit": lambda *_: "5"},
    ],
    "/api/assets/{asset_id}/related/": [
        {"dataset": lambda t, _r, _w: t.ds, "version": lambda t, _r, _w: t.version},
    ],
    "/api/assets/{asset_id}/explore/dotplot": [{"group": lambda _t, _r, _w: "cell_type"}],
    "/api/dandisets/{dataset_id}/versions/{version}/citation/": [
        {"format": lambda _t, _r, _w: "bibtex"},
        {"format": lambda _t, _r, _w: "ris"},
        {"format": lambda _t, _r, _w: "csl-json"},
        {"format": lambda _t, _r, _w: "datacite-json"},
        {"format": lambda _t, _r, _w: "datacite-xml"},
    ],
    "/oai": [
        {"verb": lambda *_: "ListRecords", "metadataPrefix": lambda *_: "oai_dc"},
        {"verb": lambda *_: "ListRecords", "metadataPrefix": lambda *_: "oai_datacite"},
        {"verb": lambda *_: "ListIdentifiers", "metadataPrefix": lambda *_: "oai_dc"},
        {"verb": lambda *_: "ListSets"},
        {
            "verb": lambda *_: "GetRecord",
            "identifier": lambda t, _r, w: _oai_id(t, w),
            "metadataPrefix": lambda *_: "oai_datacite",
        },
        {"verb": lambda *_: "ListMetadataFormats", "identifier": lambda t, _r, w: _oai_id(t, w)},
        {
            "verb": lambda *_: "ListIdentifiers",
            "metadataPrefix": lambda *_: "oai_dc",
            "set": lambda t, _r, _w: f"dandiset:{t.ds}",
        },
    ],
    "/api/assets/{asset_id}/explore/cells": [
        {"sort": lambda _t, _r, _w: "cell_type", "filter": lambda *_: "cell_type:eq:Sst"},
    ],
}
# Dedup: the target's blob offered for the caller's *own* dataset, as (own path, body).
WRITE_VARIANTS: dict[tuple[str, str], list[tuple[bool, Fill | None]]] = {
    ("POST", "/api/uploads/initialize/"): [
        (
            False,
            lambda t, r, w: {
                "contentSize": t.size,
                "digest": {"algorithm": "dandi:dandi-etag", "value": t.etag},
                "dandiset": w.own[r],
            },
        )
    ],
    ("POST", "/api/dandisets/{dataset_id}/versions/{version}/assets/"): [
        (True, None),
        # the target's Zarr attached to the caller's own dataset
        (True, lambda t, _r, _w: {"metadata": {"path": "own.zarr"}, "zarr_id": t.zarr_id}),
    ],
}
# The same path with another spelling of its last segment (the explorer page's JSON).
SUFFIXES: dict[str, list[str]] = {"/asset/{asset_id}": [".json"]}


@dataclass
class World:
    live: Live
    targets: dict[str, list[Target]]
    headers: dict[str, dict[str, str]]
    cookies: dict[str, dict[str, str]]
    secrets: list[str]
    own: dict[str, str]  # each role's own open dataset (anonymous: the other user's)
    clients: dict[str, httpx.Client] = field(default_factory=dict)


def _login(live: Live, username: str, password: str) -> dict[str, str]:
    with httpx.Client(base_url=live.url) as c:
        r = c.post("/login", data={"username": username, "password": password})
        assert r.status_code == 303, r.text
        return dict(c.cookies)


def _build(live: Live, tmp: Path) -> World:
    alice = live.user("alice", password="alice-password")
    bob = live.user("bob", password="bob-password")
    anon = live.anonymous()
    targets: dict[str, list[Target]] = {}
    secrets: list[str] = []
    for state in STATES:
        name = f"Matrix-{state}-name-q7x"
        meta = publishable_metadata(description=f"Matrix {state} description q7x")
        ds = alice.create_dataset(
            name,
            metadata=meta,
            access="open" if state == "made-private" else state,
            embargo_end=EMBARGO_END if state == "embargoed" else None,
        )
        nwb = make_ephys_file(
            tmp / f"{state}.nwb", n_channels=4, duration_s=0.5, n_units=3, identifier=state
        )
        path = f"{name.lower()}/sub-{state}q7x_ecephys.nwb"
        asset = alice.add_file(ds, path, nwb.read_bytes())
        zarr_path = f"{name.lower()}/vol-{state}q7x.zarr"
        zarr_bytes = f"zarr bytes of {state} q7x".encode()
        zarr_asset = alice.add_zarr(
            ds, zarr_path, {".zgroup": b'{"zarr_format": 2}', "0/0": zarr_bytes}
        )
        alice.wait_for_checks(asset["asset_id"])
        poll(
            lambda aid=asset["asset_id"]: (
                alice.get(f"/api/assets/{aid}/lindi.json").status_code == 200
            ),
            what="lindi index",
        )
        info = alice.wait_for_status(ds)
        assert info["status"] == "Valid", info
        published = alice.publish(ds)["version"]
        frozen = alice.get(
            f"/api/dandisets/{ds}/versions/{published}/assets/", params={"glob": "*.zarr"}
        ).json()["results"][0]["zarr"]
        # an unfinished upload of other bytes, with the owner's real part URL
        pending = f"pending upload of {state} q7x".encode() * 10
        r = alice.post(
            "/api/uploads/initialize/",
            json={
                "contentSize": len(pending),
                "digest": {"algorithm": "dandi:dandi-etag", "value": dandi_etag(pending)},
                "dandiset": ds,
            },
        )
        assert r.status_code == 200, r.text
        init = r.json()
        query = dict(httpx.URL(init["parts"][0]["upload_url"]).params)
        blob = alice.get(f"/api/assets/{asset['asset_id']}/").json()
        if state == "made-private":
            for caller in (anon, bob):  # read while open, so anything cached is warm
                for tail in ("", "lindi.json", "download-url/", "explore/tree", "validation/"):
                    assert caller.get(f"/api/assets/{asset['asset_id']}/{tail}").status_code == 200
            r = alice.put(f"/api/dandisets/{ds}/access/", json={"access": "private"})
            assert r.status_code == 200, r.text
        hidden = [name, meta["description"], path, path.rsplit("/", 1)[-1], asset["asset_id"]]
        hidden += [asset["blob"], blob["digest"]["dandi:dandi-etag"], init["upload_id"]]
        hidden += [zarr_path, zarr_asset["zarr"], frozen, zarr_bytes.decode()]
        if state != "open":
            secrets += hidden
        targets[state] = [
            Target(
                state=state,
                ds=ds,
                version=version,
                asset_id=asset["asset_id"],
                upload_id=init["upload_id"],
                blob_id=asset["blob"],
                etag=blob["digest"]["dandi:dandi-etag"],
                size=blob["contentSize"],
                name=name,
                zarr_id=zarr_asset["zarr"],
                zarr_path=zarr_path,
                part_query=query,
                secrets=hidden,
            )
            for version in ("draft", published)
        ]
    return World(
        live=live,
        targets=targets,
        headers={
            "anonymous": {},
            "other": {"Authorization": f"token {bob.key}"},
            "owner": {"Authorization": f"token {alice.key}"},
        },
        cookies={
            "anonymous": {},
            "other": _login(live, "bob", "bob-password"),
            "owner": _login(live, "alice", "alice-password"),
        },
        secrets=secrets,
        own={
            "anonymous": bob.create_dataset("Bob's own"),
            "other": bob.create_dataset("Bob's other"),
            "owner": alice.create_dataset("Alice's other"),
        },
    )


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the route's path template
    url_suffix: str
    query: tuple[tuple[str, Fill], ...]
    own_dataset: bool = False  # the dataset in the path is the caller's own, not the target's
    body: Fill | None = None  # instead of BODIES[(method, path)]


def _walk(dependant: Any) -> Any:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def enumerate_calls(app: Any) -> tuple[list[Call], list[str]]:
    """Every (method, route) of the app with how to fill it; and what it cannot fill."""
    calls: list[Call] = []
    unknown: list[str] = []
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        path = route.path or ""
        if isinstance(original, Mount) or not isinstance(original, APIRoute):
            if path not in STATIC:
                unknown.append(f"{type(original).__name__} {path}: not an API route; add it")
            continue
        params = re.findall(r"{(\w+)}", path)
        missing = [p for p in params if p not in PATH_PARAMS]
        required = [
            p.alias
            for d in _walk(route.dependant)
            for p in d.query_params
            if p.field_info.is_required()
        ]
        missing += [q for q in required if q not in REQUIRED_QUERY]
        for method in sorted(route.methods or ()):
            if method in ("POST", "PUT", "PATCH") and (method, path) not in BODIES:
                unknown.append(f"{method} {path}: no body in BODIES")
                continue
            if missing:
                unknown.append(f"{method} {path}: cannot fill {missing}")
                continue
            base = tuple((q, REQUIRED_QUERY[q]) for q in required)
            reads = method in ("GET", "HEAD")
            for extra in [{}, *(VARIANTS.get(path, []) if reads else [])]:
                for suffix in ["", *SUFFIXES.get(path, [])]:
                    calls.append(Call(method, path, suffix, base + tuple(extra.items())))
            for own, body in WRITE_VARIANTS.get((method, path), []):
                calls.append(Call(method, path, "", base, own_dataset=own, body=body))
    return calls, unknown


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def _prepare(world: World, call: Call, target: Target, role: str) -> dict[str, Any]:
    path = call.path
    for name in re.findall(r"{(\w+)}", path):
        value = PATH_PARAMS[name](target, role, world)
        if name == "dataset_id" and call.own_dataset:
            value = world.own[role]
        path = path.replace("{" + name + "}", str(value))
    request: dict[str, Any] = {
        "method": call.method,
        "url": path + call.url_suffix,
        "params": {k: fill(target, role, world) for k, fill in call.query},
    }
    body_fill = call.body or BODIES.get((call.method, call.path))
    body = body_fill(target, role, world) if body_fill else None
    if (call.method, call.path) in FORM_BODIES:
        request["data"] = body
    elif isinstance(body, bytes):
        request["content"] = body
    elif body is not None:
        request["json"] = body
    return request


def _send(world: World, request: dict[str, Any], role: str) -> Answer:
    client = world.clients[role]
    # nothing (a cookie from /login or /logout) carries over from one call to the next
    client.cookies = httpx.Cookies(world.cookies[role])
    r = client.request(**request)
    return Answer(r.status_code, r.headers.get("content-type", ""), r.content)


GENERAL = [
    (re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), b"<UUID>"),
    (re.compile(rb"[0-9a-f]{64}"), b"<HEX>"),
    (re.compile(rb"expires=\d+"), b"expires=<N>"),
    (re.compile(rb"<responseDate>[^<]*</responseDate>"), b"<responseDate/>"),  # OAI-PMH
    # initialize again of the caller's own unfinished upload (the missing target's etag,
    # tried in every state): it says so, which tells of the caller's requests, not a target
    (re.compile(rb',"resumed":true'), b""),
]


def _echoes_removed(answer: Answer, target: Target) -> bytes:
    body = answer.body
    for value, placeholder in target.placeholders().items():
        body = body.replace(value.encode(), placeholder.encode())
        body = body.replace(value.lower().encode(), placeholder.encode())
    return body


def _normal(body: bytes) -> bytes:
    for pattern, placeholder in GENERAL:
        body = pattern.sub(placeholder, body)
    return body


def _may_see(role: str, state: str, path: str = "") -> bool:
    if path in PUBLIC_ONLY:
        return LEVEL[state] == "open"
    return role == "owner" or LEVEL[state] == "open"


def _order(call: Call) -> tuple[int, int]:
    """Reads first; then writes; deleting comes last (dataset last of all)."""
    if call.method in ("GET", "HEAD"):
        return (0, 0)
    if call.method == "DELETE":
        return (2, 1 if call.path == "/api/dandisets/{dataset_id}/" else 0)
    return (1, 0)


def test_access_matrix(live: Live, tmp_path: Path) -> None:
    from neurodatashare.app import create_app

    calls, unknown = enumerate_calls(create_app(archive=live.archive))
    assert not unknown, "the access matrix cannot fill these routes:\n" + "\n".join(unknown)
    world = _build(live, tmp_path)
    for role in ROLES:
        world.clients[role] = httpx.Client(
            base_url=live.url, headers=world.headers[role], timeout=60
        )
    leaks: list[str] = []
    checked: set[tuple[str, str, str, str]] = set()
    requests = 0
    for call in sorted(calls, key=_order):
        roles = ROLES if call.method in ("GET", "HEAD") else ("anonymous", "other", "owner")
        for role in roles:
            for state in STATES:
                for target in world.targets[state]:
                    if "{version}" not in call.path and target.version != "draft":
                        continue
                    label = f"{call.method} {call.path}{call.url_suffix} {role} {state}"
                    label += f" {target.version} {[k for k, _ in call.query]}"
                    request = _prepare(world, call, target, role)
                    got = _send(world, request, role)
                    requests += 1
                    checked.add((call.method, call.path, role, state))
                    if got.status >= 500:
                        leaks.append(f"{label}: server error {got.status}")
                    viewer = _may_see(role, state, call.path)
                    if role != "owner":
                        text = _echoes_removed(got, target)
                        leaks += [
                            f"{label}: shows hidden {s!r}"
                            for s in world.secrets
                            if s.encode() in text or s.lower().encode() in text
                        ]
                        if not viewer and HDF5_MAGIC in got.body:
                            leaks.append(f"{label}: file bytes")
                    if viewer and role != "owner":
                        continue
                    absent_request = _prepare(world, call, target.missing(), role)
                    if absent_request == request:
                        continue  # the request names nothing of the dataset (a listing)
                    absent = _send(world, absent_request, role)
                    requests += 1
                    same = (
                        got.status == absent.status
                        and got.content_type == absent.content_type
                        and _normal(_echoes_removed(got, target))
                        == _normal(_echoes_removed(absent, target.missing()))
                    )
                    if role != "owner" and not same:
                        leaks.append(
                            f"{label}: hidden {got.status} {got.body[:160]!r} "
                            f"!= missing {absent.status} {absent.body[:160]!r}"
                        )
                    capability_only = any(k == "signature" for k, _ in call.query)
                    hidden_here = call.path in PUBLIC_ONLY and not viewer
                    owner_sees = not capability_only and not hidden_here
                    if role == "owner" and same and call.method == "GET" and owner_sees:
                        leaks.append(f"{label}: the owner gets the missing-id answer")
    for client in world.clients.values():
        client.close()
    routes = {(c.method, c.path) for c in calls}
    print(
        f"\naccess matrix [{live.backend}]: {len(routes)} routes x {len(ROLES)} roles x "
        f"{len(STATES)} states = {len(checked)} cells, {requests} requests, {len(leaks)} leaks"
    )
    assert len(checked) == len(routes) * len(ROLES) * len(STATES)
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:60])


def test_the_matrix_refuses_a_route_it_cannot_fill(tmp_path: Path) -> None:
    """A route added without telling the matrix how to fill it makes the matrix fail."""
    from neurodatashare.app import create_app
    from neurodatashare.config import Settings

    app = create_app(Settings(home=tmp_path))
    try:

        @app.get("/api/things/{thing_id}/")
        def thing(thing_id: str) -> dict[str, str]:
            return {"id": thing_id}

        @app.post("/api/dandisets/{dataset_id}/frobnicate/")
        def frob(dataset_id: str) -> None:
            return None

        _calls, unknown = enumerate_calls(app)
        assert any("/api/things/{thing_id}/" in u and "thing_id" in u for u in unknown)
        assert any("frobnicate" in u and "no body" in u for u in unknown)
    finally:
        app.state.archive.close()
