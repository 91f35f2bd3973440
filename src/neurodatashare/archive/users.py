"""Users, API keys and passwords. Keys and passwords are stored only as hashes.

API keys are 40 random hex characters, so a fast sha256 is enough to store them safely
(there is nothing to brute-force); passwords are chosen by people and get argon2.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from neurodatashare.archive.context import Archive
from neurodatashare.db.models import ApiKey, User, utcnow
from neurodatashare.errors import BadRequest, Conflict, NotAuthenticated, NotFound

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,149}$")
_hasher = PasswordHasher()


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
        s.add(ApiKey(user_id=user.id, key_sha256=_key_digest(key)))
    return key


def user_for_api_key(archive: Archive, *, key: str) -> User:
    with archive.db.read() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_sha256 == _key_digest(key.strip())))
        user = row.user if row is not None else None
    if row is None or user is None:
        raise NotAuthenticated("This API key is not valid. Check it, or ask for a new one.")
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
    return user


def get_user_by_id(archive: Archive, *, user_id: int) -> User | None:
    with archive.db.read() as s:
        return s.get(User, user_id)
