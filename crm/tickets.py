"""Service tickets (complaint, after-sales, repair) with SLA targets, escalation and dispatch.

SLA targets come from the most specific ``sla_policy`` row for the customer's grade and
the ticket kind (grade+kind, grade, kind, division default), else 4 h / 24 h. A customer
grade's ``service_strategy`` says who else hears about new and overdue tickets and how
often the customer should be visited.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import JSON, Column, Index, Select, String, UniqueConstraint, exists, insert, or_
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible, scope
from crm.activities import Activity, ActivityCreate, ActivityKind, ActivityStatus, create_activity
from crm.actors import is_manager, require_manager
from crm.config_audit import audit_config
from crm.customer_service import visible_customer
from crm.customers import Contact, Customer
from crm.errors import Conflict, DomainError, Forbidden, NotFound
from crm.grades import check_grade
from crm.notifications import division_heads, notify
from crm.org import Role, User
from crm.paging import Page, Sort, fetch_page
from crm.schemas import Input, View
from crm.timeline import TimelineEvent, add_timeline_event
from crm.types import UTCDateTime

DEFAULT_RESPONSE_HOURS = 4
DEFAULT_RESOLVE_HOURS = 24


class TicketKind(StrEnum):
    complaint = "complaint"
    after_sales = "after_sales"
    repair = "repair"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


OPEN_STATUSES = (TicketStatus.open, TicketStatus.in_progress)
KIND_TEXT = {TicketKind.complaint: "投诉", TicketKind.after_sales: "售后", TicketKind.repair: "维修"}


class SlaPolicy(SQLModel, table=True):
    __tablename__ = "sla_policy"
    __table_args__ = (
        UniqueConstraint("division_id", "grade", "kind", name="uq_sla_policy_division_grade_kind"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    grade: str | None = SQLField(default=None, max_length=8, description="NULL: any grade.")
    kind: str | None = SQLField(default=None, sa_type=String(16), description="NULL: any kind.")
    response_hours: float
    resolve_hours: float


class ServiceStrategy(SQLModel, table=True):
    """Per customer grade: who is notified of tickets, how often the customer is visited."""

    __tablename__ = "service_strategy"
    __table_args__ = (UniqueConstraint("division_id", "grade", name="uq_service_strategy_division_grade"),)

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    grade: str = SQLField(max_length=8)
    visit_every_days: int | None = None
    notify: list[str] = SQLField(
        default_factory=lambda: ["owner"],
        sa_column=Column(JSON, nullable=False),
        description='Who hears of new and overdue tickets: "owner", "division_head", "division_admin".',
    )


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __owner_column__ = "assignee_id"
    __table_args__ = (Index("ix_ticket_division_status", "division_id", "status", "resolve_by"),)

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id")
    customer_id: int = SQLField(foreign_key="customer.id", index=True)
    contact_id: int | None = SQLField(default=None, foreign_key="contact.id")
    kind: TicketKind = SQLField(sa_type=String(16))
    priority: Priority = SQLField(default=Priority.normal, sa_type=String(8))
    status: TicketStatus = SQLField(default=TicketStatus.open, sa_type=String(12))
    subject: str = SQLField(max_length=200)
    description: str = SQLField(default="", max_length=4000)
    assignee_id: int | None = SQLField(default=None, foreign_key="app_user.id", index=True)
    created_by_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    respond_by: datetime = SQLField(sa_type=UTCDateTime)
    resolve_by: datetime = SQLField(sa_type=UTCDateTime)
    first_response_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    resolution: str = SQLField(default="", max_length=2000)
    escalation_level: int = 0
    escalated_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class TicketCreate(Input):
    customer_id: int
    kind: TicketKind
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    priority: Priority = Priority.normal
    contact_id: int | None = None
    assignee_id: int | None = None


class TicketAssign(Input):
    assignee_id: int
    dispatch_at: datetime | None = Field(default=None, description="Also plan an on-site visit at this time.")
    visit_minutes: int = Field(default=60, ge=5, le=24 * 60)


class TicketResolve(Input):
    resolution: str = Field(min_length=1, max_length=2000)


class TicketView(View):
    id: int
    division_id: int
    customer_id: int
    contact_id: int | None
    kind: TicketKind
    priority: Priority
    status: TicketStatus
    subject: str
    description: str
    assignee_id: int | None
    respond_by: datetime
    resolve_by: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    escalation_level: int
    created_at: datetime


class TicketFilter(Input):
    status: TicketStatus | None = None
    kind: TicketKind | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    overdue_at: datetime | None = Field(
        default=None, description="Only open tickets past their resolve time at this moment."
    )


class SlaIn(Input):
    grade: str | None = Field(default=None, max_length=8)
    kind: TicketKind | None = None
    response_hours: float = Field(gt=0, le=24 * 365)
    resolve_hours: float = Field(gt=0, le=24 * 365)


class StrategyIn(Input):
    grade: str = Field(min_length=1, max_length=8)
    visit_every_days: int | None = Field(default=None, ge=1, le=3650)
    notify: list[str] = Field(default_factory=lambda: ["owner"])


NOTIFY_TARGETS = {"owner", "division_head", "division_admin"}


# --- configuration ------------------------------------------------------------------------------


def _sla_detail(policy: SlaPolicy) -> dict[str, object]:
    return {
        "grade": policy.grade,
        "kind": policy.kind,
        "response_hours": policy.response_hours,
        "resolve_hours": policy.resolve_hours,
    }


def set_sla(session: Session, *, actor: User, division_id: int, data: SlaIn, ip: str = "") -> SlaPolicy:
    """Set the response/resolve hours for a grade and/or ticket kind (none: any) of the division."""
    require_manager(actor, division_id)
    if data.response_hours > data.resolve_hours:
        raise DomainError(
            "the first response cannot be due after the resolution",
            field="response_hours",
            code="sla.response_after_resolve",
        )
    grade = check_grade(session, division_id, data.grade) if data.grade else None
    kind = str(data.kind) if data.kind else None
    policy = session.exec(
        select(SlaPolicy).where(
            SlaPolicy.division_id == division_id,
            SlaPolicy.grade.is_(None) if grade is None else SlaPolicy.grade == grade,
            SlaPolicy.kind.is_(None) if kind is None else SlaPolicy.kind == kind,
        )
    ).first() or SlaPolicy(division_id=division_id, grade=grade, kind=kind, response_hours=0, resolve_hours=0)
    before = _sla_detail(policy) if policy.id is not None else None
    policy.response_hours, policy.resolve_hours = data.response_hours, data.resolve_hours
    session.add(policy)
    session.flush()
    audit_config(
        session,
        actor=actor,
        action="sla.set",
        target_type="sla_policy",
        target_id=policy.id,  # type: ignore[arg-type]
        division_id=division_id,
        detail={"before": before, "after": _sla_detail(policy)},
        ip=ip,
    )
    session.commit()
    return policy


def list_sla(session: Session, *, actor: User, division_id: int) -> list[SlaPolicy]:
    """The division's SLA policies (tickets without a matching one: 4 h / 24 h)."""
    return list(
        session.exec(
            scope(select(SlaPolicy), actor, SlaPolicy)
            .where(SlaPolicy.division_id == division_id)
            .order_by(SlaPolicy.grade, SlaPolicy.kind, SlaPolicy.id)
        )
    )


