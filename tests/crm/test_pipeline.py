"""Leads → conversion keeping history; opportunities and stage history; activities; the follow-up rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm.activities import ActivityCreate, ActivityDone, complete_activity, create_activity, planned_visits
from crm.conversion import LeadConvert, convert_lead
from crm.customer_service import DuplicateFound
from crm.customers import ContactPhone, Customer
from crm.errors import Conflict, DomainError, NotFound
from crm.followups import remind_followups
from crm.leads import (
    LeadCreate,
    LeadFilter,
    LeadStatus,
    LeadStatusChange,
    create_lead,
    list_leads,
    set_lead_status,
)
from crm.notifications import Notification
from crm.opportunities import OpportunityCreate, StageMove, create_opportunity, move_stage, pipeline_stages
from crm.pipeline import StageChange
from crm.timeline import TimelineEvent
from tests.crm.conftest import NOW, Org, make_customer


def _lead(session: Session, org: Org, **kw: object) -> int:
    data = {
        "name": "赵先生",
        "company": "宁波海港机械有限公司",
        "phone": "13700001111",
        "source": "展会",
        **kw,
    }
    return create_lead(session, actor=org.rep1, data=LeadCreate(**data), now=NOW).id  # type: ignore[arg-type, return-value]


def test_conversion_keeps_the_lead_history(session: Session, org: Org) -> None:
    lead_id = _lead(session, org)
    note = create_activity(
        session,
        actor=org.rep1,
        data=ActivityCreate(kind="note", subject="展会上交换名片", lead_id=lead_id),
        now=NOW,  # type: ignore[arg-type]
    )
    call = create_activity(
        session,
        actor=org.rep1,
        data=ActivityCreate(kind="call", subject="电话回访", lead_id=lead_id, due_at=NOW + timedelta(days=1)),  # type: ignore[arg-type]
        now=NOW,
    )
    complete_activity(
        session,
        actor=org.rep1,
        activity_id=call.id,
        data=ActivityDone(outcome="有采购意向"),
        now=NOW + timedelta(days=1),
    )
    set_lead_status(
        session, actor=org.rep1, lead_id=lead_id, change=LeadStatusChange(status="qualified"), now=NOW
    )  # type: ignore[arg-type]

    later = NOW + timedelta(days=2)
    lead = convert_lead(
        session, actor=org.rep1, lead_id=lead_id, data=LeadConvert(amount=Decimal("120000")), now=later
    )
    assert lead.status == LeadStatus.converted and lead.customer_id and lead.opportunity_id
    customer = session.get(Customer, lead.customer_id)
    assert (customer.name, customer.owner_id, customer.source) == (
        "宁波海港机械有限公司",
        org.rep1.id,
        "展会",
    )
    phones = session.exec(select(ContactPhone.e164).where(ContactPhone.customer_id == customer.id)).all()
    assert phones == ["+8613700001111"]
    events = session.exec(
        select(TimelineEvent)
        .where(TimelineEvent.customer_id == customer.id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    ).all()
    assert [(e.kind, e.occurred_at) for e in events] == [
        ("note", NOW),
        ("activity", NOW + timedelta(days=1)),
        ("ownership", later),
        ("stage_change", later),
        ("lead_converted", later),
    ]
    assert events[1].summary == "电话回访: 有采购意向"
    session.refresh(note)
    assert (note.customer_id, note.opportunity_id) == (customer.id, lead.opportunity_id)
    with pytest.raises(Conflict):
        convert_lead(session, actor=org.rep1, lead_id=lead_id, data=LeadConvert(), now=later)


def test_conversion_finds_the_existing_customer(session: Session, org: Org) -> None:
    existing = make_customer(session, org.rep1, "宁波海港机械", phone="13700001111")
    lead_id = _lead(session, org)
    with pytest.raises(DuplicateFound):
        convert_lead(session, actor=org.rep1, lead_id=lead_id, data=LeadConvert(), now=NOW)
    session.rollback()
    lead = convert_lead(
        session,
        actor=org.rep1,
        lead_id=lead_id,
        data=LeadConvert(customer_id=existing.id, create_opportunity=False),
        now=NOW,
    )
    assert lead.customer_id == existing.id and lead.opportunity_id is None
    assert len(session.exec(select(Customer)).all()) == 1


def test_disqualify_needs_a_reason_and_leads_are_scoped(session: Session, org: Org) -> None:
    lead_id = _lead(session, org)
    with pytest.raises(DomainError):
        set_lead_status(
            session, actor=org.rep1, lead_id=lead_id, change=LeadStatusChange(status="disqualified"), now=NOW
        )  # type: ignore[arg-type]
    assert [lead.name for lead in list_leads(session, actor=org.rep1, filters=LeadFilter()).items] == [
        "赵先生"
    ]
    assert list_leads(session, actor=org.rep2, filters=LeadFilter()).items == []
    assert list_leads(session, actor=org.head_b, filters=LeadFilter()).items == []
    head_view = list_leads(session, actor=org.head, filters=LeadFilter()).items[0]
    rep2_lead = create_lead(session, actor=org.head, data=LeadCreate(name="x", phone="13700002222"), now=NOW)
    assert head_view.phone == "+8613700001111"
    pool_view = list_leads(session, actor=org.rep2, filters=LeadFilter(q="x")).items
    assert rep2_lead.owner_id == org.head.id and pool_view == []


def test_stage_history_win_and_loss(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "客户")
    stages = pipeline_stages(session, actor=org.rep1)
    assert [s.name for s in stages][:2] == ["初步接洽", "需求确认"] and stages[4].is_won and stages[5].is_lost
    opp = create_opportunity(
        session,
        actor=org.rep1,
        data=OpportunityCreate(customer_id=customer.id, name="一期", amount=Decimal("50000")),
        now=NOW,
    )
    assert (opp.stage_id, opp.probability) == (stages[0].id, 10)
    move_stage(
        session,
        actor=org.rep1,
        opportunity_id=opp.id,
        move=StageMove(stage_id=stages[2].id),
        now=NOW + timedelta(days=3),
    )
    assert opp.probability == 50
    with pytest.raises(DomainError):
        move_stage(
            session, actor=org.rep1, opportunity_id=opp.id, move=StageMove(stage_id=stages[5].id), now=NOW
        )
    with pytest.raises(NotFound):  # rep2 does not see rep1's opportunity
        move_stage(
            session, actor=org.rep2, opportunity_id=opp.id, move=StageMove(stage_id=stages[4].id), now=NOW
        )
    won_at = NOW + timedelta(days=9)
    move_stage(
        session, actor=org.rep1, opportunity_id=opp.id, move=StageMove(stage_id=stages[4].id), now=won_at
    )
    assert (opp.status, opp.closed_at) == ("won", won_at)
    assert session.get(Customer, customer.id).last_deal_at == won_at
    history = session.exec(
        select(StageChange).where(StageChange.opportunity_id == opp.id).order_by(StageChange.id)
    ).all()
    assert [(h.from_stage_id, h.to_stage_id, h.actor_user_id) for h in history] == [
        (None, stages[0].id, org.rep1.id),
        (stages[0].id, stages[2].id, org.rep1.id),
        (stages[2].id, stages[4].id, org.rep1.id),
    ]
    summaries = session.exec(
        select(TimelineEvent.summary).where(TimelineEvent.kind == "stage_change").order_by(TimelineEvent.id)
    ).all()
    assert summaries[-1] == "商机「一期」方案报价 → 赢单"

    lost = create_opportunity(
        session, actor=org.rep1, data=OpportunityCreate(customer_id=customer.id, name="二期"), now=NOW
    )
    move_stage(
        session,
        actor=org.rep1,
        opportunity_id=lost.id,
        move=StageMove(stage_id=stages[5].id, lost_reason="价格太高"),
        now=NOW,
    )
    assert (lost.status, lost.lost_reason) == ("lost", "价格太高")


def test_planned_visits_for_route_planning(session: Session, org: Org) -> None:
    customer = make_customer(
        session, org.rep1, "客户", addresses=[{"address": "杭州西湖", "lat": 30.25, "lon": 120.15}]
    )
    tomorrow_9 = datetime(2026, 3, 3, 1, 0, tzinfo=NOW.tzinfo)  # 09:00 Shanghai
    create_activity(
        session,
        actor=org.head,
        data=ActivityCreate(
            kind="visit",
            subject="上门演示",
            customer_id=customer.id,
            due_at=tomorrow_9,
            duration_min=45,
            owner_id=org.rep1.id,
        ),  # type: ignore[arg-type]
        now=NOW,
    )
    with pytest.raises(DomainError):
        create_activity(
            session,
            actor=org.rep1,
            data=ActivityCreate(kind="visit", subject="x", customer_id=customer.id),
            now=NOW,
        )  # type: ignore[arg-type]
    visits = planned_visits(session, actor=org.rep1, rep_id=org.rep1.id, day=date(2026, 3, 3))
    assert [(v.customer_name, v.lat, v.lon, v.duration_min) for v in visits] == [("客户", 30.25, 120.15, 45)]
    assert planned_visits(session, actor=org.rep1, rep_id=org.rep1.id, day=date(2026, 3, 2)) == []


def test_follow_up_rule_reminds_owner_then_division_head(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "客户")
    opp = create_opportunity(
        session, actor=org.rep1, data=OpportunityCreate(customer_id=customer.id, name="商机"), now=NOW
    )
    _lead(session, org)
    assert remind_followups(session, NOW + timedelta(days=29)) == 0
    assert remind_followups(session, NOW + timedelta(days=30)) == 2  # lead and opportunity, to the owner
    assert remind_followups(session, NOW + timedelta(days=31)) == 0  # once per cycle
    assert remind_followups(session, NOW + timedelta(days=37)) == 2  # now to the division head
    notes = session.exec(select(Notification).order_by(Notification.id)).all()
    assert [(n.user_id, n.kind) for n in notes] == [
        (org.rep1.id, "followup"),
        (org.rep1.id, "followup"),
        (org.head.id, "followup-escalated"),
        (org.head.id, "followup-escalated"),
    ]
    create_activity(
        session,
        actor=org.rep1,
        data=ActivityCreate(kind="note", subject="跟进", opportunity_id=opp.id),
        now=NOW + timedelta(days=38),
    )
    assert (
        remind_followups(session, NOW + timedelta(days=60)) == 0
    )  # the lead was handled, the opportunity is fresh
    assert remind_followups(session, NOW + timedelta(days=68)) == 1  # a new cycle for the opportunity
    assert remind_followups(session, NOW + timedelta(days=75)) == 1


def test_pipeline_over_http(client, factory, session: Session, org: Org) -> None:  # type: ignore[no-untyped-def]
    headers = factory.headers(org.rep1)
    lead = client.post(
        "/api/v1/leads", json={"name": "钱女士", "phone": "13600001111", "source": "官网"}, headers=headers
    )
    assert lead.status_code == 201, lead.text
    lead_id = lead.json()["id"]
    note = client.post(
        "/api/v1/activities",
        json={"kind": "note", "subject": "官网咨询", "lead_id": lead_id},
        headers=headers,
    )
    assert note.status_code == 201, note.text
    converted = client.post(f"/api/v1/leads/{lead_id}/convert", json={"amount": "8000.50"}, headers=headers)
    assert converted.status_code == 200, converted.text
    opp_id = converted.json()["opportunity_id"]
    stages = client.get("/api/v1/pipeline/stages", headers=headers).json()
    moved = client.post(
        f"/api/v1/opportunities/{opp_id}/stage", json={"stage_id": stages[1]["id"]}, headers=headers
    )
    assert (
        moved.status_code == 200 and moved.json()["probability"] == 25 and moved.json()["amount"] == "8000.50"
    )
    opps = client.get("/api/v1/opportunities?status=open", headers=headers).json()
    assert [o["id"] for o in opps["items"]] == [opp_id]
    assert client.get("/api/v1/opportunities", headers=factory.headers(org.rep2)).json()["items"] == []
    acts = client.get(
        f"/api/v1/activities?customer_id={converted.json()['customer_id']}", headers=headers
    ).json()
    assert [a["subject"] for a in acts["items"]] == ["官网咨询"]
    bad = client.post("/api/v1/activities", json={"kind": "visit", "subject": "x"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "due_at"
    assert client.get("/api/v1/leads?status=nonsense", headers=headers).status_code == 422
