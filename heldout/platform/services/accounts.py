"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from heldout.models import ApiToken, User, utcnow
from heldout.platform.services.errors import Conflict, NotFound, ServiceError

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 8


def create_user(session: Session, username: str, password: str, *, email: str | None = None,
                is_admin: bool = False, is_organizer: bool = False) -> User:
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise ServiceError("Usernames are 3–40 letters, digits, '.', '_' or '-'.", field="username")
    if len(password or "") < MIN_PASSWORD:
        raise ServiceError(f"Passwords need at least {MIN_PASSWORD} characters.", field="password")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise Conflict(f"The username {username!r} is taken.", field="username")
    user = User(username=username, email=(email or None), password_hash=generate_password_hash(password),
                is_admin=is_admin, is_organizer=is_organizer or is_admin)
    session.add(user)
    session.commit()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    if user is None or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def change_password(session: Session, user: User, old: str, new: str) -> None:
    if not check_password_hash(user.password_hash, old or ""):
        raise ServiceError("The current password is wrong.", field="old_password")
    if len(new or "") < MIN_PASSWORD:
        raise ServiceError(f"Passwords need at least {MIN_PASSWORD} characters.", field="new_password")
    user.password_hash = generate_password_hash(new)
    session.commit()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> str:
    """Make an API token; the plain token is returned once and never stored."""
    token = "hld_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=(name or "token")[:80], token_hash=hash_token(token)))
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token or ""),
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = utcnow()
    session.commit()
    return row.user


def revoke_token(session: Session, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such token.")
    row.revoked_at = utcnow()
    session.commit()


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user
