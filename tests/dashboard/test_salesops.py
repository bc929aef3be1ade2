"""Sales-ops pages (settings, import, export) without a browser: who may open them, division
isolation, both languages, and the import/export APIs they use fed bad and hostile files over
real HTTP."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.customers import Customer
from crm.org import Role
from dashboard.nav import nav_for
from server.config import Settings
from tests.factories import Factory

PAGES = (
    "/settings/pipelines",
    "/settings/lost-reasons",
    "/settings/pools",
    "/settings/targets",
    "/import",
    "/export",
)
IMPORT_LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small import limit, so that the oversized upload is quick to send."""
    return settings.model_copy(update={"max_import_bytes": IMPORT_LIMIT})


@pytest.mark.parametrize("role", [Role.executive, Role.division_head, Role.division_admin])
def test_managers_open_every_sales_ops_page(client: TestClient, factory: Factory, role: Role) -> None:
    user = factory.user(role, factory.division("华东") if role is not Role.executive else None)
    if role is Role.executive:
        factory.division("华东")
    assert {"settings", "import", "export"} <= {item.key for item in nav_for(user)}
    headers = factory.headers(user)
    for path in PAGES:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:300])
    assert (
        client.get("/settings", headers=headers, follow_redirects=False).headers["location"]
        == "/settings/pipelines"
    )


@pytest.mark.parametrize("role", [Role.rep, Role.sysadmin])
def test_reps_and_system_admins_get_no_entry_and_403(
    client: TestClient, factory: Factory, role: Role
) -> None:
    user = factory.user(role)
    assert not {"settings", "import", "export"} & {item.key for item in nav_for(user)}
    headers = factory.headers(user)
    for path in (*PAGES, "/settings"):
        response = client.get(path, headers=headers, follow_redirects=False)
        assert response.status_code == 403, path
        assert "text/html" in response.headers["content-type"]
    assert client.get("/settings/pools", follow_redirects=False).status_code in (302, 303, 307)


def test_a_division_admin_sees_only_their_division(client: TestClient, factory: Factory) -> None:
    east, south = factory.division("华东"), factory.division("华南")
    admin = factory.user(Role.division_admin, east)
    executive = factory.user(Role.executive)
    for user in (factory.user(Role.division_head, south), executive):  # both divisions get their default pool
        client.get("/settings/pools", headers=factory.headers(user))
    client.get(f"/settings/pools?division={south.id}", headers=factory.headers(executive))
    headers = factory.headers(admin)
    own = client.get("/settings/pools", headers=headers)
    assert own.status_code == 200 and "华东" in own.text and "华南" not in own.text
    assert 'name="division"' not in own.text  # no division picker
    for path in PAGES[:4]:
        assert client.get(f"{path}?division={south.id}", headers=headers).status_code == 404, path
    # executives pick any division
    chosen = client.get(f"/settings/lost-reasons?division={south.id}", headers=factory.headers(executive))
    assert chosen.status_code == 200 and f'<option value="{south.id}" selected>' in chosen.text


def test_pages_say_it_in_both_languages(client: TestClient, factory: Factory) -> None:
    head = factory.user(Role.division_head)
    headers = factory.headers(head)
    chinese = "".join(client.get(path, headers=headers).text for path in PAGES)
    for word in ("销售阶段", "输单原因", "公海规则", "销售目标", "预览", "导出", "赢单概率"):
        assert word in chinese, word
    client.post("/locale", data={"locale": "en", "next": "/"}, headers=headers, follow_redirects=False)
    english = "".join(client.get(path, headers=headers).text for path in PAGES)
    for word in ("Pipeline stages", "Lost reasons", "Public-pool rules", "Targets", "Preview", "Download"):
        assert word in english, word
    assert "销售阶段" not in english


