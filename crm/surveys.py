"""Satisfaction surveys after a ticket closes: a link per ticket, sent through the campaign sender.

The answer (score 1–5 and a comment) arrives on a public page identified only by the
survey's unguessable token and goes onto the customer's timeline.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import Field
from sqlalchemy import String
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.customers import Contact, ContactEmail, ContactPhone, Customer
from crm.errors import Conflict, NotFound
from crm.schemas import Input, View
from crm.senders import Message, Senders
from crm.tickets import Ticket, TicketStatus
from crm.timeline import add_timeline_event
from crm.types import UTCDateTime


class SatisfactionSurvey(SQLModel, table=True):
    __tablename__ = "satisfaction_survey"

    id: int | None = SQLField(default=None, primary_key=True)
    ticket_id: int = SQLField(foreign_key="ticket.id", index=True)
    customer_id: int = SQLField(foreign_key="customer.id", index=True)
    division_id: int = SQLField(foreign_key="division.id", index=True)
    token: str = SQLField(max_length=64, unique=True)
    channel: str = SQLField(default="", sa_type=String(8))
    sent_to: str = SQLField(default="", max_length=200)
    send_status: str = SQLField(
        default="", sa_type=String(12), description="outbox, sent, failed or no_address"
    )
    send_detail: str = SQLField(default="", max_length=500)
    sent_at: datetime = SQLField(sa_type=UTCDateTime)
    answered_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    score: int | None = None
    comment: str = SQLField(default="", max_length=2000)


class SurveyAnswer(Input):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class SurveyView(View):
    ticket_subject: str
    customer_name: str
    answered: bool


def _address(session: Session, customer_id: int) -> tuple[str, str] | None:
    """The primary contact's mobile, else any phone, else an e-mail."""
    phone = session.exec(
        select(ContactPhone.e164)
        .outerjoin(Contact, Contact.id == ContactPhone.contact_id)
        .where(ContactPhone.customer_id == customer_id, ContactPhone.valid_to.is_(None))
        .order_by(Contact.is_primary.desc(), ContactPhone.id)
    ).first()
    if phone:
        return "sms", phone
    email = session.exec(select(ContactEmail.email).where(ContactEmail.customer_id == customer_id)).first()
    return ("email", email) if email else None


def send_survey(
    session: Session, *, ticket: Ticket, senders: Senders, base_url: str, now: datetime
) -> SatisfactionSurvey:
    if ticket.status != TicketStatus.closed:
        raise Conflict(
            "surveys go out once the ticket is closed", field="ticket_id", code="survey.ticket_not_closed"
        )
    token = secrets.token_urlsafe(24)
    survey = SatisfactionSurvey(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        division_id=ticket.division_id,
        token=token,
        sent_at=now,  # type: ignore[arg-type]
    )
    address = _address(session, ticket.customer_id)
    if address is None:
        survey.send_status = "no_address"
    else:
        channel, to = address
        link = f"{base_url.rstrip('/')}/s/{token}"
        outcome = senders.for_channel(channel).send(
            Message(
                channel=channel,
                to=to,
                subject="服务满意度调查",
                body=f"您好,您的服务工单「{ticket.subject}」已处理完毕。请为本次服务打分: {link}",
                ref={"survey": token, "ticket_id": ticket.id},
            ),
            now=now,
        )
        survey.channel, survey.sent_to, survey.send_status, survey.send_detail = (
            channel,
            to,
            outcome.status,
            outcome.detail,
        )
    session.add(survey)
    session.commit()
    return survey


def _by_token(session: Session, token: str) -> SatisfactionSurvey:
    survey = session.exec(select(SatisfactionSurvey).where(SatisfactionSurvey.token == token)).first()
    if survey is None:
        raise NotFound("no such survey", field="token", code="survey.not_found")
    return survey


def survey_view(session: Session, *, token: str) -> SurveyView:
    survey = _by_token(session, token)
    ticket = session.get(Ticket, survey.ticket_id)
    customer = session.get(Customer, survey.customer_id)
    return SurveyView(
        ticket_subject=ticket.subject,
        customer_name=customer.name,
        answered=survey.answered_at is not None,  # type: ignore[union-attr]
    )


def answer_survey(session: Session, *, token: str, answer: SurveyAnswer, now: datetime) -> SatisfactionSurvey:
    survey = _by_token(session, token)
    if survey.answered_at is not None:
        raise Conflict("this survey was answered already", field="token", code="survey.answered")
    survey.score, survey.comment, survey.answered_at = answer.score, answer.comment, now
    session.add(survey)
    add_timeline_event(
        session,
        customer_id=survey.customer_id,
        division_id=survey.division_id,
        occurred_at=now,
        kind="survey_result",
        source_table=SatisfactionSurvey.__tablename__,
        source_id=survey.id,  # type: ignore[arg-type]
        summary=f"满意度 {answer.score}/5" + (f": {answer.comment[:200]}" if answer.comment else ""),
        data={"ticket_id": survey.ticket_id, "score": answer.score},
    )
    session.commit()
    return survey
