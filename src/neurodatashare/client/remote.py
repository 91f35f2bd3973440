"""The Python API: `Client` -> `RemoteDataset` -> `RemoteVersion` -> `RemoteAsset`.

    from neurodatashare import Client

    client = Client()                      # URL and key from `nds login` or NDS_URL/NDS_API_KEY
    ds = client.dataset("000001")
    for asset in ds.draft.assets(glob="sub-*/*.nwb"):
        print(asset.path, asset.size)
    asset.download("data/")                # resumable, verified
    nwbfile = asset.open()                 # read lazily over HTTP

Listings are lazy: they fetch one page at a time as you iterate.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from neurodatashare.client import config
from neurodatashare.client.download import Downloader, DownloadItem, safe_destination
from neurodatashare.client.engine import TransferSummary, drain
from neurodatashare.client.errors import (
    ClientError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
)
from neurodatashare.client.http import RestClient
from neurodatashare.client.upload import Uploader, collect_uploads

if TYPE_CHECKING:
    from pynwb import NWBFile

DATASET_RE = re.compile(r"^(?:[A-Za-z]+:)?(\d{1,6})$")


def dataset_identifier(value: str | int) -> str:
    """`1`, `000001` or `DANDI:000001` -> `000001`."""
    match = DATASET_RE.match(str(value).strip())
    if not match:
        raise ClientError(f"{value!r} is not a dataset id (six digits, such as 000001).")
    return f"{int(match.group(1)):06d}"


def parse_target(target: str) -> tuple[str, str | None, str | None]:
    """`000001[@VERSION][/PATH]` -> (dataset id, version or None, path or None).

    A path ending in `/` is a folder; the `/` is kept so callers can tell.
    """
    head, sep, path = target.strip().partition("/")
    ident, _, version = head.partition("@")
    return dataset_identifier(ident), version or None, (path if sep and path else None)


class Client(RestClient):
    """A connection to one archive.

    `url` and `token` default to the configuration (`nds login`) and the environment
    (`NDS_URL`, `NDS_API_KEY`). A configured key is used only with the URL it was saved
    for, so passing another `url` never sends it elsewhere.
    """

    def __init__(self, url: str | None = None, token: str | None = None, **options: Any) -> None:
        cfg = config.load()
        if url is None:
            url = cfg.url
            if token is None:
                token = cfg.token
        elif token is None and cfg.url is not None and config.normalize_url(url) == cfg.url:
            token = cfg.token
        if not url:
            raise ConfigurationError(
                "No archive is configured: run `nds login URL`, set NDS_URL, "
                "or pass Client(url=...)."
            )
        super().__init__(url, token, **options)

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def __enter__(self) -> Client:
        return self

    # -- instance ------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """The archive's `/api/info/` (version, schema version, services)."""
        data: dict[str, Any] = self.get_json("info/")
        return data

    def check_token(self) -> None:
        """Raise AuthenticationError unless the key is valid."""
        self.get("auth/token/")

    def me(self) -> dict[str, Any]:
        """The caller's username and whether they are an administrator."""
        data: dict[str, Any] = self.get_json("users/me/")
        return data

    # -- datasets ------------------------------------------------------------------------
    def datasets(
        self, *, search: str | None = None, mine: bool = False, page_size: int | None = None
    ) -> Iterator[RemoteDataset]:
        """The datasets you may see, embargoed and private ones included (lazily)."""
        params: dict[str, Any] = {"embargoed": "true"}
        if search:
            params["search"] = search
        if mine:
            params["user"] = "me"
        for data in self.paginate("dandisets/", params=params, page_size=page_size):
            yield RemoteDataset(self, data)

    def dataset(self, identifier: str | int) -> RemoteDataset:
        """One dataset; NotFoundError if it does not exist or you may not see it."""
        ident = dataset_identifier(identifier)
        return RemoteDataset(self, self.get_json(f"dandisets/{ident}/"))

    def create_dataset(
        self,
        name: str,
        metadata: dict[str, Any] | None = None,
        *,
        access: str = "open",
        embargo_end: str | None = None,
    ) -> RemoteDataset:
        """Create a dataset (`access`: open, embargoed with `embargo_end`, or private)."""
        params: dict[str, Any] = {}
        if access == "embargoed":
            params["embargo"] = "true"
            if embargo_end:
                params["embargo_end_date"] = embargo_end
        elif access != "open":
            params["access"] = access
        data = self.post(
            "dandisets/", params=params, json={"name": name, "metadata": metadata or {}}
        ).json()
        return self.dataset(data["identifier"])

    def asset(self, asset_id: str) -> RemoteAsset:
        """An asset by its id alone."""
        data = self.get_json(f"assets/{asset_id}/info/")
        return RemoteAsset(self, data)


