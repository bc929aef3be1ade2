"""Division isolation: for every role, nothing of division B is visible to a user of division A."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm.access import get_visible, scope, sees_full_numbers
from crm.audit import AuditLog, record_audit
from crm.customers import Contact, ContactPhone, Customer
from crm.devices import Device
from crm.org import Division, Role, User
from crm.timeline import TimelineEvent, add_timeline_event
from crm.types import utcnow
from tests.factories import Factory


@pytest.fixture
def world(factory: Factory, session: Session) -> dict:
    """Two divisions, each with a head, an admin, two reps, owned and pool customers and their data."""
    world: dict = {"divisions": {}, "users": {}, "customers": {}}
    for code in ("A", "B"):
        division = factory.division(f"Division {code}")
        head = factory.user(Role.division_head, division)
        admin = factory.user(Role.division_admin, division)
        rep1 = factory.user(Role.rep, division)
        rep2 = factory.user(Role.rep, division)
        owned1 = factory.customer(division, rep1)
        owned2 = factory.customer(division, rep2)
        pool = factory.customer(division, None)
        for customer in (owned1, owned2, pool):
            contact = Contact(customer_id=customer.id, division_id=division.id, name="联系人")
            session.add(contact)
            session.flush()
            session.add(
                ContactPhone(
                    e164="+8613800138000",
                    customer_id=customer.id,
                    contact_id=contact.id,
                    division_id=division.id,
                )
            )
            add_timeline_event(
                session,
                customer_id=customer.id,
                division_id=division.id,
                occurred_at=utcnow(),
                kind="note",
                source_table="note",
                source_id=1,
            )
        session.add(Device(serial=f"SER{code}", division_id=division.id, rep_user_id=rep1.id))
        record_audit(session, action="test", actor_user_id=head.id, division_id=division.id)
        session.commit()
        world["divisions"][code] = division
        world["users"][code] = {"head": head, "admin": admin, "rep1": rep1, "rep2": rep2}
        world["customers"][code] = {"owned1": owned1, "owned2": owned2, "pool": pool}
    world["executive"] = factory.user(Role.executive)
    world["sysadmin"] = factory.user(Role.sysadmin)
    return world


BUSINESS_MODELS = [Customer, Contact, ContactPhone, TimelineEvent]
ALL_DIVISION_MODELS = [*BUSINESS_MODELS, Device, User, AuditLog, Division]


def _divisions_seen(session: Session, actor: User, model: type) -> set[int]:
    column = getattr(model, getattr(model, "__division_column__", "division_id"))
    return {d for d in session.exec(scope(select(column), actor, model)) if d is not None}


def test_everyone_in_a_division_sees_its_row(session: Session, world: dict) -> None:
    for who in ("head", "admin", "rep1"):
        actor = world["users"]["A"][who]
        assert _divisions_seen(session, actor, Division) == {world["divisions"]["A"].id}


@pytest.mark.parametrize("who", ["head", "admin", "rep1"])
@pytest.mark.parametrize("model", ALL_DIVISION_MODELS, ids=lambda m: m.__name__)
def test_division_users_never_see_another_division(
    session: Session, world: dict, who: str, model: type
) -> None:
    actor = world["users"]["A"][who]
    seen = _divisions_seen(session, actor, model)
    assert world["divisions"]["B"].id not in seen


@pytest.mark.parametrize("model", BUSINESS_MODELS, ids=lambda m: m.__name__)
def test_executive_sees_business_data_of_all_divisions(session: Session, world: dict, model: type) -> None:
    seen = _divisions_seen(session, world["executive"], model)
    assert seen == {world["divisions"]["A"].id, world["divisions"]["B"].id}


@pytest.mark.parametrize("model", BUSINESS_MODELS, ids=lambda m: m.__name__)
def test_sysadmin_sees_no_sales_data(session: Session, world: dict, model: type) -> None:
    assert session.exec(scope(select(model), world["sysadmin"], model)).all() == []


def test_sysadmin_and_executive_see_all_users_and_devices(session: Session, world: dict) -> None:
    for actor in (world["sysadmin"], world["executive"]):
        assert len(session.exec(scope(select(Device), actor, Device)).all()) == 2
        assert len(session.exec(scope(select(User), actor, User)).all()) == 10


def test_rep_sees_own_and_pool_customers_only(session: Session, world: dict) -> None:
    rep1 = world["users"]["A"]["rep1"]
    names = {c.id for c in session.exec(scope(select(Customer), rep1, Customer))}
    a = world["customers"]["A"]
    assert names == {a["owned1"].id, a["pool"].id}


@pytest.mark.parametrize("model", [Contact, ContactPhone, TimelineEvent], ids=lambda m: m.__name__)
def test_rep_sees_customer_children_only_of_own_and_pool_customers(
    session: Session, world: dict, model: type
):
    rep1 = world["users"]["A"]["rep1"]
    seen = {row.customer_id for row in session.exec(scope(select(model), rep1, model))}
    a = world["customers"]["A"]
    assert seen == {a["owned1"].id, a["pool"].id}


def test_rep_sees_only_own_user_and_device(session: Session, world: dict) -> None:
    rep1, rep2 = world["users"]["A"]["rep1"], world["users"]["A"]["rep2"]
    assert [u.id for u in session.exec(scope(select(User), rep1, User))] == [rep1.id]
    assert len(session.exec(scope(select(Device), rep1, Device)).all()) == 1
    assert session.exec(scope(select(Device), rep2, Device)).all() == []


def test_get_visible_hides_other_division_rows(session: Session, world: dict) -> None:
    head_a = world["users"]["A"]["head"]
    other = world["customers"]["B"]["owned1"]
    mine = world["customers"]["A"]["owned2"]
    assert get_visible(session, head_a, Customer, other.id) is None
    assert get_visible(session, head_a, Customer, mine.id) is not None
    assert get_visible(session, world["users"]["A"]["rep1"], Customer, mine.id) is None


def test_frozen_or_inactive_users_see_nothing(session: Session, world: dict) -> None:
    head = world["users"]["A"]["head"]
    head.frozen_at = utcnow()
    assert session.exec(scope(select(Customer), head, Customer)).all() == []
    executive = world["executive"]
    executive.is_active = False
    assert session.exec(scope(select(Customer), executive, Customer)).all() == []


def test_reps_see_numbers_masked_unless_owner(world: dict) -> None:
    rep1 = world["users"]["A"]["rep1"]
    assert sees_full_numbers(rep1, rep1.id)
    assert not sees_full_numbers(rep1, world["users"]["A"]["rep2"].id)
    assert not sees_full_numbers(rep1, None)
    assert sees_full_numbers(world["users"]["A"]["head"], None)


def test_api_lists_are_scoped(client, factory: Factory, world: dict) -> None:
    head_a = world["users"]["A"]["head"]
    headers = factory.headers(head_a)
    users = client.get("/api/v1/users", headers=headers).json()
    assert {u["division_id"] for u in users} == {world["divisions"]["A"].id}
    devices = client.get("/api/v1/devices", headers=headers).json()
    assert [d["serial"] for d in devices] == ["SERA"]
    audit = client.get("/api/v1/audit", headers=headers).json()
    assert audit and {a["division_id"] for a in audit} == {world["divisions"]["A"].id}
    divisions = client.get("/api/v1/divisions", headers=headers).json()
    assert [d["code"] for d in divisions] == [world["divisions"]["A"].code]
    rep_headers = factory.headers(world["users"]["A"]["rep1"])
    assert client.get("/api/v1/audit", headers=rep_headers).status_code == 403
