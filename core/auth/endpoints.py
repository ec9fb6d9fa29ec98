"""Login, logout, who-am-I, passwords and two-factor enrolment for everyone on the support side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from core import audit
from core.auth import mfa, service
from core.auth.dependencies import SESSION_COOKIE, bearer_token, client_address, current_principal
from core.auth.passwords import verify_password
from core.auth.roles import role_permissions
from core.auth.service import Principal, requires_mfa
from core.auth.throttle import TooManyAttempts
from core.database import DbSession, utcnow
from core.errors import AuthenticationRequired, Conflict, PermissionDenied, ValidationFailed
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


def principal_dict(principal: Principal) -> dict[str, Any]:
    return {"id": principal.user_id, "email": principal.email,
            "display_name": principal.display_name, "role": principal.role,
            "permissions": sorted(p.value for p in principal.permissions),
            "mfa_enrolment_required": principal.mfa_enrolment_required}


def _session_user(principal: Principal) -> int:
    """Account settings are changed by the person, not by an integration's API key."""
    if principal.api_key_id is not None:
        raise PermissionDenied("API keys cannot change account settings")
    return principal.user_id


@router.post("/login", summary="Log in; sets the session cookie and returns a bearer token",
             response_model=None)
def login(body: LoginRequest, request: Request, response: Response,
          session: DbSession) -> dict[str, Any] | JSONResponse:
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
    return {"token": token, "user": principal_dict(principal)}


@router.post("/logout", status_code=204, summary="Revoke the current session")
def logout(request: Request, response: Response, session: DbSession) -> None:
    token = bearer_token(request)
    if token:
        service.logout(session, token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", summary="The logged-in user and their permissions")
def me(principal: CurrentUser, session: DbSession) -> dict[str, Any]:
    user = service.get_user(session, principal.user_id)
    return {**principal_dict(principal), "totp_enabled": user.totp_enabled_at is not None}


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
def request_reset(body: ResetRequest, request: Request, session: DbSession) -> dict[str, str]:
    service.request_password_reset(session, email=body.email,
                                   client_address=client_address(request))
    return {"message": "if the account exists, a reset link is on its way"}


@router.post("/password-reset/confirm", status_code=204,
             summary="Set a new password with a reset link's token (single use, expires)")
def confirm_reset(body: ResetConfirm, request: Request, session: DbSession) -> None:
    service.reset_password(session, token=body.token, new_password=body.new_password,
                           client_address=client_address(request))


@router.post("/totp/setup", summary="Start two-factor enrolment: a secret for the authenticator")
def totp_setup(principal: CurrentUser, session: DbSession) -> dict[str, str]:
    user = service.get_user(session, _session_user(principal))
    enrolment = mfa.start_enrolment(user)
    return {"secret": enrolment.secret, "provisioning_uri": enrolment.provisioning_uri}


@router.post("/totp/enable",
             summary="Confirm enrolment with a first code; returns recovery codes (shown once)")
def totp_enable(body: TotpCode, principal: CurrentUser, request: Request,
                session: DbSession) -> dict[str, Any]:
    user = service.get_user(session, _session_user(principal))
    codes = mfa.confirm_enrolment(session, user, body.code, utcnow())
    audit.record(session, actor=user.id, action="auth.totp_enabled", target=f"user:{user.id}",
                 client_address=client_address(request))
    return {"recovery_codes": codes}


@router.post("/totp/disable", status_code=204,
             summary="Turn two-factor authentication off (not allowed for administrators)")
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
