"""Instance discovery and key checking, as the `dandi` client expects them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from neurodatashare import __version__
from neurodatashare.archive.access import require_user
from neurodatashare.server.deps import ArchiveDep, UserDep

router = APIRouter(tags=["info"])


def server_info(archive: ArchiveDep) -> dict[str, Any]:
    from dandischema.consts import ALLOWED_INPUT_SCHEMAS, DANDI_SCHEMA_VERSION

    return {
        "version": __version__,
        "schema_version": DANDI_SCHEMA_VERSION,
        "schema_url": "",
        "allowed_schema_versions": sorted(
            {*ALLOWED_INPUT_SCHEMAS, DANDI_SCHEMA_VERSION},
            key=lambda v: tuple(map(int, v.split("."))),
        ),
        "cli-minimal-version": "0.74.0",
        "cli-bad-versions": [],
        "services": {
            "api": {"url": archive.api_url},
            "webui": {"url": archive.settings.resolved_public_url},
        },
        "instance_config": {"instance_name": archive.settings.instance_name},
    }


router.add_api_route("/server-info", server_info, methods=["GET"], include_in_schema=False)
router.add_api_route("/server-info/", server_info, methods=["GET"])
router.add_api_route("/api/info/", server_info, methods=["GET"])


def auth_token(user: UserDep) -> str:
    """Any 2xx tells the `dandi` client its key is valid."""
    require_user(user, action="check a key")
    return "ok"


router.add_api_route("/api/auth/token", auth_token, methods=["GET"], include_in_schema=False)
router.add_api_route("/api/auth/token/", auth_token, methods=["GET"])


@router.get("/api/users/me/")
def me(user: UserDep) -> dict[str, Any]:
    who = require_user(user, action="see your account")
    return {
        "username": who.username,
        "name": who.username,
        "admin": who.is_admin,
        "status": "APPROVED" if who.approved else "PENDING",
    }
