"""The rep's phone page: today's planned route and check-ins with the browser's (emulated) position."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import Session

from crm.org import Role
from tests.dashboard.conftest import PHONE
from tests.factories import Factory

SITE_A = (31.2304, 121.4737)
SITE_B = (31.2400, 121.4900)


def test_checkin_inside_and_outside_the_geofence(  # type: ignore[no-untyped-def]
    browse, factory: Factory, session: Session, shot
) -> None:
    division = factory.division()
    rep = factory.user(Role.rep, division)
    head = factory.user(Role.division_head, division)
    sites = []
    for name, (lat, lon) in (("静安门店", SITE_A), ("外滩仓库", SITE_B)):
        customer = factory.customer(division, rep, name=name)
        customer.lat, customer.lon = lat, lon
        session.add(customer)
        sites.append(customer)
    session.commit()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    plan = httpx.post(
        f"{browse.base_url}/api/v1/route-plans",
        json={
            "day": today.isoformat(),
            "reps": [{"rep_id": rep.id, "start": {"lat": 31.22, "lon": 121.46}}],
            "customers": [{"customer_id": c.id, "service_min": 20} for c in sites],
            "save": True,
        },
        headers=factory.headers(head),
        timeout=60,
    )
    assert plan.status_code == 200, plan.text

    page = browse.login(
        rep,
        viewport=PHONE,
        permissions=["geolocation"],
        geolocation={"latitude": SITE_A[0], "longitude": SITE_A[1], "accuracy": 12},
        is_mobile=True,
        has_touch=True,
    )
    assert page.url.endswith("/rep")
    assert page.locator("ol.route li").count() == 2
    page.click(f"[data-checkin-at='{sites[0].id}']")
    page.wait_for_selector("#position:has-text('±12')")
    assert page.is_checked(f"#checkin-customers input[value='{sites[0].id}']")
    page.fill("textarea[name=note]", "拜访采购王经理，确认下月订单")
    page.click("#checkin-form button[type=submit]")
    page.wait_for_selector("#checkin-result [data-status=ok]")
    shot(page, "rep-page", full_page=True)

    page.context.set_geolocation({"latitude": SITE_A[0] - 0.02, "longitude": SITE_A[1], "accuracy": 12})
    page.click(f"[data-checkin-at='{sites[1].id}']")
    page.wait_for_selector(f"#checkin-customers input[value='{sites[1].id}']:checked")
    page.click("#checkin-form button[type=submit]")
    page.wait_for_selector("#checkin-result [data-status=outside_geofence]")
    assert "超出范围" in page.inner_text("#checkin-result")
    page.reload()
    assert page.locator("#today-checkins li").count() == 2
    assert page.locator("ol.route .badge.ok").count() == 2
