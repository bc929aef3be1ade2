"""Phone-book ingestion (POST /api/v1/ingest/contacts) and the phone book for users: idempotency,
versions, exclusion, bad input, scope and masking per role, labels, customers made of entries."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.communications import (
    CapturedContact,
    CapturedContactNumber,
    CapturedSms,
    ExcludedCapture,
    LinkStatus,
    QuarantinedRecord,
)
from crm.customers import ContactPhone
from crm.org import Role
from crm.timeline import TimelineEvent
from tests.factories import Factory
from tests.ingest.conftest import World, add_phone, ago, iso, sms

URL = "/api/v1/ingest/contacts"


def contact(
    source_id: int, name: str | None, *numbers: str, company: str | None = None, **extra: Any
) -> dict:
    return {
        "source_id": source_id,
        "name": name,
        "company": company,
        "numbers": [{"number": n, "type": 2, "label": None} for n in numbers],
        "updated_at": iso(ago(days=1)),
        **extra,
    }


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _numbers(session: Session, source_id: int) -> list[tuple[str, str | None, str]]:
    session.expire_all()
    entry = session.exec(select(CapturedContact).where(CapturedContact.source_id == source_id)).one()
    rows = session.exec(
        select(CapturedContactNumber)
        .where(CapturedContactNumber.contact_id == entry.id)
        .order_by(CapturedContactNumber.position)
    )
    return [(n.number_raw, n.number_e164, n.number_kind) for n in rows]


def test_contacts_are_stored_normalised_and_owned_by_the_rep(
    client: TestClient, world: World, session: Session
) -> None:
    batch = {
        "records": [
            contact(1, "张三", "138 1234 5678", "+86 139-1234-5678", company="华星科技"),
            contact(2, "工商银行", "95588"),
            contact(3, None, company="无号码公司"),
        ]
    }
    response = client.post(URL, json=batch, headers=world.device_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"], body["excluded"]) == (3, 0, 0, 0)
    assert [(r["index"], r["source_id"], r["status"]) for r in body["results"]] == [
        (0, 1, "accepted"),
        (1, 2, "accepted"),
        (2, 3, "accepted"),
    ]
    assert all(isinstance(r["id"], int) for r in body["results"])
    assert _numbers(session, 1) == [
        ("138 1234 5678", "+8613812345678", "mobile"),
        ("+86 139-1234-5678", "+8613912345678", "mobile"),
    ]
    assert _numbers(session, 2) == [("95588", None, "service")]  # kept, never linkable
    entry = session.exec(select(CapturedContact).where(CapturedContact.source_id == 1)).one()
    assert (entry.rep_user_id, entry.division_id, entry.company, entry.version) == (
        world.rep.id,
        world.division.id,
        "华星科技",
        1,
    )


def test_same_content_again_is_duplicate_and_changed_content_is_a_new_version(
    client: TestClient, world: World, session: Session
) -> None:
    batch = {"records": [contact(1, "张三", "13812345678"), contact(2, "李四", "13912345678")]}
    assert client.post(URL, json=batch, headers=world.device_headers).json()["accepted"] == 2
    again = client.post(URL, json=batch, headers=world.device_headers).json()
    assert (again["accepted"], again["duplicate"]) == (0, 2)
    assert all("id" not in r for r in again["results"])

    touched = contact(1, "张三", "13812345678", updated_at=iso(ago(hours=1)))  # only the phone's timestamp
    changed = contact(2, "李四", "13712345678", "010-8888 6666")
    body = client.post(URL, json={"records": [touched, changed]}, headers=world.device_headers).json()
    assert [r["status"] for r in body["results"]] == ["duplicate", "accepted"]
    assert _numbers(session, 2) == [
        ("13712345678", "+8613712345678", "mobile"),
        ("010-8888 6666", "+861088886666", "fixed_line"),
    ]  # replaced, not added to
    entry = session.exec(select(CapturedContact).where(CapturedContact.source_id == 2)).one()
    assert entry.version == 2 and entry.id == body["results"][1]["id"]
    assert _count(session, CapturedContact) == 2 and _count(session, CapturedContactNumber) == 3


def test_a_deleted_contact_leaves_the_phone_book_and_is_kept_for_managers(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    client.post(
        URL,
        json={"records": [contact(1, "张三", "139 1234 5678"), contact(2, "李四", "13712345678")]},
        headers=world.device_headers,
    )
    client.post(
        "/api/v1/ingest/sms", json={"records": [sms(1, "13912345678", "你好", ago(hours=2))]}, headers=world.device_headers
    )
    deleted_at = ago(hours=1)
    deletion = {"source_id": 1, "deleted": True, "updated_at": iso(deleted_at)}
    never_sent = {"source_id": 99, "deleted": True}
    body = client.post(URL, json={"records": [deletion, never_sent]}, headers=world.device_headers).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]
    again = client.post(URL, json={"records": [deletion]}, headers=world.device_headers).json()
    assert again["results"][0]["status"] == "duplicate"

    head = factory.headers(world.head)
    book = client.get("/api/v1/ingest/phone-book", headers=head).json()
    assert [e["source_id"] for e in book] == [2]
    [gone] = client.get("/api/v1/ingest/phone-book", params={"deleted": True}, headers=head).json()
    assert (gone["name"], gone["deleted_at"], gone["version"]) == ("张三", iso(deleted_at), 2)
    assert [n["number"] for n in gone["numbers"]] == ["+8613912345678"]  # kept as evidence
    listed = client.get("/api/v1/ingest/communications", params={"kind": "sms"}, headers=head).json()
    assert listed[0]["phone_contact"] is None  # no longer labels the number

    back = client.post(URL, json={"records": [contact(1, "张三", "139 1234 5678")]}, headers=world.device_headers)
    assert back.json()["results"][0]["status"] == "accepted"
    session.expire_all()
    entry = session.exec(select(CapturedContact).where(CapturedContact.source_id == 1)).one()
    assert (entry.deleted_at, entry.version) == (None, 3)
    with_content = {"source_id": 2, "deleted": True, "name": "李四"}
    refused = client.post(URL, json={"records": [with_content]}, headers=world.device_headers).json()
    assert refused["results"][0]["status"] == "rejected"


def test_repeats_within_one_batch(client: TestClient, world: World, session: Session) -> None:
    records = [
        contact(5, "王五", "13812345678"),
        contact(5, "王五", "13812345678"),  # the same again
        contact(5, "王五 (新)", "13812345679"),  # changed later in the batch: this version is kept
    ]
    body = client.post(URL, json={"records": records}, headers=world.device_headers).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate", "accepted"]
    assert body["results"][0]["id"] == body["results"][2]["id"]
    assert _numbers(session, 5) == [("13812345679", "+8613812345679", "mobile")]
    assert session.exec(select(CapturedContact)).one().name == "王五 (新)"


def test_concurrent_identical_batches_store_each_entry_once(
    live_server: str, world: World, session: Session
) -> None:
    batch = {"records": [contact(i, f"联系人{i}", f"1381234{i:04d}", f"1391234{i:04d}") for i in range(200)]}
    outcomes: list[dict] = []

    def send() -> None:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            response = http.post(URL, json=batch, headers=world.device_headers)
            assert response.status_code == 200, response.text
            outcomes.append(response.json())

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 3
    assert sum(body["accepted"] for body in outcomes) == 200
    assert sum(body["duplicate"] for body in outcomes) == 400
    assert _count(session, CapturedContact) == 200 and _count(session, CapturedContactNumber) == 400


def test_excluded_numbers_are_not_stored_only_counted(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    excluded = client.post(
        "/api/v1/ingest/exclusions",
        json={"number": "13800000001", "kind": "personal"},
        headers=factory.headers(world.rep),
    )
    assert excluded.status_code == 201, excluded.text
    records = [contact(1, "客户甲", "13812345678", "138 0000 0001"), contact(2, "老婆", "+8613800000001")]
    body = client.post(URL, json={"records": records}, headers=world.device_headers).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "excluded"]
    assert _numbers(session, 1) == [("13812345678", "+8613812345678", "mobile")]
    entry = session.exec(select(CapturedContact)).one()  # the wholly excluded entry is not stored
    assert entry.source_id == 1 and entry.excluded_numbers == 1
    assert session.exec(select(ExcludedCapture.source)).all() == ["contact"]
    assert "老婆" not in str(session.exec(select(QuarantinedRecord.payload)).all())

    # an entry stored before its only number was excluded disappears when it is sent again changed
    client.post(URL, json={"records": [contact(3, "朋友", "13700000003")]}, headers=world.device_headers)
    client.post(
        "/api/v1/ingest/exclusions", json={"number": "13700000003"}, headers=factory.headers(world.rep)
    )
    again = client.post(
        URL, json={"records": [contact(3, "朋友 (改)", "13700000003")]}, headers=world.device_headers
    ).json()
    assert again["excluded"] == 1
    assert session.exec(select(CapturedContact.source_id)).all() == [1]


def test_bad_input_is_rejected_and_quarantined(client: TestClient, world: World, session: Session) -> None:
    records: list[Any] = [
        contact(1, "好的", "13812345678"),
        "not an object",
        contact(2, "x" * 201),
        contact(3, "太多号码", *[f"138{i:08d}" for i in range(51)]),
        contact(4, "未来", updated_at="2999-01-01T00:00:00Z"),
        contact(5, "无时区", updated_at="2024-01-01T00:00:00"),
        {**contact(6, "多字段"), "photo": "..."},
        {"source_id": 7, "name": "坏号码", "numbers": [{"number": "1" * 65}]},
        contact(8, "nul\x00"),
        {"source_id": -1, "name": "负数"},
        {"source_id": 9, "numbers": "13812345678"},
        {"source_id": True, "name": "布尔"},
    ]
    response = client.post(URL, json={"records": records}, headers=world.device_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"] == len(records) - 1
    by_index = {r["index"]: r for r in body["results"]}
    assert by_index[1]["reason"] == "record must be a JSON object" and "source_id" not in by_index[1]
    assert by_index[2]["field"] == "name"
    assert by_index[3]["field"] == "numbers"
    assert by_index[4]["field"] == "updated_at" and "future" in by_index[4]["reason"]
    assert by_index[5]["field"] == "updated_at"
    assert by_index[6]["field"] == "photo"
    assert by_index[7]["field"] == "numbers.0.number"
    assert "NUL" in by_index[8]["reason"]
    assert by_index[9]["field"] == "source_id"
    assert _count(session, QuarantinedRecord) == len(records) - 1
    assert set(session.exec(select(QuarantinedRecord.source)).all()) == {"contact"}
    # the same bad records again: same answers, quarantined once
    again = client.post(URL, json={"records": records}, headers=world.device_headers).json()
    assert again["rejected"] == len(records) - 1 and again["duplicate"] == 1
    assert _count(session, QuarantinedRecord) == len(records) - 1


def test_bad_envelopes_store_nothing(
    client: TestClient, world: World, session: Session, settings: Any
) -> None:
    for body, status in (
        ({"records": "x"}, 422),
        ({"records": [], "device": 1}, 422),
        ([contact(1, "a")], 422),
        ({"records": [contact(i, "a") for i in range(settings.ingest_max_batch + 1)]}, 413),
    ):
        response = client.post(URL, json=body, headers=world.device_headers)
        assert response.status_code == status, response.text
        assert {"detail", "field"} <= set(response.json())
    bad_json = client.post(URL, content=b'{"records": [', headers=world.device_headers)
    assert bad_json.status_code == 422 and {"detail", "field"} <= set(bad_json.json())
    assert (
        client.post(URL, json={"records": []}, headers={"Authorization": "Bearer fcd_nope"}).status_code
        == 401
    )
    assert _count(session, CapturedContact) == 0


def _seed_phone_books(client: TestClient, world: World, factory: Factory, session: Session) -> None:
    from crm.devices import Device
    from crm.types import utcnow
    from server.auth.service import issue_device_token

    device = Device(serial="CAPTURE-2", division_id=world.division.id, rep_user_id=world.other_rep.id)
    session.add(device)
    session.flush()
    other_headers = {"Authorization": f"Bearer {issue_device_token(session, device=device, now=utcnow())}"}
    session.commit()
    customer = factory.customer(world.division, world.rep, name="已有客户")
    add_phone(session, customer, "+8613812345678")
    mine = [contact(1, "已是客户", "13812345678"), contact(2, "张三", "13912345678", company="华星科技")]
    theirs = [contact(1, "李四", "13712345678")]
    assert client.post(URL, json={"records": mine}, headers=world.device_headers).json()["accepted"] == 2
    assert client.post(URL, json={"records": theirs}, headers=other_headers).json()["accepted"] == 1


def test_phone_book_scope_masking_and_unmatched(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    _seed_phone_books(client, world, factory, session)
    book = "/api/v1/ingest/phone-book"
    mine = client.get(book, headers=factory.headers(world.rep)).json()
    assert [(e["name"], e["matched"]) for e in mine] == [("张三", False), ("已是客户", True)]
    assert mine[0]["numbers"][0]["number"] == "+8613912345678"  # their own phone book: in full
    unmatched = client.get(book, params={"unmatched": "true"}, headers=factory.headers(world.rep)).json()
    assert [e["name"] for e in unmatched] == ["张三"]

    theirs = client.get(book, headers=factory.headers(world.other_rep)).json()
    assert [e["name"] for e in theirs] == ["李四"]  # a rep sees only their own phone book

    head = client.get(book, params={"unmatched": "true"}, headers=factory.headers(world.head)).json()
    assert sorted(e["name"] for e in head) == ["张三", "李四"]
    assert {e["numbers"][0]["number"] for e in head} == {"+8613912345678", "+8613712345678"}
    audited = session.exec(select(AuditLog).where(AuditLog.action == "capture.phone_book.read")).all()
    assert {a.target_id for a in audited} == {str(world.rep.id), str(world.other_rep.id)}

    outsider = factory.user(Role.division_head, factory.division())
    assert client.get(book, headers=factory.headers(outsider)).json() == []
    executive = factory.user(Role.executive)
    assert len(client.get(book, headers=factory.headers(executive)).json()) == 3
    sysadmin = factory.user(Role.sysadmin)
    assert client.get(book, headers=factory.headers(sysadmin)).json() == []
    assert client.get(book, params={"limit": 0}, headers=factory.headers(world.rep)).status_code == 422


def test_unlinked_communications_are_labelled_with_the_phone_book_name(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    client.post(URL, json={"records": [contact(1, "张三", "139 1234 5678")]}, headers=world.device_headers)
    client.post(
        "/api/v1/ingest/sms",
        json={
            "records": [
                sms(1, "13912345678", "你好", ago(hours=2)),
                sms(2, "13700000000", "hi", ago(hours=1)),
            ]
        },
        headers=world.device_headers,
    )
    listed = client.get(
        "/api/v1/ingest/communications", params={"kind": "sms"}, headers=factory.headers(world.rep)
    ).json()
    assert [(c["number"], c["phone_contact"], c["link_status"]) for c in listed] == [
        ("+8613700000000", None, "unlinked"),
        ("+8613912345678", "phone contact: 张三", "unlinked"),
    ]
    assert (
        client.get(
            "/api/v1/ingest/communications", params={"kind": "sms"}, headers=factory.headers(world.other_rep)
        ).json()
        == []
    )
    bad = client.get(
        "/api/v1/ingest/communications", params={"kind": "fax"}, headers=factory.headers(world.rep)
    )
    assert bad.status_code == 422 and bad.json()["field"]


def test_a_customer_made_of_an_entry_picks_up_earlier_messages(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    _seed_phone_books(client, world, factory, session)
    client.post(
        "/api/v1/ingest/sms",
        json={
            "records": [
                sms(1, "13912345678", "报价单收到", ago(days=2)),
                sms(2, "13912345678", "好", ago(days=1)),
            ]
        },
        headers=world.device_headers,
    )
    entry = client.get(
        "/api/v1/ingest/phone-book", params={"unmatched": "true"}, headers=factory.headers(world.rep)
    ).json()[0]
    assert entry["name"] == "张三"
    other_rep = client.post(
        f"/api/v1/ingest/phone-book/{entry['id']}/customer", json={}, headers=factory.headers(world.other_rep)
    )
    assert other_rep.status_code == 404  # not their phone book
    made = client.post(
        f"/api/v1/ingest/phone-book/{entry['id']}/customer", json={}, headers=factory.headers(world.rep)
    )
    assert made.status_code == 201, made.text
    customer_id = made.json()["customer_id"]
    session.expire_all()
    rows = session.exec(select(CapturedSms)).all()
    assert {(r.customer_id, r.link_status) for r in rows} == {(customer_id, LinkStatus.linked)}
    events = session.exec(select(TimelineEvent).where(TimelineEvent.customer_id == customer_id)).all()
    assert sorted(e.source_id for e in events if e.kind == "sms") == sorted(r.id for r in rows)
    phone = session.exec(select(ContactPhone).where(ContactPhone.customer_id == customer_id)).one()
    assert phone.e164 == "+8613912345678"
    timeline = client.get(
        f"/api/v1/customers/{customer_id}/timeline", headers=factory.headers(world.rep)
    ).json()
    assert [e["summary"] for e in timeline["events"] if e["kind"] == "sms"] == ["好", "报价单收到"]
    unmatched = client.get(
        "/api/v1/ingest/phone-book", params={"unmatched": "true"}, headers=factory.headers(world.rep)
    ).json()
    assert unmatched == []
    again = client.post(
        f"/api/v1/ingest/phone-book/{entry['id']}/customer", json={}, headers=factory.headers(world.rep)
    )
    assert again.status_code == 409  # the same number already belongs to a customer: a duplicate
    hostile = client.post(
        f"/api/v1/ingest/phone-book/{entry['id']}/customer",
        json={"name": "", "owner_id": 1},
        headers=factory.headers(world.rep),
    )
    assert hostile.status_code == 422 and hostile.json()["field"]
