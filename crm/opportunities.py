"""Opportunities: create, move through stages (history on the timeline), win or lose, list."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field
from sqlalchemy import Select
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.actors import acting_division, is_manager
from crm.customer_service import visible_customer
from crm.customers import Contact, Customer
from crm.errors import DomainError, Forbidden, NotFound
from crm.lost_reasons import resolve_lost_reason
from crm.money import money
from crm.org import User
from crm.paging import Page, Sort, fetch_page, pick_sort
from crm.pipeline import (
    Opportunity,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    StageChange,
    default_pipeline,
    stages_of,
)
from crm.schemas import Input, View
from crm.timeline import add_timeline_event


class OpportunityCreate(Input):
    customer_id: int
    name: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)
    expected_close: date | None = None
    contact_id: int | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None


class OpportunityUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    expected_close: date | None = None
    probability: int | None = Field(default=None, ge=0, le=100)


class StageMove(Input):
    stage_id: int
    lost_reason_id: int | None = Field(
        default=None, description="One of the division's lost reasons; none: other (say why in lost_reason)."
    )
    lost_reason: str = Field(default="", max_length=200, description="Other: why; a listed reason: a remark.")


class OpportunityView(View):
    id: int
    division_id: int
    owner_id: int | None
    customer_id: int
    contact_id: int | None
    pipeline_id: int
    stage_id: int
    name: str
    amount: Decimal
    probability: int
    expected_close: date | None
    status: OpportunityStatus
    lost_reason: str
    lost_reason_id: int | None
    closed_at: datetime | None
    last_activity_at: datetime | None
    created_at: datetime


class StageView(View):
    id: int
    name: str
    position: int
    probability: int
    is_won: bool
    is_lost: bool


class OpportunityFilter(Input):
    status: OpportunityStatus | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    stage_id: int | None = None
    pipeline_id: int | None = None
    closing_before: date | None = None


def _stage(session: Session, pipeline: Pipeline, stage_id: int | None) -> PipelineStage:
    stages = stages_of(session, pipeline.id)  # type: ignore[arg-type]
    if stage_id is None:
        return next(s for s in stages if not (s.is_won or s.is_lost))
    for stage in stages:
        if stage.id == stage_id:
            return stage
    raise DomainError(
        "the stage is not in this pipeline", field="stage_id", code="opportunity.stage_not_in_pipeline"
    )


def _pipeline(session: Session, division_id: int, pipeline_id: int | None) -> Pipeline:
    if pipeline_id is None:
        return default_pipeline(session, division_id)
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None or pipeline.division_id != division_id:
        raise NotFound("no such pipeline", field="pipeline_id", code="pipeline.not_found")
    return pipeline


def _record_stage(
    session: Session,
    opp: Opportunity,
    before: PipelineStage | None,
    after: PipelineStage,
    actor_id: int | None,
    now: datetime,
) -> None:
    change = StageChange(
        opportunity_id=opp.id,  # type: ignore[arg-type]
        division_id=opp.division_id,
        from_stage_id=before.id if before else None,
        to_stage_id=after.id,  # type: ignore[arg-type]
        actor_user_id=actor_id,
        occurred_at=now,
    )
    session.add(change)
    session.flush()
    summary = f"商机「{opp.name}」" + (f"{before.name} → {after.name}" if before else f"创建于 {after.name}")
    if after.is_lost and opp.lost_reason:
        summary += f"(输单原因: {opp.lost_reason})"
    add_timeline_event(
        session,
        customer_id=opp.customer_id,
        division_id=opp.division_id,
        occurred_at=now,
        kind="stage_change",
        source_table=StageChange.__tablename__,
        source_id=change.id,  # type: ignore[arg-type]
        actor_user_id=actor_id,
        summary=summary,
        data={
            "opportunity_id": opp.id,
            "from": before.id if before else None,
            "to": after.id,
            "amount": str(opp.amount),
        },
    )


def create_opportunity(
    session: Session,
    *,
    actor: User,
    data: OpportunityCreate,
    now: datetime,
    lead_id: int | None = None,
    commit: bool = True,
) -> Opportunity:
    customer = visible_customer(session, actor, data.customer_id)
    owner_id = data.owner_id if data.owner_id is not None else (customer.owner_id or actor.id)
    if owner_id != actor.id and not is_manager(actor):
        raise Forbidden(
            "reps create opportunities for themselves", field="owner_id", code="opportunity.reps_own_only"
        )
    if customer.owner_id not in (None, actor.id) and not is_manager(actor):
        raise Forbidden(
            "the customer belongs to another rep",
            field="customer_id",
            code="opportunity.customer_of_another_rep",
        )
    if data.contact_id is not None:
        contact = session.get(Contact, data.contact_id)
        if contact is None or contact.customer_id != customer.id:
            raise NotFound("no such contact of this customer", field="contact_id", code="contact.not_found")
    pipeline = _pipeline(session, customer.division_id, data.pipeline_id)
    stage = _stage(session, pipeline, data.stage_id)
    opp = Opportunity(
        division_id=customer.division_id,
        owner_id=owner_id,
        customer_id=customer.id,  # type: ignore[arg-type]
        contact_id=data.contact_id,
        lead_id=lead_id,
        pipeline_id=pipeline.id,  # type: ignore[arg-type]
        stage_id=stage.id,  # type: ignore[arg-type]
        name=data.name,
        amount=money(data.amount),
        probability=stage.probability,
        expected_close=data.expected_close,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    session.add(opp)
    session.flush()
    _record_stage(session, opp, None, stage, actor.id, now)
    if commit:
        session.commit()
    return opp


def editable_opportunity(session: Session, actor: User, opportunity_id: int) -> Opportunity:
    opp = get_visible(session, actor, Opportunity, opportunity_id)
    if opp is None:
        raise NotFound("no such opportunity", field="opportunity_id", code="opportunity.not_found")
    if not (is_manager(actor) or opp.owner_id == actor.id):
        raise Forbidden(
            "only the owner or a manager may change the opportunity",
            field="opportunity_id",
            code="opportunity.owner_or_manager",
        )
    return opp


def move_stage(
    session: Session, *, actor: User, opportunity_id: int, move: StageMove, now: datetime
) -> Opportunity:
    """Move to a stage; a won stage closes it as won (the customer's last deal), a lost one needs a
    reason from the division's list or "other" with a text."""
    opp = editable_opportunity(session, actor, opportunity_id)
    pipeline = session.get(Pipeline, opp.pipeline_id)
    stage = _stage(session, pipeline, move.stage_id)  # type: ignore[arg-type]
    before = session.get(PipelineStage, opp.stage_id)
    if stage.id == opp.stage_id:
        raise DomainError(
            "the opportunity is in this stage already", field="stage_id", code="opportunity.same_stage"
        )
    if stage.is_lost:
        opp.lost_reason_id, opp.lost_reason = resolve_lost_reason(
            session, opp.division_id, move.lost_reason_id, move.lost_reason
        )
    elif move.lost_reason_id is not None:
        raise DomainError(
            "only a lost stage takes a lost reason",
            field="lost_reason_id",
            code="opportunity.lost_reason_only_lost",
        )
    else:
        opp.lost_reason_id, opp.lost_reason = None, ""
    opp.stage_id = stage.id  # type: ignore[assignment]
    opp.probability = stage.probability
    opp.status = (
        OpportunityStatus.won
        if stage.is_won
        else OpportunityStatus.lost
        if stage.is_lost
        else OpportunityStatus.open
    )
    opp.closed_at = now if (stage.is_won or stage.is_lost) else None
    opp.updated_at = opp.last_activity_at = now
    session.add(opp)
    if stage.is_won:
        customer = session.get(Customer, opp.customer_id)
        customer.last_deal_at = now  # type: ignore[union-attr]
        session.add(customer)
    _record_stage(session, opp, before, stage, actor.id, now)
    session.commit()
    return opp


def update_opportunity(
    session: Session, *, actor: User, opportunity_id: int, data: OpportunityUpdate, now: datetime
) -> Opportunity:
    opp = editable_opportunity(session, actor, opportunity_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None and key != "expected_close":
            raise DomainError(f"{key} cannot be empty", field=key, code="field.empty", params={"field": key})
        setattr(opp, key, money(value) if key == "amount" else value)
    opp.updated_at = now
    session.add(opp)
    session.commit()
    return opp


SORTS = {
    "-created": Sort(Opportunity.created_at, Opportunity.id, descending=True),
    "close": Sort(Opportunity.expected_close, Opportunity.id),
    "-amount": Sort(Opportunity.amount, Opportunity.id, descending=True),
}


def opportunity_query(actor: User, f: OpportunityFilter) -> Select:
    stmt = scope(select(Opportunity), actor, Opportunity)
    for key in ("status", "owner_id", "customer_id", "stage_id", "pipeline_id"):
        value = getattr(f, key)
        if value is not None:
            stmt = stmt.where(getattr(Opportunity, key) == value)
    if f.closing_before is not None:
        stmt = stmt.where(Opportunity.expected_close < f.closing_before)
    return stmt


def list_opportunities(
    session: Session,
    *,
    actor: User,
    filters: OpportunityFilter,
    sort: str = "-created",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[OpportunityView]:
    stmt = opportunity_query(actor, filters)
    if sort == "close":
        stmt = stmt.where(Opportunity.expected_close.is_not(None))
    page = fetch_page(session, stmt, pick_sort(SORTS, sort), cursor=cursor, limit=limit)
    return Page([OpportunityView.model_validate(o) for o in page.items], page.next_cursor)


def pipeline_stages(session: Session, *, actor: User, division_id: int | None = None) -> list[StageView]:
    """The stages of a division's default pipeline (created on first use); executives name the division."""
    division = acting_division(session, actor, division_id if division_id is not None else actor.division_id)
    pipeline = default_pipeline(session, division)
    session.commit()
    return [StageView.model_validate(s) for s in stages_of(session, pipeline.id)]  # type: ignore[arg-type]
