"""Migrations are the only source of the schema: after upgrading, the database equals the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from server.migrate import current_heads, pending_reason, script_heads
from server.schema import metadata


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_database_is_at_every_head(engine: Engine, database_url: str) -> None:
    assert current_heads(engine) == script_heads(database_url)
    assert pending_reason(engine) is None
