"""Sales-ops pages in Chromium: a division admin configures stages, lost reasons, pool rules and a
target (refusals shown in Chinese), imports a spreadsheet through the preview, and downloads an
export whose formula-like cells are neutralised."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.org import Role
from server.config import Settings
from tests.factories import Factory

IMPORT_LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_import_bytes": IMPORT_LIMIT})


def _outcome(page, selector: str) -> str:  # type: ignore[no-untyped-def]
    return page.wait_for_selector(f"{selector} .outcome:not(:empty)").inner_text()


def test_a_division_admin_configures_the_division(browse, client: TestClient, factory: Factory, shot) -> None:  # type: ignore[no-untyped-def]
    division = factory.division("华东")
    admin = factory.user(Role.division_admin, division)
    headers = factory.headers(admin)
    page = browse.login(admin)
    browse.expect_console("status of 400")  # the refusals below
    browse.expect_console("status of 409")

    page.goto("/settings")
    page.wait_for_url("**/settings/pipelines")
    assert page.locator(".mainnav a[data-nav=settings].active").count() == 1
    first = page.locator("tr[data-stage]").first
    stage_id = first.get_attribute("data-stage")
    existing = page.locator("tr[data-stage] input[name=name]").nth(1).input_value()
    first.locator("input[name=name]").fill("初步接洽")
    with page.expect_navigation():  # saved: the page reloads (and binds its handlers again)
        first.locator("[data-save-stage]").click()
    page.wait_for_selector(f"tr[data-stage='{stage_id}'] input[value='初步接洽']")
    form = page.locator("form[data-add-stage]")
    form.locator("input[name=name]").fill(existing)
    form.locator("button[type=submit]").click()
    assert _outcome(page, "[data-pipeline]") == "同一销售流程内的阶段名称不能重复。"
    form.locator("input[name=name]").fill("方案确认")
    form.locator("input[name=probability]").fill("40")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_selector("tr[data-stage] input[value='方案确认']")
    stages = client.get("/api/v1/pipelines", headers=headers).json()[0]["stages"]
    assert stages[0]["name"] == "初步接洽" and any(
        s["name"] == "方案确认" and s["probability"] == 40 for s in stages
    )
    second = page.locator("tr[data-stage]").nth(1).get_attribute("data-stage")
    with page.expect_navigation():
        page.locator(f"tr[data-stage='{second}'] [data-move=up]").click()
    page.wait_for_selector(f"tr[data-stage]:first-child[data-stage='{second}']")
    shot(page, "settings-pipelines")

    with page.expect_navigation():
        page.click("a[href^='/settings/lost-reasons']")
    page.fill("#lost-reasons-form textarea", "价格太高\n选择了竞品\n价格太高")
    page.click("#lost-reasons-form button[type=submit]")
    assert _outcome(page, "section") == "输单原因不能重复。"
    page.fill("#lost-reasons-form textarea", "价格太高\n选择了竞品\n")
    with page.expect_navigation():  # saved: the page reloads
        page.click("#lost-reasons-form button[type=submit]")
    saved = client.get(f"/api/v1/divisions/{division.id}/lost-reasons", headers=headers).json()
    assert [r["label"] for r in saved] == ["价格太高", "选择了竞品"]

    with page.expect_navigation():
        page.click("a[href^='/settings/pools']")
    pool_form = page.locator("form.pool-form[data-pool]")
    pool_form.locator("input[name=daily_claim_cap]").fill("3")
    pool_form.locator("input[name=holding_capacity]").fill("")
    with page.expect_navigation():
        pool_form.locator("button[type=submit]").click()
    page.wait_for_selector("form.pool-form[data-pool] input[name=daily_claim_cap][value='3']")
    pool = client.get("/api/v1/pools", headers=headers).json()[0]
    assert (pool["daily_claim_cap"], pool["holding_capacity"]) == (3, None)
    new_pool = page.locator("form.pool-form[data-division]")
    new_pool.locator("input[name=name]").fill(pool["name"])
    new_pool.locator("button[type=submit]").click()
    assert _outcome(page, "section:last-of-type") == "已有同名的公海。"

    with page.expect_navigation():
        page.click("a[href^='/settings/targets']")
    page.select_option("#target-form select[name=metric]", "calls")
    page.fill("#target-form input[name=value]", "120")
    page.click("#target-form button[type=submit]")
    row = page.wait_for_selector("tr[data-target='division-calls']")
    assert "120" in row.inner_text() and "通话次数" in row.inner_text()
    shot(page, "settings-targets")


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_through_the_preview(browse, client: TestClient, factory: Factory, shot) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    head = factory.user(Role.division_head, division)
    page = browse.login(head)
    browse.expect_console("status of 400")  # the malformed file
    page.goto("/import")

    page.set_input_files(
        "#import-form input[type=file]",
        files=[
            {
                "name": "坏文件.xlsx",
                "mimeType": "application/octet-stream",
                "buffer": b"PK\x03\x04 not a workbook",
            }
        ],
    )
    page.click("#import-preview")
    error = page.wait_for_selector("#import-error:not(:empty)").inner_text()
    assert error.startswith("不是可读取的 .xlsx 文件")

    page.set_input_files(
        "#import-form input[type=file]",
        files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": b"x" * (IMPORT_LIMIT + 1)}],
    )
    page.click("#import-preview")
    assert (
        page.wait_for_selector("#import-error:has-text('文件超过')").inner_text() == "文件超过 0.1 MB 的上限"
    )

    sheet = _xlsx(
        [
            ["客户名称", "手机", "等级"],
            ["东方机械", "13912345678", "A"],
            ["无效号码公司", "12345", "B"],
            ["南方贸易", "13987654321", "C"],
        ]
    )
    page.set_input_files(
        "#import-form input[type=file]",
        files=[{"name": "客户.xlsx", "mimeType": "application/octet-stream", "buffer": sheet}],
    )
    page.click("#import-preview")
    page.wait_for_selector("#import-report:not([hidden])")
    assert page.inner_text("#import-title") == "预览：尚未写入"
    assert page.inner_text("#import-mapping tr[data-field=name] td:last-child") == "客户名称"
    assert page.inner_text("#import-mapping tr[data-field=phone] td:last-child") == "手机"
    rows = page.locator("#import-rows tbody tr")
    assert (
        rows.first.get_attribute("data-action") == "rejected" and rows.first.get_attribute("data-row") == "3"
    )
    assert rows.count() == 3
    assert client.get("/api/v1/customers", headers=factory.headers(head)).json()["items"] == []
    shot(page, "import-preview")
    assert page.inner_text("#import-commit") == "导入 2 行"
    page.click("#import-commit")
    page.wait_for_selector("#import-title:has-text('导入完成')")
    names = sorted(
        c["name"] for c in client.get("/api/v1/customers", headers=factory.headers(head)).json()["items"]
    )
    assert names == ["东方机械", "南方贸易"]


def test_export_download_is_neutralised_and_audited(
    browse, client: TestClient, factory: Factory, session: Session
) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    admin = factory.user(Role.division_admin, division)
    hostile = '=HYPERLINK("http://evil.example","点我")'
    made = client.post("/api/v1/customers", json={"name": hostile}, headers=factory.headers(admin))
    assert made.status_code == 201, made.text
    page = browse.login(admin)
    page.goto("/export")
    with page.expect_download() as info:
        page.click("tr[data-kind=customers] a[data-format=csv]")
    download = info.value
    assert download.suggested_filename.startswith("customers-") and download.suggested_filename.endswith(
        ".csv"
    )
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert rows[1][1] == "'" + hostile
    audit = session.exec(
        select(AuditLog).where(AuditLog.action == "export", AuditLog.actor_user_id == admin.id)
    ).one()
    assert audit.detail["rows"] == 1 and audit.target_type == "customers"
