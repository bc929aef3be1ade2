"""Migrations are the only source of the schema: after upgrading, the database equals the models;
data migrations carry stored rows over."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlmodel import Session

from crm.communications import CapturedCall, CapturedSms, ExcludedCapture
from crm.devices import Device
from crm.org import Division
from server.db import make_engine
from server.ingest.keys import epoch_ms, key_secret, ordered_key, source_key, untimed_key
from server.migrate import current_heads, pending_reason, script_heads, upgrade
from server.schema import metadata


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_database_is_at_every_head(engine: Engine, database_url: str) -> None:
    assert current_heads(engine) == script_heads(database_url)
    assert pending_reason(engine) is None


def test_stored_record_keys_become_time_ordered(tmp_path: Path) -> None:
    """capture_0004 turns the bare HMAC keys of stored SMS and call rows into the ordered keys that
    ingestion now computes, so a record re-sent after the upgrade still finds its row."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    for head in script_heads(url):
        if not head.startswith("capture_"):
            upgrade(url, head)
    upgrade(url, "capture_0003")
    secret = key_secret("a server secret")
    at = datetime(2026, 5, 1, 8, 30, 0, 123_456, tzinfo=UTC)  # µs: the key rounds them to ms
    sms_key = source_key(secret, "sms", epoch_ms(at), "13812345678", "明天见")
    call_key = source_key(secret, "call", epoch_ms(at), "13812345678", 60, 1)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            division = Division(name="华东", code="east")
            session.add(division)
            session.flush()
            device = Device(serial="OLD-1", division_id=division.id)
            session.add(device)
            session.flush()
            shared = {"device_id": device.id, "division_id": division.id, "occurred_at": at}
            session.add(
                CapturedSms(
                    **shared, source_key=sms_key, direction="in", source_id=1, type="inbox", type_code=1
                )
            )
            session.add(
                CapturedCall(
                    **shared, source_key=call_key, direction="in", source_id=1, type="incoming", type_code=1
                )
            )
            for source, key in (("sms", sms_key), ("call", call_key), ("contact", sms_key)):
                session.add(
                    ExcludedCapture(
                        device_id=device.id, division_id=division.id, source=source, source_key=key
                    )
                )
            session.commit()
        upgrade(url)
        with engine.connect() as conn:
            assert conn.execute(select(CapturedSms.source_key)).scalar_one() == ordered_key(
                epoch_ms(at), sms_key
            )
            assert conn.execute(select(CapturedCall.source_key)).scalar_one() == ordered_key(
                epoch_ms(at), call_key
            )
            kept = dict(conn.execute(select(ExcludedCapture.source, ExcludedCapture.source_key)).all())
        assert kept == {  # what ingestion keeps now of an excluded record; contacts' keys have no time
            "sms": untimed_key(ordered_key(epoch_ms(at), sms_key)),
            "call": untimed_key(ordered_key(epoch_ms(at), call_key)),
            "contact": sms_key,
        }
    finally:
        engine.dispose()
