from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.org import Role
from crm.types import utcnow
from server.auth.lookup import TOKEN_USE_RECORDED_EVERY
from server.auth.models import AuthToken, TokenKind
from server.auth.secrets import digest
from server.auth.service import issue_user_token
from server.deps import SESSION_COOKIE
from tests.factories import PASSWORD, Factory


def _login(client: TestClient, username: str, password: str = PASSWORD, **extra):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password, **extra})


def test_login_returns_a_bearer_token_stored_only_as_hash(
    client: TestClient, factory: Factory, session: Session
):
    user = factory.user(Role.rep)
    response = _login(client, user.username)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert token.startswith("fcu_")
    stored = session.exec(select(AuthToken).where(AuthToken.user_id == user.id)).one()
    assert stored.token_hash == digest(token) and token not in stored.token_hash
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == user.username
    assert session.exec(select(AuditLog).where(AuditLog.action == "auth.login")).first() is not None


def test_password_is_hashed_with_argon2(factory: Factory):
    user = factory.user(Role.rep)
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient, factory: Factory):
    user = factory.user(Role.rep)
    wrong = _login(client, user.username, "nope-nope")
    unknown = _login(client, "ghost", "nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}


def test_login_is_rate_limited_and_audited(client: TestClient, factory: Factory, session: Session):
    user = factory.user(Role.rep)
    codes = [_login(client, user.username, "bad-password").status_code for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert _login(client, user.username).status_code == 429  # even the right password waits
    failures = session.exec(select(AuditLog).where(AuditLog.action == "auth.login.failed")).all()
    assert len(failures) == 5


def test_invalid_and_missing_tokens_are_401(client: TestClient):
    assert client.get("/api/v1/auth/me").status_code == 401
    for header in ("Bearer fcu_forged", "Bearer ", "Basic abc", "Bearer " + "x" * 5000):
        response = client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert "detail" in response.json()


def test_expired_and_revoked_tokens_are_refused(client: TestClient, factory: Factory, session: Session):
    user = factory.user(Role.rep)
    issued = issue_user_token(
        session, user=user, kind=TokenKind.api, lifetime=timedelta(hours=1), now=utcnow() - timedelta(hours=2)
    )
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued.secret}"})
    assert response.status_code == 401
    token = factory.token(user)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_frozen_user_loses_access_immediately(client: TestClient, factory: Factory, session: Session):
    user = factory.user(Role.rep)
    headers = factory.headers(user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    user.frozen_at = utcnow()
    session.add(user)
    session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert _login(client, user.username).status_code == 401


def test_browser_session_cookie_and_cross_site_refusal(client: TestClient, factory: Factory):
    user = factory.user(Role.division_head)
    response = _login(client, user.username, session=True)
    assert response.status_code == 200 and response.json()["access_token"] is None
    assert SESSION_COOKIE in response.cookies
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/auth/me").json()["username"] == user.username
    body = {"username": "newrep", "password": "long-enough-1", "role": "rep", "division_id": user.division_id}
    evil = client.post("/api/v1/users", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    ours = client.post("/api/v1/users", json=body, headers={"Origin": "http://testserver"})
    assert ours.status_code == 201


def test_expired_browser_session_is_signed_out(client: TestClient, factory: Factory, session: Session):
    user = factory.user(Role.rep)
    issued = issue_user_token(
        session,
        user=user,
        kind=TokenKind.session,
        lifetime=timedelta(minutes=1),
        now=utcnow() - timedelta(hours=1),
    )
    client.cookies.set(SESSION_COOKIE, issued.secret)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_deactivated_user_loses_access_on_the_next_request(
    client: TestClient, factory: Factory, session: Session
):
    user = factory.user(Role.rep)
    headers = factory.headers(user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    user.is_active = False
    session.add(user)
    session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_revocation_elsewhere_is_seen_by_a_running_server_on_the_next_request(
    live_server: str, factory: Factory, session: Session
):
    """Another process (here: the test's own connection) revokes; the server's next lookup sees it."""
    user = factory.user(Role.rep)
    headers = factory.headers(user)
    with httpx.Client(base_url=live_server, headers=headers) as http:
        assert http.get("/api/v1/auth/me").status_code == 200
        token = session.exec(select(AuthToken).where(AuthToken.user_id == user.id)).one()
        token.revoked_at = utcnow()
        session.add(token)
        session.commit()
        assert http.get("/api/v1/auth/me").status_code == 401


def test_an_api_token_is_no_session_cookie(client: TestClient, factory: Factory):
    user = factory.user(Role.rep)
    client.cookies.set(SESSION_COOKIE, factory.token(user))
    assert client.get("/api/v1/auth/me").status_code == 401


def test_token_use_is_recorded_every_few_minutes(client: TestClient, factory: Factory, session: Session):
    user = factory.user(Role.rep)
    headers = factory.headers(user)
    token = session.exec(select(AuthToken).where(AuthToken.user_id == user.id)).one()
    assert token.last_used_at is None
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    session.refresh(token)
    first_use = token.last_used_at
    assert first_use is not None
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    session.refresh(token)
    assert token.last_used_at == first_use
    token.last_used_at = first_use - TOKEN_USE_RECORDED_EVERY - timedelta(seconds=1)
    session.add(token)
    session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    session.refresh(token)
    assert token.last_used_at > first_use
