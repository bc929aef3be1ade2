"""Alerts (managers): the matched word in its context, or the name of a customer's entry deleted from a
company phone; who and when, a link to the customer's timeline, acknowledging; the division's keyword
list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from crm.access import scope
from crm.communications import AlertKind, AlertStatus, CaptureAlert, alerts_of_kind
from crm.org import User
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import customer_names, user_names
from dashboard.nav import MANAGERS
from dashboard.web import render
from server.deps import SessionDep
from server.ingest.alert_customers import alert_customers
from server.ingest.rules import keywords_of

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]

PAGE_SIZE = 50


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


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    status: str = Query(default="open", pattern="^(open|acknowledged|all)$"),
    kind: AlertKind | None = None,
    before: int | None = Query(default=None, ge=1),
) -> Response:
    stmt = (
        scope(select(CaptureAlert), user, CaptureAlert).order_by(CaptureAlert.id.desc()).limit(PAGE_SIZE + 1)
    )
    if status != "all":
        stmt = stmt.where(CaptureAlert.status == AlertStatus(status))
    if kind is not None:
        stmt = stmt.where(alerts_of_kind(kind))
    if before is not None:
        stmt = stmt.where(CaptureAlert.id < before)
    alerts = list(session.exec(stmt))
    more = len(alerts) > PAGE_SIZE
    alerts = alerts[:PAGE_SIZE]
    links = alert_customers(session, user, alerts)
    names = customer_names(session, user, links.values())
    reps = user_names(session, user, (a.rep_user_id for a in alerts))
    rows = []
    for alert in alerts:
        customer_id = links.get(alert.id or 0)
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
        kind=kind.value if kind else "",
        kinds=[k.value for k in AlertKind],
        next_before=alerts[-1].id if more else None,
        keywords=keywords_of(session, actor=user, division_id=user.division_id) if user.division_id else None,
        messages=t.messages("alerts"),
    )
