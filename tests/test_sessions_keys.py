"""Sessions and keys: sign-out and new passwords end every session; disabled users stop."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from neurodatashare.archive import users
from neurodatashare.db.models import ApiKey, User
from neurodatashare.testing.live import Live

NDS = str(Path(sys.executable).with_name("nds"))


def _browser(live: Live, username: str, password: str) -> httpx.Client:
    web = httpx.Client(base_url=live.url)
    r = web.post("/login", data={"username": username, "password": password})
    assert r.status_code == 303, r.text
    assert web.get("/api/users/me/").json()["username"] == username
    return web


def test_signing_out_ends_every_session_of_the_user(live: Live) -> None:
    live.user("alice", password="alice-password")
    bob = live.user("bob", password="bob-password")
    laptop = _browser(live, "alice", "alice-password")
    phone = _browser(live, "alice", "alice-password")
    bobs = _browser(live, "bob", "bob-password")
    stolen = dict(phone.cookies)  # a copy of the cookie, as an attacker would keep it
    laptop.post("/logout")
    for client in (laptop, phone):
        assert client.get("/api/users/me/").status_code == 401
    replay = httpx.get(f"{live.url}/api/users/me/", cookies=stolen)
    assert replay.status_code == 401
    # other users and API keys are not affected
    assert bobs.get("/api/users/me/").json()["username"] == "bob"
    assert bob.get("/api/users/me/").status_code == 200
    again = _browser(live, "alice", "alice-password")
    assert again.get("/api/users/me/").status_code == 200
    for c in (laptop, phone, bobs, again):
        c.close()


def test_a_new_password_ends_every_session(live: Live) -> None:
    live.user("alice", password="alice-password")
    web = _browser(live, "alice", "alice-password")
    users.set_password(live.archive, username="alice", password="brand-new-password")
    assert web.get("/api/users/me/").status_code == 401
    page = web.get("/")
    assert page.status_code == 200 and "Log in" in page.text  # shown as signed out
    r = web.post("/login", data={"username": "alice", "password": "alice-password"})
    assert r.status_code == 401
    web.close()
    _browser(live, "alice", "brand-new-password").close()


def test_disabled_user_keys_and_sessions_stop_at_once(live: Live) -> None:
    alice = live.user("alice", password="alice-password")
    ds = alice.create_dataset("mine", access="private")
    web = _browser(live, "alice", "alice-password")
    users.set_disabled(live.archive, username="alice", disabled=True)
    r = alice.get("/api/users/me/")
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    assert alice.get(f"/api/dandisets/{ds}/").status_code == 401
    assert web.get("/api/users/me/").status_code == 401
    login = web.post("/login", data={"username": "alice", "password": "alice-password"})
    assert login.status_code == 401 and "disabled" in login.text
    wrong = web.post("/login", data={"username": "alice", "password": "not-her-password"})
    assert "disabled" not in wrong.text  # only someone with the password learns it
    users.set_disabled(live.archive, username="alice", disabled=False)
    assert alice.get(f"/api/dandisets/{ds}/").status_code == 200
    assert web.get("/api/users/me/").status_code == 401  # the old session stays ended
    web.close()


def test_keys_listed_by_prefix_and_revoked_one_at_a_time(live: Live) -> None:
    alice = live.user("alice")
    user = users.get_user(live.archive, username="alice")
    second = users.new_api_key(live.archive, user=user)
    assert alice.get("/api/users/me/").status_code == 200  # records last use
    keys = users.list_api_keys(live.archive, username="alice")
    assert [k["prefix"] for k in keys] == [alice.key[:8], second[:8]]  # type: ignore[index]
    assert keys[0]["last_used"] is not None and keys[1]["last_used"] is None
    with live.archive.db.read() as s:
        stored = list(s.scalars(select(ApiKey)))
        assert {k.key_sha256 for k in stored} == {
            hashlib.sha256(k.encode()).hexdigest()
            for k in (alice.key, second)  # type: ignore[union-attr]
        }
        hashed = s.scalar(select(User.password_hash).where(User.username == "alice"))
        assert hashed is None
    users.revoke_api_key(live.archive, username="alice", key=str(keys[0]["id"]))
    r = alice.get("/api/users/me/")
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    other = httpx.get(f"{live.url}/api/users/me/", headers={"Authorization": f"token {second}"})
    assert other.status_code == 200
    users.revoke_api_key(live.archive, username="alice", key=second[:8])
    assert users.list_api_keys(live.archive, username="alice") == []


def test_passwords_are_stored_only_as_argon2(live: Live) -> None:
    live.user("carol", password="carol-password")
    with live.archive.db.read() as s:
        hashed = s.scalar(select(User.password_hash).where(User.username == "carol"))
    assert hashed is not None and hashed.startswith("$argon2id$")
    assert "carol-password" not in hashed


def test_deleting_a_user_refuses_while_it_solely_owns_datasets(live: Live) -> None:
    alice = live.user("alice")
    bob = live.user("bob")
    solo = alice.create_dataset("alone", access="private")
    shared = alice.create_dataset("shared")
    r = alice.put(
        f"/api/dandisets/{shared}/users/",
        json=[{"username": "alice"}, {"username": "bob"}],
    )
    assert r.status_code == 200, r.text
    refused = _nds(live, ["admin", "delete-user", "alice"])
    assert refused.returncode != 0 and solo in refused.stderr and shared not in refused.stderr
    assert alice.get("/api/users/me/").status_code == 200  # nothing was deleted
    done = _nds(live, ["admin", "delete-user", "alice", "--force"])
    assert done.returncode == 0, done.stderr
    assert solo in done.stdout and "no owner" in done.stdout
    assert alice.get("/api/users/me/").status_code == 401
    assert bob.get(f"/api/dandisets/{shared}/users/").json() == [{"username": "bob", "name": "bob"}]
    assert bob.get(f"/api/dandisets/{solo}/").status_code == 404  # private, not bob's
    admin = live.user("root", admin=True)
    assert admin.get(f"/api/dandisets/{solo}/").status_code == 200  # the data is kept


def _nds(live: Live, args: list[str]) -> subprocess.CompletedProcess[str]:
    settings = live.archive.settings
    env = {
        **os.environ,
        "NDS_HOME": str(settings.home),
        "NDS_DATABASE_URL": settings.resolved_database_url,
    }
    return subprocess.run([NDS, *args], env=env, capture_output=True, text=True, timeout=120)


def test_admin_commands_list_revoke_disable(live: Live) -> None:
    alice = live.user("alice")
    listed = _nds(live, ["admin", "list-keys", "alice"])
    assert listed.returncode == 0, listed.stderr
    assert f"{alice.key[:8]}..." in listed.stdout  # type: ignore[index]
    assert alice.key not in listed.stdout  # type: ignore[operator]
    disabled = _nds(live, ["admin", "disable-user", "alice"])
    assert disabled.returncode == 0, disabled.stderr
    assert alice.get("/api/users/me/").status_code == 401
    assert _nds(live, ["admin", "enable-user", "alice"]).returncode == 0
    assert alice.get("/api/users/me/").status_code == 200
    revoked = _nds(live, ["admin", "revoke-key", "alice", alice.key[:8]])  # type: ignore[index]
    assert revoked.returncode == 0, revoked.stderr
    assert alice.get("/api/users/me/").status_code == 401
    missing = _nds(live, ["admin", "revoke-key", "alice", "99999"])
    assert missing.returncode != 0 and "list-keys" in missing.stderr
    assert "Traceback" not in missing.stderr
    nobody = _nds(live, ["admin", "disable-user", "nobody"])
    assert nobody.returncode != 0 and "no user named 'nobody'" in nobody.stderr
    assert "has no API keys" in _nds(live, ["admin", "list-keys", "alice"]).stdout
