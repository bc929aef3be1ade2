"""Sign-in, language and role-aware navigation, in a real browser and over plain HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crm.org import Role
from dashboard.nav import nav_for
from tests.factories import Factory


def test_pages_redirect_to_login_and_back(client: TestClient) -> None:
    response = client.get("/customers?q=abc", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/customers%3Fq%3Dabc"


def test_login_page_never_sends_users_off_site(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/x").text
    assert 'data-next="/"' in page


def test_wrong_password_then_english_then_sign_in(browse, factory: Factory, shot) -> None:  # type: ignore[no-untyped-def]
    user = factory.user(Role.division_head)
    page = browse.page()
    browse.expect_console("status of 401")
    page.goto("/login")
    assert page.inner_text("h1") == "登录"
    page.click("button[name=locale][value=en]")
    page.wait_for_selector("h1:text('Sign in')")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:text('Wrong username or password')")
    shot(page, "login-error")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    links = page.eval_on_selector_all(".mainnav a", "els => els.map(e => e.getAttribute('href'))")
    assert links == [item.path for item in nav_for(user)]
