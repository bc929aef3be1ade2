"""Public pool: rules over a simulated month with a fixed clock, caps, cool-down, and claim races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from crm.customers import Customer
from crm.errors import DomainError, Forbidden
from crm.notifications import Notification
from crm.org import User
from crm.ownership import OwnershipChange
from crm.pool import CustomerPool, default_pool
from crm.pool_jobs import reclaim_pool, warn_pool_reclaim
from crm.pool_service import AlreadyClaimed, PoolRuleRefused, PoolRules, assign, claim, release, update_pool
from crm.timeline import TimelineEvent, add_timeline_event
from tests.crm.conftest import NOW, Org, make_customer


def _rules(session: Session, org: Org, **rules: object) -> CustomerPool:
    pool = default_pool(session, org.a.id)
    session.commit()
    update_pool(session, actor=org.head, pool_id=pool.id, rules=PoolRules(**rules), now=NOW)  # type: ignore[arg-type]
    return pool


def _pool_customers(session: Session, org: Org, n: int, prefix: str = "公海") -> list[Customer]:
    return [make_customer(session, org.head, f"{prefix}{i}", to_pool=True) for i in range(n)]


def test_rules_over_a_simulated_month(session: Session, org: Org) -> None:
    _rules(
        session,
        org,
        reclaim_no_followup_days=10,
        reclaim_no_deal_days=25,
        warn_days_before=3,
        daily_claim_cap=None,
        holding_capacity=None,
        cooldown_days=5,
    )
    idle, called, dealt = _pool_customers(session, org, 3)
    for customer in (idle, called, dealt):
        claim(session, actor=org.rep1, customer_id=customer.id, now=NOW)

    log: dict[int, list[str]] = {}
    for day in range(1, 31):
        now = NOW + timedelta(days=day)
        for customer, days in ((called, (6, 12, 18, 24)), (dealt, (6, 12, 18))):
            if day in days:  # captured calls keep these followed up
                add_timeline_event(
                    session,
                    customer_id=customer.id,
                    division_id=org.a.id,
                    occurred_at=now,
                    kind="call",
                    source_table="captured_call",
                    source_id=day,
                )
                session.commit()
        if day == 20:
            session.get(Customer, dealt.id).last_deal_at = now  # a won deal
            session.get(Customer, dealt.id).last_activity_at = now
            session.commit()
        warned, reclaimed = warn_pool_reclaim(session, now), reclaim_pool(session, now)
        events = [f"warned:{warned}"] * bool(warned) + [f"reclaimed:{reclaimed}"] * bool(reclaimed)
        if events:
            log[day] = events

    history = session.exec(select(OwnershipChange).order_by(OwnershipChange.id)).all()
    reclaims = [
        (h.customer_id, h.reason, (h.occurred_at - NOW).days)
        for h in history
        if h.reason.startswith("reclaimed")
    ]
    # idle: no follow-up for 10 days; called: followed up, but no deal within 25 days;
    # dealt: deal on day 20, then nothing for 10 days
    assert reclaims == [
        (idle.id, "reclaimed_no_followup", 10),
        (called.id, "reclaimed_no_deal", 25),
        (dealt.id, "reclaimed_no_followup", 30),
    ]
    assert log == {
        7: ["warned:1"],
        10: ["reclaimed:1"],
        22: ["warned:1"],
        25: ["reclaimed:1"],
        27: ["warned:1"],
        30: ["reclaimed:1"],
    }
    notes = session.exec(
        select(Notification).where(Notification.user_id == org.rep1.id).order_by(Notification.id)
    ).all()
    assert [n.kind for n in notes][:2] == ["pool.reclaim_warning", "pool.reclaimed"]
    assert idle.name in notes[0].body
    assert session.get(Customer, idle.id).owner_id is None
    kinds = session.exec(select(TimelineEvent.kind).where(TimelineEvent.customer_id == idle.id)).all()
    assert kinds.count("ownership") == 2  # claimed, reclaimed


def test_daily_cap_holding_capacity_and_cooldown(session: Session, org: Org) -> None:
    _rules(session, org, daily_claim_cap=2, holding_capacity=3, cooldown_days=7)
    customers = _pool_customers(session, org, 6)
    claim(session, actor=org.rep1, customer_id=customers[0].id, now=NOW)
    claim(session, actor=org.rep1, customer_id=customers[1].id, now=NOW)
    with pytest.raises(PoolRuleRefused, match="daily claim limit"):
        claim(session, actor=org.rep1, customer_id=customers[2].id, now=NOW + timedelta(hours=1))
    # the next local day (Shanghai) the cap is fresh, but holding capacity (3) stops the 4th
    tomorrow = NOW + timedelta(days=1)
    claim(session, actor=org.rep1, customer_id=customers[2].id, now=tomorrow)
    with pytest.raises(PoolRuleRefused, match="maximum of 3"):
        claim(session, actor=org.rep1, customer_id=customers[3].id, now=tomorrow)
    assert session.get(Customer, customers[3].id).owner_id is None
    release(session, actor=org.rep1, customer_ids=[customers[0].id], note="客户无意向", now=tomorrow)
    with pytest.raises(PoolRuleRefused, match="after"):
        claim(session, actor=org.rep1, customer_id=customers[0].id, now=tomorrow + timedelta(days=6))
    claim(session, actor=org.rep2, customer_id=customers[0].id, now=tomorrow + timedelta(days=1))
    with pytest.raises(AlreadyClaimed):
        claim(session, actor=org.rep1, customer_id=customers[0].id, now=tomorrow + timedelta(days=8))
    with pytest.raises(AlreadyClaimed):
        claim(session, actor=org.rep2, customer_id=customers[0].id, now=tomorrow + timedelta(days=8))


def test_pool_scoped_by_role_and_release_needs_a_reason(session: Session, org: Org) -> None:
    _rules(session, org, claim_roles=["division_head"])
    (customer,) = _pool_customers(session, org, 1)
    with pytest.raises(Forbidden):
        claim(session, actor=org.rep1, customer_id=customer.id, now=NOW)
    claim(session, actor=org.head, customer_id=customer.id, now=NOW)
    with pytest.raises(DomainError):
        release(session, actor=org.head, customer_ids=[customer.id], note=" ", now=NOW)


def test_managers_assign_with_history(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "甲")
    with pytest.raises(Forbidden):
        assign(session, actor=org.rep1, customer_ids=[customer.id], to_user_id=org.rep2.id, now=NOW)
    with pytest.raises(DomainError):
        assign(session, actor=org.head, customer_ids=[customer.id], to_user_id=org.rep_b.id, now=NOW)
    assign(
        session, actor=org.head, customer_ids=[customer.id], to_user_id=org.rep2.id, note="调整片区", now=NOW
    )
    last = session.exec(select(OwnershipChange).order_by(OwnershipChange.id.desc())).first()
    assert (last.from_user_id, last.to_user_id, last.reason, last.note) == (
        org.rep1.id,
        org.rep2.id,
        "assigned",
        "调整片区",
    )


def _race(db: Engine, rep_ids: list[int], customer_id: int) -> dict[int, str]:
    """Each rep claims in its own thread and connection, released at the same instant."""
    barrier = threading.Barrier(len(rep_ids))
    results: dict[int, str] = {}

    def attempt(rep_id: int) -> None:
        with Session(db, expire_on_commit=False) as own:
            rep = own.get(User, rep_id)
            barrier.wait()
            try:
                claim(own, actor=rep, customer_id=customer_id, now=NOW)
                results[rep_id] = "won"
            except AlreadyClaimed as exc:
                results[rep_id] = exc.detail

    threads = [threading.Thread(target=attempt, args=(rep_id,)) for rep_id in rep_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_reps_claiming_at_once_one_wins(db: Engine, session: Session, org: Org) -> None:
    _rules(session, org, daily_claim_cap=None, holding_capacity=None)
    for customer in _pool_customers(session, org, 5):
        results = _race(db, [org.rep1.id, org.rep2.id], customer.id)
        outcomes = sorted(results.values())
        assert outcomes[1] == "won" and outcomes[0] in (
            "another rep claimed this customer a moment ago",
            "another rep owns this customer",
        )
        winner = next(rep for rep, outcome in results.items() if outcome == "won")
        session.expire_all()
        assert session.get(Customer, customer.id).owner_id == winner
        claims = session.exec(
            select(OwnershipChange).where(
                OwnershipChange.customer_id == customer.id, OwnershipChange.reason == "claimed"
            )
        ).all()
        assert len(claims) == 1


def test_claim_over_http(client, factory, session: Session, org: Org) -> None:  # type: ignore[no-untyped-def]
    (customer,) = _pool_customers(session, org, 1)
    first = client.post(f"/api/v1/customers/{customer.id}/claim", headers=factory.headers(org.rep1))
    assert first.status_code == 200 and first.json()["owner_id"] == org.rep1.id
    second = client.post(f"/api/v1/customers/{customer.id}/claim", headers=factory.headers(org.rep2))
    assert second.status_code == 409 and second.json()["detail"] == "another rep owns this customer"
    released = client.post(
        "/api/v1/customers/release",
        json={"customer_ids": [customer.id], "note": "无效客户"},
        headers=factory.headers(org.rep1),
    )
    assert released.json() == {"count": 1}
    pools = client.get("/api/v1/pools", headers=factory.headers(org.head)).json()
    assert pools[0]["is_default"] and pools[0]["reclaim_no_followup_days"] == 30
    bad = client.patch(
        f"/api/v1/pools/{pools[0]['id']}", json={"daily_claim_cap": -1}, headers=factory.headers(org.head)
    )
    assert bad.status_code == 422
