"""Every CRM list and export, for every role: nothing of another division, reps only their own
(and unowned) rows, system admins no sales data; exports mask numbers the viewer may not see."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from crm.activities import ActivityCreate, create_activity
from crm.knowledge import ScriptIn, save_script
from crm.leads import LeadCreate, create_lead
from crm.opportunities import OpportunityCreate, create_opportunity
from crm.org import Division, User
from crm.sales_docs import DocumentCreate, create_document
from crm.tickets import TicketCreate, create_ticket
from tests.crm.conftest import NOW, Org, make_customer
from tests.factories import Factory

LISTS = ["customers", "leads", "opportunities", "activities", "tickets", "sales-documents", "scripts"]
EXPORTS = ["customers", "leads", "opportunities", "tickets"]


def _book(session: Session, division: Division, head: User, rep: User, tag: str) -> None:
    mine = make_customer(session, rep, f"{tag}-rep", phone=f"1380000{len(tag):04d}")
    make_customer(session, head, f"{tag}-pool", phone=f"1390000{len(tag):04d}", to_pool=True)
    create_lead(
        session, actor=rep, data=LeadCreate(name=f"{tag}-lead", phone=f"1370000{len(tag):04d}"), now=NOW
    )
    create_opportunity(
        session,
        actor=rep,
        data=OpportunityCreate(customer_id=mine.id, name=f"{tag}-opp", amount=Decimal(1)),
        now=NOW,
    )
    create_activity(
        session,
        actor=rep,
        data=ActivityCreate(kind="note", subject=f"{tag}-note", customer_id=mine.id),
        now=NOW,
    )
    create_ticket(
        session,
        actor=rep,
        data=TicketCreate(customer_id=mine.id, kind="repair", subject=f"{tag}-ticket"),
        now=NOW,
    )
    create_document(
        session,
        actor=rep,
        data=DocumentCreate(
            kind="quote",
            customer_id=mine.id,
            issued_on=NOW.date(),
            lines=[{"product": "x", "quantity": "1", "unit_price": "1"}],
        ),  # type: ignore[list-item]
        now=NOW,
    )
    save_script(
        session, actor=head, data=ScriptIn(title=f"{tag}-script", body="话术"), now=NOW + timedelta(seconds=1)
    )


@pytest.fixture
def two_books(session: Session, org: Org) -> Org:
    _book(session, org.a, org.head, org.rep1, "A")
    _book(session, org.b, org.head_b, org.rep_b, "BB")
    return org


def _expected(org: Org, who: str) -> set[int]:
    return {
        "head": {org.a.id},
        "admin": {org.a.id},
        "rep1": {org.a.id},
        "rep2": {org.a.id},
        "head_b": {org.b.id},
        "executive": {org.a.id, org.b.id},
        "sysadmin": set(),
    }[who]


ROLES = ["head", "admin", "rep1", "rep2", "head_b", "executive", "sysadmin"]


def test_every_list_is_scoped(client, factory: Factory, two_books: Org) -> None:  # type: ignore[no-untyped-def]
    for who in ROLES:
        _check_lists(client, factory, two_books, who)


def _check_lists(client, factory: Factory, org: Org, who: str) -> None:  # type: ignore[no-untyped-def]
    actor = getattr(org, who)
    headers = factory.headers(actor)
    for path in LISTS:
        response = client.get(f"/api/v1/{path}?limit=500", headers=headers)
        assert response.status_code == 200, (path, response.text)
        items = response.json()["items"]
        assert {i["division_id"] for i in items} <= _expected(org, who), path
        if who == "rep2":  # owns nothing: sees only unowned rows (pool customers, the division's scripts)
            assert all(i.get("owner_id", i.get("assignee_id")) in (None, actor.id) for i in items), path
    if who == "executive":
        counts = {p: len(client.get(f"/api/v1/{p}", headers=headers).json()["items"]) for p in LISTS}
        assert counts == {
            "customers": 4,
            "leads": 2,
            "opportunities": 2,
            "activities": 2,
            "tickets": 2,
            "sales-documents": 2,
            "scripts": 2,
        }


def test_every_export_is_scoped_and_masked(client, factory: Factory, two_books: Org) -> None:  # type: ignore[no-untyped-def]
    for who in ROLES:
        _check_exports(client, factory, two_books, who)


def _check_exports(client, factory: Factory, org: Org, who: str) -> None:  # type: ignore[no-untyped-def]
    headers = factory.headers(getattr(org, who))
    for kind in EXPORTS:
        response = client.get(f"/api/v1/{kind}/export?format=csv", headers=headers)
        assert response.status_code == 200, (kind, response.text)
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        text = response.content.decode("utf-8-sig")
        if who == "sysadmin":
            assert rows == [], kind
        if who in ("head", "rep1", "rep2"):
            assert "BB-" not in text, kind
        if who == "head_b":
            assert "A-" not in text, kind
        if kind == "customers" and who == "rep2":
            assert [r["电话"] for r in rows if r["客户名称"] == "A-pool"] == ["+86 139****0001"]
            assert "A-rep" not in text
        if kind == "leads" and who == "head":
            assert rows[0]["电话"] == "+8613700000001"  # managers see full numbers (the export is audited)
        if kind == "customers" and who == "rep1":
            assert {r["客户名称"]: r["电话"] for r in rows} == {
                "A-rep": "+8613800000001",
                "A-pool": "+86 139****0001",
            }
        if kind == "customers" and who == "head":
            assert {r["客户名称"]: r["电话"] for r in rows} == {
                "A-rep": "+8613800000001",
                "A-pool": "+8613900000001",
            }
