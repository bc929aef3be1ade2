"""Alerts: a captured SMS with a keyword shows with its context, a customer's entry deleted from a phone
with its name; both lead to the customer's timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from crm.org import Division, Role, User
from tests.dashboard.conftest import wait_until
from tests.factories import Factory

NUMBER = "13712345678"


def _customer_of_a_rep(
    client: TestClient, factory: Factory, name: str, contact: str
) -> tuple[Division, User, User, dict]:
    """A division with a rep and its head, and a customer of the rep whose contact has ``NUMBER``."""
    division = factory.division()
    rep, head = factory.user(Role.rep, division), factory.user(Role.division_head, division)
    customer = client.post(
        "/api/v1/customers",
        json={"name": name, "contacts": [{"name": contact, "phones": [{"number": NUMBER}]}]},
        headers=factory.headers(rep),
    ).json()
    return division, rep, head, customer


def _alerts_page_with_one_open(browse, head: User):  # type: ignore[no-untyped-def]
    """The head's /alerts page, once its navigation counts the one open alert; and that count."""
    page = browse.login(head)
    page.goto("/alerts")
    badge = page.locator(".mainnav a[data-nav=alerts] #open-alerts")
    badge.wait_for()
    assert (badge.inner_text(), badge.get_attribute("title")) == ("1", "1 条未处理")
    return page, badge


def test_alert_links_to_the_customer_timeline(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, phones, shot
) -> None:
    division, rep, head, customer = _customer_of_a_rep(client, factory, "无锡纺织集团", "赵总")
    token = phones.phone(rep)
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    texts = [
        {
            "source_id": 1,
            "address": NUMBER,
            "body": "赵总，这批货给您最低价，别跟公司说",
            "type_code": 2,
            "occurred_at": sent.isoformat(),
        },
        {
            "source_id": 2,
            "address": NUMBER,
            "body": "明天上午十点到厂里",
            "type_code": 2,
            "occurred_at": (sent + timedelta(minutes=5)).isoformat(),
        },
    ]
    phones.post(token, "/api/v1/ingest/sms", {"records": texts})

    page, badge = _alerts_page_with_one_open(browse, head)
    row = page.locator("#alert-table tbody tr")
    assert row.count() == 1
    assert row.locator("mark").inner_text() == "最低价"
    assert "别跟公司说" in row.locator(".context").inner_text()
    shot(page, "alerts")
    row.locator("a.customer-link").click()
    page.wait_for_url(f"**/customers/{customer['id']}?kinds=sms#timeline")
    assert page.is_checked("#timeline-filters input[value=sms]")
    wait_until(page, "document.querySelectorAll('#timeline > li[data-kind=sms]').length === 2")
    assert "最低价" in page.inner_text("#timeline")

    page.goto("/alerts")
    page.click("[data-ack]")
    page.wait_for_selector("[data-ack]", state="detached")
    badge.wait_for(state="hidden")  # the count follows the acknowledgement
    page.goto("/alerts")
    assert page.locator("#alert-table").count() == 0
    page.goto("/alerts?status=acknowledged")
    assert page.locator("#alert-table tbody tr").count() == 1

    # keywords of the division: dropping 最低价 stops new alerts for it
    page.fill("#keywords-form input[name=keywords]", "回扣, 私单")
    page.click("#keywords-form button")
    page.wait_for_selector(".toast.ok")
    keywords = client.get(f"/api/v1/alerts/keywords/{division.id}", headers=factory.headers(head)).json()
    assert keywords["keywords"] == ["回扣", "私单"]


def test_a_customers_entry_deleted_from_a_phone_shows_as_an_alert(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, phones
) -> None:
    _, rep, head, customer = _customer_of_a_rep(client, factory, "常州机电", "钱总")
    token = phones.phone(rep)
    entry = {"source_id": 7, "name": "钱总", "company": "常州机电", "numbers": [{"number": NUMBER}]}
    phones.post(token, "/api/v1/ingest/contacts", {"records": [entry]})
    phones.post(token, "/api/v1/ingest/contacts", {"records": [{"source_id": 7, "deleted": True}]})

    page, _ = _alerts_page_with_one_open(browse, head)
    row = page.locator("#alert-table tbody tr")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[:4] == ["删除客户联系人", "钱总 · 常州机电", "手机通讯录", "常州机电"]
    assert row.locator("mark").count() == 0
    page.click("#alert-kinds a:has-text('关键词')")
    page.wait_for_url("**/alerts?kind=keyword")
    assert page.locator("#alert-table").count() == 0
    page.click("#alert-kinds a:has-text('删除客户联系人')")
    page.wait_for_url("**/alerts?kind=contact_deleted")
    row = page.locator("#alert-table tbody tr")
    assert row.count() == 1
    row.locator("a.customer-link").click()
    page.wait_for_url(f"**/customers/{customer['id']}#timeline")
    wait_until(page, "document.querySelectorAll('#timeline > li[data-kind=contact_deleted]').length === 1")
    assert "从手机删除" in page.inner_text("#timeline li[data-kind=contact_deleted]")
