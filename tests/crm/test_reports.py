"""Targets and progress, leaderboards from captured activity, daily reports drafted from the day, summary reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from crm.access import scope
from crm.activities import ActivityCreate, create_activity
from crm.audit import AuditLog
from crm.communications import CapturedCall, CapturedSms
from crm.daily_reports import (
    DailyReport,
    ReportEdit,
    draft_daily_reports,
    draft_report,
    edit_report,
    submit_report,
)
from crm.devices import Device
from crm.errors import Conflict
from crm.opportunities import (
    OpportunityCreate,
    OpportunityFilter,
    StageMove,
    create_opportunity,
    list_opportunities,
    move_stage,
    pipeline_stages,
)
from crm.reports import funnel, win_rate
from crm.sales_docs import PaymentIn, record_payment
from crm.targets import TargetIn, leaderboard, set_target, target_progress
from crm.timeline import add_timeline_event
from tests.crm.conftest import NOW, Org, make_customer

DAY = date(2026, 3, 2)
START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 2026-03-02 00:00 Shanghai
END = START + timedelta(days=1)


def _captured_day(session: Session, org: Org) -> dict[str, int]:
    """rep1: 3 calls (2 customers), 2 SMS, a visit; rep2: 1 call."""
    c1 = make_customer(session, org.rep1, "甲公司", phone="13800000001")
    c2 = make_customer(session, org.rep1, "乙公司", phone="13800000002")
    devices = {}
    for rep in (org.rep1, org.rep2):
        device = Device(serial=f"S{rep.id}", division_id=org.a.id, rep_user_id=rep.id)
        session.add(device)
        session.flush()
        devices[rep.id] = device.id
    calls = [
        (org.rep1, c1, 120, True),
        (org.rep1, c1, 60, True),
        (org.rep1, c2, 0, False),
        (org.rep2, None, 30, True),
    ]
    for i, (rep, customer, seconds, answered) in enumerate(calls):
        session.add(
            CapturedCall(
                device_id=devices[rep.id],
                division_id=org.a.id,
                rep_user_id=rep.id,
                source_key=f"c{i}",
                source_id=i,
                number_e164="+8613800000009",
                number_kind="mobile",
                occurred_at=NOW + timedelta(minutes=i),
                direction="outgoing",
                type="outgoing",
                type_code=2,
                duration_s=seconds,
                answered=answered,
                customer_id=customer.id if customer else None,
            )
        )
    for i in range(2):
        session.add(
            CapturedSms(
                device_id=devices[org.rep1.id],
                division_id=org.a.id,
                rep_user_id=org.rep1.id,
                source_key=f"s{i}",
                source_id=i,
                number_e164="+8613800000002",
                number_kind="mobile",
                occurred_at=NOW + timedelta(hours=1),
                direction="outbound",
                type="sent",
                type_code=2,
                body="报价单已发",
                customer_id=c2.id,
            )
        )
    for kind in ("checkin", "visit"):  # a check-in and the logged visit at one customer: one visit
        add_timeline_event(
            session,
            customer_id=c1.id,
            division_id=org.a.id,
            occurred_at=NOW + timedelta(hours=2),
            kind=kind,
            source_table=kind,
            source_id=1,
            actor_user_id=org.rep1.id,
        )
    session.commit()
    return {"c1": c1.id, "c2": c2.id}


def test_leaderboard_from_captured_activity_and_deals(session: Session, org: Org) -> None:
    ids = _captured_day(session, org)
    opp = create_opportunity(
        session,
        actor=org.rep1,
        data=OpportunityCreate(customer_id=ids["c1"], name="一期", amount=Decimal("90000")),
        now=NOW,
    )
    stages = pipeline_stages(session, actor=org.rep1)
    move_stage(session, actor=org.rep1, opportunity_id=opp.id, move=StageMove(stage_id=stages[4].id), now=NOW)
    rows = leaderboard(session, actor=org.head, start=START, end=END, sort="calls")
    by_user = {r.user_id: r for r in rows}
    assert [r.user_id for r in rows][:2] == [org.rep1.id, org.rep2.id] and rows[0].rank == 1
    rep1 = by_user[org.rep1.id]
    assert (rep1.calls, rep1.talk_time_s, rep1.sms, rep1.visits, rep1.deals_won, rep1.won_amount) == (
        3,
        180,
        2,
        1,
        1,
        Decimal("90000.00"),
    )
    assert by_user[org.rep2.id].calls == 1
    assert leaderboard(session, actor=org.head_b, start=START, end=END) == []


def test_reps_see_their_divisions_ranking_but_not_the_records(session: Session, org: Org) -> None:
    ids = _captured_day(session, org)
    create_opportunity(
        session,
        actor=org.rep1,
        data=OpportunityCreate(customer_id=ids["c1"], name="一期", amount=Decimal("90000")),
        now=NOW,
    )
    managers = leaderboard(session, actor=org.head, start=START, end=END, sort="calls")
    mine = leaderboard(session, actor=org.rep2, start=START, end=END, sort="calls")
    assert [(r.rank, r.user_id, r.name, r.calls, r.sms, r.visits) for r in mine] == [
        (1, org.rep1.id, org.rep1.display_name, 3, 2, 1),
        (2, org.rep2.id, org.rep2.display_name, 1, 0, 0),
    ]
    assert mine == managers
    assert leaderboard(session, actor=org.rep_b, start=START, end=END) == []  # another division's board
    # the ranking shows totals only: rep2 still sees none of rep1's calls or opportunities
    assert list(session.exec(scope(select(CapturedCall), org.rep2, CapturedCall))) == [
        c for c in session.exec(select(CapturedCall)) if c.rep_user_id == org.rep2.id
    ]
    assert list_opportunities(session, actor=org.rep2, filters=OpportunityFilter()).items == []


def test_targets_and_progress(session: Session, org: Org) -> None:
    ids = _captured_day(session, org)
    set_target(
        session,
        actor=org.head,
        data=TargetIn(
            division_id=org.a.id, user_id=org.rep1.id, month=DAY, metric="calls", value=Decimal(60)
        ),
        now=NOW,
    )  # type: ignore[arg-type]
    set_target(
        session,
        actor=org.head,
        data=TargetIn(division_id=org.a.id, month=DAY, metric="revenue", value=Decimal(100000)),
        now=NOW,
    )  # type: ignore[arg-type]
    record_payment(
        session,
        actor=org.rep1,
        data=PaymentIn(customer_id=ids["c1"], amount=Decimal("25000"), received_on=DAY),
        now=NOW,
    )
    rows = {(r.user_id, r.metric): r for r in target_progress(session, actor=org.head, month=DAY)}
    assert (rows[(org.rep1.id, "calls")].actual, rows[(org.rep1.id, "calls")].ratio) == (Decimal(3), 0.05)
    assert (rows[(None, "revenue")].actual, rows[(None, "revenue")].ratio) == (Decimal("25000.00"), 0.25)
    as_rep2 = target_progress(session, actor=org.rep2, month=DAY)
    assert [(r.user_id, r.actual) for r in as_rep2] == [
        (None, Decimal("25000.00"))
    ]  # the division's, in full


def test_setting_a_target_is_audited_with_old_and_new_value(session: Session, org: Org) -> None:
    def set_calls(value: int) -> None:
        set_target(
            session,
            actor=org.head,
            data=TargetIn(
                division_id=org.a.id, user_id=org.rep1.id, month=DAY, metric="calls", value=Decimal(value)
            ),
            now=NOW,
        )  # type: ignore[arg-type]

    set_calls(60)
    set_calls(80)
    rows = session.exec(
        select(AuditLog).where(AuditLog.action == "config.target.set").order_by(AuditLog.id)
    ).all()
    assert [(r.actor_user_id, r.division_id, r.detail["from"], r.detail["to"]) for r in rows] == [
        (org.head.id, org.a.id, None, "60.00"),
        (org.head.id, org.a.id, "60.00", "80.00"),
    ]
    assert rows[0].detail["month"] == "2026-03-01" and rows[0].target_id == rows[1].target_id


def test_daily_report_drafted_edited_submitted(session: Session, org: Org) -> None:
    _captured_day(session, org)
    create_activity(
        session,
        actor=org.rep1,
        data=ActivityCreate(kind="visit", subject="明天拜访丙公司", due_at=NOW + timedelta(days=1)),  # type: ignore[arg-type]
        now=NOW,
    )
    assert draft_daily_reports(session, NOW) == 0  # 10:00 Shanghai: too early
    evening = NOW + timedelta(hours=9)  # 19:00
    assert draft_daily_reports(session, evening) == 3  # every active rep: rep1, rep2, rep_b
    assert draft_daily_reports(session, evening + timedelta(hours=1)) == 0  # once a day
    report = session.exec(select(DailyReport).where(DailyReport.user_id == org.rep1.id)).one()
    assert report.stats["calls"] == 3 and report.stats["talk_time_s"] == 180 and report.stats["visits"] == 1
    assert "通话 3 个(接通 2 个),通话时长 3 分钟;短信 2 条;拜访 1 家" in report.content
    assert "通话客户: 甲公司(2 次)、乙公司" in report.content and "明日计划: 明天拜访丙公司" in report.content
    edit_report(
        session,
        actor=org.rep1,
        report_id=report.id,
        data=ReportEdit(content="今天拜访了甲公司,客户有意向。"),
        now=evening,
    )
    draft_report(session, actor=org.rep1, user_id=org.rep1.id, day=DAY, now=evening)
    assert report.content == "今天拜访了甲公司,客户有意向。"  # edits survive a refresh
    submit_report(session, actor=org.rep1, report_id=report.id, now=evening)
    with pytest.raises(Conflict):
        edit_report(session, actor=org.rep1, report_id=report.id, data=ReportEdit(content="x"), now=evening)


def test_funnel_conversion_and_win_rate(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "客户")
    stages = pipeline_stages(session, actor=org.rep1)
    paths = {"won": [2, 3, 4], "lost_at_2": [1, 2, 5], "stuck": [1], "new": []}
    for name, path in paths.items():
        opp = create_opportunity(
            session,
            actor=org.rep1,
            data=OpportunityCreate(customer_id=customer.id, name=name, amount=Decimal(1000)),
            now=NOW,
        )
        for step in path:
            move_stage(
                session,
                actor=org.rep1,
                opportunity_id=opp.id,
                move=StageMove(stage_id=stages[step].id, lost_reason="预算"),
                now=NOW,
            )
    rows = funnel(session, actor=org.head, start=START, end=END)
    assert [r.reached for r in rows] == [4, 3, 2, 1, 1]
    assert [r.open_count for r in rows] == [1, 1, 0, 0, 0]
    assert rows[0].conversion_to_next == 0.75 and rows[1].weighted_amount == Decimal("250.00")
    rate = win_rate(session, actor=org.head, start=START, end=END)
    assert (rate.won, rate.lost, rate.win_rate) == (1, 1, 0.5)


def test_reports_over_http(client, factory, session: Session, org: Org) -> None:  # type: ignore[no-untyped-def]
    _captured_day(session, org)
    headers = factory.headers(org.rep1)
    draft = client.post("/api/v1/daily-reports/draft", json={"day": "2026-03-02"}, headers=headers)
    assert draft.status_code == 200 and draft.json()["stats"]["calls"] == 3
    rid = draft.json()["id"]
    assert client.post(f"/api/v1/daily-reports/{rid}/submit", headers=headers).json()["status"] == "submitted"
    seen = client.get("/api/v1/daily-reports?day=2026-03-02", headers=factory.headers(org.head)).json()
    assert [r["user_id"] for r in seen] == [org.rep1.id]
    assert (
        client.get("/api/v1/daily-reports?day=2026-03-02", headers=factory.headers(org.head_b)).json() == []
    )
    board = client.get(
        "/api/v1/leaderboard?start=2026-03-02&end=2026-03-02&sort=calls", headers=factory.headers(org.head)
    )
    assert board.status_code == 200 and board.json()[0]["calls"] == 3
    assert (
        client.get("/api/v1/leaderboard?start=2026-03-02&end=2026-03-02&sort=x", headers=headers).status_code
        == 400
    )
    summary = client.get(
        "/api/v1/reports/summary?start=2026-03-01&end=2026-03-31", headers=factory.headers(org.head)
    )
    assert summary.status_code == 200 and len(summary.json()["ageing"]) == 5
    target = client.put(
        "/api/v1/targets",
        json={
            "division_id": org.a.id,
            "user_id": org.rep1.id,
            "month": "2026-03-01",
            "metric": "calls",
            "value": "100",
        },
        headers=factory.headers(org.head),
    )
    assert target.status_code == 200 and target.json()["actual"] == "3.00"
    assert (
        client.put(
            "/api/v1/targets",
            json={"division_id": org.a.id, "month": "2026-03-01", "metric": "calls", "value": "1"},
            headers=headers,
        ).status_code
        == 403
    )
