"""Divisions and users."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import Field
from sqlmodel import select

from crm.access import scope
from crm.org import Division, Role, User
from crm.org_service import Caller, change_user, create_division, create_user
from server.auth.secrets import MIN_PASSWORD_LENGTH, hash_password
from server.deps import CurrentUser, SessionDep, client_ip
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1", tags=["organisation"])


class DivisionCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class DivisionRead(Read):
    id: int
    name: str
    code: str


class UserCreate(Strict):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)
    role: Role
    division_id: int | None = None
    display_name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    locale: str = Field(default="zh", pattern=r"^(zh|en)$")


class UserUpdate(Strict):
    role: Role | None = None
    division_id: int | None = None
    is_active: bool | None = None
    display_name: str | None = Field(default=None, max_length=100)
    locale: str | None = Field(default=None, pattern=r"^(zh|en)$")


class UserRead(Read):
    id: int
    username: str
    display_name: str
    role: Role
    division_id: int | None
    is_active: bool
    frozen_at: datetime | None
    locale: str


def _caller(user: User, request: Request) -> Caller:
    return Caller(user=user, ip=client_ip(request))


@router.get("/divisions", response_model=list[DivisionRead])
def list_divisions(session: SessionDep, user: CurrentUser) -> list[Division]:
    return list(session.exec(scope(select(Division).order_by(Division.id), user, Division)))


@router.post("/divisions", response_model=DivisionRead, status_code=201)
def post_division(body: DivisionCreate, request: Request, session: SessionDep, user: CurrentUser) -> Division:
    return create_division(session, caller=_caller(user, request), name=body.name, code=body.code)


@router.get("/users", response_model=list[UserRead])
def list_users(
    session: SessionDep,
    user: CurrentUser,
    division_id: int | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
    after_id: int = Query(default=0, ge=0),
) -> list[User]:
    stmt = select(User).where(User.id > after_id).order_by(User.id).limit(limit)
    if division_id is not None:
        stmt = stmt.where(User.division_id == division_id)
    return list(session.exec(scope(stmt, user, User)))


@router.post("/users", response_model=UserRead, status_code=201)
def post_user(body: UserCreate, request: Request, session: SessionDep, user: CurrentUser) -> User:
    return create_user(
        session,
        caller=_caller(user, request),
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        division_id=body.division_id,
        display_name=body.display_name,
        phone=body.phone,
        locale=body.locale,
    )


@router.patch("/users/{user_id}", response_model=UserRead)
def patch_user(
    user_id: int, body: UserUpdate, request: Request, session: SessionDep, user: CurrentUser
) -> User:
    return change_user(
        session,
        caller=_caller(user, request),
        user_id=user_id,
        role=body.role,
        division_id=body.division_id,
        is_active=body.is_active,
        display_name=body.display_name,
        locale=body.locale,
    )
