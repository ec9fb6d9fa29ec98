"""Users and login sessions. Plain functions over a session; no HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth.models import AuthSession, User
from core.auth.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    validate_password,
    verify_password,
)
from core.auth.permissions import Permission, Role, permissions_for
from core.database import utcnow
from core.errors import AuthenticationRequired, Conflict, ValidationFailed
from core.settings import get_settings
from core.tokens import hash_token, new_token


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do. Built fresh on every request."""

    user_id: int
    email: str
    display_name: str
    role: str
    permissions: frozenset[Permission]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def create_user(
    session: Session, *, email: str, display_name: str, password: str, role: str
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed("email is not a valid address", field="email")
    try:
        Role(role)
    except ValueError:
        raise ValidationFailed(f"unknown role '{role}'", field="role") from None
    validate_password(password)
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    user = User(
        email=email, display_name=display_name, password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    return user


def login(
    session: Session, *, email: str, password: str, client_address: str | None
) -> tuple[str, User]:
    """Check credentials and open a session. Returns the bearer token (shown once)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(DUMMY_HASH, password)
        audit.record(session, actor=None, action="auth.login_failed", target=f"email:{email}",
                     client_address=client_address)
        raise AuthenticationRequired("e-mail or password is wrong")
    if not verify_password(user.password_hash, password) or not user.is_active:
        audit.record(session, actor=user.id, action="auth.login_failed", target=f"user:{user.id}",
                     client_address=client_address)
        raise AuthenticationRequired("e-mail or password is wrong")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    settings = get_settings()
    now = utcnow()
    token = new_token()
    session.add(
        AuthSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            client_address=client_address,
        )
    )
    user.last_login_at = now
    audit.record(session, actor=user.id, action="auth.login", target=f"user:{user.id}",
                 client_address=client_address)
    return token, user


def logout(session: Session, token: str) -> None:
    auth_session = session.scalar(
        select(AuthSession).where(AuthSession.token_hash == hash_token(token))
    )
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()


def resolve_token(session: Session, token: str) -> Principal:
    """The principal behind a bearer token, or AuthenticationRequired.

    Idle and absolute expiry are both enforced; a disabled user is refused at once.
    """
    settings = get_settings()
    now = utcnow()
    row = session.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise AuthenticationRequired("session is not valid; log in again")
    auth_session, user = row.tuple()
    idle_limit = auth_session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if (
        auth_session.revoked_at is not None
        or auth_session.expires_at <= now
        or idle_limit <= now
        or not user.is_active
    ):
        raise AuthenticationRequired("session has expired; log in again")
    # Touch at most once a minute, to keep reads from turning into writes.
    if now - auth_session.last_seen_at > timedelta(minutes=1):
        auth_session.last_seen_at = now
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        permissions=permissions_for(user.role),
    )
