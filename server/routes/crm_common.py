"""Helpers shared by the CRM route modules."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import Select
from sqlmodel import Session

from crm.exporter import Export, ExportSpec, export_list
from crm.org import User
from crm.senders import HttpSmsSender, OutboxFileSender, Sender, Senders, SmtpSender
from crm.tabular import MEDIA_TYPES, TableFormat, table_format
from crm.types import utcnow
from server.config import Settings
from server.deps import client_ip


def export_response(
    request: Request,
    session: Session,
    user: User,
    settings: Settings,
    *,
    kind: str,
    spec: ExportSpec,
    statement: Select,
    format: str,
    filters: BaseModel,
) -> Response:
    """Run a scoped list query as an audited CSV/xlsx download."""
    export = export_list(
        session,
        actor=user,
        kind=kind,
        spec=spec,
        statement=statement,
        fmt=table_format(format),
        now=utcnow(),
        zone=settings.time_zone,
        filters=filters.model_dump(exclude_none=True, mode="json"),
        ip=client_ip(request),
    )
    return download(export)


def download(export: Export) -> Response:
    fmt = TableFormat(export.filename.rsplit(".", 1)[1])
    return Response(
        export.content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(export.filename)}",
            "X-Row-Count": str(export.rows),
        },
    )


def senders_from(settings: Settings) -> Senders:
    """SMS through the HTTP gateway and e-mail through SMTP when configured; else the outbox file."""
    outbox = OutboxFileSender(settings.crm_outbox_dir or settings.data_dir / "outbox")
    sms: Sender = (
        HttpSmsSender(settings.crm_sms_gateway_url, settings.crm_sms_gateway_token)
        if settings.crm_sms_gateway_url
        else outbox
    )
    email: Sender = (
        SmtpSender(
            settings.crm_smtp_host,
            settings.crm_smtp_port,
            settings.crm_smtp_from,
            settings.crm_smtp_user,
            settings.crm_smtp_password,
            settings.crm_smtp_tls,
        )
        if settings.crm_smtp_host
        else outbox
    )
    return Senders({"sms": sms, "email": email})
