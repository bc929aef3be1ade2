"""Helpers shared by the CRM route modules."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from crm.exporter import Export
from crm.senders import HttpSmsSender, OutboxFileSender, Sender, Senders, SmtpSender
from crm.tabular import MEDIA_TYPES, TableFormat
from server.config import Settings


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
