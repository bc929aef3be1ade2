"""Alerts (managers): the matched word in its context, or the name of a customer's entry deleted from a
company phone; who and when, a link to the customer's timeline, acknowledging; the division's keyword
list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, select

from crm.access import scope
from crm.communications import (
    CONTACT_TABLE,
    RECORDING_TABLE,
    SMS_TABLE,
    AlertStatus,
    CaptureAlert,
    CapturedSms,
    Recording,
)
from crm.org import User
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import customer_names, user_names
from dashboard.nav import MANAGERS
from dashboard.web import render
from server.deps import SessionDep
from server.ingest.deleted_contacts import customers_of_deleted
from server.ingest.rules import keywords_of

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]

PAGE_SIZE = 50
# Where an alert's text came from: the captured row's table → its model (which names the customer).
SOURCES = {SMS_TABLE: CapturedSms, RECORDING_TABLE: Recording}


@dataclass(frozen=True)
class AlertRow:
    alert: CaptureAlert
    parts: list[tuple[str, bool]]
    customer_id: int | None
    customer: str
    rep: str


def highlight(context: str, keyword: str) -> list[tuple[str, bool]]:
    """``context`` cut into (text, is the keyword) pieces."""
    if not keyword:
        return [(context, False)]
    parts: list[tuple[str, bool]] = []
    for i, piece in enumerate(context.split(keyword)):
        if i:
            parts.append((keyword, True))
        if piece:
            parts.append((piece, False))
    return parts


def _customers_of(session: Session, actor: User, alerts: list[CaptureAlert]) -> dict[tuple[str, int], int]:
    """(source table, source id) → the customer the captured SMS or recording is linked to, or whose
    number the deleted phone-book entry held."""
    deleted = customers_of_deleted(session, [a.source_id for a in alerts if a.source_table == CONTACT_TABLE])
    found = {(CONTACT_TABLE, entry_id): customer_id for entry_id, customer_id in deleted.items()}
    for table, model in SOURCES.items():
        ids = [a.source_id for a in alerts if a.source_table == table]
        if not ids:
            continue
        rows = session.exec(
            scope(select(model.id, model.customer_id), actor, model).where(model.id.in_(ids))  # type: ignore[attr-defined]
        )
        found |= {(table, sid): cid for sid, cid in rows if cid is not None}
    return found


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    status: str = Query(default="open", pattern="^(open|acknowledged|all)$"),
    before: int | None = Query(default=None, ge=1),
) -> Response:
    stmt = (
        scope(select(CaptureAlert), user, CaptureAlert).order_by(CaptureAlert.id.desc()).limit(PAGE_SIZE + 1)
    )
    if status != "all":
        stmt = stmt.where(CaptureAlert.status == AlertStatus(status))
    if before is not None:
        stmt = stmt.where(CaptureAlert.id < before)
    alerts = list(session.exec(stmt))
    more = len(alerts) > PAGE_SIZE
    alerts = alerts[:PAGE_SIZE]
    links = _customers_of(session, user, alerts)
    names = customer_names(session, user, links.values())
    reps = user_names(session, user, (a.rep_user_id for a in alerts))
    rows = []
    for alert in alerts:
        customer_id = links.get((alert.source_table, alert.source_id))
        rows.append(
            AlertRow(
                alert=alert,
                parts=highlight(alert.context, alert.keyword),
                customer_id=customer_id,
                customer=names.get(customer_id or 0, ""),
                rep=reps.get(alert.rep_user_id or 0, ""),
            )
        )
    t = Translator(request_locale(request, user))
    return render(
        request,
        "alerts.html",
        user=user,
        rows=rows,
        status=status,
        next_before=alerts[-1].id if more else None,
        keywords=keywords_of(session, actor=user, division_id=user.division_id) if user.division_id else None,
        messages=t.messages("alerts"),
    )
