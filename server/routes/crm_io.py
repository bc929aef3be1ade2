"""Import of customers, contacts and leads (.xlsx/CSV, dry run, row report); exports of the other lists."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from pydantic import ValidationError

from crm.errors import DomainError
from crm.export_specs import LEAD_EXPORT, OPPORTUNITY_EXPORT, TICKET_EXPORT
from crm.importer import ImportOptions, ImportReport, import_table
from crm.leads import LeadFilter, lead_query
from crm.opportunities import OpportunityFilter, opportunity_query
from crm.tickets import TicketFilter, ticket_query
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip
from server.routes.crm_common import export_response

router = APIRouter(prefix="/api/v1", tags=["import and export"])


def _options(options: Annotated[str, Form(max_length=10_000)] = "{}") -> ImportOptions:
    try:
        return ImportOptions.model_validate(json.loads(options))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise DomainError(f"invalid import options: {exc}"[:500], field="options") from exc


@router.post("/import", response_model=ImportReport)
def post_import(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    options: Annotated[ImportOptions, Depends(_options)],
) -> ImportReport:
    """Upload a file with ``options`` (JSON: kind, mapping, dry_run, all_or_nothing, division_id, owner_id)."""
    return import_table(
        session,
        actor=user,
        content=file.file.read(),
        filename=file.filename or "",
        options=options,
        now=utcnow(),
        region=settings.default_region,
        ip=client_ip(request),
    )


@router.get("/leads/export")
def export_leads(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    filters: Annotated[LeadFilter, Depends()],
    format: str = "xlsx",
) -> Response:
    return export_response(
        request,
        session,
        user,
        settings,
        kind="leads",
        spec=LEAD_EXPORT,
        statement=lead_query(user, filters),
        format=format,
        filters=filters,
    )


@router.get("/opportunities/export")
def export_opportunities(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    filters: Annotated[OpportunityFilter, Depends()],
    format: str = "xlsx",
) -> Response:
    return export_response(
        request,
        session,
        user,
        settings,
        kind="opportunities",
        spec=OPPORTUNITY_EXPORT,
        statement=opportunity_query(user, filters),
        format=format,
        filters=filters,
    )


@router.get("/tickets/export")
def export_tickets(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    filters: Annotated[TicketFilter, Depends()],
    format: str = "xlsx",
) -> Response:
    return export_response(
        request,
        session,
        user,
        settings,
        kind="tickets",
        spec=TICKET_EXPORT,
        statement=ticket_query(user, filters),
        format=format,
        filters=filters,
    )
