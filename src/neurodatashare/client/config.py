"""The per-user client configuration: which archive, and the API key for it.

`nds login URL` writes `config.json` in `platformdirs.user_config_dir("neurodatashare")`
(on Linux `~/.config/neurodatashare/config.json`), readable by its owner only (mode
0600). The environment overrides the file: `NDS_URL` and `NDS_API_KEY`.

Resumable uploads keep their state, and the digest cache its entries, under
`platformdirs.user_state_dir("neurodatashare")`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from neurodatashare.client.errors import ConfigurationError

APP = "neurodatashare"
ENV_URL = "NDS_URL"
ENV_KEY = "NDS_API_KEY"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def config_path() -> Path:
    return config_dir() / "config.json"


def state_dir() -> Path:
    """Where resumable transfers keep their state (created on first use, mode 0700)."""
    path = Path(platformdirs.user_state_dir(APP))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def normalize_url(url: str) -> str:
    """`host:8000/` -> `https://host:8000`; a URL ending in `/api` loses it."""
    url = url.strip()
    if not url:
        raise ConfigurationError("The archive URL is empty.")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{url!r} is not an http(s) URL such as https://archive.example.org."
        )
    url = url.rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]
    return url


@dataclass(frozen=True)
class ClientConfig:
    """An archive URL and its key; each says where it came from (env, file or none)."""

    url: str | None
    token: str | None
    url_source: str = "none"
    token_source: str = "none"


def read_file() -> dict[str, Any]:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot read the client configuration {path}: {exc}. Run `nds login URL` again."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} is not a JSON object; run `nds login URL` again.")
    return data


def load() -> ClientConfig:
    """The file's values with the environment's on top."""
    data = read_file()
    url, url_source = data.get("url"), "file" if data.get("url") else "none"
    token, token_source = data.get("api_key"), "file" if data.get("api_key") else "none"
    if url:
        url = normalize_url(str(url))
    if os.environ.get(ENV_URL):
        env_url = normalize_url(os.environ[ENV_URL])
        if env_url != url:  # the saved key belongs to the saved URL only
            token, token_source = None, "none"
        url, url_source = env_url, "env"
    if os.environ.get(ENV_KEY):
        token, token_source = os.environ[ENV_KEY].strip(), "env"
    return ClientConfig(
        url=url or None,
        token=str(token) if token else None,
        url_source=url_source,
        token_source=token_source,
    )


def save(*, url: str, token: str | None) -> Path:
    """Write the configuration atomically, readable by its owner only."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config_path()
    data = {"url": normalize_url(url), "api_key": token}
    write_private_json(path, data)
    return path


def write_private_json(path: Path, data: Any) -> None:
    """Write JSON to `path` through a temporary file with mode 0600, then rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)  # in case the file existed with a wider mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