def test_pipeline_settings_show_stages_and_what_they_hold(client: TestClient, factory: Factory) -> None:
    head = factory.user(Role.division_head)
    headers = factory.headers(head)
    pipeline = client.get("/api/v1/pipelines", headers=headers).json()[0]
    stage = pipeline["stages"][0]
    customer = client.post("/api/v1/customers", json={"name": "阶段客户"}, headers=headers).json()
    made = client.post(
        "/api/v1/opportunities",
        json={"customer_id": customer["id"], "name": "项目", "amount": "1000", "pipeline_id": pipeline["id"]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    page = client.get("/settings/pipelines", headers=headers).text
    assert f'data-stage="{stage["id"]}"' in page and stage["name"] in page
    assert page.count('name="move_to"') == 1  # only the stage that holds an opportunity asks where they go


def test_bad_month_on_the_targets_page(client: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.division_head))
    assert client.get("/settings/targets?month=2026-13", headers=headers).status_code == 400
    assert client.get("/settings/targets?month=soon", headers=headers).status_code in (400, 422)
    assert client.get("/settings/pools?division=abc", headers=headers).status_code in (400, 422)


def test_error_catalogue_endpoint(client: TestClient) -> None:
    zh = client.get("/locale/errors.json?lang=zh")
    assert zh.status_code == 200 and zh.json()["pool.claim.cooldown"].startswith("您最近放弃过该客户")
    assert (
        client.get("/locale/errors.json?lang=zh", headers={"If-None-Match": zh.headers["etag"]}).status_code
        == 304
    )
    en = client.get("/locale/errors.json?lang=en").json()
    assert en["pool.claim.daily_cap"] == "Daily claim limit reached ({cap} a day)."
    assert client.get("/locale/errors.json?lang=xx").json() == zh.json()  # unknown: the default, Chinese


# --- import and export over real HTTP -------------------------------------------------------------


@pytest.fixture
def http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


def _upload(
    http: httpx.Client, headers: dict[str, str], name: str, content: bytes, **options: object
) -> httpx.Response:
    return http.post(
        "/api/v1/import",
        files={"file": (name, content)},
        data={"options": json.dumps({"kind": "customers", **options})},
        headers=headers,
    )


def test_import_refuses_bad_files_with_a_coded_4xx(http: httpx.Client, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.division_admin))
    cases = {
        "malformed.xlsx": (b"PK\x03\x04 this is not a workbook", "import.xlsx_unreadable"),
        "truncated.xlsx": (_xlsx([["客户名称"], ["甲"]])[:200], "import.xlsx_unreadable"),
        "columns.csv": (b"foo,bar\n1,2\n", "import.no_header"),
        "binary.csv": (b"\xff\xfe\x00\x81\x82" * 10, "import.csv_encoding"),
        "legacy.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "import.file_type"),
    }
    for name, (content, code) in cases.items():
        response = _upload(http, headers, name, content)
        assert response.status_code == 400, (name, response.text)
        body = response.json()
        assert (body["code"], body["field"]) == (code, "file"), name
        assert body["detail"]
    wrong_mapping = _upload(http, headers, "ok.csv", "客户名称\n甲\n".encode(), mapping={"name": "公司全称"})
    assert wrong_mapping.status_code == 400 and wrong_mapping.json()["code"] == "import.no_such_column"
    assert wrong_mapping.json()["params"] == {"header": "公司全称"}


def test_import_over_the_limit_is_413_and_writes_nothing(
    http: httpx.Client, factory: Factory, session: Session
) -> None:
    headers = factory.headers(factory.user(Role.division_admin))
    big = ("客户名称\n" + "".join(f"客户{i:06d}\n" for i in range(IMPORT_LIMIT // 8))).encode()
    assert len(big) > IMPORT_LIMIT
    response = _upload(http, headers, "big.csv", big, dry_run=False)
    assert response.status_code == 413
    assert session.exec(select(Customer)).first() is None


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HOSTILE = (
    '=HYPERLINK("http://evil.example","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
)


def test_exports_neutralise_formula_cells_and_are_audited(
    http: httpx.Client, factory: Factory, session: Session
) -> None:
    division = factory.division()
    admin = factory.user(Role.division_admin, division)
    other = factory.division()
    factory.customer(other, name="别的版块客户")
    headers = factory.headers(admin)
    for name in HOSTILE:
        response = http.post(
            "/api/v1/customers", json={"name": name, "allow_duplicate": True}, headers=headers
        )
        assert response.status_code == 201, response.text
    csv_answer = http.get("/api/v1/customers/export?format=csv", headers=headers)
    assert csv_answer.status_code == 200
    names = [row[1] for row in csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig")))][1:]
    assert len(names) == len(HOSTILE) and "别的版块客户" not in names  # the admin's division only
    assert sorted(names) == sorted("'" + name for name in HOSTILE)
    xlsx_answer = http.get("/api/v1/customers/export?format=xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx_answer.content)).active
    cells = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == len(HOSTILE)
    assert sorted(cells) == sorted("'" + name for name in HOSTILE)
    assert {row[1].data_type for row in sheet.iter_rows(min_row=2)} == {"s"}
    with zipfile.ZipFile(io.BytesIO(xlsx_answer.content)) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()
    audits = session.exec(
        select(AuditLog).where(AuditLog.action == "export", AuditLog.actor_user_id == admin.id)
    ).all()
    assert sorted(a.detail["format"] for a in audits) == ["csv", "xlsx"]
