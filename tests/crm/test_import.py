"""Importing messy real-world spreadsheets: a merged title row, a merged group header over
sub-columns, full-width digits, phones stored as numbers (and in scientific notation),
blank rows, duplicates within the file and against the database; dry run; all or nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.communications import CapturedSms, LinkStatus
from crm.customers import ContactPhone, Customer
from crm.devices import Device
from crm.errors import DomainError
from crm.importer import ImportKind, ImportOptions, import_table
from crm.leads import Lead
from tests.crm.conftest import NOW, Org, make_customer


def messy_customers_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年华东区客户名单(内部资料)"])
    sheet.merge_cells("A1:H1")
    sheet.append(["客户名称*", "等级", "联系方式", None, "联系人", "标签", "地区", "负责人"])
    sheet.merge_cells("C2:D2")
    sheet.append([None, None, "手机", "座机", None, None, None, None])
    for column in "ABEFGH":  # single columns span both header rows
        sheet.merge_cells(f"{column}2:{column}3")
    rows = [
        [
            "上海星辰科技有限公司",
            "A",
            13800138000,
            "021-62345678",
            "王经理",
            "重点,制造业",
            "上海",
            None,
        ],  # int phone
        ["杭州云图网络", "ｂ", "１３９１２３４５６７８", None, "李总", "", "浙江杭州", None],  # full-width
        [None, None, None, None, None, None, None, None],  # blank row
        ["  宁波港机械 ", "C", 13700001111.0, None, "赵工", "港口", "浙江宁波", None],  # float phone
        [
            "上海星辰科技(有限)公司",
            "A",
            None,
            "02162345678",
            "陈助理",
            "老客户",
            "上海",
            None,
        ],  # dup of row 4
        ["", "B", 13600001111, None, "无名", None, None, None],  # no name
        ["苏州某厂", "Z", 13600002222, None, "钱", None, None, None],  # unknown grade
        ["无锡某公司", "B", "1.38001E+10", None, "孙", None, None, None],  # scientific notation
        ["常州某公司", "B", "12345", None, "周", None, None, None],  # not a phone
        ["南京老客户贸易部", "B", 13500001111, None, "吴", None, None, None],  # same phone as an existing customer
        ["扬州新客户", "C", 13400001111, None, "郑", None, None, "nobody"],  # unknown owner
    ]
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(session: Session, org: Org, content: bytes, filename: str = "客户.xlsx", **options: object):  # type: ignore[no-untyped-def]
    return import_table(
        session,
        actor=org.head,
        content=content,
        filename=filename,
        options=ImportOptions(**options),
        now=NOW,  # type: ignore[arg-type]
    )


def test_messy_spreadsheet_row_report(session: Session, org: Org) -> None:
    existing = make_customer(session, org.rep1, "南京老客户", phone="13500001111")
    report = _import(session, org, messy_customers_xlsx(), dry_run=False, owner_id=org.rep2.id)
    assert report.header_row == 3 and report.committed
    assert report.mapping["phone"] == ["联系方式/手机", "联系方式/座机"]
    outcome = {r.row: (r.action, r.field) for r in report.rows}
    assert outcome == {
        4: ("created", None),
        5: ("created", None),
        7: ("created", None),
        8: ("updated", None),
        9: ("rejected", "name"),
        10: ("rejected", "grade"),
        11: ("rejected", "phone"),
        12: ("rejected", "phone"),
        13: ("merged", None),
        14: ("rejected", "owner"),
    }
    assert report.counts == {"created": 3, "updated": 1, "merged": 1, "rejected": 5}
    reasons = {r.row: r.reason for r in report.rows}
    assert "scientific notation" in reasons[11] and "Z" in reasons[10]
    xingchen = session.exec(select(Customer).where(Customer.name == "上海星辰科技有限公司")).one()
    assert [r.id for r in report.rows if r.row in (4, 8)] == [xingchen.id, xingchen.id]
    assert (xingchen.grade, xingchen.owner_id, xingchen.tags) == (
        "A",
        org.rep2.id,
        ["重点", "制造业", "老客户"],
    )
    phones = sorted(
        session.exec(select(ContactPhone.e164).where(ContactPhone.customer_id == xingchen.id)).all()
    )
    assert phones == ["+8613800138000", "+862162345678"]  # the duplicate row's landline is the same number
    yuntu = session.exec(select(Customer).where(Customer.name == "杭州云图网络")).one()
    assert yuntu.grade == "B"
    assert (
        session.exec(select(ContactPhone.e164).where(ContactPhone.customer_id == yuntu.id)).one()
        == "+8613912345678"
    )
    assert session.exec(select(Customer).where(Customer.name == "宁波港机械")).one().region == "浙江宁波"
    assert [r.id for r in report.rows if r.row == 13] == [existing.id]
    assert (
        session.exec(select(AuditLog).where(AuditLog.action == "import")).one().detail["counts"]["created"]
        == 3
    )


def test_dry_run_and_all_or_nothing_write_nothing(session: Session, org: Org) -> None:
    dry = _import(session, org, messy_customers_xlsx())
    assert dry.dry_run and not dry.committed and dry.counts["created"] == 4  # no existing customer here
    assert all(r.id is None for r in dry.rows if r.action == "created")
    strict = _import(session, org, messy_customers_xlsx(), dry_run=False, all_or_nothing=True)
    assert not strict.committed and strict.counts["rejected"] == 5
    assert session.exec(select(Customer)).all() == []
    assert session.exec(select(ContactPhone)).all() == []


def test_csv_in_gb18030_with_explicit_mapping_links_captured_sms(session: Session, org: Org) -> None:
    device = Device(serial="S", division_id=org.a.id, rep_user_id=org.rep1.id)
    session.add(device)
    session.flush()
    session.add(
        CapturedSms(
            device_id=device.id,
            division_id=org.a.id,
            rep_user_id=org.rep1.id,
            source_key="k1",
            source_id=1,
            number_raw="13300001111",
            number_e164="+8613300001111",
            number_kind="mobile",
            occurred_at=NOW - timedelta(days=1),
            direction="inbound",
            type="inbox",
            type_code=1,
            body="你好",
        )
    )
    session.commit()
    text = "单位;手机号码;备注\n泰州某商行;133 0000 1111;老朋友介绍\n\n"
    report = import_table(
        session,
        actor=org.rep1,
        content=text.encode("gb18030"),
        filename="list.csv",
        options=ImportOptions(dry_run=False, mapping={"name": "单位", "phone": "手机号码"}),
        now=NOW,
    )
    assert report.counts["created"] == 1
    customer = session.exec(select(Customer)).one()
    assert customer.owner_id == org.rep1.id  # a rep's import is theirs
    sms = session.exec(select(CapturedSms)).one()
    assert (sms.link_status, sms.customer_id) == (LinkStatus.linked, customer.id)


def test_leads_and_contacts_imports(session: Session, org: Org) -> None:
    customer = make_customer(session, org.rep1, "上海星辰科技有限公司")
    book = Workbook()
    book.active.append(["姓名", "公司", "手机", "来源"])
    book.active.append(["赵先生", "某厂", "13700001111", "展会"])
    book.active.append(["钱女士", "某店", "13700001111", "官网"])  # same phone: a known lead
    book.active.append(["孙先生", "", "", "转介绍"])
    out = io.BytesIO()
    book.save(out)
    report = import_table(
        session,
        actor=org.rep1,
        content=out.getvalue(),
        filename="leads.xlsx",
        options=ImportOptions(kind=ImportKind.leads, dry_run=False),
        now=NOW,
    )
    assert [r.action for r in report.rows] == ["created", "merged", "created"]
    assert {lead.owner_id for lead in session.exec(select(Lead))} == {org.rep1.id}
    contacts_csv = (
        "客户名称,联系人,手机\n上海星辰科技有限公司,周工,13800000009\n不存在的公司,吴,13800000008\n"
    )
    report = import_table(
        session,
        actor=org.rep1,
        content=contacts_csv.encode(),
        filename="c.csv",
        options=ImportOptions(kind=ImportKind.contacts, dry_run=False),
        now=NOW,
    )
    assert [(r.action, r.field) for r in report.rows] == [("created", None), ("rejected", "customer")]
    assert (
        session.exec(select(ContactPhone.customer_id).where(ContactPhone.e164 == "+8613800000009")).one()
        == customer.id
    )


def test_unreadable_files_are_refused(session: Session, org: Org) -> None:
    for content, name in ((b"not a zip", "x.xlsx"), (b"a,b\n1,2\n", "x.csv"), (b"x", "x.pdf")):
        with pytest.raises(DomainError) as err:
            _import(session, org, content, name)
        assert err.value.field == "file"


def test_import_over_http(client, factory, org: Org) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/import",
        files={"file": ("客户.xlsx", messy_customers_xlsx(), "application/octet-stream")},
        data={"options": '{"dry_run": true}'},
        headers=factory.headers(org.head),
    )
    assert response.status_code == 200, response.text
    assert response.json()["counts"] == {"created": 4, "updated": 1, "merged": 0, "rejected": 5}
    bad = client.post(
        "/api/v1/import",
        files={"file": ("a.csv", b"x", "text/csv")},
        data={"options": "{nope"},
        headers=factory.headers(org.head),
    )
    assert bad.status_code == 400 and bad.json()["field"] == "options"
