"""The agent's HTTP client: TLS set up once per process, with certificate checks kept."""

from __future__ import annotations

import ssl

import httpx
import pytest

from device_agent import server_api
from device_agent.server_api import ServerApi


def test_clients_share_one_tls_context_that_still_checks_certificates(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[ssl.SSLContext] = []
    real = httpx.create_ssl_context

    def counting(*args: object, **kwargs: object) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    server_api._tls_context.cache_clear()
    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    try:
        apis = [ServerApi(f"https://fieldcrm.example/{i}") for i in range(3)]
        for api in apis:
            api.close()
    finally:
        server_api._tls_context.cache_clear()
    assert len(made) == 1
    assert made[0].verify_mode == ssl.CERT_REQUIRED
    assert made[0].check_hostname
