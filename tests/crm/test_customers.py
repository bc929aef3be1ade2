"""Customers: creation with contacts and phones, duplicates, scoped and masked lists, detail audit, merge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.communications import CapturedCall, LinkStatus
from crm.customer_service import (
    ContactIn,
    CustomerCreate,
    CustomerFilter,
    CustomerUpdate,
    DuplicateFound,
    PhoneIn,
    create_customer,
    get_customer,
    list_customers,
    update_customer,
)
from crm.customers import ContactPhone, Customer
from crm.devices import Device
from crm.errors import DomainError, Forbidden, NotFound
from crm.merge import merge_customers
from crm.ownership import OwnershipChange
from crm.timeline import TimelineEvent, add_timeline_event
from tests.crm.conftest import NOW, Org, make_customer


def test_create_normalises_phones_and_emails_and_records_ownership(session: Session, org: Org) -> None:
    data = CustomerCreate(
        name="上海星辰科技有限公司",
        grade="a",
        tags=["重点", "重点", " 制造业 "],
        contacts=[
            ContactIn(
                name="王经理",
                phones=[PhoneIn(number="+86 138-0013-8000"), PhoneIn(number="０２１－６２３４５６７８")],
                emails=["Wang@XingChen.CN"],
            )
        ],
        addresses=[{"address": "上海市徐汇区漕溪北路1号", "lat": 31.19, "lon": 121.43}],  # type: ignore[list-item]
    )
    customer = create_customer(session, actor=org.rep1, data=data, now=NOW)
    assert customer.owner_id == org.rep1.id and customer.division_id == org.a.id
    assert customer.grade == "A" and customer.tags == ["重点", "制造业"]
    assert customer.geocell is not None and customer.address.startswith("上海市")
    numbers = session.exec(select(ContactPhone.e164).where(ContactPhone.customer_id == customer.id)).all()
    assert sorted(numbers) == ["+8613800138000", "+862162345678"]
    detail = get_customer(session, actor=org.rep1, customer_id=customer.id)
    assert detail.contacts[0].emails == ["wang@xingchen.cn"]
    history = session.exec(select(OwnershipChange)).one()
    assert (history.to_user_id, history.reason) == (org.rep1.id, "created")


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("contacts.0.phones.0", {"contacts": [{"name": "x", "phones": [{"number": "12345"}]}]}),
        ("contacts.0.phones.0", {"contacts": [{"name": "x", "phones": [{"number": "95588"}]}]}),
        ("contacts.0.emails.0", {"contacts": [{"name": "x", "emails": ["not-an-email"]}]}),
        ("grade", {"grade": "Z"}),
        ("addresses.0", {"addresses": [{"address": "x", "lat": 95.0, "lon": 1.0}]}),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    session: Session, org: Org, field: str, data: dict
) -> None:
    with pytest.raises(DomainError) as err:
        create_customer(session, actor=org.rep1, data=CustomerCreate(name="某公司", **data), now=NOW)
    assert err.value.field == field
    session.rollback()
    assert session.exec(select(Customer)).all() == []


def test_duplicates_by_phone_name_and_domain(session: Session, org: Org) -> None:
    original = make_customer(
        session, org.rep2, "杭州云图网络科技有限公司", phone="13800138000", email="a@yuntu.com"
    )
    for probe in (
        {"name": "另一家公司", "contacts": [{"name": "x", "phones": [{"number": "+8613800138000"}]}]},
        {"name": "杭州云图网络科技(有限)公司"},
        {"name": "别的名字", "contacts": [{"name": "x", "emails": ["b@YUNTU.com"]}]},
    ):
        with pytest.raises(DuplicateFound) as err:
            create_customer(session, actor=org.rep1, data=CustomerCreate(**probe), now=NOW)  # type: ignore[arg-type]
        (dup,) = err.value.duplicates
        # the rep cannot see rep2's customer: told it exists and who owns it, not its name
        assert (dup.customer_id, dup.visible, dup.name, dup.owner_id) == (
            original.id,
            False,
            None,
            org.rep2.id,
        )
    # free-mail domains say nothing
    create_customer(
        session,
        actor=org.rep1,
        data=CustomerCreate(name="个人客户", contacts=[{"name": "x", "emails": ["x@qq.com"]}]),  # type: ignore[list-item]
        now=NOW,
    )


def test_a_criterion_matching_too_many_customers_is_ignored(session: Session, org: Org) -> None:
    for i in range(6):  # six customers share the switchboard of an industrial park
        make_customer(session, org.head, f"园区企业{i}", phone="02162345678")
    created = create_customer(
        session,
        actor=org.rep1,
        data=CustomerCreate(
            name="园区新企业", contacts=[{"name": "x", "phones": [{"number": "021-62345678"}]}]
        ),  # type: ignore[list-item]
        now=NOW,
    )
    assert created.id is not None


def test_duplicates_in_another_division_do_not_count(session: Session, org: Org) -> None:
    make_customer(session, org.rep_b, "深圳海风贸易有限公司", phone="13900139000")
    customer = create_customer(
        session, actor=org.rep1, data=CustomerCreate(name="深圳海风贸易有限公司"), now=NOW
    )
    assert customer.division_id == org.a.id


def _names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.name for c in page.items]


def test_list_is_scoped_per_role_and_masks_numbers(session: Session, org: Org) -> None:
    make_customer(session, org.rep1, "甲", phone="13800000001")
    make_customer(session, org.rep2, "乙", phone="13800000002")
    make_customer(session, org.head, "丙", phone="13800000003", to_pool=True)
    make_customer(session, org.rep_b, "丁", phone="13800000004")
    f = CustomerFilter()
    by_role = {
        "rep1": sorted(_names(list_customers(session, actor=org.rep1, filters=f))),
        "head": sorted(_names(list_customers(session, actor=org.head, filters=f))),
        "admin": sorted(_names(list_customers(session, actor=org.admin, filters=f))),
        "head_b": sorted(_names(list_customers(session, actor=org.head_b, filters=f))),
        "executive": sorted(_names(list_customers(session, actor=org.executive, filters=f))),
        "sysadmin": sorted(_names(list_customers(session, actor=org.sysadmin, filters=f))),
    }
    assert by_role == {
        "rep1": ["丙", "甲"],
        "head": ["丙", "乙", "甲"],
        "admin": ["丙", "乙", "甲"],
        "head_b": ["丁"],
        "executive": ["丁", "丙", "乙", "甲"],
        "sysadmin": [],
    }
    rows = {c.name: c for c in list_customers(session, actor=org.rep1, filters=f).items}
    assert rows["甲"].phones == ["+8613800000001"] and not rows["甲"].numbers_masked
    assert rows["丙"].phones == ["+86 138****0003"] and rows["丙"].numbers_masked


def test_filters_and_phone_search(session: Session, org: Org) -> None:
    make_customer(
        session, org.rep1, "宁波港机械", phone="13800000001", grade="A", tags=["港口"], region="浙江宁波"
    )
    make_customer(session, org.rep1, "宁波电器", grade="B", region="浙江宁波")
    make_customer(session, org.rep1, "苏州纺织", grade="A", region="江苏苏州")

    def names(**kw: object) -> list[str]:
        page = list_customers(session, actor=org.head, filters=CustomerFilter(**kw), sort="name")  # type: ignore[arg-type]
        return _names(page)

    assert names(q="宁波") == ["宁波港机械", "宁波电器"]
    assert names(grade=["a"]) == ["宁波港机械", "苏州纺织"]
    assert names(tag="港口") == ["宁波港机械"]
    assert names(region="浙江") == ["宁波港机械", "宁波电器"]
    assert names(q="138 0000 0001") == ["宁波港机械"]
    assert names(q="+86 13800000001", grade=["B"]) == []


def test_keyset_pages_cover_every_row_once(session: Session, org: Org) -> None:
    for i in range(23):
        make_customer(session, org.rep1, f"客户{i:02d}", now=NOW + timedelta(minutes=i % 5))
    for sort in ("name", "-name", "created", "-updated"):
        seen, cursor = [], None
        while True:
            page = list_customers(
                session, actor=org.rep1, filters=CustomerFilter(), sort=sort, cursor=cursor, limit=5
            )
            seen += [c.id for c in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 23
    with pytest.raises(DomainError) as err:
        list_customers(session, actor=org.rep1, filters=CustomerFilter(), cursor="garbage!")
    assert err.value.field == "cursor"


def test_detail_shows_full_numbers_to_managers_and_audits_it(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "甲", phone="13800000001")
    assert get_customer(session, actor=org.rep1, customer_id=customer.id).phones == ["+8613800000001"]
    assert session.exec(select(AuditLog).where(AuditLog.action == "customer.unmask")).all() == []
    detail = get_customer(session, actor=org.head, customer_id=customer.id, ip="10.0.0.9")
    assert detail.contacts[0].phones[0].number == "+8613800000001"
    audit = session.exec(select(AuditLog).where(AuditLog.action == "customer.unmask")).one()
    assert (audit.actor_user_id, audit.target_id, audit.ip) == (org.head.id, str(customer.id), "10.0.0.9")
    pool = make_customer(session, org.head, "公海客户", phone="13800000002", to_pool=True)
    masked = get_customer(session, actor=org.rep2, customer_id=pool.id)
    assert masked.numbers_masked and masked.contacts[0].phones[0].number == "+86 138****0002"
    with pytest.raises(NotFound):
        get_customer(session, actor=org.rep2, customer_id=customer.id)


def test_reps_change_only_their_own_customers(session: Session, org: Org) -> None:
    pool = make_customer(session, org.head, "公海客户", to_pool=True)
    with pytest.raises(Forbidden):
        update_customer(session, actor=org.rep1, customer_id=pool.id, data=CustomerUpdate(grade="A"), now=NOW)
    mine = make_customer(session, org.rep1, "我的客户")
    update_customer(
        session, actor=org.rep1, customer_id=mine.id, data=CustomerUpdate(grade="b", tags=["x"]), now=NOW
    )
    assert (mine.grade, mine.tags) == ("B", ["x"])


def test_merge_keeps_every_timeline_event_and_contact(session: Session, org: Org) -> None:
    keep = make_customer(session, org.rep1, "星辰科技", phone="13800000001")
    dup = make_customer(session, org.rep2, "星辰科技有限公司", phone="13800000002")
    for customer in (keep, dup):
        add_timeline_event(
            session,
            customer_id=customer.id,
            division_id=org.a.id,
            occurred_at=NOW,
            kind="note",
            source_table="note",
            source_id=customer.id,
            summary=customer.name,
        )
    session.commit()
    with pytest.raises(Forbidden):
        merge_customers(session, actor=org.rep1, keep_id=keep.id, merge_ids=[dup.id], now=NOW)
    merge_customers(session, actor=org.head, keep_id=keep.id, merge_ids=[dup.id], now=NOW)
    kinds = session.exec(select(TimelineEvent.kind).where(TimelineEvent.customer_id == keep.id)).all()
    assert sorted(kinds) == ["merge", "note", "note", "ownership", "ownership"]
    assert session.exec(select(TimelineEvent).where(TimelineEvent.customer_id == dup.id)).all() == []
    detail = get_customer(session, actor=org.head, customer_id=keep.id)
    assert sorted(detail.phones) == ["+8613800000001", "+8613800000002"]
    assert session.get(Customer, dup.id).merged_into_id == keep.id
    assert [c.name for c in list_customers(session, actor=org.head, filters=CustomerFilter()).items] == [
        "星辰科技"
    ]


def test_adding_a_phone_links_calls_captured_before(session: Session, org: Org) -> None:
    device = Device(serial="S1", division_id=org.a.id, rep_user_id=org.rep1.id)
    session.add(device)
    session.flush()
    call = CapturedCall(
        device_id=device.id,
        division_id=org.a.id,
        rep_user_id=org.rep1.id,
        source_key="c1",
        source_id=1,
        number_raw="13800000009",
        number_e164="+8613800000009",
        number_kind="mobile",
        occurred_at=NOW - timedelta(days=3),
        direction="outgoing",
        type="outgoing",
        type_code=2,
        duration_s=65,
    )
    session.add(call)
    session.commit()
    customer = make_customer(session, org.rep1, "后来录入的客户", phone="138 0000 0009")
    session.refresh(call)
    assert (call.link_status, call.customer_id) == (LinkStatus.linked, customer.id)
    kinds = session.exec(select(TimelineEvent.kind).where(TimelineEvent.customer_id == customer.id)).all()
    assert sorted(kinds) == ["call", "ownership"]
