"""Import of customers, contacts and leads (.xlsx/CSV, dry run, row report); exports of the other lists."""

import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select

from crm.errors import DomainError
from crm.export_specs import LEAD_EXPORT, OPPORTUNITY_EXPORT, TICKET_EXPORT
from crm.exporter import ExportSpec
from crm.importer import ImportOptions, ImportReport, import_table
from crm.leads import LeadFilter, lead_query
from crm.opportunities import OpportunityFilter, opportunity_query
from crm.tickets import TicketFilter, ticket_query
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip, query_filters
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
        content=file.file,  # spooled to a temporary file by the multipart parser
        filename=file.filename or "",
        options=options,
        now=utcnow(),
        region=settings.default_region,
        ip=client_ip(request),
    )


def _export_route(
    kind: str, spec: ExportSpec, filter_model: type[BaseModel], query: Callable[..., Select]
) -> None:
    """``GET /{kind}/export``: the list's own filters and scoped query, as an audited download."""

    def export(
        request: Request,
        session: SessionDep,
        user: CurrentUser,
        settings: SettingsDep,
        filters: Annotated[filter_model, query_filters(filter_model)],  # type: ignore[valid-type]
        format: str = "xlsx",
    ) -> Response:
        return export_response(
            request,
            session,
            user,
            settings,
            kind=kind,
            spec=spec,
            statement=query(user, filters),
            format=format,
            filters=filters,
        )

    router.add_api_route(f"/{kind}/export", export, methods=["GET"], name=f"export_{kind}")


for _kind, _spec, _filters, _query in (
    ("leads", LEAD_EXPORT, LeadFilter, lead_query),
    ("opportunities", OPPORTUNITY_EXPORT, OpportunityFilter, opportunity_query),
    ("tickets", TICKET_EXPORT, TicketFilter, ticket_query),
):
    _export_route(_kind, _spec, _filters, _query)
