"""The rep's phone page: today's planned route, check-ins with the browser's (emulated) position, and
the daily report drafted from what the phone captured."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import Session, select

from crm.daily_reports import DailyReport, ReportStatus
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


def test_daily_report_drafted_edited_and_submitted(  # type: ignore[no-untyped-def]
    browse, factory: Factory, session: Session, phones, shot
) -> None:
    division = factory.division()
    rep = factory.user(Role.rep, division)
    customer = httpx.post(
        f"{browse.base_url}/api/v1/customers",
        json={"name": "昆山精密模具", "contacts": [{"name": "孙工", "phones": [{"number": "13511112222"}]}]},
        headers=factory.headers(rep),
    )
    assert customer.status_code == 201, customer.text
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime.now(zone)
    # today's activity, however close to midnight the test runs
    at = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=10, microsecond=0))
    token = phones.phone(rep)
    calls = [
        {
            "source_id": k,
            "number": "13511112222",
            "occurred_at": (at - timedelta(seconds=k)).isoformat(),
            "duration": 95,
            "type_code": 2,
        }
        for k in (1, 2)
    ]
    phones.post(token, "/api/v1/ingest/calls", {"records": calls})
    sms = [
        {
            "source_id": 1,
            "address": "13511112222",
            "body": "孙工，样品明天寄出",
            "type_code": 2,
            "occurred_at": at.isoformat(),
        }
    ]
    phones.post(token, "/api/v1/ingest/sms", {"records": sms})

    page = browse.login(rep, viewport=PHONE, is_mobile=True, has_touch=True)
    page.click("#report-draft")
    page.wait_for_selector("#report-form")
    assert page.inner_text("[data-stat=calls] b") == "2" and page.inner_text("[data-stat=sms] b") == "1"
    drafted = page.input_value("#report-form textarea")
    assert "通话 2 个" in drafted and "昆山精密模具" in drafted
    page.fill("#report-form textarea", drafted + "\n孙工要求下周安排试模。")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-text")
    assert "下周安排试模" in page.inner_text("#report-text")
    assert page.locator("#report-form").count() == 0
    shot(page, "rep-daily-report", full_page=True)

    session.expire_all()
    report = session.exec(select(DailyReport).where(DailyReport.user_id == rep.id)).one()
    assert report.status == ReportStatus.submitted and report.edited and report.day == now.date()
