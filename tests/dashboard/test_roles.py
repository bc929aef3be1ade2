"""Every role signs in through the page, lands on its first page and sees only its navigation."""

from __future__ import annotations

import pytest

from crm.org import Role
from dashboard.nav import nav_for
from tests.factories import Factory

LANDING = {
    Role.executive: "/map",
    Role.division_head: "/map",
    Role.division_admin: "/map",
    Role.rep: "/rep",
    Role.sysadmin: "/fleet",
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_page(role: Role, browse, factory: Factory, shot) -> None:  # type: ignore[no-untyped-def]
    user = factory.user(role)
    page = browse.login(user)
    assert page.url.endswith(LANDING[role])
    links = page.eval_on_selector_all(".mainnav a", "els => els.map(e => e.getAttribute('href'))")
    assert links == [item.path for item in nav_for(user)]
    for item in nav_for(user):
        page.goto(item.path)
        assert page.locator("main").count() == 1, item.path
    shot(page, f"role-{role.value}")
    page.click("#logout")
    page.wait_for_url("**/login")
