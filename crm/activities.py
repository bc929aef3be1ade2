"""Activities: notes, tasks, planned calls and visits (planned visits feed route planning).

A note is done when written; tasks, calls and visits are planned (``due_at``) and
completed later. Done activities appear on the customer's timeline (visits as ``visit``)
and refresh ``last_activity_at`` of the customer, lead and opportunity they concern —
the follow-up clock of the pool and of the monthly follow-up rule.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import Index, Select, String, update
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible, scope
from crm.actors import acting_division, is_manager
from crm.customers import Contact, Customer
from crm.errors import DomainError, Forbidden, NotFound
from crm.leads import Lead
from crm.org import User
from crm.paging import Page, Sort, fetch_page
from crm.pipeline import Opportunity
from crm.schemas import Input, View
from crm.timeline import add_timeline_event
from crm.types import UTCDateTime


class ActivityKind(StrEnum):
    note = "note"
    task = "task"
    call = "call"
    visit = "visit"


class ActivityStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


TIMELINE_KIND = {ActivityKind.note: "note", ActivityKind.visit: "visit"}  # others: "activity"


class Activity(SQLModel, table=True):
    __tablename__ = "activity"
    __owner_column__ = "owner_id"
    __table_args__ = (
        Index("ix_activity_owner_due", "owner_id", "status", "due_at"),
        Index("ix_activity_customer", "customer_id", "id"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    owner_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    created_by_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    kind: ActivityKind = SQLField(sa_type=String(8))
    status: ActivityStatus = SQLField(default=ActivityStatus.open, sa_type=String(10))
    subject: str = SQLField(max_length=200)
    body: str = SQLField(default="", max_length=4000)
    customer_id: int | None = SQLField(default=None, foreign_key="customer.id")
    contact_id: int | None = SQLField(default=None, foreign_key="contact.id")
    lead_id: int | None = SQLField(default=None, foreign_key="lead.id", index=True)
    opportunity_id: int | None = SQLField(default=None, foreign_key="opportunity.id", index=True)
    ticket_id: int | None = SQLField(default=None, description="Set when dispatched for a service ticket.")
    due_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    duration_min: int | None = SQLField(default=None, description="Planned time on site (visits).")
    done_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    outcome: str = SQLField(default="", max_length=1000)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class ActivityCreate(Input):
    kind: ActivityKind
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=4000)
    customer_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None
    opportunity_id: int | None = None
    due_at: datetime | None = None
    duration_min: int | None = Field(default=None, ge=1, le=24 * 60)
    owner_id: int | None = Field(default=None, description="Managers may plan for a rep.")


class ActivityDone(Input):
    outcome: str = Field(default="", max_length=1000)


class ActivityView(View):
    id: int
    division_id: int
    owner_id: int | None
    kind: ActivityKind
    status: ActivityStatus
    subject: str
    body: str
    customer_id: int | None
    contact_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    ticket_id: int | None
    due_at: datetime | None
    duration_min: int | None
    done_at: datetime | None
    outcome: str
    created_at: datetime


class PlannedVisit(View):
    """What route planning needs of a planned visit."""

    activity_id: int
    customer_id: int
    customer_name: str
    address: str
    lat: float | None
    lon: float | None
    due_at: datetime | None
    duration_min: int | None


class ActivityFilter(Input):
    kind: ActivityKind | None = None
    status: ActivityStatus | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    lead_id: int | None = None
    opportunity_id: int | None = None
    due_before: datetime | None = None


def _target_division(session: Session, actor: User, data: ActivityCreate) -> int:
    """The division of what the activity is about; each target must be visible to the actor."""
    divisions = set()
    for model, key in ((Customer, "customer_id"), (Lead, "lead_id"), (Opportunity, "opportunity_id")):
        target_id = getattr(data, key)
        if target_id is not None:
            row = get_visible(session, actor, model, target_id)
            if row is None:
                raise NotFound(
                    f"no such {key[:-3]}",
                    field=key,
                    code="activity.target_not_found",
                    params={"target": key[:-3]},
                )
            divisions.add(row.division_id)
    if len(divisions) > 1:
        raise DomainError(
            "the activity's targets are in different divisions",
            field="customer_id",
            code="activity.targets_cross_division",
        )
    return divisions.pop() if divisions else acting_division(session, actor, None)


def touch(session: Session, activity: Activity, at: datetime) -> None:
    """Refresh the follow-up clocks of what the activity concerns."""
    for model, target_id in (
        (Customer, activity.customer_id),
        (Lead, activity.lead_id),
        (Opportunity, activity.opportunity_id),
    ):
        if target_id is not None:
            session.execute(
                update(model)
                .where(
                    model.id == target_id, (model.last_activity_at.is_(None)) | (model.last_activity_at < at)
                )
                .values(last_activity_at=at)
            )


def project_activity(session: Session, activity: Activity) -> None:
    """Put a done activity on its customer's timeline (no-op without a customer)."""
    if activity.customer_id is None or activity.done_at is None:
        return
    add_timeline_event(
        session,
        customer_id=activity.customer_id,
        division_id=activity.division_id,
        occurred_at=activity.done_at,
        kind=TIMELINE_KIND.get(activity.kind, "activity"),
        source_table=Activity.__tablename__,
        source_id=activity.id,  # type: ignore[arg-type]
        actor_user_id=activity.owner_id,
        summary=activity.subject + (f": {activity.outcome}" if activity.outcome else ""),
        data={
            "type": str(activity.kind),
            "body": activity.body[:500],
            "opportunity_id": activity.opportunity_id,
        },
    )


