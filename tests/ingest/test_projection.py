"""The timeline events ingestion writes in SQL are the events ``crm.linking.event_content`` describes."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.communications import CapturedCall, CapturedSms
from crm.linking import EVENT_KIND, event_content
from crm.timeline import TimelineEvent
from tests.factories import Factory
from tests.ingest.conftest import World, add_phone, ago, call, sms

NUMBER = "+8613812345678"
SHARED = "+8613900001111"  # held by two customers: ambiguous, one event for each


def _post(client: TestClient, world: World, path: str, records: list[dict]) -> None:
    response = client.post(f"/api/v1/ingest/{path}", headers=world.device_headers, json={"records": records})
    assert response.status_code == 200 and response.json()["accepted"] == len(records), response.text


def _events_match_python(session: Session, model: type[CapturedSms] | type[CapturedCall]) -> int:
    """Compare every stored event of ``model`` rows with the Python description of its row (types
    included: ``true`` is not ``1``)."""
    session.expire_all()
    table = model.__tablename__
    columns = [column.name for column in model.__table__.columns]
    rows = {row.id: {name: getattr(row, name) for name in columns} for row in session.exec(select(model))}
    events = session.exec(select(TimelineEvent).where(TimelineEvent.source_table == table)).all()
    for event in events:
        row = rows[event.source_id]
        summary, data = event_content(table, row)
        assert event.summary == summary
        assert json.dumps(event.data, sort_keys=True) == json.dumps(data, sort_keys=True)
        assert (event.kind, event.division_id, event.actor_user_id, event.occurred_at) == (
            EVENT_KIND[table],
            row["division_id"],
            row["rep_user_id"],
            row["occurred_at"],
        )
    return len(events)


def test_sql_projection_equals_event_content(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    first, second = factory.customer(world.division), factory.customer(world.division)
    add_phone(session, customer, NUMBER)
    add_phone(session, first, SHARED)
    add_phone(session, second, SHARED)
    long_body = "您好，" + "报价单明天发您，请查收。" * 30  # longer than the summary
    _post(
        client,
        world,
        "sms",
        [
            sms(1, "13812345678", long_body, ago(hours=3)),
            sms(2, "+86 138 1234 5678", "", ago(hours=2), type_code=2),
            sms(3, "13900001111", 'it\'s 50% off, "today" \\ only\n第二行', ago(hours=1)),
            sms(4, "10086", "话费余额", ago(minutes=30)),  # a service number: no event
        ],
    )
    _post(
        client,
        world,
        "calls",
        [
            call(1, "13812345678", ago(hours=5), duration=0, type_code=3),  # missed
            call(2, "13812345678", ago(hours=4), duration=59, type_code=1),
            call(3, "13900001111", ago(hours=3), duration=3661, type_code=2),
            call(4, "13812345678", ago(hours=2), duration=0, type_code=5),  # rejected
        ],
    )
    assert _events_match_python(session, CapturedSms) == 4  # SMS 1, 2 and 3 twice (ambiguous)
    assert _events_match_python(session, CapturedCall) == 5
