"""Device fleet page: health the agent reported, the arrival checklist, and revoking a phone."""

from __future__ import annotations

from crm.org import Role
from tests.factories import Factory


def test_fleet_shows_health_checklist_and_revokes(browse, factory: Factory, phones, shot) -> None:  # type: ignore[no-untyped-def]
    division = factory.division()
    admin = factory.user(Role.division_admin, division)
    rep = factory.user(Role.rep, division)
    quiet_rep = factory.user(Role.rep, division)
    token = phones.phone(rep, serial="R58M123ABC")
    phones.phone(quiet_rep, serial="QUIET-PHONE")
    phones.post(
        token,
        "/api/v1/ingest/device-status",
        {
            "occurred_at": "2026-01-05T08:00:00+00:00",
            "battery": {"level": 15, "scale": 100, "plugged": ["usb"]},
            "storage": {"total_bytes": 64 * 2**30, "free_bytes": 12 * 2**30},
            "last_sync": {"sms": "2026-01-05T08:00:00+00:00", "calls": "2026-01-05T08:00:00+00:00"},
        },
    )
    phones.fix(token, 31.23, 121.47)

    page = browse.login(admin)
    page.goto("/fleet")
    busy = page.locator("tr", has_text="R58M123ABC")
    assert "15%" in busy.inner_text() and "12.0 GB" in busy.inner_text()
    assert busy.locator("li.todo").count() == 0
    quiet = page.locator("tr", has_text="QUIET-PHONE")
    assert quiet.locator("li.todo[data-check=location]").count() == 1
    shot(page, "fleet")
    page.on("dialog", lambda dialog: dialog.accept())
    quiet.locator("[data-revoke]").click()
    page.wait_for_selector("tr:has-text('QUIET-PHONE') .badge.off")


def test_system_admins_see_phones_but_not_positions(client, factory: Factory, phones) -> None:  # type: ignore[no-untyped-def]
    rep = factory.user(Role.rep)
    phones.fix(phones.phone(rep, serial="POSITIONED"), 31.23, 121.47)
    page = client.get("/fleet", headers=factory.headers(factory.user(Role.sysadmin))).text
    assert "POSITIONED" in page
    assert 'class="unknown" data-check="location"' in page
