"""Users, login sessions, passwords. Plain functions over a session; no HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit
from core.auth import api_keys, mfa, throttle
from core.auth.models import AuthSession, PasswordResetToken, User
from core.auth.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    validate_password,
    verify_password,
)
from core.auth.permissions import Permission
from core.auth.reset_delivery import get_sender
from core.auth.roles import role_exists, role_permissions
from core.database import utcnow
from core.errors import AuthenticationRequired, Conflict, NotFound, ValidationFailed
from core.settings import get_settings
from core.tokens import hash_token, new_token

RESET_LINK_LIFETIME = timedelta(hours=1)
# At most this many links per account per RESET_LINK_LIFETIME, so the form cannot be used
# to flood someone's inbox; further requests get the same answer and send nothing.
MAX_RESET_LINKS = 3


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do. Built fresh on every request."""

    user_id: int
    email: str
    display_name: str
    role: str
    permissions: frozenset[Permission]
    api_key_id: int | None = None
    # An administrator who has not enabled TOTP yet: the session may only enrol (see docs).
    mfa_enrolment_required: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def requires_mfa(permissions: frozenset[Permission]) -> bool:
    """Whoever may manage users (administrators, and custom roles with that power) must use TOTP."""
    return Permission.USERS_MANAGE in permissions


def create_user(
    session: Session, *, email: str, display_name: str, password: str, role: str
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed("email is not a valid address", field="email")
    if not role_exists(session, role):
        raise ValidationFailed(f"unknown role '{role}'", field="role")
    if not display_name.strip():
        raise ValidationFailed("display_name must not be empty", field="display_name")
    validate_password(password)
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    user = User(
        email=email, display_name=display_name.strip(), password_hash=hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def _login_failed(session: Session, *, account: str, user: User | None,
                  client_address: str | None, now: datetime, reason: str) -> None:
    throttle.record_attempt(session, account=account, address=client_address,
                            succeeded=False, now=now)
    audit.record(session, actor=user.id if user else None, action="auth.login_failed",
                 target=f"user:{user.id}" if user else f"email:{account[:180]}",
                 client_address=client_address, after={"reason": reason})


def login(
    session: Session, *, email: str, password: str, client_address: str | None,
    totp_code: str | None = None, recovery_code: str | None = None,
    now: datetime | None = None,
) -> tuple[str, User]:
    """Check credentials (and the second factor) and open a session.

    Returns the bearer token (shown once). A failure raises after writing the attempt and
    its audit entry to `session`: the caller must commit them even though it answers with
    an error (core.auth.endpoints does).
    """
    now = now or utcnow()
    account = email.strip().lower()
    try:
        throttle.check(session, account=account, address=client_address, now=now)
    except throttle.TooManyAttempts as exc:
        audit.record(session, actor=None, action="auth.login_throttled",
                     target=f"email:{account[:180]}", client_address=client_address,
                     after={"retry_after": exc.retry_after})
        raise
    user = session.scalar(select(User).where(User.email == account))
    if user is None:
        verify_password(DUMMY_HASH, password)
        _login_failed(session, account=account, user=None, client_address=client_address,
                      now=now, reason="unknown_email")
        raise AuthenticationRequired("e-mail or password is wrong")
    if not verify_password(user.password_hash, password) or not user.is_active:
        _login_failed(session, account=account, user=user, client_address=client_address,
                      now=now, reason="password" if user.is_active else "disabled")
        raise AuthenticationRequired("e-mail or password is wrong")
    second_factor = None
    if user.totp_enabled_at is not None:
        if not totp_code and not recovery_code:
            # The password was right: ask for the code without counting a failure.
            raise AuthenticationRequired("this account needs a two-factor code",
                                         field="totp_code", totp_required=True)
        try:
            second_factor = mfa.verify_second_factor(session, user, totp_code=totp_code,
                                                     recovery_code=recovery_code, now=now)
        except AuthenticationRequired:
            _login_failed(session, account=account, user=user, client_address=client_address,
                          now=now, reason="second_factor")
            raise
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.record_attempt(session, account=account, address=client_address, succeeded=True,
                            now=now)
    token = open_session(session, user, client_address, now)
    user.last_login_at = now
    audit.record(session, actor=user.id, action="auth.login", target=f"user:{user.id}",
                 client_address=client_address,
                 after={"second_factor": second_factor} if second_factor else None)
    return token, user


def open_session(session: Session, user: User, client_address: str | None,
                  now: datetime) -> str:
    settings = get_settings()
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
    return token


def logout(session: Session, token: str) -> None:
    auth_session = session.scalar(
        select(AuthSession).where(AuthSession.token_hash == hash_token(token))
    )
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()


def revoke_sessions(session: Session, user_id: int, *, keep_token: str | None = None) -> None:
    """End every open session of a user (password change/reset, disable), except `keep_token`."""
    query = update(AuthSession).where(AuthSession.user_id == user_id,
                                      AuthSession.revoked_at.is_(None))
    if keep_token:
        query = query.where(AuthSession.token_hash != hash_token(keep_token))
    session.execute(query.values(revoked_at=utcnow()).execution_options(
        synchronize_session=False))


def resolve_token(session: Session, token: str, now: datetime | None = None) -> Principal:
    """The principal behind a bearer token (session token or `tk_` API key).

    Re-read on every request: idle and absolute expiry, disabled users, role and custom-role
    changes all take effect at the next request.
    """
    now = now or utcnow()
    if api_keys.is_api_key(token):
        key, owner = api_keys.resolve(session, token)
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            key.last_used_at = now
        owner_permissions = role_permissions(session, owner.role)
        scope = frozenset(p for p in owner_permissions if p.value in key.permissions)
        return Principal(user_id=owner.id, email=owner.email, display_name=owner.display_name,
                         role=owner.role, permissions=scope, api_key_id=key.id)
    settings = get_settings()
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
    permissions = role_permissions(session, user.role)
    if requires_mfa(permissions) and user.totp_enabled_at is None:
        return Principal(user_id=user.id, email=user.email, display_name=user.display_name,
                         role=user.role, permissions=frozenset(), mfa_enrolment_required=True)
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        permissions=permissions,
    )


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id")
    return user


def set_preferences(session: Session, user_id: int, *, locale: str | None,
                    time_zone: str | None) -> User:
    """The staff member's own language and time zone for the staff pages."""
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(f"unknown time zone '{time_zone}'",
                                   field="time_zone") from exc
    user = get_user(session, user_id)
    user.locale, user.time_zone = locale, time_zone
    session.flush()
    return user


def change_password(session: Session, *, user_id: int, current_password: str,
                    new_password: str, keep_token: str | None,
                    client_address: str | None) -> None:
    user = get_user(session, user_id)
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("the current password is wrong", field="current_password")
    validate_password(new_password, field="new_password")
    _set_password(session, user, new_password, keep_token=keep_token)
    audit.record(session, actor=user.id, action="auth.password_changed",
                 target=f"user:{user.id}", client_address=client_address)


def _set_password(session: Session, user: User, password: str, *,
                  keep_token: str | None = None) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.execute(update(PasswordResetToken)
                    .where(PasswordResetToken.user_id == user.id,
                           PasswordResetToken.used_at.is_(None))
                    .values(used_at=utcnow()).execution_options(synchronize_session=False))
    revoke_sessions(session, user.id, keep_token=keep_token)


def issue_reset_link(session: Session, user: User, now: datetime | None = None) -> str:
    """A new single-use reset link for `user` (valid RESET_LINK_LIFETIME)."""
    now = now or utcnow()
    token = new_token()
    session.add(PasswordResetToken(user_id=user.id, token_hash=hash_token(token),
                                   created_at=now, expires_at=now + RESET_LINK_LIFETIME))
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/reset-password#token={token}"


def request_password_reset(session: Session, *, email: str,
                           client_address: str | None) -> None:
    """Send a reset link if the account exists and is active; say nothing either way."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        return
    recent = session.scalar(select(func.count()).select_from(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id,
        PasswordResetToken.created_at > utcnow() - RESET_LINK_LIFETIME))
    if recent and recent >= MAX_RESET_LINKS:
        return
    link = issue_reset_link(session, user)
    audit.record(session, actor=None, action="auth.password_reset_requested",
                 target=f"user:{user.id}", client_address=client_address)
    get_sender().send(email=user.email, link=link)


def reset_password(session: Session, *, token: str, new_password: str,
                   client_address: str | None, now: datetime | None = None) -> User:
    now = now or utcnow()
    # Claim the link with a conditional UPDATE: of two uses racing, only one succeeds.
    claimed = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == hash_token(token),
               PasswordResetToken.used_at.is_(None), PasswordResetToken.expires_at > now)
        .values(used_at=now)
        .returning(PasswordResetToken.user_id)
    ).scalar()
    if claimed is None:
        raise ValidationFailed("the reset link is invalid, used or expired", field="token")
    validate_password(new_password, field="new_password")
    user = get_user(session, claimed)
    _set_password(session, user, new_password)
    audit.record(session, actor=user.id, action="auth.password_reset",
                 target=f"user:{user.id}", client_address=client_address)
    return user
