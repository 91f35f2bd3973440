"""Settings: one typed object, read from `NDS_*` environment variables.

Every field is documented in docs/settings.md; tests/test_docs.py checks that.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("neurodatashare", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NDS_", extra="ignore")

    home: Path = Field(
        default_factory=_default_home,
        description="Folder for the embedded database, blobs and uploads in progress.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database. Default: SQLite in NDS_HOME. "
        "Example: postgresql+psycopg://user@127.0.0.1:5432/nds",
    )
    blob_store: str = Field(
        default="local",
        description="Where blobs live: `local` (a folder) or `s3` (a bucket; NDS_S3_*).",
    )
    blob_dir: Path | None = Field(
        default=None, description="Folder of the local blob store. Default: NDS_HOME/blobs."
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="URL of the S3 service the server talks to, e.g. http://127.0.0.1:8333 "
        "(SeaweedFS, MinIO, Ceph RGW). Default: AWS S3 in NDS_S3_REGION.",
    )
    s3_public_endpoint_url: str | None = Field(
        default=None,
        description="URL clients reach the same S3 service at, when it differs from "
        "NDS_S3_ENDPOINT_URL (presigned upload and download URLs are signed for it).",
    )
    s3_bucket: str | None = Field(
        default=None, description="Bucket of the S3 blob store; created at start if missing."
    )
    s3_access_key_id: str | None = Field(
        default=None,
        description="S3 access key. Default: boto3's usual sources (AWS_* variables, "
        "~/.aws, an instance role).",
    )
    s3_secret_access_key: str | None = Field(
        default=None, description="S3 secret key, with NDS_S3_ACCESS_KEY_ID."
    )
    s3_region: str = Field(
        default="us-east-1", description="Region the S3 requests are signed for."
    )
    s3_cache_mb: int = Field(
        default=256,
        ge=0,
        description="Memory per server process for blocks read from S3 (MiB): blobs never "
        "change, so the explorer and the pipeline reuse what an earlier request fetched.",
    )
    host: str = Field(default="127.0.0.1", description="Address `nds serve` listens on.")
    port: int = Field(default=8000, description="Port `nds serve` listens on.")
    public_url: str | None = Field(
        default=None,
        description="URL clients use to reach this server, e.g. https://data.example.org. "
        "Default: http://HOST:PORT. The API base reported to clients is PUBLIC_URL/api.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Secret for signing session cookies and upload URLs. Default: a random "
        "key kept in NDS_HOME/secret_key. Set the same value on every server process.",
    )
    instance_name: str = Field(
        default="NDS",
        description="Prefix of dataset identifiers in metadata, e.g. NDS:000001.",
    )
    doi_provider: Literal["none", "datacite"] = Field(
        default="none",
        description="Who registers a DOI for each published version: none, or datacite "
        "(with the NDS_DATACITE_* settings).",
    )
    datacite_api_url: str = Field(
        default="https://api.test.datacite.org",
        description="DataCite's REST API: https://api.datacite.org, or the test system.",
    )
    datacite_prefix: str | None = Field(
        default=None, description="The DOI prefix DataCite gave the repository, e.g. 10.80507."
    )
    datacite_repository_id: str | None = Field(
        default=None, description="The DataCite repository id (its user name), e.g. ABC.NDS."
    )
    datacite_password: str | None = Field(
        default=None, description="The DataCite repository's password."
    )
    admin_email: str = Field(
        default="",
        description="Contact address of the archive's administrators, given to harvesters "
        "by OAI-PMH Identify. Default: admin@ the host of PUBLIC_URL.",
    )
    max_json_bytes: int = Field(
        default=1_048_576, description="Largest JSON request body accepted, in bytes."
    )
    max_page_size: int = Field(default=1000, description="Largest page size a listing serves.")
    upload_expiry_hours: int = Field(
        default=168, description="Hours after which an unfinished upload is discarded."
    )
    session_max_age: int = Field(
        default=14 * 24 * 3600, description="Lifetime of a web login, in seconds."
    )
    log_level: str = Field(default="info", description="Server log level.")
    worker_threads: int = Field(
        default=1,
        description="Background worker threads inside `nds serve` (metadata extraction, "
        "validation). 0 leaves the work to separate `nds worker` processes.",
    )
    job_lease_seconds: float = Field(
        default=15,
        ge=1,
        le=86_400,
        description="A running job's lease, renewed every third of it while the job runs: a "
        "job whose worker died on another machine is run by another worker this long after "
        "(one whose process is gone on the same machine is taken back at once).",
    )

    convert_roots: str = Field(
        default="",
        description="Server folders signed-in users may convert data from with "
        "/api/convert/ (NeuroConv, into NWB), separated by ':' like PATH, e.g. "
        "/data/lab1:/data/lab2. Nothing outside them is read (symlinks and '..' are "
        "refused). Empty (the default): conversion on the server is off.",
    )
    convert_keep_days: float = Field(
        default=14,
        gt=0,
        description="Days a finished conversion (or preview) and its file stay on the server; "
        "older ones are removed (files added to a dataset stay there).",
    )

    @property
    def resolved_convert_roots(self) -> list[Path]:
        """The NDS_CONVERT_ROOTS folders, absolute and with symlinks resolved."""
        parts = [p.strip() for p in self.convert_roots.split(os.pathsep) if p.strip()]
        return [Path(os.path.realpath(p)) for p in parts]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'nds.sqlite3'}"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.home / "blobs"

    @property
    def resolved_public_url(self) -> str:
        url = self.public_url or f"http://{self.host}:{self.port}"
        return url.rstrip("/")

    @property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            try:  # O_EXCL: when two processes start at once, one key wins for both
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
