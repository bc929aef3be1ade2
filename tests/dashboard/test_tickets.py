"""Tickets: SLA clocks (a breached ticket shows as breached), the overdue filter, a ticket worked to closed."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from crm.org import Role
from tests.factories import Factory


def test_breached_ticket_and_its_lifecycle(  # type: ignore[no-untyped-def]
    browse, client: TestClient, factory: Factory, shot
) -> None:
    division = factory.division()
    head = factory.user(Role.division_head, division)
    rep, colleague = factory.user(Role.rep, division), factory.user(Role.rep, division)
    headers = factory.headers(head)
    # complaints must be answered within about a second here; repairs keep the default 4 h / 24 h
    sla = client.put(
        f"/api/v1/divisions/{division.id}/sla",
        json={"kind": "complaint", "response_hours": 0.0001, "resolve_hours": 0.0002},
        headers=headers,
    )
    assert sla.status_code == 200, sla.text
    customer = client.post("/api/v1/customers", json={"name": "苏州电梯维保中心"}, headers=headers).json()
    tickets = {}
    for kind, subject in (("complaint", "电梯困人投诉"), ("repair", "门机异响")):
        response = client.post(
            "/api/v1/tickets",
            json={
                "customer_id": customer["id"],
                "kind": kind,
                "subject": subject,
                "priority": "urgent",
                "assignee_id": rep.id,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        tickets[kind] = response.json()["id"]
    time.sleep(1.0)  # let the complaint's resolve time pass

    page = browse.login(head)
    page.goto("/tickets")
    late = page.locator(f"tr[data-ticket='{tickets['complaint']}'] .sla")
    assert late.get_attribute("data-breached") == "true" and "超时" in late.inner_text()
    on_time = page.locator(f"tr[data-ticket='{tickets['repair']}'] .sla")
    assert on_time.get_attribute("data-breached") == "false" and "剩余" in on_time.inner_text()
    shot(page, "tickets")
    page.select_option("select[name=state]", "overdue")
    page.click("form.toolbar button.primary")
    page.wait_for_url("**state=overdue**")
    assert page.locator("#ticket-table tbody tr").count() == 1

    with page.expect_navigation():  # the ticket page binds its buttons once loaded
        page.click(f"a[href='/tickets/{tickets['complaint']}']")
    page.click("[data-action=start]")
    page.wait_for_selector("#ticket-status[data-status=in_progress]")
    page.fill("#resolve-form textarea", "已派技师现场处理，电梯恢复运行")
    page.click("#resolve-form button")
    page.wait_for_selector("#ticket-status[data-status=resolved]")
    assert "超时解决" in page.inner_text(".toolbar .sla")
    page.click("[data-action=close]")
    page.wait_for_selector("#ticket-status[data-status=closed]")
    assert page.locator("#ticket-history li").count() >= 3
    shot(page, "ticket", full_page=True)

    page.goto(f"/tickets/{tickets['repair']}")
    page.select_option("#assign-form select", str(colleague.id))
    page.click("#assign-form button")
    page.wait_for_selector(f"#ticket-assignee:has-text('{colleague.display_name}')")
    page.wait_for_selector("#ticket-history li[data-kind=ticket_assigned]")

    # the first rep no longer sees the reassigned ticket; the colleague does
    assert client.get(f"/tickets/{tickets['repair']}", headers=factory.headers(rep)).status_code == 404
    assert client.get(f"/tickets/{tickets['repair']}", headers=factory.headers(colleague)).status_code == 200

    page.goto(f"/customers/{customer['id']}")
    assert page.locator("#tickets [data-ticket]").count() == 2
