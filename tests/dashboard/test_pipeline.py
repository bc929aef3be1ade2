"""Pipeline board: dragging a card changes the stage for good (history kept); lost asks why; the list view."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.org import Role
from crm.pipeline import Opportunity, OpportunityStatus, StageChange
from tests.dashboard.conftest import wait_until
from tests.factories import Factory


def _opportunities(client: TestClient, factory: Factory, rep, names: list[str]) -> list[dict]:  # type: ignore[no-untyped-def]
    headers = factory.headers(rep)
    customer = client.post("/api/v1/customers", json={"name": "宁波港机械有限公司"}, headers=headers)
    assert customer.status_code == 201, customer.text
    made = []
    for i, name in enumerate(names):
        response = client.post(
            "/api/v1/opportunities",
            json={"customer_id": customer.json()["id"], "name": name, "amount": str(10000 * (i + 1))},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def test_drag_cards_between_stages(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, session: Session, shot
) -> None:
    division = factory.division()
    rep, head = factory.user(Role.rep, division), factory.user(Role.division_head, division)
    won_deal, lost_deal, _ = _opportunities(client, factory, rep, ["起重机采购", "叉车租赁", "配件年框"])
    reasons = client.put(
        f"/api/v1/divisions/{division.id}/lost-reasons",
        json={"reasons": ["价格太高", "选择竞品"]},
        headers=factory.headers(head),
    )
    assert reasons.status_code == 200, reasons.text
    stages = client.get("/api/v1/pipeline/stages", headers=factory.headers(head)).json()
    quote = next(s for s in stages if s["position"] == 2)
    lost = next(s for s in stages if s["is_lost"])

    page = browse.login(head)
    page.goto("/pipeline")
    card = f".card[data-opportunity='{won_deal['id']}']"
    assert page.locator(f".column[data-stage='{stages[0]['id']}'] {card}").count() == 1
    page.drag_and_drop(card, f".column[data-stage='{quote['id']}']")
    page.wait_for_selector(f".column[data-stage='{quote['id']}'] {card}")
    page.wait_for_selector(".toast.ok")
    assert page.inner_text(f".column[data-stage='{quote['id']}'] [data-count]") == "1"
    page.reload()
    assert page.locator(f".column[data-stage='{quote['id']}'] {card}").count() == 1

    # a lost stage needs a reason: cancelling keeps the card where it is
    other = f".card[data-opportunity='{lost_deal['id']}']"
    page.drag_and_drop(other, f".column[data-stage='{lost['id']}']")
    page.wait_for_selector("#lost-dialog[open]")
    page.click("#lost-cancel")
    assert page.locator(f".column[data-stage='{lost['id']}'] {other}").count() == 0
    page.drag_and_drop(other, f".column[data-stage='{lost['id']}']")
    page.select_option("#lost-dialog select", label="选择竞品")
    page.fill("#lost-dialog textarea", "价格差 8%")
    page.click("#lost-form button[type=submit]")
    page.wait_for_selector(f".column[data-stage='{lost['id']}'] {other}")

    page.click(f"{card} .card-name")
    wait_until(page, "document.querySelectorAll('#opp-history li').length === 2")
    assert "→" in page.inner_text("#opp-history")
    shot(page, "pipeline-board")

    session.expire_all()
    moved = session.get(Opportunity, won_deal["id"])
    assert moved.stage_id == quote["id"]  # type: ignore[union-attr]
    closed = session.get(Opportunity, lost_deal["id"])
    assert closed.status == OpportunityStatus.lost and closed.lost_reason == "选择竞品: 价格差 8%"  # type: ignore[union-attr]
    history = session.exec(select(StageChange).where(StageChange.opportunity_id == won_deal["id"])).all()
    assert [(h.from_stage_id, h.to_stage_id) for h in history] == [
        (None, stages[0]["id"]),
        (stages[0]["id"], quote["id"]),
    ]

    # the list view, filtered, in English
    page.click("button[value=en]")
    page.goto("/pipeline?view=list")
    page.select_option("select[name=status]", "lost")
    page.click("form.toolbar button.primary")
    rows = page.locator("#opportunity-table tbody tr")
    assert rows.count() == 1 and "lost" in rows.inner_text() and "价格差" in rows.inner_text()
    shot(page, "pipeline-list")


def test_a_rep_cannot_move_a_colleagues_opportunity(client: TestClient, factory: Factory) -> None:
    division = factory.division()
    owner, colleague = factory.user(Role.rep, division), factory.user(Role.rep, division)
    (deal,) = _opportunities(client, factory, owner, ["独家代理"])
    history = client.get(f"/pipeline/opportunities/{deal['id']}/history", headers=factory.headers(colleague))
    assert history.status_code == 404