class RemoteDataset:
    """A dataset on the archive; `data` is the archive's JSON for it."""

    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self.client = client
        self.data = data

    def __repr__(self) -> str:
        return f"RemoteDataset({self.identifier!r}, name={self.name!r})"

    @property
    def identifier(self) -> str:
        return str(self.data["identifier"])

    @property
    def name(self) -> str:
        version = self.data.get("most_recent_published_version") or self.data.get("draft_version")
        return str((version or {}).get("name", ""))

    @property
    def access(self) -> str:
        return str(self.data.get("access", "open"))

    def refresh(self) -> RemoteDataset:
        self.data = self.client.get_json(f"dandisets/{self.identifier}/")
        return self

    @property
    def draft(self) -> RemoteVersion:
        return RemoteVersion(self, "draft", self.data.get("draft_version"))

    @property
    def latest(self) -> RemoteVersion:
        """The most recent published version, or the draft if nothing is published."""
        published = self.data.get("most_recent_published_version")
        if published:
            return RemoteVersion(self, str(published["version"]), published)
        return self.draft

    def version(self, version: str) -> RemoteVersion:
        """One version (`draft` or `0.YYMMDD.NNNN`); NotFoundError if there is none."""
        info = self.client.get_json(f"dandisets/{self.identifier}/versions/{version}/info/")
        return RemoteVersion(self, version, info)

    def versions(self) -> Iterator[RemoteVersion]:
        """Every version, oldest first (the draft included)."""
        for data in self.client.paginate(f"dandisets/{self.identifier}/versions/"):
            yield RemoteVersion(self, str(data["version"]), data)

    def assets(
        self, path: str | None = None, glob: str | None = None, **kw: Any
    ) -> Iterator[RemoteAsset]:
        """The assets of the latest version (see `RemoteVersion.assets`)."""
        return self.latest.assets(path=path, glob=glob, **kw)

    def pending_files(self) -> list[str]:
        """Paths of the draft's files the archive has not finished checking."""
        report = self.client.get_json(f"dandisets/{self.identifier}/versions/draft/validation/")
        return [str(f["path"]) for f in report.get("files", []) if f.get("status") == "pending"]

    def wait_until_checked(
        self,
        *,
        timeout: float = 600,
        interval: float = 1.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> str:
        """Poll the draft until the archive has checked every file; return its status.

        `timeout` counts only time without progress: while files keep being checked
        (fewer are pending than before) the wait goes on. `on_wait` is told which files
        are awaited whenever that changes, and every 30 s otherwise.
        """
        last_progress = time.monotonic()
        best: int | None = None
        told: tuple[list[str], float] | None = None
        while True:
            status = str(self.draft.info()["status"])
            if status != "Pending":
                return status
            pending = self.pending_files()
            now = time.monotonic()
            if best is None or len(pending) < best:
                best, last_progress = len(pending), now
            if on_wait is not None and (told is None or told[0] != pending or now - told[1] > 30):
                told = (pending, now)
                shown = ", ".join(pending[:5]) + (
                    f" and {len(pending) - 5} more" if len(pending) > 5 else ""
                )
                on_wait(
                    f"Waiting for the archive to check {len(pending)} file(s): "
                    f"{shown or 'the draft'}."
                )
            if now - last_progress > timeout:
                raise ClientError(
                    f"Dataset {self.identifier}: no file was checked in the last {timeout:.0f} s; "
                    f"still waiting on {', '.join(pending[:10]) or 'the draft status'}."
                )
            time.sleep(interval)

    def publish(
        self,
        *,
        wait: bool = False,
        timeout: float = 600,
        on_wait: Callable[[str], None] | None = None,
    ) -> RemoteVersion:
        """Publish the draft; the archive's refusal (what is missing) raises BadRequestError.

        The request is repeated if the connection breaks while the archive answers (it
        restarted): a publish that went through then finds the draft unchanged (409), and
        the version it made, newer than those seen before, is the answer.
        """
        if wait:
            self.wait_until_checked(timeout=timeout, on_wait=on_wait)
        before = {v.identifier for v in self.versions()}
        try:
            data = self.client.post(
                f"dandisets/{self.identifier}/versions/draft/publish/", idempotent=True
            ).json()
        except ConflictError as exc:
            if "Nothing changed" not in exc.message:
                raise
            made = [v for v in self.versions() if v.identifier not in before | {"draft"}]
            if not made:
                raise
            self.refresh()
            return made[-1]
        self.refresh()
        return RemoteVersion(self, str(data["version"]), data)

    def upload(
        self,
        paths: str | Path | Iterable[str | Path],
        *,
        path_prefix: str = "",
        jobs: int = 4,
    ) -> TransferSummary:
        """Upload files or folders into the draft (resumable; unchanged files are skipped).

        Raises TransferError if any file failed; the others are uploaded.
        """
        if isinstance(paths, str | Path):
            paths = [paths]
        items = collect_uploads(paths, path_prefix=path_prefix)
        uploader = Uploader(self.client, self.identifier, jobs=jobs)
        summary = drain(uploader.iter_upload(items))
        summary.raise_for_failures("upload")
        return summary

    def download(
        self, dest: str | Path = ".", *, path: str | None = None, jobs: int = 4
    ) -> TransferSummary:
        """Download the latest version (or `path` in it) to `dest`; see RemoteVersion."""
        return self.latest.download(dest, path=path, jobs=jobs)


class RemoteVersion:
    """One version of a dataset: `draft` or a published `0.YYMMDD.NNNN`."""

    def __init__(
        self, dataset: RemoteDataset, identifier: str, data: dict[str, Any] | None = None
    ) -> None:
        self.dataset = dataset
        self.client = dataset.client
        self.identifier = identifier
        self.data = data or {}

    def __repr__(self) -> str:
        return f"RemoteVersion({self.dataset.identifier!r}, {self.identifier!r})"

    @property
    def _base(self) -> str:
        return f"dandisets/{self.dataset.identifier}/versions/{self.identifier}"

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    def info(self) -> dict[str, Any]:
        """Status, counts, metadata and validation errors (fetched now)."""
        self.data = self.client.get_json(f"{self._base}/info/")
        return self.data

    @property
    def status(self) -> str:
        return str(self.info()["status"])

    @property
    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = self.client.get_json(f"{self._base}/")
        return data

    def validation(self) -> dict[str, Any]:
        """Every file's findings, counted by severity."""
        data: dict[str, Any] = self.client.get_json(f"{self._base}/validation/")
        return data

    def set_metadata(self, metadata: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
        """Replace the draft's metadata (the fields its owners write; the server keeps the
        ones it computes); returns the version's info, with what publishing still needs in
        `version_validation_errors`."""
        body = {"metadata": metadata, "name": name or metadata.get("name") or self.name}
        self.data = self.client.put(f"{self._base}/", json=body).json()
        return self.data

    def assets(
        self,
        path: str | None = None,
        glob: str | None = None,
        *,
        order: str = "path",
        metadata: bool = False,
        page_size: int | None = None,
    ) -> Iterator[RemoteAsset]:
        """Assets whose path starts with `path` and/or matches `glob`, lazily.

        With `metadata=True` each page carries the assets' metadata (one request per page
        instead of one per asset).
        """
        params: dict[str, Any] = {"order": order}
        if path:
            params["path"] = path
        if glob:
            params["glob"] = glob
        if metadata:
            params["metadata"] = "true"
        for data in self.client.paginate(
            f"{self._base}/assets/", params=params, page_size=page_size
        ):
            yield RemoteAsset(self.client, data, version=self)

    def asset(self, path: str) -> RemoteAsset:
        """The asset at exactly `path`."""
        for asset in self.assets(path=path):
            if asset.path == path:
                return asset
        raise NotFoundError(
            f"There is no file {path!r} in {self.dataset.identifier}@{self.identifier}.",
            status=404,
        )

    def paths(self, prefix: str = "") -> list[dict[str, Any]]:
        """One level of the folder tree: entries with `path`, `aggregate_files`,
        `aggregate_size` and `asset` (None for folders)."""
        return list(
            self.client.paginate(
                f"{self._base}/assets/paths/", params={"path_prefix": prefix}, page_size=1000
            )
        )

    def resolve(self, path: str | None, *, metadata: bool = False) -> list[RemoteAsset]:
        """The assets `path` names: all (None), a folder (`dir/`), or a file (else a folder)."""
        if not path:
            return list(self.assets(metadata=metadata))
        if path.endswith("/"):
            found = list(self.assets(path=path, metadata=metadata))
        else:
            candidates = list(self.assets(path=path, metadata=metadata))
            exact = [a for a in candidates if a.path == path]
            found = exact or [a for a in candidates if a.path.startswith(path + "/")]
        if not found:
            raise NotFoundError(
                f"There is no file or folder {path!r} in "
                f"{self.dataset.identifier}@{self.identifier}.",
                status=404,
            )
        return found

    def download_items(self, dest: str | Path, *, path: str | None = None) -> list[DownloadItem]:
        """Where each asset goes: the whole version into `dest/<dataset id>/`, a folder
        `a/b/` into `dest/b/`, and one file into `dest/<file name>`."""
        root = Path(dest)
        assets = self.resolve(path, metadata=True)
        items = []
        for asset in assets:
            if not path:
                rel = f"{self.dataset.identifier}/{asset.path}"
            elif len(assets) == 1 and asset.path == path:
                rel = PurePosixPath(asset.path).name
            else:
                folder = path.rstrip("/")
                parent = str(PurePosixPath(folder).parent)
                rel = asset.path if parent == "." else asset.path[len(parent) + 1 :]
            items.append(
                DownloadItem(
                    asset_id=asset.id,
                    path=asset.path,
                    size=asset.size,
                    etag=asset.zarr_checksum_if_known if asset.zarr else asset.etag_if_known,
                    dest=safe_destination(root, rel),
                    zarr_id=asset.zarr,
                )
            )
        return items

    def download(
        self, dest: str | Path = ".", *, path: str | None = None, jobs: int = 4
    ) -> TransferSummary:
        """Download this version (or a folder or file in it) into `dest`.

        Resumable and verified; unchanged files are skipped. Raises TransferError if any
        file failed.
        """
        items = self.download_items(dest, path=path)
        summary = drain(Downloader(self.client, jobs=jobs).iter_download(items))
        summary.raise_for_failures("download")
        return summary


class RemoteAsset:
    """A file in a dataset. `client` is the `Client` it came from."""

    def __init__(
        self,
        client: Client,
        data: dict[str, Any],
        *,
        version: RemoteVersion | None = None,
    ) -> None:
        self.client = client
        self.data = data
        self.version = version
        meta = data.get("metadata")
        self._metadata: dict[str, Any] | None = meta if isinstance(meta, dict) else None

    def __repr__(self) -> str:
        return f"RemoteAsset({self.path!r}, id={self.id!r}, size={self.size})"

    @property
    def id(self) -> str:
        return str(self.data.get("asset_id") or self.data.get("identifier"))

    @property
    def path(self) -> str:
        return str(self.data["path"])

    @property
    def size(self) -> int:
        return int(self.data.get("size", self.data.get("contentSize", 0)))

    @property
    def blob(self) -> str | None:
        blob = self.data.get("blob")
        return str(blob) if blob else None

    @property
    def zarr(self) -> str | None:
        """The id of the Zarr a Zarr asset holds (None for a file)."""
        zarr = self.data.get("zarr")
        return str(zarr) if zarr else None

    @property
    def zarr_checksum_if_known(self) -> str | None:
        if self._metadata is None:
            return None
        value = (self._metadata.get("digest") or {}).get("dandi:dandi-zarr-checksum")
        return str(value) if value else None

    @property
    def metadata(self) -> dict[str, Any]:
        """The asset's metadata (digests, extracted NWB metadata...), fetched once."""
        if self._metadata is None:
            self._metadata = self.client.get_json(f"assets/{self.id}/")
        return self._metadata

    @property
    def etag_if_known(self) -> str | None:
        if self._metadata is None:
            return None
        etag = (self._metadata.get("digest") or {}).get("dandi:dandi-etag")
        return str(etag) if etag else None

    @property
    def etag(self) -> str:
        """The dandi-etag of the bytes."""
        return str(self.metadata["digest"]["dandi:dandi-etag"])

    @property
    def download_url(self) -> str:
        return f"{self.client.api_url}/assets/{self.id}/download/"

    def validation(self) -> dict[str, Any]:
        """The archive's findings for this file (`status`, `results`, extracted `metadata`)."""
        data: dict[str, Any] = self.client.get_json(f"assets/{self.id}/validation/")
        return data

    def download(self, path: str | Path = ".", *, jobs: int = 1) -> Path:
        """Download to `path` (a folder, or the file name to use); return the local file.

        Resumes a previous partial download and verifies the dandi-etag; a file already
        there with the same content is not downloaded again.
        """
        target = Path(path)
        if target.is_dir() or str(path).endswith(("/", "\\")):
            target = target / PurePosixPath(self.path).name
        item = DownloadItem(
            asset_id=self.id,
            path=self.path,
            size=self.size,
            etag=self.zarr_checksum_if_known if self.zarr else self.etag,
            dest=target,
            zarr_id=self.zarr,
        )
        summary = drain(Downloader(self.client, jobs=jobs).iter_download([item]))
        summary.raise_for_failures("download")
        return target

    def open(self) -> NWBFile:
        """The NWB file, read lazily over HTTP (only the bytes you touch are fetched)."""
        from neurodatashare.client.streaming import open_asset

        return open_asset(self)

    def delete(self) -> None:
        """Remove this asset from the draft it was listed from."""
        if self.version is None or self.version.identifier != "draft":
            raise ClientError("Only assets listed from a draft can be removed.")
        self.client.delete(
            f"dandisets/{self.version.dataset.identifier}/versions/draft/assets/{self.id}/"
        )
