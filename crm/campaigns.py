"""Campaigns: segments of customers by tags, grade and region, sent through the pluggable sender,
with responses linked back (an inbound SMS from a recipient within the window)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy import JSON, Column, Index, Select, String, UniqueConstraint, or_, update
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from capture.records import Direction
from crm.access import get_visible, scope
from crm.actors import acting_division, is_manager
from crm.communications import CapturedSms
from crm.customer_service import tag_clause
from crm.customers import Contact, ContactEmail, ContactPhone, Customer
from crm.errors import Conflict, DomainError, NotFound
from crm.names import clean_text
from crm.org import User
from crm.schemas import Input, View
from crm.senders import Message, Senders
from crm.timeline import add_timeline_event
from crm.types import UTCDateTime

_CHUNK = 500


class Channel(StrEnum):
    sms = "sms"
    email = "email"


class Segment(SQLModel, table=True):
    __tablename__ = "segment"
    __owner_column__ = "owner_id"

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    owner_id: int | None = SQLField(
        default=None, foreign_key="app_user.id", description="NULL: shared in the division."
    )
    name: str = SQLField(max_length=100)
    criteria: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(sa_type=UTCDateTime)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"
    __owner_column__ = "owner_id"

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    owner_id: int | None = SQLField(default=None, foreign_key="app_user.id")
    name: str = SQLField(max_length=100)
    channel: Channel = SQLField(sa_type=String(8))
    segment_id: int = SQLField(foreign_key="segment.id")
    subject: str = SQLField(default="", max_length=200)
    template: str = SQLField(max_length=2000)
    response_window_days: int = 7
    status: str = SQLField(default="draft", sa_type=String(8))
    counts: dict[str, int] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    sent_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)


class CampaignRecipient(SQLModel, table=True):
    __tablename__ = "campaign_recipient"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_recipient_campaign_customer"),
        Index("ix_campaign_recipient_address", "address", "sent_at"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    campaign_id: int = SQLField(foreign_key="campaign.id", index=True)
    customer_id: int = SQLField(foreign_key="customer.id", index=True)
    division_id: int = SQLField(foreign_key="division.id")
    address: str = SQLField(default="", max_length=200)
    status: str = SQLField(sa_type=String(12), description="outbox, sent, failed or no_address")
    detail: str = SQLField(default="", max_length=500)
    sent_at: datetime = SQLField(sa_type=UTCDateTime)
    responded_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    response_sms_id: int | None = SQLField(
        default=None, description="captured_sms.id (no FK: another branch owns it)."
    )


class SegmentIn(Input):
    name: str = Field(min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=20)
    grades: list[str] = Field(default_factory=list, max_length=20)
    regions: list[str] = Field(default_factory=list, max_length=20)
    in_pool: bool | None = None
    division_id: int | None = None
    shared: bool = Field(default=False, description="Managers: visible to the whole division.")


class CampaignIn(Input):
    name: str = Field(min_length=1, max_length=100)
    channel: Channel
    segment_id: int
    subject: str = Field(default="", max_length=200)
    template: str = Field(min_length=1, max_length=2000, description="May use {customer} and {contact}.")
    response_window_days: int = Field(default=7, ge=1, le=90)


class SegmentView(View):
    id: int
    name: str
    criteria: dict[str, Any]
    owner_id: int | None


class CampaignView(View):
    id: int
    name: str
    channel: Channel
    segment_id: int
    status: str
    counts: dict[str, int]
    sent_at: datetime | None


def segment_query(actor: User, division_id: int, criteria: dict[str, Any]) -> Select:
    """Customers of the segment that the actor may see (any of the tags, grades, regions)."""
    stmt = scope(select(Customer), actor, Customer).where(
        Customer.division_id == division_id, Customer.merged_into_id.is_(None)
    )
    if criteria.get("tags"):
        stmt = stmt.where(or_(*(tag_clause(t) for t in criteria["tags"])))
    if criteria.get("grades"):
        stmt = stmt.where(Customer.grade.in_([g.upper() for g in criteria["grades"]]))
    if criteria.get("regions"):
        stmt = stmt.where(or_(*(Customer.region.startswith(r, autoescape=True) for r in criteria["regions"])))
    if criteria.get("in_pool") is not None:
        stmt = stmt.where(
            Customer.owner_id.is_(None) if criteria["in_pool"] else Customer.owner_id.is_not(None)
        )
    return stmt


def create_segment(session: Session, *, actor: User, data: SegmentIn, now: datetime) -> Segment:
    division_id = acting_division(session, actor, data.division_id)
    criteria = {
        "tags": [clean_text(t) for t in data.tags if clean_text(t)],
        "grades": [g.upper() for g in data.grades],
        "regions": [clean_text(r) for r in data.regions if clean_text(r)],
        "in_pool": data.in_pool,
    }
    segment = Segment(
        division_id=division_id,
        owner_id=None if data.shared and is_manager(actor) else actor.id,
        name=data.name,
        criteria=criteria,
        created_at=now,
    )
    session.add(segment)
    session.commit()
    return segment


def create_campaign(session: Session, *, actor: User, data: CampaignIn, now: datetime) -> Campaign:
    segment = get_visible(session, actor, Segment, data.segment_id)
    if segment is None:
        raise NotFound("no such segment", field="segment_id", code="segment.not_found")
    if "{" in data.template.replace("{customer}", "").replace("{contact}", ""):
        raise DomainError(
            "the template may use {customer} and {contact} only",
            field="template",
            code="campaign.template_placeholders",
        )
    campaign = Campaign(
        division_id=segment.division_id,
        owner_id=actor.id,
        name=data.name,
        channel=data.channel,
        segment_id=segment.id,  # type: ignore[arg-type]
        subject=data.subject,
        template=data.template,
        response_window_days=data.response_window_days,
        created_at=now,
    )
    session.add(campaign)
    session.commit()
    return campaign


def _addresses(session: Session, channel: Channel, customer_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Per customer: (address, contact name), the primary contact first."""
    if channel == Channel.sms:
        stmt = (
            select(ContactPhone.customer_id, ContactPhone.e164, Contact.name)
            .outerjoin(Contact, Contact.id == ContactPhone.contact_id)
            .where(ContactPhone.customer_id.in_(customer_ids), ContactPhone.valid_to.is_(None))
            .order_by(Contact.is_primary.desc(), ContactPhone.id)
        )
    else:
        stmt = (
            select(ContactEmail.customer_id, ContactEmail.email, Contact.name)
            .join(Contact, Contact.id == ContactEmail.contact_id)
            .where(ContactEmail.customer_id.in_(customer_ids))
            .order_by(Contact.is_primary.desc(), ContactEmail.id)
        )
    found: dict[int, tuple[str, str]] = {}
    for customer_id, address, contact in session.execute(stmt):
        found.setdefault(customer_id, (address, contact or ""))
    return found


