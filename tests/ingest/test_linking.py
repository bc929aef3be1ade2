"""Linking captured records to customers: ambiguous numbers, late contacts, recycled numbers,
division isolation and the exclusion list."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from crm.communications import CapturedCall, CapturedSms, ExcludedCapture, LinkStatus, QuarantinedRecord
from crm.customers import Customer
from crm.linking import load_phone_book, relink_number
from crm.org import Role
from crm.timeline import TimelineEvent
from crm.types import utcnow
from tests.factories import Factory
from tests.ingest.conftest import World, add_phone, ago, call, sms

NUMBER = "+8613812345678"


def _send_calls(client: TestClient, world: World, records: list[dict]) -> list[dict]:
    response = client.post("/api/v1/ingest/calls", json={"records": records}, headers=world.device_headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _events_of(session: Session, table: str, row_id: int) -> set[int]:
    session.expire_all()
    stmt = select(TimelineEvent.customer_id).where(
        TimelineEvent.source_table == table, TimelineEvent.source_id == row_id
    )
    return set(session.exec(stmt))


def _both_holding_number(session: Session, world: World, factory: Factory) -> tuple[Customer, Customer]:
    """A customer of the other rep and one of the rep, both with NUMBER."""
    held = factory.customer(world.division, world.other_rep), factory.customer(world.division, world.rep)
    for customer in held:
        add_phone(session, customer, NUMBER)
    return held


def test_ambiguous_number_links_to_all_and_prefers_the_reps_customer(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    others, mine = _both_holding_number(session, world, factory)
    [result] = _send_calls(client, world, [call(1, "138 1234 5678", ago(hours=1))])
    row = session.get(CapturedCall, result["id"])
    assert row.link_status == LinkStatus.ambiguous
    assert row.customer_id == mine.id
    assert _events_of(session, "captured_call", row.id) == {mine.id, others.id}


def test_late_contact_picks_up_earlier_calls_and_sms(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    [first] = _send_calls(client, world, [call(1, "13812345678", ago(days=3))])
    client.post(
        "/api/v1/ingest/sms",
        json={"records": [sms(1, "13812345678", "您好", ago(days=2))]},
        headers=world.device_headers,
    )
    assert session.get(CapturedCall, first["id"]).link_status == LinkStatus.unlinked
    assert _events_of(session, "captured_call", first["id"]) == set()

    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, NUMBER)  # entered today, valid_from = now
    assert relink_number(session, NUMBER, now=utcnow()) == 2
    session.commit()
    session.expire_all()
    row = session.get(CapturedCall, first["id"])
    assert (row.link_status, row.customer_id) == (LinkStatus.linked, customer.id)
    assert _events_of(session, "captured_call", row.id) == {customer.id}
    assert session.exec(select(CapturedSms)).one().customer_id == customer.id
    assert relink_number(session, NUMBER, now=utcnow()) == 0  # nothing left to change


def test_second_holder_makes_linked_calls_ambiguous(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    first_customer = factory.customer(world.division, world.rep)
    add_phone(session, first_customer, NUMBER)
    [result] = _send_calls(client, world, [call(1, "13812345678", ago(hours=5))])
    second = factory.customer(world.division, None)
    add_phone(session, second, NUMBER)
    assert relink_number(session, NUMBER, now=utcnow()) == 1
    session.commit()
    session.expire_all()
    row = session.get(CapturedCall, result["id"])
    assert row.link_status == LinkStatus.ambiguous and row.customer_id == first_customer.id
    assert _events_of(session, "captured_call", row.id) == {first_customer.id, second.id}


def test_recycled_number_links_by_time(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    handed_back = ago(days=20)
    old_owner = factory.customer(world.division, world.rep, name="旧号主")
    new_owner = factory.customer(world.division, world.rep, name="新号主")
    add_phone(session, old_owner, NUMBER, valid_from=ago(days=400), valid_to=handed_back)
    add_phone(session, new_owner, NUMBER, valid_from=handed_back + timedelta(days=10))
    results = _send_calls(
        client,
        world,
        [
            call(1, "13812345678", ago(days=30)),  # old owner's time
            call(2, "13812345678", ago(days=15)),  # number was between owners
            call(3, "13812345678", ago(days=1)),  # new owner's time
        ],
    )
    rows = [session.get(CapturedCall, r["id"]) for r in results]
    assert [(r.link_status, r.customer_id) for r in rows] == [
        (LinkStatus.linked, old_owner.id),
        (LinkStatus.unlinked, None),
        (LinkStatus.linked, new_owner.id),
    ]


def test_phone_book_of_a_large_batch_in_one_query(session: Session, world: World, factory: Factory) -> None:
    """Thousands of numbers travel as one JSON parameter; quotes, commas and non-ASCII text in
    a number (never E.164, so never held) do not disturb the others."""
    held = [f"+86139{i:08d}" for i in range(0, 3000, 7)]
    customer = factory.customer(world.division, world.rep)
    for number in held:
        add_phone(session, customer, number)
    elsewhere = factory.customer(factory.division(), None)
    add_phone(session, elsewhere, "+8613900000001")
    asked = [f"+86139{i:08d}" for i in range(3000)] + ['a"b', "1,2", "号码\\"]
    book = load_phone_book(session, asked, [world.division.id])
    found = {
        number
        for number in asked
        if book.resolve(division_id=world.division.id, e164=number, at=utcnow(), rep_user_id=None).status
        == LinkStatus.linked
    }
    assert found == set(held)


def test_merged_away_customers_are_not_linked(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    live, gone = _both_holding_number(session, world, factory)  # gone: merged away below
    gone.merged_into_id = live.id
    session.add(gone)
    session.commit()
    [result] = _send_calls(client, world, [call(1, "13812345678", ago(hours=1))])
    row = session.get(CapturedCall, result["id"])
    assert (row.link_status, row.customer_id) == (LinkStatus.linked, live.id)
    assert _events_of(session, "captured_call", row.id) == {live.id}


def test_other_divisions_contacts_are_never_linked(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    elsewhere = factory.customer(factory.division(), None)
    add_phone(session, elsewhere, NUMBER)
    [result] = _send_calls(client, world, [call(1, "13812345678", ago(hours=1))])
    assert session.get(CapturedCall, result["id"]).link_status == LinkStatus.unlinked
    assert relink_number(session, NUMBER, now=utcnow()) == 0


def test_excluded_numbers_are_only_counted(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    head = factory.headers(world.head)
    added = client.post(
        "/api/v1/ingest/exclusions", json={"number": "139 1234 5678", "kind": "staff"}, headers=head
    )
    assert added.status_code == 201 and added.json()["e164"] == "+8613912345678"
    personal = client.post(
        "/api/v1/ingest/exclusions", json={"number": "13700001111"}, headers=factory.headers(world.rep)
    )
    assert personal.status_code == 201 and personal.json()["user_id"] == world.rep.id
    batch = {
        "records": [
            sms(1, "13912345678", "周末一起吃饭", ago(hours=3)),
            sms(2, "+86 137 0000 1111", "私人消息", ago(hours=2)),
            sms(3, "13812345678", "报价", ago(hours=1)),
        ]
    }
    for _ in range(2):  # re-sending counts nothing twice
        body = client.post("/api/v1/ingest/sms", json=batch, headers=world.device_headers).json()
        assert [r["status"] for r in body["results"]][:2] == ["excluded", "excluded"]
    stored = session.exec(select(CapturedSms)).all()
    assert [s.body for s in stored] == ["报价"]
    assert session.execute(select(func.count()).select_from(ExcludedCapture)).scalar_one() == 2
    assert session.execute(select(func.count()).select_from(QuarantinedRecord)).scalar_one() == 0
    # refused records: answered rejected; one with an excluded number leaves no payload behind
    future = ago(hours=-24 * 30)
    refused = {"records": [sms(4, "137-0000-1111", "私人", future), sms(5, "13812345678", "报价", future)]}
    body = client.post("/api/v1/ingest/sms", json=refused, headers=world.device_headers).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected"]
    assert session.exec(select(QuarantinedRecord.source_id)).all() == ["5"]


def test_exclusion_permissions(client: TestClient, world: World, factory: Factory) -> None:
    rep = factory.headers(world.rep)
    staff = client.post(
        "/api/v1/ingest/exclusions", json={"number": "13912345678", "kind": "staff"}, headers=rep
    )
    assert staff.status_code == 403
    bad = client.post("/api/v1/ingest/exclusions", json={"number": "not a number"}, headers=rep)
    assert bad.status_code == 400 and bad.json()["field"] == "number"
    other_head = factory.user(Role.division_head, factory.division())
    own = client.post("/api/v1/ingest/exclusions", json={"number": "13700001111"}, headers=rep).json()
    listed = client.get("/api/v1/ingest/exclusions", headers=factory.headers(other_head)).json()
    assert own["id"] not in [e["id"] for e in listed]
    assert (
        client.delete(
            f"/api/v1/ingest/exclusions/{own['id']}", headers=factory.headers(other_head)
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/ingest/exclusions/{own['id']}", headers=rep).status_code == 204
