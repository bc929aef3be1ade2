"""Service tickets: SLA by grade and kind, escalation on breach, dispatch, surveys through the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from crm.activities import Activity
from crm.notifications import Notification
from crm.senders import Senders
from crm.surveys import send_survey
from crm.tickets import (
    SlaIn,
    StrategyIn,
    TicketAssign,
    TicketCreate,
    TicketResolve,
    assign_ticket,
    close_ticket,
    create_ticket,
    escalate_tickets,
    plan_strategy_visits,
    resolve_ticket,
    set_sla,
    set_strategy,
    start_ticket,
)
from crm.timeline import TimelineEvent, add_timeline_event
from tests.crm.conftest import NOW, Org, make_customer


def test_sla_targets_by_grade_and_kind(session: Session, org: Org) -> None:
    a_customer = make_customer(session, org.rep1, "大客户", grade="A")
    c_customer = make_customer(session, org.rep1, "小客户", grade="C")
    set_sla(session, actor=org.admin, division_id=org.a.id, data=SlaIn(response_hours=8, resolve_hours=48))
    set_sla(
        session,
        actor=org.admin,
        division_id=org.a.id,
        data=SlaIn(grade="A", response_hours=1, resolve_hours=24),
    )
    set_sla(
        session,
        actor=org.admin,
        division_id=org.a.id,
        data=SlaIn(grade="A", kind="complaint", response_hours=0.5, resolve_hours=12),
    )
    cases = [
        (a_customer, "complaint", 0.5, 12),
        (a_customer, "repair", 1, 24),
        (c_customer, "complaint", 8, 48),
    ]
    for customer, kind, respond, resolve in cases:
        ticket = create_ticket(
            session,
            actor=org.rep1,
            data=TicketCreate(customer_id=customer.id, kind=kind, subject="x"),
            now=NOW,
        )  # type: ignore[arg-type]
        assert (ticket.respond_by - NOW, ticket.resolve_by - NOW) == (
            timedelta(hours=respond),
            timedelta(hours=resolve),
        )
        assert ticket.assignee_id == org.rep1.id


def test_escalation_on_breach_with_a_fixed_clock(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "客户", grade="B")
    set_strategy(
        session,
        actor=org.head,
        division_id=org.a.id,
        data=StrategyIn(grade="B", notify=["owner", "division_admin"]),
    )
    ticket = create_ticket(
        session,
        actor=org.head,
        data=TicketCreate(customer_id=customer.id, kind="complaint", subject="设备漏油"),
        now=NOW,
    )
    new = session.exec(select(Notification.user_id).where(Notification.kind == "ticket.new")).all()
    assert sorted(new) == sorted([org.rep1.id, org.admin.id])  # the owner (assignee) and the strategy's admin
    assert escalate_tickets(session, NOW + timedelta(hours=3)) == 0
    assert escalate_tickets(session, NOW + timedelta(hours=4, minutes=1)) == 1  # no response within 4 h
    assert ticket.escalation_level == 1
    assert escalate_tickets(session, NOW + timedelta(hours=5)) == 0  # each level once
    start_ticket(session, actor=org.rep1, ticket_id=ticket.id, now=NOW + timedelta(hours=5))
    assert escalate_tickets(session, NOW + timedelta(hours=24, minutes=1)) == 1  # not resolved within 24 h
    assert ticket.escalation_level == 2
    escalated = session.exec(
        select(Notification.user_id).where(Notification.kind == "ticket.escalated")
    ).all()
    assert sorted(set(escalated)) == sorted({org.rep1.id, org.admin.id, org.head.id})
    kinds = session.exec(select(TimelineEvent.kind).where(TimelineEvent.customer_id == customer.id)).all()
    assert kinds.count("ticket_escalated") == 2


def test_dispatch_close_and_survey_through_the_outbox(
    client, session: Session, org: Org, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    customer = make_customer(session, org.rep1, "客户", phone="13800000001")
    ticket = create_ticket(
        session,
        actor=org.head,
        data=TicketCreate(customer_id=customer.id, kind="repair", subject="空调不制冷"),
        now=NOW,
    )
    visit_at = NOW + timedelta(hours=3)
    assign_ticket(
        session,
        actor=org.head,
        ticket_id=ticket.id,
        data=TicketAssign(assignee_id=org.rep2.id, dispatch_at=visit_at),
        now=NOW,
    )
    visit = session.exec(select(Activity)).one()
    assert (visit.owner_id, visit.kind, visit.due_at, visit.ticket_id) == (
        org.rep2.id,
        "visit",
        visit_at,
        ticket.id,
    )
    resolve_ticket(
        session,
        actor=org.rep2,
        ticket_id=ticket.id,
        data=TicketResolve(resolution="更换压缩机"),
        now=NOW + timedelta(hours=5),
    )
    close_ticket(session, actor=org.head, ticket_id=ticket.id, now=NOW + timedelta(hours=6))
    survey = send_survey(
        session, ticket=ticket, senders=Senders.outbox(tmp_path), base_url="https://crm.example.cn", now=NOW
    )
    assert (survey.channel, survey.sent_to, survey.send_status) == ("sms", "+8613800000001", "outbox")
    (line,) = (tmp_path / "sms-outbox.jsonl").read_text(encoding="utf-8").splitlines()
    message = json.loads(line)
    assert message["to"] == "+8613800000001" and f"https://crm.example.cn/s/{survey.token}" in message["body"]

    assert client.get(f"/api/v1/surveys/{survey.token}").json() == {
        "ticket_subject": "空调不制冷",
        "customer_name": "客户",
        "answered": False,
    }
    assert client.post(f"/api/v1/surveys/{survey.token}", json={"score": 6}).status_code == 422
    assert (
        client.post(f"/api/v1/surveys/{survey.token}", json={"score": 4, "comment": "师傅很专业"}).status_code
        == 204
    )
    assert client.post(f"/api/v1/surveys/{survey.token}", json={"score": 5}).status_code == 409
    assert client.get("/api/v1/surveys/not-a-token").status_code == 404
    event = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "survey_result")).one()
    assert (event.customer_id, event.summary) == (customer.id, "满意度 4/5: 师傅很专业")


def test_ticket_api_close_sends_survey(client, factory, session: Session, org: Org, settings) -> None:  # type: ignore[no-untyped-def]
    customer = make_customer(session, org.rep1, "客户", email="boss@kehu.cn")
    headers = factory.headers(org.rep1)
    created = client.post(
        "/api/v1/tickets",
        json={"customer_id": customer.id, "kind": "after_sales", "subject": "安装"},
        headers=headers,
    )
    assert created.status_code == 201
    ticket_id = created.json()["id"]
    assert client.post(f"/api/v1/tickets/{ticket_id}/close", headers=headers).status_code == 409
    client.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "已安装"}, headers=headers)
    closed = client.post(f"/api/v1/tickets/{ticket_id}/close", headers=headers)
    assert closed.status_code == 200 and closed.json()["survey_status"] == "outbox"
    outbox = settings.data_dir / "outbox" / "email-outbox.jsonl"
    assert json.loads(outbox.read_text(encoding="utf-8"))["to"] == "boss@kehu.cn"
    listed = client.get("/api/v1/tickets?status=closed", headers=factory.headers(org.head)).json()["items"]
    assert [t["id"] for t in listed] == [ticket_id]
    assert client.get("/api/v1/tickets", headers=factory.headers(org.head_b)).json()["items"] == []


def test_strategy_plans_routine_visits(session: Session, org: Org) -> None:
    set_strategy(
        session, actor=org.head, division_id=org.a.id, data=StrategyIn(grade="A", visit_every_days=14)
    )
    stale = make_customer(session, org.rep1, "久未拜访", grade="A")
    fresh = make_customer(session, org.rep1, "刚拜访", grade="A")
    make_customer(session, org.rep1, "C级", grade="C")
    make_customer(session, org.head, "公海A级", grade="A", to_pool=True)
    for customer, days_ago in ((stale, 20), (fresh, 3)):
        add_timeline_event(
            session,
            customer_id=customer.id,
            division_id=org.a.id,
            occurred_at=NOW - timedelta(days=days_ago),
            kind="checkin",
            source_table="checkin",
            source_id=customer.id,
            actor_user_id=org.rep1.id,
        )
    session.commit()
    assert plan_strategy_visits(session, NOW) == 1
    assert plan_strategy_visits(session, NOW + timedelta(hours=1)) == 0  # an open visit is planned already
    visit = session.exec(select(Activity)).one()
    assert (visit.customer_id, visit.owner_id, visit.kind, visit.due_at) == (
        stale.id,
        org.rep1.id,
        "visit",
        datetime(2026, 3, 3, 2, 0, tzinfo=UTC),  # 10:00 Shanghai tomorrow
    )
