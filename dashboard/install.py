"""Wiring the dashboard into the application: static files and the page-level error answers."""

from __future__ import annotations

import xstatic.pkg.leaflet as xstatic_leaflet
from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

from dashboard.auth import LoginRequired, PageForbidden, login_url
from dashboard.maps import LEAFLET_URL
from dashboard.web import STATIC_DIR, render


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    return render(request, "error.html", user=exc.user, status_code=403, message_key="error.forbidden")


def mount_dashboard(app: FastAPI) -> None:
    """Serve ``/static/`` (our assets, and Leaflet from the xstatic-leaflet package) and page errors."""
    app.mount(LEAFLET_URL, StaticFiles(directory=xstatic_leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _forbidden)