def delete_sla(session: Session, *, actor: User, policy_id: int, ip: str = "") -> None:
    """Remove a policy; open tickets keep their deadlines, new ones fall back to a broader policy."""
    policy = get_visible(session, actor, SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("no such SLA policy", field="policy_id", code="sla.not_found")
    require_manager(actor, policy.division_id)
    audit_config(
        session,
        actor=actor,
        action="sla.delete",
        target_type="sla_policy",
        target_id=policy_id,
        division_id=policy.division_id,
        detail={"before": _sla_detail(policy), "after": None},
        ip=ip,
    )
    session.delete(policy)
    session.commit()


def set_strategy(
    session: Session, *, actor: User, division_id: int, data: StrategyIn, ip: str = ""
) -> ServiceStrategy:
    require_manager(actor, division_id)
    unknown = set(data.notify) - NOTIFY_TARGETS
    if unknown:
        raise DomainError(
            f"notify may name {', '.join(sorted(NOTIFY_TARGETS))}",
            field="notify",
            code="strategy.notify_unknown",
            params={"allowed": ", ".join(sorted(NOTIFY_TARGETS))},
        )
    grade = check_grade(session, division_id, data.grade)
    strategy = session.exec(
        select(ServiceStrategy).where(
            ServiceStrategy.division_id == division_id, ServiceStrategy.grade == grade
        )
    ).first() or ServiceStrategy(division_id=division_id, grade=grade)
    before = (
        {"visit_every_days": strategy.visit_every_days, "notify": strategy.notify}
        if strategy.id is not None
        else None
    )
    strategy.visit_every_days, strategy.notify = data.visit_every_days, list(dict.fromkeys(data.notify))
    session.add(strategy)
    session.flush()
    audit_config(
        session,
        actor=actor,
        action="strategy.set",
        target_type="service_strategy",
        target_id=strategy.id,  # type: ignore[arg-type]
        division_id=division_id,
        detail={
            "grade": grade,
            "before": before,
            "after": {"visit_every_days": strategy.visit_every_days, "notify": strategy.notify},
        },
        ip=ip,
    )
    session.commit()
    return strategy


def list_strategies(session: Session, *, actor: User, division_id: int) -> list[ServiceStrategy]:
    return list(
        session.exec(
            scope(select(ServiceStrategy), actor, ServiceStrategy)
            .where(ServiceStrategy.division_id == division_id)
            .order_by(ServiceStrategy.grade)
        )
    )


def sla_for(session: Session, division_id: int, grade: str, kind: str) -> tuple[float, float]:
    """(response hours, resolve hours): the most specific policy wins."""
    rows = session.exec(
        select(SlaPolicy).where(
            SlaPolicy.division_id == division_id,
            or_(SlaPolicy.grade.is_(None), SlaPolicy.grade == grade),
            or_(SlaPolicy.kind.is_(None), SlaPolicy.kind == kind),
        )
    ).all()
    if not rows:
        return DEFAULT_RESPONSE_HOURS, DEFAULT_RESOLVE_HOURS
    best = max(rows, key=lambda p: (p.grade is not None, p.kind is not None))
    return best.response_hours, best.resolve_hours


def strategy_for(session: Session, division_id: int, grade: str) -> ServiceStrategy | None:
    return session.exec(
        select(ServiceStrategy).where(
            ServiceStrategy.division_id == division_id, ServiceStrategy.grade == grade
        )
    ).first()


def recipients(
    session: Session, ticket: Ticket, customer: Customer, *, heads_always: bool = False
) -> set[int]:
    """Who hears of the ticket: the assignee, and whom the grade's strategy names."""
    strategy = strategy_for(session, ticket.division_id, customer.grade)
    targets = set(strategy.notify if strategy else ["owner"])
    if heads_always:
        targets.add("division_head")
    users: set[int] = {ticket.assignee_id} if ticket.assignee_id else set()
    if "owner" in targets and customer.owner_id:
        users.add(customer.owner_id)
    if "division_head" in targets:
        users |= {u.id for u in division_heads(session, ticket.division_id)}  # type: ignore[misc]
    if "division_admin" in targets:
        users |= set(
            session.scalars(
                select(User.id).where(
                    User.division_id == ticket.division_id, User.role == Role.division_admin, User.is_active
                )
            )
        )
    return users


# --- lifecycle ----------------------------------------------------------------------------------


def _event(
    session: Session, ticket: Ticket, kind: str, summary: str, actor_id: int | None, at: datetime
) -> None:
    add_timeline_event(
        session,
        customer_id=ticket.customer_id,
        division_id=ticket.division_id,
        occurred_at=at,
        kind=kind,
        source_table=Ticket.__tablename__,
        source_id=ticket.id,  # type: ignore[arg-type]
        actor_user_id=actor_id,
        summary=summary,
        data={"ticket_id": ticket.id, "status": str(ticket.status), "priority": str(ticket.priority)},
    )


def _division_member(session: Session, user_id: int, division_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.division_id != division_id or not user.is_active or user.frozen_at is not None:
        raise DomainError(
            "assign to an active user of the customer's division",
            field="assignee_id",
            code="ticket.assignee_invalid",
        )
    return user


def create_ticket(session: Session, *, actor: User, data: TicketCreate, now: datetime) -> Ticket:
    customer = visible_customer(session, actor, data.customer_id)
    if data.contact_id is not None:
        contact = session.get(Contact, data.contact_id)
        if contact is None or contact.customer_id != customer.id:
            raise NotFound("no such contact of this customer", field="contact_id", code="contact.not_found")
    assignee = data.assignee_id if data.assignee_id is not None else customer.owner_id
    if assignee is not None:
        _division_member(session, assignee, customer.division_id)
    response_h, resolve_h = sla_for(session, customer.division_id, customer.grade, str(data.kind))
    ticket = Ticket(
        division_id=customer.division_id,
        customer_id=customer.id,  # type: ignore[arg-type]
        contact_id=data.contact_id,
        kind=data.kind,
        priority=data.priority,
        subject=data.subject,
        description=data.description,
        assignee_id=assignee,
        created_by_user_id=actor.id,
        respond_by=now + timedelta(hours=response_h),
        resolve_by=now + timedelta(hours=resolve_h),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    _event(session, ticket, "ticket", f"{KIND_TEXT[data.kind]}工单: {data.subject}", actor.id, now)
    for user_id in recipients(session, ticket, customer) - {actor.id}:
        notify(
            session,
            user_id=user_id,
            division_id=ticket.division_id,
            kind="ticket.new",
            title=f"新{KIND_TEXT[data.kind]}工单: {data.subject}",
            now=now,
            customer_id=customer.id,
            data={"ticket_id": ticket.id, "resolve_by": ticket.resolve_by.isoformat()},
        )
    session.commit()
    return ticket


def _ticket(session: Session, actor: User, ticket_id: int, *, manage: bool = False) -> Ticket:
    ticket = get_visible(session, actor, Ticket, ticket_id)
    if ticket is None:
        raise NotFound("no such ticket", field="ticket_id", code="ticket.not_found")
    if manage and not is_manager(actor) and ticket.assignee_id != actor.id:
        raise Forbidden(
            "only the assignee or a manager may do this", field="ticket_id", code="ticket.assignee_or_manager"
        )
    return ticket


def assign_ticket(
    session: Session, *, actor: User, ticket_id: int, data: TicketAssign, now: datetime
) -> Ticket:
    """Assign (managers); with ``dispatch_at`` also plan the on-site visit for the field rep."""
    ticket = _ticket(session, actor, ticket_id)
    require_manager(actor, ticket.division_id)
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(
            f"the ticket is {ticket.status}",
            field="ticket_id",
            code="ticket.status_conflict",
            params={"status": str(ticket.status)},
        )
    assignee = _division_member(session, data.assignee_id, ticket.division_id)
    ticket.assignee_id, ticket.updated_at = assignee.id, now
    session.add(ticket)
    _event(
        session,
        ticket,
        "ticket_assigned",
        f"工单指派给 {assignee.display_name or assignee.username}",
        actor.id,
        now,
    )
    notify(
        session,
        user_id=assignee.id,
        division_id=ticket.division_id,
        kind="ticket.assigned",  # type: ignore[arg-type]
        title=f"工单指派: {ticket.subject}",
        now=now,
        customer_id=ticket.customer_id,
        data={"ticket_id": ticket.id},
    )
    session.commit()
    if data.dispatch_at is not None:
        visit = create_activity(
            session,
            actor=actor,
            data=ActivityCreate(
                kind=ActivityKind.visit,
                subject=f"上门服务: {ticket.subject}",
                customer_id=ticket.customer_id,
                due_at=data.dispatch_at,
                duration_min=data.visit_minutes,
                owner_id=assignee.id,
            ),
            now=now,
        )
        visit.ticket_id = ticket.id
        session.add(visit)
        session.commit()
    return ticket


def start_ticket(session: Session, *, actor: User, ticket_id: int, now: datetime) -> Ticket:
    """The first response: work has started."""
    ticket = _ticket(session, actor, ticket_id, manage=True)
    if ticket.status != TicketStatus.open:
        raise Conflict(
            f"the ticket is {ticket.status}",
            field="ticket_id",
            code="ticket.status_conflict",
            params={"status": str(ticket.status)},
        )
    ticket.status, ticket.first_response_at, ticket.updated_at = TicketStatus.in_progress, now, now
    session.add(ticket)
    session.commit()
    return ticket


def resolve_ticket(
    session: Session, *, actor: User, ticket_id: int, data: TicketResolve, now: datetime
) -> Ticket:
    ticket = _ticket(session, actor, ticket_id, manage=True)
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(
            f"the ticket is {ticket.status}",
            field="ticket_id",
            code="ticket.status_conflict",
            params={"status": str(ticket.status)},
        )
    ticket.status, ticket.resolved_at, ticket.resolution, ticket.updated_at = (
        TicketStatus.resolved,
        now,
        data.resolution,
        now,
    )
    ticket.first_response_at = ticket.first_response_at or now
    session.add(ticket)
    _event(session, ticket, "ticket_resolved", f"工单已解决: {data.resolution[:200]}", actor.id, now)
    session.commit()
    return ticket


def close_ticket(session: Session, *, actor: User, ticket_id: int, now: datetime) -> Ticket:
    """Close a resolved ticket (the survey is sent by :func:`crm.surveys.send_survey`)."""
    ticket = _ticket(session, actor, ticket_id, manage=True)
    if ticket.status != TicketStatus.resolved:
        raise Conflict(
            "only a resolved ticket can be closed", field="ticket_id", code="ticket.close_needs_resolved"
        )
    ticket.status, ticket.closed_at, ticket.updated_at = TicketStatus.closed, now, now
    session.add(ticket)
    _event(session, ticket, "ticket_closed", f"工单关闭: {ticket.subject}", actor.id, now)
    session.commit()
    return ticket


def ticket_query(actor: User, f: TicketFilter) -> Select:
    stmt = scope(select(Ticket), actor, Ticket)
    for key in ("status", "kind", "assignee_id", "customer_id"):
        if (value := getattr(f, key)) is not None:
            stmt = stmt.where(getattr(Ticket, key) == value)
    if f.overdue_at is not None:
        stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES), Ticket.resolve_by < f.overdue_at)
    return stmt


SORT = Sort(Ticket.id, Ticket.id, descending=True)


def list_tickets(
    session: Session, *, actor: User, filters: TicketFilter, cursor: str | None = None, limit: int = 50
) -> Page[TicketView]:
    page = fetch_page(session, ticket_query(actor, filters), SORT, cursor=cursor, limit=limit)
    return Page([TicketView.model_validate(t) for t in page.items], page.next_cursor)


# --- escalation job -----------------------------------------------------------------------------


def escalate_tickets(session: Session, now: datetime) -> int:
    """Escalate open tickets past their SLA: level 1 when the first response is late, 2 when the resolution is.

    Each level is reached once; the assignee, the strategy's people and the division heads hear of it.
    """
    escalated = 0
    stmt = select(Ticket).where(
        Ticket.status.in_(OPEN_STATUSES),
        or_(
            (Ticket.escalation_level < 1) & Ticket.first_response_at.is_(None) & (Ticket.respond_by < now),
            (Ticket.escalation_level < 2) & (Ticket.resolve_by < now),
        ),
    )
    for ticket in session.exec(stmt).all():
        late_resolution = ticket.resolve_by < now
        ticket.escalation_level = 2 if late_resolution else 1
        ticket.escalated_at = now
        session.add(ticket)
        what = "超过解决时限" if late_resolution else "超过响应时限"
        _event(
            session,
            ticket,
            "ticket_escalated",
            f"工单{what}, 已升级 (级别 {ticket.escalation_level})",
            None,
            now,
        )
        customer = session.get(Customer, ticket.customer_id)
        for user_id in recipients(session, ticket, customer, heads_always=True):  # type: ignore[arg-type]
            notify(
                session,
                user_id=user_id,
                division_id=ticket.division_id,
                kind="ticket.escalated",
                title=f"工单{what}: {ticket.subject}",
                now=now,
                customer_id=ticket.customer_id,
                data={"ticket_id": ticket.id, "level": ticket.escalation_level},
                dedupe_key=f"ticket-escalated:{ticket.id}:{ticket.escalation_level}:{user_id}",
            )
        escalated += 1
    session.commit()
    return escalated


def plan_strategy_visits(session: Session, now: datetime, *, zone: str = "Asia/Shanghai") -> int:
    """Plan a routine visit (for the owner, tomorrow 10:00 local) for every customer whose grade's
    strategy asks for a visit every N days and who had none (visit or check-in) for N days."""
    tomorrow = (now.astimezone(ZoneInfo(zone)) + timedelta(days=1)).date()
    due = datetime.combine(tomorrow, time(10), ZoneInfo(zone))
    planned = 0
    for strategy in session.exec(
        select(ServiceStrategy).where(ServiceStrategy.visit_every_days.is_not(None))
    ).all():
        days = strategy.visit_every_days
        visited = exists().where(
            TimelineEvent.customer_id == Customer.id,
            TimelineEvent.kind.in_(("visit", "checkin")),
            TimelineEvent.occurred_at > now - timedelta(days=days),  # type: ignore[operator]
        )
        open_visit = exists().where(
            Activity.customer_id == Customer.id,
            Activity.kind == ActivityKind.visit,
            Activity.status == ActivityStatus.open,
        )
        rows = session.execute(
            select(Customer.id, Customer.owner_id).where(
                Customer.division_id == strategy.division_id,
                Customer.grade == strategy.grade,
                Customer.owner_id.is_not(None),
                Customer.merged_into_id.is_(None),
                ~visited,
                ~open_visit,
            )
        ).all()
        subject = f"例行拜访({strategy.grade}级客户每 {days} 天)"
        values = [
            {
                "division_id": strategy.division_id,
                "owner_id": owner,
                "kind": ActivityKind.visit,
                "status": ActivityStatus.open,
                "subject": subject,
                "body": "",
                "customer_id": customer_id,
                "due_at": due,
                "duration_min": 60,
                "outcome": "",
                "created_at": now,
                "updated_at": now,
            }
            for customer_id, owner in rows
        ]
        for i in range(0, len(values), 1000):
            session.execute(insert(Activity.__table__), values[i : i + 1000])  # type: ignore[attr-defined]
        planned += len(values)
    session.commit()
    return planned
