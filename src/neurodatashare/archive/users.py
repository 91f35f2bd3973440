"""Users, API keys and passwords. Keys and passwords are stored only as hashes.

API keys are 40 random hex characters, so a fast sha256 is enough to store them safely
(there is nothing to brute-force); passwords are chosen by people and get argon2.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import MutableMapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from neurodatashare.archive.access import revoke_signed_links
from neurodatashare.archive.context import Archive
from neurodatashare.db.models import ApiKey, BlobClaim, Dataset, DatasetOwner, Upload, User, utcnow
from neurodatashare.errors import BadRequest, Conflict, NotAuthenticated, NotFound

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,149}$")
KEY_PREFIX = 8  # characters of a key kept in clear so administrators can tell keys apart
_hasher = PasswordHasher()


def disabled_error(user: User) -> NotAuthenticated:
    return NotAuthenticated(
        f"The account {user.username!r} is disabled, so its API keys and logins do not work. "
        "Ask the archive's administrator to enable it."
    )


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_user(
    archive: Archive,
    *,
    username: str,
    email: str | None = None,
    is_admin: bool = False,
    password: str | None = None,
) -> User:
    if not USERNAME_RE.match(username):
        raise BadRequest(
            "A username is 1-150 characters of letters, digits and _ . @ + -, "
            "starting with a letter or digit."
        )
    with archive.db.write() as s:
        if s.scalar(select(User).where(User.username == username)) is not None:
            raise Conflict(f"A user named {username!r} already exists.")
        user = User(
            username=username,
            email=email,
            is_admin=is_admin,
            approved=True,
            password_hash=_hasher.hash(password) if password else None,
        )
        s.add(user)
    return user


def get_user(archive: Archive, *, username: str) -> User:
    with archive.db.read() as s:
        user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"There is no user named {username!r}.")
    return user


def new_api_key(archive: Archive, *, user: User) -> str:
    """Create a key for `user`; the key itself is returned once and never stored."""
    key = secrets.token_hex(20)
    with archive.db.write() as s:
        s.add(ApiKey(user_id=user.id, key_sha256=_key_digest(key), prefix=key[:KEY_PREFIX]))
    return key


def user_for_api_key(archive: Archive, *, key: str) -> User:
    with archive.db.read() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_sha256 == _key_digest(key.strip())))
        user = row.user if row is not None else None
    if row is None or user is None:
        raise NotAuthenticated("This API key is not valid. Check it, or ask for a new one.")
    if user.disabled:
        raise disabled_error(user)
    if row.last_used is None or (utcnow() - row.last_used).total_seconds() > 3600:
        # Recorded at most hourly, so reads do not turn into writes on every request.
        with archive.db.write() as s:
            key_row = s.get(ApiKey, row.id)
            if key_row is not None:
                key_row.last_used = utcnow()
    return user


def set_password(archive: Archive, *, username: str, password: str) -> None:
    if len(password) < 8:
        raise BadRequest("A password needs at least 8 characters.")
    with archive.db.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"There is no user named {username!r}.")
        user.password_hash = _hasher.hash(password)
        user.session_generation += 1  # a new password signs the user out everywhere


def user_for_password(archive: Archive, *, username: str, password: str) -> User:
    with archive.db.read() as s:
        user = s.scalar(select(User).where(User.username == username))
    wrong = NotAuthenticated("Wrong username or password.")
    if user is None or not user.password_hash:
        raise wrong
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if user.disabled:  # said only to someone who knows the password
        raise disabled_error(user)
    return user


def get_user_by_id(archive: Archive, *, user_id: int) -> User | None:
    with archive.db.read() as s:
        return s.get(User, user_id)


def start_session(session: MutableMapping[str, Any], user: User) -> None:
    """Fill a (signed) web session for `user`: its id and current session generation."""
    session.clear()
    session["user_id"] = user.id
    session["generation"] = user.session_generation


def session_user(archive: Archive, *, session: MutableMapping[str, Any]) -> User | None:
    """The user of a web session, or None (and the session emptied) if it has ended.

    A session ends when its user signs out anywhere, changes password, or is deleted. A
    disabled user's session is emptied and the caller gets a 401 saying so.
    """
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        session.clear()
        return None
    user = get_user_by_id(archive, user_id=user_id)
    if user is None or session.get("generation") != user.session_generation:
        session.clear()
        return None
    if user.disabled:
        session.clear()
        raise disabled_error(user)
    return user


def end_sessions(archive: Archive, *, user_id: int) -> None:
    """Sign the user out of every web session (each cookie carries the old generation)."""
    with archive.db.write() as s:
        user = s.get(User, user_id)
        if user is not None:
            user.session_generation += 1


# -- administration (nds admin) --------------------------------------------------------------


def _user_row(s: Any, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"There is no user named {username!r}.")
    return user


def list_api_keys(archive: Archive, *, username: str) -> list[dict[str, Any]]:
    """The user's keys: id, prefix, created and last use (recorded at most hourly).

    The keys themselves are not stored, so they cannot be shown.
    """
    with archive.db.read() as s:
        user = _user_row(s, username)
        rows = s.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id))
        return [
            {
                "id": row.id,
                "prefix": row.prefix,
                "created": row.created.isoformat(timespec="seconds"),
                "last_used": row.last_used.isoformat(timespec="seconds") if row.last_used else None,
            }
            for row in rows
        ]


def revoke_api_key(archive: Archive, *, username: str, key: str) -> int:
    """Delete one key of the user, named by its id or its prefix; returns its id."""
    with archive.db.write() as s:
        user = _user_row(s, username)
        query = select(ApiKey).where(ApiKey.user_id == user.id)
        if key.isdigit() and len(key) < KEY_PREFIX:
            query = query.where(ApiKey.id == int(key))
        else:
            query = query.where(ApiKey.prefix == key[:KEY_PREFIX])
        rows = list(s.scalars(query))
        if not rows:
            raise NotFound(
                f"{username} has no API key {key!r}; `nds admin list-keys {username}` lists them."
            )
        if len(rows) > 1:
            raise Conflict(f"Several keys of {username} start with {key!r}; give the key's id.")
        s.delete(rows[0])
        return rows[0].id


def set_disabled(archive: Archive, *, username: str, disabled: bool) -> None:
    """Disable (or enable) a user; disabling ends its sessions and stops its keys at once."""
    with archive.db.write() as s:
        user = _user_row(s, username)
        user.disabled = disabled
        if disabled:
            user.session_generation += 1
            _revoke_links_of(s, user.id)


def _revoke_links_of(s: Any, user_id: int) -> None:
    """Links the user may have been handed for its datasets stop working with the account."""
    owned = select(DatasetOwner.dataset_id).where(DatasetOwner.user_id == user_id)
    for dataset in s.scalars(select(Dataset).where(Dataset.id.in_(owned))):
        revoke_signed_links(dataset)


def sole_owned_datasets(s: Any, user_id: int) -> list[str]:
    """Identifiers of the datasets whose only owner is the user."""
    mine = select(DatasetOwner.dataset_id).where(DatasetOwner.user_id == user_id)
    sole = (
        select(DatasetOwner.dataset_id)
        .where(DatasetOwner.dataset_id.in_(mine))
        .group_by(DatasetOwner.dataset_id)
        .having(func.count() == 1)
        .order_by(DatasetOwner.dataset_id)
    )
    return [f"{n:06d}" for n in s.scalars(sole)]


def delete_user(archive: Archive, *, username: str, force: bool = False) -> list[str]:
    """Delete a user, its keys, sessions, ownerships and unfinished uploads.

    Datasets the user owns alone are never deleted with it: without `force` the deletion
    is refused and names them (add another owner first, or delete them); with `force`
    they are kept without an owner, so only administrators can change them (open ones stay
    readable by everyone). Returns the identifiers of the datasets left without an owner.
    """
    with archive.db.write() as s:
        user = _user_row(s, username)
        orphaned = sole_owned_datasets(s, user.id)
        if orphaned and not force:
            raise Conflict(
                f"{username} is the only owner of dataset(s) {', '.join(orphaned)}. Add another "
                "owner, delete them, or pass --force to keep them without an owner "
                "(then only administrators can change them)."
            )
        uploads = list(s.scalars(select(Upload.id).where(Upload.user_id == user.id)))
        _revoke_links_of(s, user.id)
        for model in (ApiKey, BlobClaim, DatasetOwner, Upload):
            s.execute(delete(model).where(model.user_id == user.id))
        s.delete(user)
    for upload_id in uploads:
        archive.store.abort(upload_id=upload_id)
    return orphaned
