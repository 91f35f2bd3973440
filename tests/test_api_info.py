from __future__ import annotations

from dandischema.consts import DANDI_SCHEMA_VERSION

from neurodatashare.testing.live import Live


def test_server_info_is_what_the_dandi_client_needs(live: Live) -> None:
    anon = live.anonymous()
    for path in ("/server-info", "/server-info/", "/api/info/"):
        r = anon.get(path)
        assert r.status_code == 200, path
        info = r.json()
        assert info["services"]["api"]["url"] == f"{live.url}/api"
        assert info["schema_version"] == DANDI_SCHEMA_VERSION
        assert info["cli-minimal-version"] and info["cli-bad-versions"] == []
        assert DANDI_SCHEMA_VERSION in info["allowed_schema_versions"]


def test_auth_token_checks_keys(live: Live) -> None:
    alice = live.user("alice")
    assert alice.get("/api/auth/token").status_code == 200
    assert alice.get("/api/auth/token/").status_code == 200
    anon = live.anonymous()
    assert anon.get("/api/auth/token").status_code == 401
    wrong = anon.get("/api/auth/token", headers={"Authorization": "token " + "0" * 40})
    assert wrong.status_code == 401
    assert "not valid" in wrong.json()["detail"]
    bad_scheme = anon.get("/api/auth/token", headers={"Authorization": "Basic abc"})
    assert bad_scheme.status_code == 401
    assert "token KEY" in bad_scheme.json()["detail"]


def test_wrong_token_is_refused_even_on_public_routes(live: Live) -> None:
    r = live.anonymous().get("/api/dandisets/", headers={"Authorization": "token nope"})
    assert r.status_code == 401


def test_openapi_is_served(live: Live) -> None:
    r = live.anonymous().get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/dandisets/" in paths
    assert "/api/uploads/initialize/" in paths


def test_api_keys_are_stored_only_as_hashes(live: Live) -> None:
    alice = live.user("alice", password="correct horse battery")
    from sqlalchemy import text

    with live.archive.db.read() as s:
        dumped = " ".join(
            str(row)
            for table in ("users", "api_keys")
            for row in s.execute(text(f"SELECT * FROM {table}"))
        )
    assert alice.key and alice.key not in dumped
    assert "correct horse battery" not in dumped
    assert "$argon2" in dumped
