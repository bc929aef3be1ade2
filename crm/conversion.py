"""Converting a lead into customer + contact + opportunity, keeping its history.

The lead's activities move to the customer (and the new opportunity) and appear on the
customer's timeline; the conversion itself is a timeline event too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field
from sqlalchemy import update
from sqlmodel import Session, select

from crm.activities import Activity, project_activity
from crm.actors import is_manager
from crm.customer_service import (
    ContactIn,
    CustomerCreate,
    PhoneIn,
    add_contact_row,
    create_customer,
    editable_customer,
)
from crm.customers import Contact
from crm.errors import Conflict
from crm.leads import Lead, LeadStatus, editable_lead
from crm.opportunities import OpportunityCreate, create_opportunity
from crm.org import User
from crm.ownership import OwnershipReason
from crm.phones import DEFAULT_REGION
from crm.schemas import Input
from crm.timeline import add_timeline_event


class LeadConvert(Input):
    customer_id: int | None = Field(default=None, description="Attach to this existing customer instead.")
    customer_name: str | None = Field(default=None, max_length=200)
    opportunity_name: str | None = Field(default=None, max_length=200)
    amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)
    expected_close: date | None = None
    create_opportunity: bool = True
    allow_duplicate: bool = False


def convert_lead(
    session: Session,
    *,
    actor: User,
    lead_id: int,
    data: LeadConvert,
    now: datetime,
    region: str = DEFAULT_REGION,
) -> Lead:
    """Lead → customer (new, or an existing one) + contact + opportunity, in one transaction."""
    lead = editable_lead(session, actor, lead_id)
    if lead.status == LeadStatus.converted:
        raise Conflict("the lead was converted already", field="lead_id", code="lead.already_converted")
    if lead.status == LeadStatus.disqualified:
        raise Conflict(
            "a disqualified lead cannot be converted", field="lead_id", code="lead.disqualified_no_convert"
        )
    contact_in = ContactIn(
        name=lead.name,
        title=lead.title,
        phones=[PhoneIn(number=lead.phone_e164)] if lead.phone_e164 else [],
        emails=[lead.email] if lead.email else [],
        is_primary=True,
    )
    owner = lead.owner_id or actor.id
    if data.customer_id is not None:
        customer = editable_customer(session, actor, data.customer_id)
        contact = add_contact_row(
            session,
            customer,
            contact_in,
            [lead.phone_e164] if lead.phone_e164 else [],
            contact_in.emails,
            now=now,
        )
    else:
        customer = create_customer(
            session,
            actor=actor,
            data=CustomerCreate(
                name=data.customer_name or lead.company or lead.name,
                kind="company" if (data.customer_name or lead.company) else "person",
                source=lead.source,
                region=lead.region,
                division_id=lead.division_id,
                owner_id=owner if is_manager(actor) else None,
                contacts=[contact_in],
                allow_duplicate=data.allow_duplicate,
            ),
            now=now,
            region=region,
            reason=OwnershipReason.converted,
            commit=False,
        )
        contact = session.exec(select(Contact).where(Contact.customer_id == customer.id)).first()
    opportunity = None
    if data.create_opportunity:
        opportunity = create_opportunity(
            session,
            actor=actor,
            data=OpportunityCreate(
                customer_id=customer.id,  # type: ignore[arg-type]
                name=data.opportunity_name or f"{customer.name} - {lead.source or '线索'}",
                amount=data.amount,
                expected_close=data.expected_close,
                contact_id=contact.id if contact else None,
                owner_id=owner if is_manager(actor) else None,
            ),
            now=now,
            lead_id=lead.id,
            commit=False,
        )
    lead.status = LeadStatus.converted
    lead.customer_id = customer.id
    lead.contact_id = contact.id if contact else None
    lead.opportunity_id = opportunity.id if opportunity else None
    lead.converted_at = lead.updated_at = now
    session.add(lead)
    session.execute(
        update(Activity)
        .where(Activity.lead_id == lead.id)
        .values(customer_id=customer.id, opportunity_id=lead.opportunity_id)
    )
    for activity in session.exec(
        select(Activity).where(Activity.lead_id == lead.id, Activity.done_at.is_not(None))
    ):
        project_activity(session, activity)
    add_timeline_event(
        session,
        customer_id=customer.id,  # type: ignore[arg-type]
        division_id=customer.division_id,
        occurred_at=now,
        kind="lead_converted",
        source_table=Lead.__tablename__,
        source_id=lead.id,  # type: ignore[arg-type]
        actor_user_id=actor.id,
        summary=f"线索「{lead.name}」转化为客户" + (f"和商机「{opportunity.name}」" if opportunity else ""),
        data={"lead_id": lead.id, "source": lead.source, "lead_created_at": lead.created_at.isoformat()},
    )
    session.commit()
    return lead
