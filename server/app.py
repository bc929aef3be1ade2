"""The FastAPI application."""

from __future__ import annotations

import gc

from fastapi import FastAPI
from sqlalchemy import Engine

from dashboard import routes as dashboard
from dashboard.install import mount_dashboard
from server.auth.lookup import DeviceTokens, UserTokens
from server.config import Settings, get_settings
from server.db import get_engine
from server.errors import install_error_handlers
from server.logs import configure_logging
from server.middleware import RequestMiddleware
from server.routes import (
    agent_commands,
    alerts,
    audit,
    auth,
    checkins,
    crm_api,
    devices,
    dispatch,
    health,
    ingest,
    locations,
    org,
    recordings,
    route_plans,
    timeline,
    trackers,
)


def upload_limits(settings: Settings) -> dict[str, int]:
    """Paths whose bodies may exceed the general limit (uploads) and their own limits."""
    return {
        "/api/v1/ingest/recordings": settings.max_upload_bytes,
        "/api/v1/ingest/recording-batches": settings.max_recording_batch_bytes,
        "/api/v1/import": settings.max_import_bytes,
    }


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        title="fieldcrm",
        version="0.1.0",
        description="CRM for field-sales teams whose company phones capture their own work.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings)
    app.state.user_tokens = UserTokens(app.state.engine)
    app.state.device_tokens = DeviceTokens(app.state.engine)
    install_error_handlers(app)
    for module in (
        health,
        auth,
        org,
        devices,
        audit,
        ingest,
        timeline,
        recordings,
        alerts,
        locations,
        trackers,
        crm_api,
        checkins,
        dispatch,
        route_plans,
        agent_commands,
        dashboard,
    ):
        app.include_router(module.router)
    mount_dashboard(app)
    app.add_middleware(
        RequestMiddleware,
        default_limit=settings.max_body_bytes,
        prefix_limits=upload_limits(settings),
    )
    return app


def served_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The application as a server process runs it: built, then frozen out of the garbage collector.

    Everything built here (modules, routes, schemas, SQLAlchemy metadata) lives as long as the
    process; ``gc.freeze()`` moves it out of the collector's generations, so full collections no
    longer walk the whole application heap every few thousand allocations (measured: a tenth of
    the CPU of an authenticated request, most of the collector's share of a large ingest batch).
    """
    app = create_app(settings, engine)
    gc.collect()
    gc.freeze()
    return app
