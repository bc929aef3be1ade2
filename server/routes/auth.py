"""Sign-in for API clients (bearer tokens) and browsers (session cookie)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import Field

from crm.org import Role
from crm.types import utcnow
from server.auth.models import TokenKind
from server.auth.service import (
    LoginFailed,
    LoginRateLimited,
    authenticate,
    issue_user_token,
    revoke_user_token,
)
from server.deps import SESSION_COOKIE, CurrentUser, SessionDep, SettingsDep, client_ip
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    session: bool = Field(
        default=False, description="Set a browser session cookie instead of returning a token."
    )


class TokenOut(Read):
    access_token: str | None = None
    token_type: str = "bearer"
    expires_at: datetime


class MeOut(Read):
    id: int
    username: str
    display_name: str
    role: Role
    division_id: int | None
    locale: str


@router.post("/login", response_model=TokenOut)
def login(
    body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> TokenOut:
    now = utcnow()
    try:
        user = authenticate(
            session,
            username=body.username,
            password=body.password,
            ip=client_ip(request),
            now=now,
            max_failures_per_minute=settings.login_attempts_per_minute,
        )
    except LoginRateLimited as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed sign-ins; wait a minute",
            headers={"Retry-After": "60"},
        ) from exc
    except LoginFailed as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password") from exc
    if body.session:
        issued = issue_user_token(
            session,
            user=user,
            kind=TokenKind.session,
            lifetime=timedelta(hours=settings.session_hours),
            now=now,
        )
        response.set_cookie(
            SESSION_COOKIE,
            issued.secret,
            max_age=settings.session_hours * 3600,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return TokenOut(access_token=None, token_type="cookie", expires_at=issued.token.expires_at)
    issued = issue_user_token(
        session, user=user, kind=TokenKind.api, lifetime=timedelta(days=settings.api_token_days), now=now
    )
    return TokenOut(access_token=issued.secret, expires_at=issued.token.expires_at)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, session: SessionDep, _user: CurrentUser) -> Response:
    header = request.headers.get("authorization", "")
    secret = header.partition(" ")[2].strip() or request.cookies.get(SESSION_COOKIE, "")
    revoke_user_token(session, secret, now=utcnow())
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser) -> MeOut:
    """No I/O here (the user is loaded by authentication), so no worker thread either."""
    return MeOut.model_validate(user)
