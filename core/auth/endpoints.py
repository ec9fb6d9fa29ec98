"""Login, logout, who-am-I, passwords and two-factor enrolment for everyone on the support side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from core import audit
from core.auth import mfa, service
from core.auth.dependencies import SESSION_COOKIE, bearer_token, client_address, current_principal
from core.auth.passwords import verify_password
from core.auth.roles import role_permissions
from core.auth.schemas import (
    LoginResult,
    Me,
    Preferences,
    PrincipalOut,
    RecoveryCodes,
    ResetRequested,
    TotpSetup,
)
from core.auth.service import Principal, requires_mfa
from core.auth.throttle import TooManyAttempts
from core.database import DbSession, utcnow
from core.errors import AuthenticationRequired, Conflict, PermissionDenied, ValidationFailed
from core.schemas import error_responses
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

CurrentUser = Annotated[Principal, Depends(current_principal)]


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(default=None, max_length=10)
    recovery_code: str | None = Field(default=None, max_length=40)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class ResetRequest(BaseModel):
    email: str = Field(max_length=320)


class ResetConfirm(BaseModel):
    token: str = Field(max_length=200)
    new_password: str = Field(max_length=1024)


class TotpCode(BaseModel):
    code: str = Field(max_length=10)


class PasswordConfirm(BaseModel):
    password: str = Field(max_length=1024)


def _session_user(principal: Principal) -> int:
    """Account settings are changed by the person, not by an integration's API key."""
    if principal.api_key_id is not None:
        raise PermissionDenied("API keys cannot change account settings")
    return principal.user_id


@router.post("/login", summary="Log in; sets the session cookie and returns a bearer token",
             responses=error_responses(401, 429))
def login(body: LoginRequest, request: Request, response: Response,
          session: DbSession) -> LoginResult:
    try:
        token, _user = service.login(session, email=body.email, password=body.password,
                                    client_address=client_address(request),
                                    totp_code=body.totp_code, recovery_code=body.recovery_code)
    except (TooManyAttempts, AuthenticationRequired):
        # The failed or throttled attempt must count and stay audited, although the error
        # response rolls the request's session back: commit it first.
        session.commit()
        raise
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax",
        secure=settings.public_base_url.startswith("https"),
        max_age=settings.session_absolute_hours * 3600,
    )
    principal = service.resolve_token(session, token)
    return LoginResult(token=token, user=PrincipalOut.of(principal))


@router.post("/logout", status_code=204, summary="Revoke the current session")
def logout(request: Request, response: Response, session: DbSession) -> None:
    token = bearer_token(request)
    if token:
        service.logout(session, token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", summary="The logged-in user and their permissions")
def me(principal: CurrentUser, session: DbSession) -> Me:
    return Me.of_user(principal, service.get_user(session, principal.user_id))


@router.put("/me/preferences", summary="Your language and time zone for the staff pages")
def set_preferences(body: Preferences, principal: CurrentUser, session: DbSession) -> Me:
    user = service.set_preferences(session, _session_user(principal), locale=body.locale,
                                   time_zone=body.time_zone)
    return Me.of_user(principal, user)


@router.post("/password", status_code=204,
             summary="Change your password; your other sessions are logged out")
def change_password(body: PasswordChange, principal: CurrentUser, request: Request,
                    session: DbSession) -> None:
    service.change_password(session, user_id=_session_user(principal),
                            current_password=body.current_password,
                            new_password=body.new_password, keep_token=bearer_token(request),
                            client_address=client_address(request))


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED,
             summary="Send a reset link if the account exists (the answer is the same either way)")
def request_reset(body: ResetRequest, request: Request, session: DbSession) -> ResetRequested:
    service.request_password_reset(session, email=body.email,
                                   client_address=client_address(request))
    return ResetRequested(message="if the account exists, a reset link is on its way")


@router.post("/password-reset/confirm", status_code=204,
             summary="Set a new password with a reset link's token (single use, expires)")
def confirm_reset(body: ResetConfirm, request: Request, session: DbSession) -> None:
    service.reset_password(session, token=body.token, new_password=body.new_password,
                           client_address=client_address(request))


@router.post("/totp/setup", summary="Start two-factor enrolment: a secret for the authenticator",
             responses=error_responses(409))
def totp_setup(principal: CurrentUser, session: DbSession) -> TotpSetup:
    user = service.get_user(session, _session_user(principal))
    enrolment = mfa.start_enrolment(user)
    return TotpSetup(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.post("/totp/enable",
             summary="Confirm enrolment with a first code; returns recovery codes (shown once)",
             responses=error_responses(409))
def totp_enable(body: TotpCode, principal: CurrentUser, request: Request,
                session: DbSession) -> RecoveryCodes:
    user = service.get_user(session, _session_user(principal))
    codes = mfa.confirm_enrolment(session, user, body.code, utcnow())
    audit.record(session, actor=user.id, action="auth.totp_enabled", target=f"user:{user.id}",
                 client_address=client_address(request))
    return RecoveryCodes(recovery_codes=codes)


@router.post("/totp/disable", status_code=204,
             summary="Turn two-factor authentication off (not allowed for administrators)",
             responses=error_responses(409))
def totp_disable(body: PasswordConfirm, principal: CurrentUser, request: Request,
                 session: DbSession) -> None:
    user = service.get_user(session, _session_user(principal))
    if requires_mfa(role_permissions(session, user.role)):
        raise Conflict("administrators must keep two-factor authentication on", field="totp")
    if not verify_password(user.password_hash, body.password):
        raise ValidationFailed("the password is wrong", field="password")
    mfa.disable(session, user)
    audit.record(session, actor=user.id, action="auth.totp_disabled", target=f"user:{user.id}",
                 client_address=client_address(request))
