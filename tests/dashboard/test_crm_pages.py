"""The CRM pages as each role gets them (server-rendered, no browser): who may open what, what a rep
sees of others, both languages, and the pure helpers behind the pages (charts, SLA clocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from crm.org import Role
from crm.tickets import TicketStatus, TicketView
from dashboard.charts import Row, bar_chart
from dashboard.pages.alerts import highlight
from dashboard.sla import sla_clock
from tests.factories import Factory

PAGES = ("/pipeline", "/pipeline?view=list", "/pool", "/tickets", "/reports", "/alerts")


def _login_locale(client: TestClient, headers: dict[str, str], locale: str) -> None:
    response = client.post(
        "/locale", data={"locale": locale, "next": "/"}, headers=headers, follow_redirects=False
    )
    assert response.status_code == 303


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_managers_open_every_crm_page_in_both_languages(
    client: TestClient, factory: Factory, locale: str
) -> None:
    division = factory.division()
    head = factory.user(Role.division_head, division)
    headers = factory.headers(head)
    _login_locale(client, headers, locale)
    words = {
        "zh": ("销售流程", "公海", "工单", "预警", "排行榜"),
        "en": ("Board", "Public pool", "Tickets", "Alerts", "Leaderboard"),
    }
    body = ""
    for path in PAGES:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:300])
        body += response.text
    for word in words[locale]:
        assert word in body, word


def test_a_rep_gets_no_alerts_and_no_colleagues_deals(client: TestClient, factory: Factory) -> None:
    division = factory.division()
    rep, colleague = factory.user(Role.rep, division), factory.user(Role.rep, division)
    for user in (rep, colleague):
        customer = client.post(
            "/api/v1/customers", json={"name": f"{user.username} 的客户"}, headers=factory.headers(user)
        )
        assert customer.status_code == 201, customer.text
        opp = client.post(
            "/api/v1/opportunities",
            json={"customer_id": customer.json()["id"], "name": f"{user.username} 商机", "amount": "1000"},
            headers=factory.headers(user),
        )
        assert opp.status_code == 201, opp.text
    headers = factory.headers(rep)
    assert client.get("/alerts", headers=headers).status_code == 403
    reports = client.get("/reports", headers=headers).text
    assert 'href="/alerts"' not in reports
    # the division's ranking is shared (totals only); the funnel counts the rep's own deals
    assert f'data-rep="{rep.id}"' in reports and f'data-rep="{colleague.id}"' in reports
    assert 'data-label="初步接洽" data-value="1.0"' in reports
    board = client.get("/pipeline", headers=headers).text
    assert f"{rep.username} 商机" in board and f"{colleague.username} 商机" not in board


def test_system_admins_see_no_sales_pages(client: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.sysadmin))
    for path in PAGES:
        assert client.get(path, headers=headers).status_code == 403, path


def test_bad_page_parameters_are_a_clear_4xx(client: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.division_head))
    assert client.get("/tickets?state=nonsense", headers=headers).status_code == 400
    assert client.get("/reports?start=2026-02-01&end=2026-01-01", headers=headers).status_code == 400
    assert client.get("/pipeline?pipeline=999999", headers=headers).status_code == 404
    assert client.get("/tickets/999999", headers=headers).status_code == 404
    assert client.get("/pipeline/opportunities/999999/history", headers=headers).status_code == 404


def test_bar_chart_scales_to_the_largest_value_and_centres_a_funnel() -> None:
    chart = bar_chart(
        "t",
        [Row("a", 10, "10"), Row("b", 5, "5"), Row("c", 0, "0")],
        width=400,
        label_width=100,
        value_width=100,
    )
    assert [b.width for b in chart.bars] == [200.0, 100.0, 0.0]
    funnel = bar_chart(
        "t", [Row("a", 10, ""), Row("b", 5, "")], centered=True, width=400, label_width=100, value_width=100
    )
    assert funnel.bars[1].x == 150.0
    progress = bar_chart("t", [Row("x", 0.5, "50%", track=1)], width=400, label_width=100, value_width=100)
    assert (progress.bars[0].width, progress.bars[0].track_width) == (100.0, 200.0)
    assert bar_chart("t", []).bars == []


def _ticket(**changes: object) -> TicketView:
    now = datetime(2026, 1, 5, 8, tzinfo=UTC)
    fields: dict[str, object] = {
        "id": 1,
        "division_id": 1,
        "customer_id": 1,
        "contact_id": None,
        "kind": "complaint",
        "priority": "normal",
        "status": TicketStatus.open,
        "subject": "s",
        "description": "",
        "assignee_id": None,
        "respond_by": now + timedelta(hours=4),
        "resolve_by": now + timedelta(hours=24),
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "resolution": "",
        "escalation_level": 0,
        "created_at": now,
    }
    return TicketView.model_validate(fields | changes)


def test_sla_clock_shows_the_deadline_that_matters() -> None:
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    clock = sla_clock(_ticket(), start + timedelta(hours=1))
    assert (clock.target, clock.breached, clock.seconds_left) == ("respond", False, 3 * 3600)
    late = sla_clock(_ticket(), start + timedelta(hours=5))
    assert (late.target, late.breached) == ("respond", True)
    worst = sla_clock(_ticket(), start + timedelta(hours=30))
    assert (worst.target, worst.breached) == ("resolve", True)
    answered = sla_clock(_ticket(first_response_at=start), start + timedelta(hours=5))
    assert (answered.target, answered.breached) == ("resolve", False)
    done = sla_clock(_ticket(status=TicketStatus.resolved, resolved_at=start + timedelta(hours=25)), start)
    assert (done.target, done.breached, done.running) == ("resolved", True, False)


def test_alert_context_marks_every_keyword() -> None:
    assert highlight("给你最低价，最低价了", "最低价") == [
        ("给你", False),
        ("最低价", True),
        ("，", False),
        ("最低价", True),
        ("了", False),
    ]
