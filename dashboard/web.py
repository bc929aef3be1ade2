"""Rendering pages: one Jinja environment, the per-request context every page shares, security headers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request

from crm.org import User
from crm.types import utcnow
from dashboard.formatting import Formatter
from dashboard.i18n import LOCALES, Translator, request_locale
from dashboard.maps import tile_hosts
from dashboard.nav import nav_for

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"

_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@lru_cache
def _static_version(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>`` so browsers never run yesterday's script."""
    return f"/static/{path}?v={_static_version(path)}"


def with_query(request: Request, **params: str | None) -> str:
    """This page's path and query with some parameters replaced (``None`` removes one)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in params]
    items += [(k, v) for k, v in params.items() if v is not None]
    return request.url.path + ("?" + urlencode(items) if items else "")


def rep_options(reps: Iterable[Any], selected: int | None = None) -> Markup:
    """``<option>``s of a rep picker (rows with ``id``, ``display_name``, ``username``), built in one
    pass: an organisation may list thousands of reps, too many for a template loop on every page."""
    return Markup(
        "".join(
            f'<option value="{int(r.id)}"{" selected" if r.id == selected else ""}>'
            f"{escape(r.display_name or r.username)}</option>"
            for r in reps
        )
    )


_env.globals["static"] = static_url
_env.globals["rep_options"] = rep_options
_env.globals["with_query"] = with_query
_env.globals["locales"] = LOCALES

CSP = "; ".join(
    (
        "default-src 'self'",
        # folium writes its map set-up as an inline script
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: " + " ".join(tile_hosts()),
        "media-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)


def settings_zone(request: Request) -> str:
    return request.app.state.settings.time_zone


def page_context(request: Request, user: User | None) -> dict[str, Any]:
    t = Translator(request_locale(request, user))
    return {
        "request": request,
        "user": user,
        "t": t,
        "locale": t.locale,
        "fmt": Formatter(t, settings_zone(request)),
        "nav": nav_for(user) if user else [],
        "path": request.url.path,
        "zone": settings_zone(request),
        "now": utcnow(),
    }


def render(
    request: Request, template: str, *, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    html = _env.get_template(template).render(**page_context(request, user), **context)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, user: User | None, status_code: int) -> HTMLResponse:
    """The HTML answer for a page that cannot be shown: 404 not found (or out of scope), else bad request."""
    key = "error.not_found" if status_code == 404 else "error.bad_request"
    return render(request, "error.html", user=user, status_code=status_code, message_key=key)


def local_now(request: Request) -> datetime:
    return utcnow().astimezone(ZoneInfo(settings_zone(request)))
