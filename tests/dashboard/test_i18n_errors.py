"""A refusal by the services is shown in the user's language: the page words it from the error's
code and params (the API's English ``detail`` stays for API clients)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crm.org import Role
from tests.factories import Factory


def test_a_pool_rule_refusal_is_shown_in_chinese_then_english(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, shot
) -> None:
    division = factory.division()
    head = factory.user(Role.division_head, division)
    rep = factory.user(Role.rep, division)
    made = client.post(
        "/api/v1/customers", json={"name": "冷却期客户", "to_pool": True}, headers=factory.headers(head)
    )
    assert made.status_code == 201, made.text
    customer = made.json()["id"]
    headers = factory.headers(rep)
    assert client.post(f"/api/v1/customers/{customer}/claim", headers=headers).status_code == 200
    released = client.post(
        "/api/v1/customers/release", json={"customer_ids": [customer], "note": "暂不跟进"}, headers=headers
    )
    assert released.status_code == 200, released.text
    refused = client.post(f"/api/v1/customers/{customer}/claim", headers=headers).json()
    assert refused["code"] == "pool.claim.cooldown" and refused["detail"].startswith(
        "you gave this customer up"
    )

    page = browse.login(rep)
    browse.expect_console("status of 409")  # the refused claims
    page.goto("/pool")
    page.click(f"[data-claim='{customer}']")
    outcome = page.wait_for_selector(f"tr[data-customer='{customer}'] [data-refused=rule]").inner_text()
    assert f"您最近放弃过该客户，{refused['params']['until']} 之后才能再次领取。" in outcome
    assert "you gave" not in outcome
    shot(page, "pool-refusal-zh")

    page.click(".lang button[value=en]")
    page.wait_for_selector("html[lang=en]")
    page.click(f"[data-claim='{customer}']")
    english = page.wait_for_selector(
        f"tr[data-customer='{customer}'] [data-refused=rule]:has-text('You gave')"
    ).inner_text()
    assert (
        f"You gave this customer up recently; you may claim it again after {refused['params']['until']}."
        in english
    )
