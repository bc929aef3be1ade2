"""Request dependencies: DB session, current user (bearer token or session cookie), current device."""

from __future__ import annotations

import base64
import binascii
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from crm.devices import Device
from crm.org import Role, User
from crm.types import utcnow
from server.auth.lookup import DeviceTokens, UserTokens
from server.auth.models import TokenKind
from server.config import Settings

M = TypeVar("M", bound=BaseModel)

SESSION_COOKIE = "fieldcrm_session"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request. Opening one does no I/O, so it happens on the event loop; so does
    closing one that holds no connection (never used, or committed). Closing one that still holds
    a connection rolls back, which goes to a worker thread."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


async def app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _basic_password(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def _same_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    return urlsplit(source).netloc == request.headers.get("host", "")


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def optional_user(request: Request) -> User | None:
    """The signed-in user, or None. Cookie sessions must come from our own pages for unsafe methods.

    Looked up on the event loop (``server.auth.lookup``): no database session, no worker thread.
    """
    tokens: UserTokens = request.app.state.user_tokens
    now = utcnow()
    if bearer := _bearer(request):
        user = await tokens.user(bearer, now=now)
        if user is None:
            raise _unauthorised("invalid or expired token")
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    user = await tokens.user(cookie, now=now, kind=TokenKind.session)
    if user is None:
        return None
    if request.method in UNSAFE_METHODS and not _same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="cross-site request refused")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


async def current_user(request: Request) -> User:
    if (user := await optional_user(request)) is None:
        raise _unauthorised("not signed in")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], Coroutine[None, None, User]]:
    async def check(user: CurrentUser) -> User:
        if Role(user.role) not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"requires role: {', '.join(roles)}")
        return user

    return check


def device_secret(request: Request) -> str:
    """A device authenticates with its token as a bearer token or as the Basic-auth password (trackers)."""
    if secret := _bearer(request) or _basic_password(request):
        return secret
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="device credentials required",
        headers={"WWW-Authenticate": 'Basic realm="fieldcrm"'},
    )


def refused_device() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="invalid or revoked device credentials",
        headers={"WWW-Authenticate": 'Basic realm="fieldcrm"'},
    )


async def current_device(request: Request) -> Device:
    """Looked up on the event loop like ``optional_user``."""
    tokens: DeviceTokens = request.app.state.device_tokens
    if (device := await tokens.device(device_secret(request), now=utcnow())) is None:
        raise refused_device()
    return device


CurrentDevice = Annotated[Device, Depends(current_device)]


def query_filters(model: type[M]) -> Any:
    """``Depends()`` on a filter model whose fields are query parameters, but what the model itself
    refuses (e.g. a time without its zone) answers 422 like any bad query parameter, not 500."""

    def build(**values: Any) -> M:
        try:
            return model(**values)
        except ValidationError as exc:
            errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None

    build.__signature__ = inspect.signature(model)  # type: ignore[attr-defined]
    return Depends(build)
