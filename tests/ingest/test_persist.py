"""The persist step's conversions: what it writes is what SQLAlchemy itself would write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from crm.communications import QuarantinedRecord
from crm.types import UTCDateTime
from server.ingest.persist import insert_columns, sqlite_utc_text
from tests.ingest.conftest import World

_parsed = TypeAdapter(AwareDatetime).validate_python  # the time zone class a device record's times have


@pytest.mark.parametrize(
    "value",
    [
        _parsed("2026-11-01T10:00:00.123+08:00"),
        _parsed("2026-11-01T10:00:00Z"),
        _parsed("2001-01-01T00:00:00.000001-05:30"),
        datetime(2020, 5, 5, tzinfo=UTC),
        datetime(1, 1, 1, 12, tzinfo=timezone(timedelta(hours=3))),
    ],
)
def test_sqlite_time_text_is_what_sqlalchemy_writes(value: datetime) -> None:
    assert sqlite_utc_text(value) == UTCDateTime()._cached_bind_processor(sqlite.dialect())(value)


def test_sqlite_time_text_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc_text(datetime(2026, 1, 1))


def test_columns_null_in_every_row_or_some_are_stored_null(session: Session, world: World) -> None:
    now = datetime.now(UTC)
    insert_columns(
        session,
        QuarantinedRecord.__table__,
        {
            "device_id": [world.device.id] * 2,
            "division_id": [world.division.id] * 2,
            "rep_user_id": [None, None],  # NULL in every row: left to the database
            "source": ["sms", "call"],
            "source_id": [None, None],
            "reason": ["bad", "worse"],
            "field": ["body", None],  # NULL in some rows: bound
            "payload": ["{}", "[]"],
            "payload_hash": ["a" * 64, "b" * 64],
            "received_at": [now, now],
        },
    )
    session.commit()
    stored = session.execute(
        select(
            QuarantinedRecord.source,
            QuarantinedRecord.rep_user_id,
            QuarantinedRecord.source_id,
            QuarantinedRecord.field,
            QuarantinedRecord.received_at,
        ).order_by(QuarantinedRecord.source)
    ).all()
    assert [tuple(row) for row in stored] == [
        ("call", None, None, None, now),
        ("sms", None, None, "body", now),
    ]
