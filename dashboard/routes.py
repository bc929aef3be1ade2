"""The dashboard's pages under one router (registered in ``server.app.create_app``)."""

from __future__ import annotations

from fastapi import APIRouter

from dashboard import error_messages
from dashboard.pages import (
    account,
    alerts,
    customers,
    exports,
    fleet,
    imports,
    live_map,
    pipeline,
    pool,
    rep,
    replay,
    reports,
    settings,
    tickets,
)

router = APIRouter(include_in_schema=False)
for _page in (
    error_messages,
    account,
    customers,
    live_map,
    replay,
    rep,
    fleet,
    pipeline,
    pool,
    tickets,
    alerts,
    reports,
    settings,
    imports,
    exports,
):
    router.include_router(_page.router)
