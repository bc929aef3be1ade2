"""A departing rep: frozen at once, their book handed over in bulk with history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from crm.activities import Activity, ActivityCreate, create_activity
from crm.audit import AuditLog
from crm.customers import Customer
from crm.devices import Device
from crm.errors import DomainError, NotFound
from crm.opportunities import OpportunityCreate, create_opportunity
from crm.ownership import OwnershipChange
from crm.people import ReassignIn, freeze_user, holdings, reassign
from crm.pipeline import Opportunity
from tests.crm.conftest import NOW, Org, make_customer
from tests.factories import Factory


def _book(session: Session, org: Org) -> list[Customer]:
    customers = [make_customer(session, org.rep1, f"客户{i}") for i in range(4)]
    for customer in customers:
        create_opportunity(
            session, actor=org.rep1, data=OpportunityCreate(customer_id=customer.id, name="商机"), now=NOW
        )
        create_activity(
            session,
            actor=org.rep1,
            data=ActivityCreate(
                kind="visit", subject="拜访", customer_id=customer.id, due_at=NOW + timedelta(days=2)
            ),  # type: ignore[arg-type]
            now=NOW,
        )
    session.add(Device(serial="PHONE1", division_id=org.a.id, rep_user_id=org.rep1.id))
    session.commit()
    return customers


def test_freeze_then_split_the_book_between_two_colleagues(
    client,
    factory: Factory,
    session: Session,
    org: Org,  # type: ignore[no-untyped-def]
) -> None:
    customers = _book(session, org)
    rep3 = factory.user(org.rep1.role, org.a)
    token = factory.token(org.rep1)
    assert client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    freeze_user(session, actor=org.head, user_id=org.rep1.id, now=NOW)
    assert client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert holdings(session, actor=org.head, user_id=org.rep1.id).model_dump() == {
        "customers": 4,
        "opportunities": 4,
        "tasks": 4,
        "leads": 0,
        "devices": 1,
    }
    result = reassign(
        session,
        actor=org.head,
        user_id=org.rep1.id,
        data=ReassignIn(to_user_ids=[org.rep2.id, rep3.id]),
        now=NOW,
    )
    assert result.counts == {"customers": 4, "opportunities": 4, "tasks": 4, "leads": 0, "devices": 1}
    owners = {c.id: session.get(Customer, c.id).owner_id for c in customers}
    assert sorted(owners.values()) == sorted([org.rep2.id, org.rep2.id, rep3.id, rep3.id])
    for opp in session.exec(select(Opportunity)):
        assert opp.owner_id == owners[opp.customer_id]  # deals follow their customer
    for task in session.exec(select(Activity)):
        assert task.owner_id == owners[task.customer_id]
    assert session.exec(select(Device)).one().rep_user_id == org.rep2.id
    history = session.exec(select(OwnershipChange).where(OwnershipChange.reason == "departure")).all()
    assert len(history) == 4 and {h.from_user_id for h in history} == {org.rep1.id}
    actions = set(session.exec(select(AuditLog.action)).all())
    assert {"user.permission_change", "user.reassign"} <= actions
    assert holdings(session, actor=org.head, user_id=org.rep1.id).customers == 0


def test_hand_over_to_the_pool_and_refusals(session: Session, org: Org) -> None:
    _book(session, org)
    with pytest.raises(NotFound):
        reassign(session, actor=org.rep2, user_id=org.rep1.id, data=ReassignIn(to_pool=True), now=NOW)
    with pytest.raises(NotFound):
        freeze_user(session, actor=org.head_b, user_id=org.rep1.id, now=NOW)
    with pytest.raises(DomainError):
        reassign(
            session, actor=org.head, user_id=org.rep1.id, data=ReassignIn(to_user_ids=[org.rep_b.id]), now=NOW
        )
    with pytest.raises(DomainError):
        reassign(session, actor=org.head, user_id=org.rep1.id, data=ReassignIn(), now=NOW)
    reassign(
        session,
        actor=org.head,
        user_id=org.rep1.id,
        data=ReassignIn(to_pool=True, what=["customers"]),
        now=NOW,
    )  # type: ignore[list-item]
    assert {c.owner_id for c in session.exec(select(Customer))} == {None}
    assert {o.owner_id for o in session.exec(select(Opportunity))} == {org.rep1.id}  # not asked for