def create_activity(session: Session, *, actor: User, data: ActivityCreate, now: datetime) -> Activity:
    division_id = _target_division(session, actor, data)
    owner_id = data.owner_id if data.owner_id is not None else actor.id
    if owner_id != actor.id:
        owner = session.get(User, owner_id)
        if not is_manager(actor) or owner is None or owner.division_id != division_id:
            raise Forbidden(
                "only managers plan for others, and only within the division",
                field="owner_id",
                code="activity.plan_for_others_forbidden",
            )
    if data.kind != ActivityKind.note and data.due_at is None:
        raise DomainError(
            "planned tasks, calls and visits need a due time", field="due_at", code="activity.due_required"
        )
    if data.contact_id is not None:
        contact = session.get(Contact, data.contact_id)
        if contact is None or contact.customer_id != data.customer_id:
            raise NotFound("no such contact of this customer", field="contact_id", code="contact.not_found")
    activity = Activity(
        division_id=division_id,
        owner_id=owner_id,
        created_by_user_id=actor.id,
        kind=data.kind,
        subject=data.subject,
        body=data.body,
        customer_id=data.customer_id,
        contact_id=data.contact_id,
        lead_id=data.lead_id,
        opportunity_id=data.opportunity_id,
        due_at=data.due_at,
        duration_min=data.duration_min,
        created_at=now,
        updated_at=now,
    )
    if data.kind == ActivityKind.note:
        activity.status, activity.done_at = ActivityStatus.done, now
    session.add(activity)
    session.flush()
    if activity.done_at is not None:
        project_activity(session, activity)
        touch(session, activity, now)
    session.commit()
    return activity


def _own_activity(session: Session, actor: User, activity_id: int) -> Activity:
    activity = get_visible(session, actor, Activity, activity_id)
    if activity is None:
        raise NotFound("no such activity", field="activity_id", code="activity.not_found")
    if not (is_manager(actor) or activity.owner_id == actor.id):
        raise Forbidden("not your activity", field="activity_id", code="activity.not_yours")
    if activity.status != ActivityStatus.open:
        raise DomainError(
            f"the activity is {activity.status} already",
            field="activity_id",
            code="activity.not_open",
            params={"status": str(activity.status)},
        )
    return activity


def complete_activity(
    session: Session, *, actor: User, activity_id: int, data: ActivityDone, now: datetime
) -> Activity:
    activity = _own_activity(session, actor, activity_id)
    activity.status, activity.done_at, activity.outcome, activity.updated_at = (
        ActivityStatus.done,
        now,
        data.outcome,
        now,
    )
    session.add(activity)
    project_activity(session, activity)
    touch(session, activity, now)
    session.commit()
    return activity


def cancel_activity(session: Session, *, actor: User, activity_id: int, now: datetime) -> Activity:
    activity = _own_activity(session, actor, activity_id)
    activity.status, activity.updated_at = ActivityStatus.cancelled, now
    session.add(activity)
    session.commit()
    return activity


SORT = Sort(Activity.id, Activity.id, descending=True)


def activity_query(actor: User, f: ActivityFilter) -> Select:
    stmt = scope(select(Activity), actor, Activity)
    for key in ("kind", "status", "owner_id", "customer_id", "lead_id", "opportunity_id"):
        value = getattr(f, key)
        if value is not None:
            stmt = stmt.where(getattr(Activity, key) == value)
    if f.due_before is not None:
        stmt = stmt.where(Activity.due_at < f.due_before)
    return stmt


def list_activities(
    session: Session, *, actor: User, filters: ActivityFilter, cursor: str | None = None, limit: int = 50
) -> Page[ActivityView]:
    page = fetch_page(session, activity_query(actor, filters), SORT, cursor=cursor, limit=limit)
    return Page([ActivityView.model_validate(a) for a in page.items], page.next_cursor)


def planned_visits(
    session: Session, *, actor: User, rep_id: int, day: date, zone: str = "Asia/Shanghai"
) -> list[PlannedVisit]:
    """A rep's open visits due on a local day, with the customers' coordinates (for route planning)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz)
    stmt = (
        scope(select(Activity, Customer), actor, Activity)
        .join(Customer, Customer.id == Activity.customer_id)
        .where(
            Activity.owner_id == rep_id,
            Activity.kind == ActivityKind.visit,
            Activity.status == ActivityStatus.open,
            Activity.due_at >= start,
            Activity.due_at < start + timedelta(days=1),
        )
        .order_by(Activity.due_at, Activity.id)
    )
    return [
        PlannedVisit(
            activity_id=a.id,  # type: ignore[arg-type]
            customer_id=c.id,  # type: ignore[arg-type]
            customer_name=c.name,
            address=c.address,
            lat=c.lat,
            lon=c.lon,
            due_at=a.due_at,
            duration_min=a.duration_min,
        )
        for a, c in session.exec(stmt)
    ]
