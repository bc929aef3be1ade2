"""Sign-in page, language choice, and the home redirect to each role's first page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from crm.org import User
from dashboard.auth import PageUser
from dashboard.i18n import LANG_COOKIE, Translator, normalise_locale, request_locale
from dashboard.nav import landing_path
from dashboard.web import render
from server.deps import OptionalUser, SessionDep

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything that could leave the site becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


@router.get("/", response_class=HTMLResponse)
def home(user: PageUser) -> Response:
    return RedirectResponse(landing_path(user), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next) if next else landing_path(user), status_code=303)
    t = Translator(request_locale(request, None))
    return render(request, "login.html", user=None, next_path=safe_next(next), messages=t.messages("login"))


def set_own_locale(session: Session, user: User, locale: str) -> None:
    """A user's own display language (no permission involved, so not a permission change)."""
    user.locale = locale
    session.add(user)
    session.commit()


@router.post("/locale")
def choose_locale(
    session: SessionDep,
    user: OptionalUser,
    locale: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    chosen = normalise_locale(locale)
    if user is not None:
        set_own_locale(session, user, chosen)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
