"""Login, logout and who-am-I for everyone on the support side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from core.auth import service
from core.auth.dependencies import SESSION_COOKIE, bearer_token, current_principal
from core.auth.service import Principal
from core.database import DbSession
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

CurrentUser = Annotated[Principal, Depends(current_principal)]


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def principal_dict(principal: Principal) -> dict[str, Any]:
    return {"id": principal.user_id, "email": principal.email,
            "display_name": principal.display_name, "role": principal.role,
            "permissions": sorted(p.value for p in principal.permissions)}


@router.post("/login", summary="Log in; sets the session cookie and returns a bearer token")
def login(body: LoginRequest, request: Request, response: Response,
          session: DbSession) -> dict[str, Any]:
    token, _user = service.login(session, email=body.email, password=body.password,
                                client_address=_client_address(request))
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
def me(principal: CurrentUser) -> dict[str, Any]:
    return principal_dict(principal)
