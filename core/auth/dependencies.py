"""FastAPI dependencies for access checks. Declare access once per module, e.g.

    TicketsRead = Annotated[Principal, Depends(require(Permission.TICKETS_READ))]

Both login sessions and `tk_` API keys arrive as `Authorization: Bearer ...` (sessions also
as the cookie) and go through the same check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from core.auth.permissions import Permission
from core.auth.service import Principal, resolve_token
from core.database import DbSession
from core.errors import AuthenticationRequired, PermissionDenied

SESSION_COOKIE = "tandem_session"
MFA_ENROLMENT_MESSAGE = (
    "administrators must turn on two-factor authentication first: "
    "POST /api/v1/auth/totp/setup, then /api/v1/auth/totp/enable"
)


# Declared so that /openapi.json shows which operations need a login (either way of presenting
# it); they never refuse a request themselves: bearer_token() reads both.
_BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="A session token from POST /api/v1/auth/login, or a `tk_` "
                                 "API key")
_COOKIE = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session_cookie",
                       description="The session cookie POST /api/v1/auth/login sets")
BearerDeclared = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
CookieDeclared = Annotated[str | None, Security(_COOKIE)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_principal(request: Request, session: DbSession, _bearer: BearerDeclared = None,
                      _cookie: CookieDeclared = None) -> Principal:
    """Anyone logged in, including an administrator whose session is limited to enrolment."""
    token = bearer_token(request)
    if not token:
        raise AuthenticationRequired("log in first (no session cookie or bearer token)")
    return resolve_token(session, token)


def require(permission: Permission) -> Callable[..., Principal]:
    def dependency(request: Request, session: DbSession, _bearer: BearerDeclared = None,
                   _cookie: CookieDeclared = None) -> Principal:
        principal = current_principal(request, session)
        if principal.mfa_enrolment_required:
            raise PermissionDenied(MFA_ENROLMENT_MESSAGE, mfa_enrolment_required=True)
        if not principal.can(permission):
            raise PermissionDenied(f"this needs the permission '{permission.value}'")
        return principal

    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency


def require_any(*permissions: Permission, message: str | None = None,
                mfa_message: str = MFA_ENROLMENT_MESSAGE) -> Callable[..., Principal]:
    """Like `require`, satisfied by any one of `permissions`. `message` replaces the default
    refusal ("this needs the permission 'a' or 'b'"); `mfa_message` the enrolment one."""
    names = " or ".join(f"'{p.value}'" for p in permissions)
    refusal = message or f"this needs the permission {names}"

    def dependency(request: Request, session: DbSession, _bearer: BearerDeclared = None,
                   _cookie: CookieDeclared = None) -> Principal:
        principal = current_principal(request, session)
        if principal.mfa_enrolment_required:
            raise PermissionDenied(mfa_message, mfa_enrolment_required=True)
        if not any(principal.can(p) for p in permissions):
            raise PermissionDenied(refusal)
        return principal

    dependency.__name__ = "require_any_of_" + "_".join(p.name.lower() for p in permissions)
    return dependency
