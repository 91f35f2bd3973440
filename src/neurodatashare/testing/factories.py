"""Test helpers that talk to a running archive over real HTTP, the way clients do.

`Caller` wraps an httpx client with a user's key and knows the DANDI upload protocol, so
tests can set up datasets and files in one line each.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from neurodatashare.storage.digests import EtagHasher, part_plan


def poll(check: Any, *, timeout: float = 60, what: str = "condition") -> Any:
    """Call `check()` until it returns something truthy (background jobs finishing)."""
    import time

    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def publishable_metadata(**extra: Any) -> dict[str, Any]:
    """The smallest metadata a dataset needs before it may be published."""
    meta: dict[str, Any] = {
        "description": "Test recordings",
        "license": ["spdx:CC-BY-4.0"],
        "contributor": [
            {
                "schemaKey": "Person",
                "name": "Doe, Jane",
                "email": "jane.doe@example.org",
                "roleName": ["dcite:ContactPerson", "dcite:Author"],
            }
        ],
    }
    meta.update(extra)
    return meta


def dandi_etag(data: bytes) -> str:
    etag = EtagHasher(len(data))
    etag.update(data)
    return etag.hexdigest()


class Caller:
    """One user (or anonymous) talking to the API."""

    def __init__(self, base_url: str, key: str | None = None, *, username: str = "") -> None:
        headers = {"Authorization": f"token {key}"} if key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        self.storage = httpx.Client(timeout=60)  # part URLs get no Authorization, as in dandi
        self.key = key
        self.username = username

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    # shorthands
    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.get(url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.post(url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.put(url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        if "json" in kw:  # httpx's delete() takes no body; DANDI's Zarr API sends one
            return self.http.request("DELETE", url, **kw)
        return self.http.delete(url, **kw)

    def create_dataset(
        self,
        name: str = "Test dataset",
        *,
        metadata: dict[str, Any] | None = None,
        access: str | None = None,
        embargo_end: str | None = None,
    ) -> str:
        meta = metadata if metadata is not None else publishable_metadata()
        params: dict[str, str] = {}
        if access:
            params["access"] = access
        if embargo_end:
            params["embargo_end_date"] = embargo_end
        r = self.post(
            "/api/dandisets/",
            params=params,
            json={
                "name": name,
                "metadata": meta,
            },
        )
        assert r.status_code == 200, r.text
        identifier: str = r.json()["identifier"]
        return identifier

    def upload_blob(self, dataset_id: str, data: bytes) -> str:
        """Run initialize -> parts -> complete -> validate; return the blob id."""
        etag = dandi_etag(data)
        r = self.post(
            "/api/uploads/initialize/",
            json={
                "contentSize": len(data),
                "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
                "dandiset": dataset_id,
            },
        )
        if r.status_code == 409:
            return r.headers["Location"]
        assert r.status_code == 200, r.text
        init = r.json()
        done = []
        for part, plan in zip(init["parts"], part_plan(len(data)), strict=True):
            chunk = data[plan.offset : plan.offset + plan.size]
            pr = self.storage.put(part["upload_url"], content=chunk)
            assert pr.status_code == 200, pr.text
            done.append(
                {
                    "part_number": part["part_number"],
                    "size": part["size"],
                    "etag": pr.headers["ETag"].strip('"'),
                }
            )
        r = self.post(f"/api/uploads/{init['upload_id']}/complete/", json={"parts": done})
        assert r.status_code == 200, r.text
        xml = self.storage.post(r.json()["complete_url"], content=r.json()["body"])
        assert xml.status_code == 200 and etag in xml.text, xml.text
        r = self.post(f"/api/uploads/{init['upload_id']}/validate/")
        assert r.status_code == 200, r.text
        blob_id: str = r.json()["blob_id"]
        return blob_id

    def add_file(self, dataset_id: str, path: str, data: bytes, **meta: Any) -> dict[str, Any]:
        blob_id = self.upload_blob(dataset_id, data)
        r = self.post(
            f"/api/dandisets/{dataset_id}/versions/draft/assets/",
            json={"metadata": {"path": path, **meta}, "blob_id": blob_id},
        )
        assert r.status_code == 200, r.text
        asset: dict[str, Any] = r.json()
        return asset

    def put_zarr_files(self, zarr_id: str, files: dict[str, bytes]) -> None:
        """Upload Zarr files as the dandi client does: signed URLs, then PUT with MD5."""
        import base64

        items = list(files.items())
        for start in range(0, len(items), 255):
            batch = items[start : start + 255]
            md5s = [base64.b64encode(hashlib.md5(d).digest()).decode() for _p, d in batch]
            r = self.post(
                f"/api/zarr/{zarr_id}/files/",
                json=[{"path": p, "base64md5": m} for (p, _d), m in zip(batch, md5s, strict=True)],
            )
            assert r.status_code == 200, r.text
            for url, (_p, data), md5 in zip(r.json(), batch, md5s, strict=True):
                pr = self.storage.put(url, content=data, headers={"Content-MD5": md5})
                assert pr.status_code == 200, pr.text

    def finalize_zarr(self, zarr_id: str, *, timeout: float = 60) -> dict[str, Any]:
        """Finalize and wait until the checksum is computed (status Complete)."""
        r = self.post(f"/api/zarr/{zarr_id}/finalize/")
        assert r.status_code == 204, r.text
        return poll(
            lambda: (z := self.get(f"/api/zarr/{zarr_id}/").json())["status"] == "Complete" and z,
            timeout=timeout,
            what="Zarr checksum",
        )

    def add_zarr(self, dataset_id: str, path: str, files: dict[str, bytes]) -> dict[str, Any]:
        """A Zarr asset as `dandi upload` makes one: Zarr, asset, files, finalize."""
        r = self.post("/api/zarr/", json={"name": path, "dandiset": dataset_id})
        assert r.status_code == 200, r.text
        zarr_id = r.json()["zarr_id"]
        r = self.post(
            f"/api/dandisets/{dataset_id}/versions/draft/assets/",
            json={"metadata": {"path": path}, "zarr_id": zarr_id},
        )
        assert r.status_code == 200, r.text
        self.put_zarr_files(zarr_id, files)
        self.finalize_zarr(zarr_id)
        asset: dict[str, Any] = r.json()
        return asset

    def wait_for_checks(self, asset_id: str, *, timeout: float = 120) -> dict[str, Any]:
        """Poll the asset's validation report until the archive has checked the file."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            r = self.get(f"/api/assets/{asset_id}/validation/")
            assert r.status_code == 200, r.text
            report: dict[str, Any] = r.json()
            if report["status"] != "pending":
                return report
            assert time.monotonic() < deadline, f"asset {asset_id} still pending"
            time.sleep(0.1)

    def wait_for_status(self, dataset_id: str, *, timeout: float = 120) -> dict[str, Any]:
        """Poll the draft until its status is no longer Pending (as wait_until_valid does)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            info: dict[str, Any] = self.get(
                f"/api/dandisets/{dataset_id}/versions/draft/info/"
            ).json()
            if info["status"] != "Pending":
                return info
            assert time.monotonic() < deadline, f"dataset {dataset_id} still Pending"
            time.sleep(0.1)

    def publish(self, dataset_id: str) -> dict[str, Any]:
        r = self.post(f"/api/dandisets/{dataset_id}/versions/draft/publish/")
        assert r.status_code == 202, r.text
        version: dict[str, Any] = r.json()
        return version
