"""The customer API over HTTP: create, duplicate refusal, bad input, scoped lists and audited exports."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from crm.audit import AuditLog
from tests.crm.conftest import Org, make_customer
from tests.factories import Factory


def test_create_then_duplicate_is_refused_with_409(client: TestClient, factory: Factory, org: Org) -> None:
    headers = factory.headers(org.rep1)
    body = {
        "name": "北京远航物流有限公司",
        "contacts": [{"name": "李总", "phones": [{"number": "13912345678"}]}],
    }
    created = client.post("/api/v1/customers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["contacts"][0]["phones"][0]["number"] == "+8613912345678"
    again = client.post("/api/v1/customers", json={**body, "name": "远航"}, headers=factory.headers(org.rep2))
    assert again.status_code == 409
    assert "phone" in again.json()["detail"] and again.json()["field"] == "name"
    check = client.post("/api/v1/customers/duplicates", json=body, headers=headers).json()
    assert check[0]["customer_id"] == created.json()["id"] and check[0]["visible"]


def test_bad_input_is_a_4xx_naming_the_field(client: TestClient, factory: Factory, org: Org) -> None:
    headers = factory.headers(org.rep1)
    bad_phone = {"name": "x", "contacts": [{"name": "y", "phones": [{"number": "abc"}]}]}
    response = client.post("/api/v1/customers", json=bad_phone, headers=headers)
    assert response.status_code == 400 and response.json()["field"] == "contacts.0.phones.0"
    response = client.post("/api/v1/customers", json={"name": "x", "colour": "red"}, headers=headers)
    assert response.status_code == 422 and response.json()["field"] == "colour"
    response = client.get("/api/v1/customers?sort=bogus", headers=headers)
    assert response.status_code == 400 and response.json()["field"] == "sort"
    assert client.get("/api/v1/customers/999999", headers=headers).status_code == 404


def test_list_pages_with_cursor(client: TestClient, factory: Factory, session: Session, org: Org) -> None:
    for i in range(7):
        make_customer(session, org.rep1, f"客户{i}")
    headers = factory.headers(org.rep1)
    first = client.get("/api/v1/customers?limit=4&sort=name", headers=headers).json()
    second = client.get(
        f"/api/v1/customers?limit=4&sort=name&cursor={first['next_cursor']}", headers=headers
    ).json()
    names = [c["name"] for c in first["items"] + second["items"]]
    assert names == [f"客户{i}" for i in range(7)] and second["next_cursor"] is None


def test_export_is_scoped_masked_and_audited(
    client: TestClient, factory: Factory, session: Session, org: Org
) -> None:
    make_customer(session, org.rep1, "我的客户", phone="13800000001")
    make_customer(session, org.head, "公海客户", phone="13800000002", to_pool=True)
    make_customer(session, org.rep2, "别人的客户", phone="13800000003")
    make_customer(session, org.rep_b, "另一版块", phone="13800000004")

    response = client.get("/api/v1/customers/export?format=csv", headers=factory.headers(org.rep1))
    assert response.status_code == 200 and response.headers["x-row-count"] == "2"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    phones = {r["客户名称"]: r["电话"] for r in rows}
    assert phones == {"我的客户": "+8613800000001", "公海客户": "+86 138****0002"}

    response = client.get("/api/v1/customers/export?format=xlsx&grade=C", headers=factory.headers(org.head))
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][1] == "客户名称" and sorted(r[1] for r in values[1:]) == [
        "公海客户",
        "别人的客户",
        "我的客户",
    ]
    assert "+8613800000003" in {r[9] for r in values[1:]}

    audits = session.exec(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
    assert [(a.actor_user_id, a.detail["rows"]) for a in audits] == [(org.rep1.id, 2), (org.head.id, 3)]
    assert audits[1].detail["filters"] == {"grade": ["C"]}
    assert (
        client.get("/api/v1/customers/export?format=pdf", headers=factory.headers(org.head)).status_code
        == 400
    )
