"""Public pool page: masked numbers, claiming (it leaves the pool), the rules' answer, a race, assigning."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crm.org import Role
from tests.factories import Factory

NUMBERS = ("13900001111", "13900002222", "13900003333", "13900004444")


def _pool_customers(client: TestClient, factory: Factory, head) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for i, number in enumerate(NUMBERS):
        response = client.post(
            "/api/v1/customers",
            json={
                "name": f"公海客户{i}号",
                "to_pool": True,
                "contacts": [{"name": "联系人", "phones": [{"number": number}]}],
            },
            headers=factory.headers(head),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_claim_cap_race_and_assign(browse, client: TestClient, factory: Factory, shot) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    head = factory.user(Role.division_head, division)
    rep, rival = factory.user(Role.rep, division), factory.user(Role.rep, division)
    first, second, third, fourth = _pool_customers(client, factory, head)
    pool = client.get("/api/v1/pools", headers=factory.headers(head)).json()[0]
    capped = client.patch(
        f"/api/v1/pools/{pool['id']}", json={"daily_claim_cap": 1}, headers=factory.headers(head)
    )
    assert capped.status_code == 200, capped.text

    page = browse.login(rep)
    browse.expect_console("status of 409")  # the refused claims
    page.goto("/pool")
    table = page.inner_text("#pool-table")
    assert "139****1111" in table and NUMBERS[0] not in table
    assert "1 / 1" not in page.inner_text("#claimed-today")
    page.click(f"[data-claim='{first}']")
    page.wait_for_selector(f"tr[data-customer='{first}']", state="detached")
    assert page.inner_text("#claimed-today b") == "1"
    page.click(f"[data-claim='{second}']")
    refused = page.wait_for_selector(f"tr[data-customer='{second}'] [data-refused=rule]")
    assert "达到每日上限" in refused.inner_text()
    shot(page, "pool")

    # someone else is faster while the page is open
    taken = client.post(f"/api/v1/customers/{third}/claim", headers=factory.headers(rival))
    assert taken.status_code == 200, taken.text
    page.click(f"[data-claim='{third}']")
    page.wait_for_selector(f"tr.taken[data-customer='{third}'] [data-refused=taken]")

    page.reload()
    assert page.locator(f"tr[data-customer='{first}']").count() == 0
    assert page.locator(f"#mine input[value='{first}']").count() == 1
    page.goto(f"/customers/{first}")
    assert f"+86{NUMBERS[0]}" in page.inner_text("[data-contact] .phones")

    manager = browse.login(head)
    manager.goto("/pool")
    manager.check(f"#pool-table .pick[value='{fourth}']")
    manager.select_option("#assign-to", str(rep.id))
    manager.click("#assign")
    manager.wait_for_selector(f"tr[data-customer='{fourth}']", state="detached")
    assert manager.locator(f"tr[data-customer='{second}']").count() == 1
    owner = client.get(f"/api/v1/customers/{fourth}", headers=factory.headers(head)).json()["owner_id"]
    assert owner == rep.id


def test_release_back_to_the_pool(browse, client: TestClient, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    rep = factory.user(Role.rep, division)
    mine = client.post("/api/v1/customers", json={"name": "不再跟进的客户"}, headers=factory.headers(rep))
    assert mine.status_code == 201, mine.text
    page = browse.login(rep)
    page.goto("/pool")
    assert page.locator("#pool-table").count() == 0
    page.check(f"#mine input[value='{mine.json()['id']}']")
    page.fill("#release-form input[name=note]", "客户已倒闭")
    page.click("#release-form button[type=submit]")
    page.wait_for_selector(f"tr[data-customer='{mine.json()['id']}']")
