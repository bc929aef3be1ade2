"""Import uploads have their own size limit, above the general request-body limit."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from server.app import create_app
from server.config import Settings
from tests.crm.conftest import Org
from tests.factories import Factory

ROWS = 700


def big_csv() -> bytes:
    """A customer list over 4 MB: 700 rows with long notes (Chinese text, three bytes a character)."""
    note = "客户要求每月回访一次并提供最新报价单" * 120
    lines = ["客户名称,手机,备注"] + [f"上传客户{i}有限公司,1390000{i:04d},{note}" for i in range(ROWS)]
    return "\n".join(lines).encode()


def test_import_accepts_a_file_over_the_general_limit(
    live_server: str, factory: Factory, org: Org, settings: Settings
) -> None:
    content = big_csv()
    assert settings.max_body_bytes < len(content) < settings.max_import_bytes
    headers = factory.headers(org.head)
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as http:
        imported = http.post(
            "/api/v1/import",
            files={"file": ("客户.csv", content, "text/csv")},
            data={"options": '{"dry_run": true}'},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["counts"]["created"] == ROWS
        elsewhere = http.post(
            "/api/v1/customers/duplicates",
            files={"file": ("客户.csv", content, "text/csv")},
        )
        assert elsewhere.status_code == 413
        assert "too large" in elsewhere.json()["detail"]


def test_import_over_its_own_limit_is_413(db: Engine, factory: Factory, org: Org, settings: Settings) -> None:
    small = settings.model_copy(update={"max_import_bytes": 1024 * 1024})
    with TestClient(create_app(small, db)) as client:
        response = client.post(
            "/api/v1/import",
            files={"file": ("客户.csv", big_csv(), "text/csv")},
            data={"options": '{"dry_run": true}'},
            headers=factory.headers(org.head),
        )
    assert response.status_code == 413
    assert f"limit {1024 * 1024} bytes" in response.json()["detail"]
