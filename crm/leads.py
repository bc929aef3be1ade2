"""Leads (线索): capture, qualification, conversion into customer + contact + opportunity.

Conversion keeps the lead's history: its activities move to the customer (and the new
opportunity) and appear on the customer's timeline.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field
from sqlalchemy import Index, Select, String
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import get_visible, scope, sees_full_numbers
from crm.actors import acting_division, is_manager
from crm.errors import Conflict, DomainError, Forbidden, NotFound
from crm.names import clean_text, normalise_email
from crm.org import User
from crm.paging import Page, Sort, fetch_page
from crm.phones import DEFAULT_REGION, parse_phone, shown
from crm.schemas import Input, View
from crm.types import UTCDateTime


class LeadStatus(StrEnum):
    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    disqualified = "disqualified"
    converted = "converted"


OPEN_LEAD_STATUSES = (LeadStatus.new, LeadStatus.contacted, LeadStatus.qualified)


class Lead(SQLModel, table=True):
    __tablename__ = "lead"
    __owner_column__ = "owner_id"
    __table_args__ = (Index("ix_lead_division_status", "division_id", "status", "id"),)

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id")
    owner_id: int | None = SQLField(default=None, foreign_key="app_user.id", index=True)
    name: str = SQLField(max_length=100, description="The person.")
    company: str = SQLField(default="", max_length=200)
    title: str = SQLField(default="", max_length=100)
    phone_e164: str | None = SQLField(default=None, max_length=32, index=True)
    phone_raw: str = SQLField(default="", max_length=64)
    email: str = SQLField(default="", max_length=200)
    source: str = SQLField(default="", max_length=64)
    region: str = SQLField(default="", max_length=64)
    note: str = SQLField(default="", max_length=2000)
    status: LeadStatus = SQLField(default=LeadStatus.new, sa_type=String(16))
    disqualify_reason: str = SQLField(default="", max_length=200)
    customer_id: int | None = SQLField(default=None, foreign_key="customer.id")
    contact_id: int | None = SQLField(default=None, foreign_key="contact.id")
    opportunity_id: int | None = SQLField(
        default=None, description="The opportunity it became (no FK: they refer to each other)."
    )
    converted_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    created_by_user_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class LeadCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    company: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=200)
    source: str = Field(default="", max_length=64)
    region: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=2000)
    division_id: int | None = None
    owner_id: int | None = None


class LeadStatusChange(Input):
    status: LeadStatus
    reason: str = Field(default="", max_length=200)


class LeadView(View):
    id: int
    division_id: int
    owner_id: int | None
    name: str
    company: str
    title: str
    phone: str | None
    email: str
    source: str
    region: str
    status: LeadStatus
    disqualify_reason: str
    customer_id: int | None
    opportunity_id: int | None
    last_activity_at: datetime | None
    created_at: datetime


class LeadFilter(Input):
    status: LeadStatus | None = None
    owner_id: int | None = None
    source: str | None = None
    q: str | None = Field(default=None, max_length=100)


def lead_view(lead: Lead, actor: User) -> LeadView:
    full = sees_full_numbers(actor, lead.owner_id)
    data = {k: getattr(lead, k) for k in LeadView.model_fields if hasattr(lead, k)}
    data["phone"] = shown(lead.phone_e164, full=full) if lead.phone_e164 else None
    data["email"] = lead.email if full else ""
    return LeadView.model_validate(data)


def create_lead(
    session: Session, *, actor: User, data: LeadCreate, now: datetime, region: str = DEFAULT_REGION
) -> Lead:
    division_id = acting_division(session, actor, data.division_id)
    owner_id = data.owner_id if data.owner_id is not None else actor.id
    if owner_id != actor.id and not is_manager(actor):
        raise Forbidden("reps create leads for themselves", field="owner_id", code="lead.reps_own_only")
    lead = Lead(
        division_id=division_id,
        owner_id=owner_id,
        name=clean_text(data.name)[:100],
        company=clean_text(data.company)[:200],
        title=clean_text(data.title)[:100],
        phone_e164=parse_phone(data.phone, region=region) if data.phone else None,
        phone_raw=(data.phone or "")[:64],
        email=normalise_email(data.email) if data.email else "",
        source=clean_text(data.source)[:64],
        region=clean_text(data.region)[:64],
        note=data.note,
        created_by_user_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(lead)
    session.commit()
    return lead


def editable_lead(session: Session, actor: User, lead_id: int) -> Lead:
    lead = get_visible(session, actor, Lead, lead_id)
    if lead is None:
        raise NotFound("no such lead", field="lead_id", code="lead.not_found")
    if not (is_manager(actor) or lead.owner_id == actor.id):
        raise Forbidden(
            "only the owner or a manager may change the lead", field="lead_id", code="lead.owner_or_manager"
        )
    return lead


def set_lead_status(
    session: Session, *, actor: User, lead_id: int, change: LeadStatusChange, now: datetime
) -> Lead:
    lead = editable_lead(session, actor, lead_id)
    if lead.status == LeadStatus.converted:
        raise Conflict("the lead was converted already", field="status", code="lead.already_converted")
    if change.status == LeadStatus.converted:
        raise DomainError(
            "convert a lead with the conversion action", field="status", code="lead.convert_with_action"
        )
    if change.status == LeadStatus.disqualified and not change.reason.strip():
        raise DomainError(
            "say why the lead is disqualified", field="reason", code="lead.disqualify_reason_required"
        )
    lead.status = change.status
    lead.disqualify_reason = change.reason.strip() if change.status == LeadStatus.disqualified else ""
    lead.updated_at = now
    session.add(lead)
    session.commit()
    return lead


SORT = Sort(Lead.created_at, Lead.id, descending=True)


def lead_query(actor: User, f: LeadFilter) -> Select:
    stmt = scope(select(Lead), actor, Lead)
    if f.status is not None:
        stmt = stmt.where(Lead.status == f.status)
    if f.owner_id is not None:
        stmt = stmt.where(Lead.owner_id == f.owner_id)
    if f.source:
        stmt = stmt.where(Lead.source == f.source)
    if f.q:
        text = clean_text(f.q)
        stmt = stmt.where(
            Lead.name.contains(text, autoescape=True) | Lead.company.contains(text, autoescape=True)
        )
    return stmt


def list_leads(
    session: Session, *, actor: User, filters: LeadFilter, cursor: str | None = None, limit: int = 50
) -> Page[LeadView]:
    page = fetch_page(session, lead_query(actor, filters), SORT, cursor=cursor, limit=limit)
    return Page([lead_view(lead, actor) for lead in page.items], page.next_cursor)
