"""Alerts for division managers (keywords in captured SMS and transcripts, customers' entries deleted
from company phones) and the keyword rules."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from sqlmodel import Session, func, select

from crm.access import scope
from crm.communications import AlertKind, AlertStatus, CaptureAlert, alerts_of_kind
from crm.org import Role, User
from crm.types import utcnow
from server.deps import SessionDep, client_ip, require_roles
from server.ingest.alert_customers import alert_customers
from server.ingest.rules import acknowledge_alert, keywords_of, set_keywords
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

managers = require_roles(Role.executive, Role.division_head, Role.division_admin)


class AlertRead(Read):
    id: int
    kind: AlertKind
    division_id: int
    rep_user_id: int | None
    device_id: int
    source_table: str
    source_id: int
    customer_id: int | None = None  # worked out when read (server.ingest.alert_customers)
    keyword: str
    context: str
    occurred_at: datetime
    status: AlertStatus
    acknowledged_by_user_id: int | None
    acknowledged_at: datetime | None


class AlertCount(Read):
    open: int


class KeywordsIn(Strict):
    keywords: list[str] = Field(max_length=1000)


class KeywordsRead(Read):
    division_id: int
    keywords: list[str]


@router.get("", response_model=list[AlertRead])
def list_alerts(
    session: SessionDep,
    user: User = Depends(managers),
    status: str = Query(default=AlertStatus.open.value, pattern="^(open|acknowledged|all)$"),
    kind: AlertKind | None = None,
    division_id: int | None = None,
    before_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AlertRead]:
    stmt = select(CaptureAlert).order_by(CaptureAlert.id.desc()).limit(limit)
    if status != "all":
        stmt = stmt.where(CaptureAlert.status == AlertStatus(status))
    if kind is not None:
        stmt = stmt.where(alerts_of_kind(kind))
    if division_id is not None:
        stmt = stmt.where(CaptureAlert.division_id == division_id)
    if before_id is not None:
        stmt = stmt.where(CaptureAlert.id < before_id)
    return _read(session, user, list(session.exec(scope(stmt, user, CaptureAlert))))


@router.get("/count", response_model=AlertCount)
def count_alerts(session: SessionDep, user: User = Depends(managers)) -> AlertCount:
    """Open alerts in the manager's scope (the navigation's badge)."""
    stmt = select(func.count()).select_from(CaptureAlert).where(CaptureAlert.status == AlertStatus.open)
    return AlertCount(open=session.exec(scope(stmt, user, CaptureAlert)).one())


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
def post_acknowledge(alert_id: int, session: SessionDep, user: User = Depends(managers)) -> AlertRead:
    [alert] = _read(session, user, [acknowledge_alert(session, actor=user, alert_id=alert_id, now=utcnow())])
    return alert


def _read(session: Session, user: User, alerts: list[CaptureAlert]) -> list[AlertRead]:
    customers = alert_customers(session, user, alerts)
    return [
        AlertRead.model_validate(alert).model_copy(update={"customer_id": customers.get(alert.id or 0)})
        for alert in alerts
    ]


@router.get("/keywords/{division_id}", response_model=KeywordsRead)
def get_keywords(division_id: int, session: SessionDep, user: User = Depends(managers)) -> KeywordsRead:
    return KeywordsRead(
        division_id=division_id, keywords=keywords_of(session, actor=user, division_id=division_id)
    )


@router.put("/keywords/{division_id}", response_model=KeywordsRead)
def put_keywords(
    division_id: int, body: KeywordsIn, request: Request, session: SessionDep, user: User = Depends(managers)
) -> KeywordsRead:
    keywords = set_keywords(
        session, actor=user, division_id=division_id, keywords=body.keywords, ip=client_ip(request)
    )
    return KeywordsRead(division_id=division_id, keywords=keywords)
