"""TOTP two-factor authentication (RFC 6238 via pyotp) and single-use recovery codes.

Enrolment is two steps: `start_enrolment` stores a fresh secret and returns it with the
otpauth:// URI for the authenticator app; `confirm_enrolment` checks a first code, switches
TOTP on and returns ten recovery codes (shown once, stored as SHA-256). A code is accepted
once: the last used 30-second step is remembered.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.auth.models import RecoveryCode, User
from core.errors import AuthenticationRequired, Conflict, ValidationFailed
from core.tokens import hash_token

ISSUER = "Tandem"
RECOVERY_CODE_COUNT = 10
# Accept the previous and next step as well: phones' clocks drift.
VALID_WINDOW = 1


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str


def start_enrolment(user: User) -> Enrolment:
    if user.totp_enabled_at is not None:
        raise Conflict("two-factor authentication is already on; turn it off first",
                       field="totp")
    user.totp_secret = pyotp.random_base32()
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=user.totp_secret, provisioning_uri=uri)


def confirm_enrolment(session: Session, user: User, code: str, now: datetime) -> list[str]:
    if user.totp_secret is None:
        raise Conflict("start the enrolment first", field="totp")
    if user.totp_enabled_at is not None:
        raise Conflict("two-factor authentication is already on", field="totp")
    if not _accept_code(user, code, now):
        raise ValidationFailed("the code does not match; check the phone's clock",
                               field="code")
    user.totp_enabled_at = now
    return new_recovery_codes(session, user)


def disable(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes; the returned plain codes are never stored."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(c)) for c in codes)
    return codes


def _accept_code(user: User, code: str, now: datetime) -> bool:
    assert user.totp_secret is not None
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # already used (replay)
            user.totp_last_step = step
            return True
    return False


def _use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    # A conditional UPDATE, so two logins racing with the same code cannot both win.
    result = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id,
               RecoveryCode.code_hash == hash_token(code.strip().lower()),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def remaining_recovery_codes(session: Session, user: User) -> int:
    return len(list(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))))


def verify_second_factor(session: Session, user: User, *, totp_code: str | None,
                         recovery_code: str | None, now: datetime) -> str:
    """Check the second factor of a login; returns which one was used."""
    if totp_code:
        if _accept_code(user, totp_code, now):
            return "totp"
        raise AuthenticationRequired("the two-factor code is wrong or was already used",
                                     field="totp_code")
    if recovery_code:
        if _use_recovery_code(session, user, recovery_code, now):
            return "recovery_code"
        raise AuthenticationRequired("the recovery code is wrong or was already used",
                                     field="recovery_code")
    raise AuthenticationRequired("this account needs a two-factor code", field="totp_code",
                                 totp_required=True)
