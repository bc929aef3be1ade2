"""Reports: the charts and tables show the numbers that went in — deals, captured calls, a check-in,
a target and receivables — for a manager; a rep sees only their own row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from crm.org import Role
from tests.factories import Factory

SITE = (31.2304, 121.4737)


def _post(client: TestClient, path: str, body: object, headers: dict[str, str], method: str = "POST") -> dict:
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


def test_reports_draw_the_seeded_numbers(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, phones, shot
) -> None:
    division = factory.division()
    head = factory.user(Role.division_head, division)
    star, other = factory.user(Role.rep, division), factory.user(Role.rep, division)
    hh, sh, oh = factory.headers(head), factory.headers(star), factory.headers(other)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start = today - timedelta(days=3)

    customer = _post(
        client,
        "/api/v1/customers",
        {
            "name": "常州新材料",
            "addresses": [{"address": "常州市新北区", "lat": SITE[0], "lon": SITE[1], "is_primary": True}],
        },
        sh,
    )
    deals = [
        _post(
            client,
            "/api/v1/opportunities",
            {"customer_id": customer["id"], "name": f"订单{i}", "amount": str(amount)},
            sh,
        )
        for i, amount in enumerate((10000, 20000, 30000))
    ]
    stages = client.get("/api/v1/pipeline/stages", headers=hh).json()
    won, lost = next(s for s in stages if s["is_won"]), next(s for s in stages if s["is_lost"])
    _post(client, f"/api/v1/opportunities/{deals[0]['id']}/stage", {"stage_id": won["id"]}, hh)
    _post(
        client,
        f"/api/v1/opportunities/{deals[1]['id']}/stage",
        {"stage_id": lost["id"], "lost_reason": "预算取消"},
        hh,
    )
    other_customer = _post(client, "/api/v1/customers", {"name": "其他客户"}, oh)
    _post(
        client,
        "/api/v1/opportunities",
        {"customer_id": other_customer["id"], "name": "小单", "amount": "500"},
        oh,
    )

    now = datetime.now(UTC).replace(microsecond=0)
    for rep, durations in ((star, (60, 120, 180)), (other, (30,))):
        calls = [
            {
                "source_id": k,
                "number": "13600000000",
                "occurred_at": (now - timedelta(minutes=10 + k)).isoformat(),
                "duration": d,
                "type_code": 2,
            }
            for k, d in enumerate(durations)
        ]
        phones.post(phones.phone(rep), "/api/v1/ingest/calls", {"records": calls})
    _post(
        client,
        "/api/v1/checkins",
        {"customer_id": customer["id"], "lat": SITE[0], "lon": SITE[1], "accuracy_m": 10},
        sh,
    )
    month = start.replace(day=1).isoformat()
    _post(
        client,
        "/api/v1/targets",
        {"division_id": division.id, "user_id": star.id, "month": month, "metric": "calls", "value": "10"},
        hh,
        "PUT",
    )
    contract = _post(
        client,
        "/api/v1/sales-documents",
        {
            "kind": "contract",
            "customer_id": customer["id"],
            "issued_on": (today - timedelta(days=60)).isoformat(),
            "lines": [{"product": "改性塑料", "quantity": "10", "unit_price": "1000"}],
            "installments": [
                {"due_on": (today - timedelta(days=45)).isoformat(), "amount": "6000"},
                {"due_on": (today + timedelta(days=30)).isoformat(), "amount": "4000"},
            ],
        },
        sh,
    )
    _post(client, f"/api/v1/sales-documents/{contract['id']}/status", {"status": "signed"}, sh)

    page = browse.login(head)
    page.goto(f"/reports?start={start.isoformat()}&end={today.isoformat()}")
    assert page.get_attribute("[data-win-rate]", "data-win-rate") == "0.5"
    assert page.get_attribute("[data-won]", "data-won") == "1"
    funnel = page.locator("#funnel svg[data-chart=funnel] g.row")
    assert funnel.first.get_attribute("data-value") == "4.0"  # four opportunities entered the first stage
    star_row = page.locator(f"#leaderboard-table tr[data-rep='{star.id}']")
    assert star_row.locator("td[data-metric=calls]").inner_text() == "3"
    assert star_row.locator("td[data-metric=talk_time_s]").inner_text() == "6分钟"
    assert star_row.locator("td[data-metric=checkins]").inner_text() == "1"
    assert star_row.locator("td[data-metric=won_amount]").inner_text() == "¥10,000.00"
    bars = page.locator("#leaderboard svg[data-chart=leaderboard] g.row")
    assert [bars.nth(i).get_attribute("data-value") for i in range(bars.count())] == ["3.0", "1.0"]
    target = page.locator("#targets svg[data-chart=progress] g.row")
    assert target.get_attribute("data-value") == "0.3" and "3 / 10 (30%)" in (target.text_content() or "")
    ageing = {
        page.locator("#ageing g.row").nth(i).get_attribute("data-label"): page.locator("#ageing g.row")
        .nth(i)
        .get_attribute("data-value")
        for i in range(5)
    }
    assert ageing["未到期"] == "4000.0" and ageing["逾期 31–60 天"] == "6000.0"
    assert page.locator("#visits g.row[data-value='1.0']").count() == 1
    shot(page, "reports", full_page=True)

    page.click("a[data-metric=checkins]")
    page.wait_for_url("**metric=checkins**")
    assert page.locator("#leaderboard-table tbody tr").first.get_attribute("data-rep") == str(star.id)

    # the other rep: the division's ranking (totals only), their own small deal in the funnel
    mine = browse.login(other)
    mine.goto(f"/reports?start={start.isoformat()}&end={today.isoformat()}")
    assert mine.locator("#leaderboard-table tbody tr").count() == 2
    star_seen = mine.locator(f"#leaderboard-table tr[data-rep='{star.id}']")
    assert star_seen.locator("td[data-metric=checkins]").inner_text() == "1"
    assert mine.locator("#funnel svg g.row").first.get_attribute("data-value") == "1.0"