def send_campaign(
    session: Session, *, actor: User, campaign_id: int, senders: Senders, now: datetime
) -> Campaign:
    """Send to every customer of the segment the actor may see (once per customer)."""
    campaign = get_visible(session, actor, Campaign, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign", field="campaign_id", code="campaign.not_found")
    if campaign.status != "draft":
        raise Conflict("the campaign was sent already", field="campaign_id", code="campaign.already_sent")
    segment = session.get(Segment, campaign.segment_id)
    sender = senders.for_channel(campaign.channel)
    customers = list(session.exec(segment_query(actor, campaign.division_id, segment.criteria)))  # type: ignore[union-attr]
    counts: dict[str, int] = {}
    for i in range(0, len(customers), _CHUNK):
        chunk = customers[i : i + _CHUNK]
        addresses = _addresses(session, campaign.channel, [c.id for c in chunk])  # type: ignore[misc]
        for customer in chunk:
            address, contact = addresses.get(customer.id, ("", ""))  # type: ignore[arg-type]
            if not address:
                status, detail = "no_address", ""
            else:
                body = campaign.template.replace("{customer}", customer.name).replace(
                    "{contact}", contact or customer.name
                )
                outcome = sender.send(
                    Message(campaign.channel, address, body, campaign.subject, {"campaign": campaign.id}),
                    now=now,
                )
                status, detail = outcome.status, outcome.detail
            counts[status] = counts.get(status, 0) + 1
            session.add(
                CampaignRecipient(
                    campaign_id=campaign.id,
                    customer_id=customer.id,
                    division_id=customer.division_id,  # type: ignore[arg-type]
                    address=address,
                    status=status,
                    detail=detail[:500],
                    sent_at=now,
                )
            )
        session.flush()
    campaign.status, campaign.sent_at, campaign.counts = "sent", now, counts
    session.add(campaign)
    session.commit()
    return campaign


def link_campaign_responses(session: Session, now: datetime) -> int:
    """An inbound SMS from a recipient's number, after the campaign and within its window, is a response."""
    window_start = now - timedelta(days=90)
    pending = session.execute(
        select(CampaignRecipient, Campaign.response_window_days, Campaign.name)
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(
            Campaign.channel == Channel.sms,
            CampaignRecipient.responded_at.is_(None),
            CampaignRecipient.address != "",
            CampaignRecipient.sent_at >= window_start,
        )
    ).all()
    linked = 0
    for recipient, window_days, campaign_name in pending:
        reply = session.exec(
            select(CapturedSms)
            .where(
                CapturedSms.number_e164 == recipient.address,
                CapturedSms.division_id == recipient.division_id,
                CapturedSms.direction == Direction.INCOMING,
                CapturedSms.occurred_at > recipient.sent_at,
                CapturedSms.occurred_at <= recipient.sent_at + timedelta(days=window_days),
            )
            .order_by(CapturedSms.occurred_at)
        ).first()
        if reply is None:
            continue
        session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id == recipient.id)
            .values(responded_at=reply.occurred_at, response_sms_id=reply.id)
        )
        add_timeline_event(
            session,
            customer_id=recipient.customer_id,
            division_id=recipient.division_id,
            occurred_at=reply.occurred_at,
            kind="campaign_response",
            source_table=CampaignRecipient.__tablename__,
            source_id=recipient.id,  # type: ignore[arg-type]
            summary=f"回复营销短信「{campaign_name}」: {reply.body[:200]}",
            data={"campaign_id": recipient.campaign_id, "sms_id": reply.id},
        )
        linked += 1
    session.commit()
    return linked
