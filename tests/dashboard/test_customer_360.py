"""Customer 360: profile with masked numbers and audited unmasking, and the timeline with a playable recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.org import Role
from tests.dashboard.conftest import wait_until
from tests.factories import Factory

AUDIO = Path(__file__).parents[1] / "data" / "capture" / "audio" / "call_500ms.wav"
NUMBER = "13812345678"


def _customer_with_phone(client: TestClient, factory: Factory, rep) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/customers",
        json={
            "name": "杭州西湖茶业有限公司",
            "tags": ["茶叶", "重点"],
            "contacts": [{"name": "王经理", "title": "采购", "phones": [{"number": NUMBER}]}],
        },
        headers=factory.headers(rep),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_timeline_scrolls_and_plays_a_recording(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, session: Session, phones, shot
) -> None:
    division = factory.division()
    rep = factory.user(Role.rep, division)
    head = factory.user(Role.division_head, division)
    customer_id = _customer_with_phone(client, factory, rep)
    token = phones.phone(rep)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    calls = [
        {
            "source_id": k,
            "number": NUMBER,
            "occurred_at": (start + timedelta(minutes=10 * k)).isoformat(),
            "duration": 60 + k,
            "type_code": 2,
        }
        for k in range(1, 41)
    ]
    phones.post(token, "/api/v1/ingest/calls", {"records": calls})
    texts = [
        {
            "source_id": k,
            "address": NUMBER,
            "body": f"王经理您好，第{k}次报价已发送",
            "type_code": 2,
            "occurred_at": (start + timedelta(minutes=10 * k + 1)).isoformat(),
        }
        for k in range(1, 6)
    ]
    phones.post(token, "/api/v1/ingest/sms", {"records": texts})
    last_call = start + timedelta(minutes=400)
    phones.recording(
        token, AUDIO.read_bytes(), f"通话录音@王经理({NUMBER})_{last_call:%Y%m%d%H%M%S}.wav", last_call
    )

    page = browse.login(head)
    page.goto(f"/customers/{customer_id}")
    assert page.inner_text("h1") == "杭州西湖茶业有限公司"
    # a division head sees the number masked until they ask (and that is audited)
    assert NUMBER not in page.inner_text("[data-contact]")
    page.click("#unmask")
    page.wait_for_selector(f"[data-contact] .phones:has-text('+86{NUMBER}')")
    wait_until(page, "document.querySelectorAll('#timeline > li').length >= 30")
    page.locator("#timeline-more").scroll_into_view_if_needed()
    # 40 calls, 5 SMS and the ownership event of the customer's creation
    wait_until(page, "document.querySelectorAll('#timeline > li').length === 46")
    audio = page.locator("#timeline audio").first
    audio.scroll_into_view_if_needed()
    page.evaluate("document.querySelector('#timeline audio').play()")
    wait_until(page, "document.querySelector('#timeline audio').readyState >= 2")
    assert page.evaluate("document.querySelector('#timeline audio').duration") > 0.4
    page.check("#timeline-filters input[value=sms]")
    wait_until(page, "document.querySelectorAll('#timeline > li').length === 5")
    assert page.locator("#timeline > li[data-kind=call]").count() == 0
    shot(page, "customer-360", full_page=False)
    actions = set(session.exec(select(AuditLog.action).where(AuditLog.actor_user_id == head.id)))
    assert {"customer.unmask", "recording.play"} <= actions


def test_reps_never_see_a_colleagues_customer(client: TestClient, factory: Factory) -> None:
    division = factory.division()
    owner, colleague = factory.user(Role.rep, division), factory.user(Role.rep, division)
    customer_id = _customer_with_phone(client, factory, owner)
    response = client.get(f"/customers/{customer_id}", headers=factory.headers(colleague))
    assert response.status_code == 404
    own = client.get(f"/customers/{customer_id}", headers=factory.headers(owner)).text
    assert f"+86{NUMBER}" in own and 'id="unmask"' not in own


def test_customer_list_filters_and_masks(client: TestClient, factory: Factory) -> None:
    division = factory.division()
    rep, head = factory.user(Role.rep, division), factory.user(Role.division_head, division)
    _customer_with_phone(client, factory, rep)
    factory.customer(division, name="无关客户")
    page = client.get("/customers?q=西湖", headers=factory.headers(head)).text
    assert "杭州西湖茶业有限公司" in page and "无关客户" not in page
    assert "138****5678" in page
