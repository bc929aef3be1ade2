"""SMS and call-log batches: golden device output, per-record results, quarantine, idempotency."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from pydantic_core import to_jsonable_python
from sqlalchemy import func
from sqlmodel import Session, select

from capture import (
    CALL_LOG_PROJECTION,
    SMS_PROJECTION,
    decode_call_rows,
    decode_sms_rows,
    parse_content_query,
)
from crm.communications import CaptureAlert, CapturedCall, CapturedSms, LinkStatus, QuarantinedRecord
from crm.timeline import TimelineEvent
from tests.factories import Factory
from tests.ingest.conftest import World, add_phone, ago, iso, sms

DATA = Path(__file__).parents[1] / "data"
GOLDEN = DATA / "ingest"


def _golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_golden_batches_are_what_the_decoders_produce() -> None:
    """The agent sends capture's typed records as JSON: the golden batches are exactly that."""
    for name, source, projection, decode in (
        ("sms_batch.json", "sms_tricky.txt", SMS_PROJECTION, decode_sms_rows),
        ("calls_batch.json", "call_log.txt", CALL_LOG_PROJECTION, decode_call_rows),
    ):
        text = (DATA / "capture" / "content_query" / source).read_text()
        records = decode(parse_content_query(text, projection).rows).records
        assert [to_jsonable_python(dataclasses.asdict(r)) for r in records] == _golden(name)["records"]


def test_golden_sms_batch_is_stored_linked_and_alerted(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, "+8613812345678")
    response = client.post("/api/v1/ingest/sms", json=_golden("sms_batch.json"), headers=world.device_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 7 and body["rejected"] == body["duplicate"] == body["excluded"] == 0
    assert [r["source_id"] for r in body["results"]] == [1201, 1202, 1203, 1204, 1205, 1206, 1207]

    rows = {r.source_id: r for r in session.exec(select(CapturedSms))}
    assert rows[1201].customer_id == customer.id and rows[1201].link_status == LinkStatus.linked
    assert rows[1202].number_e164 == "+8613812345678"  # national form normalised
    assert rows[1202].body.endswith("第四行 after a blank line 🙂👍")  # multi-line body intact
    assert rows[1203].link_status == LinkStatus.unlinkable  # 95588: a bank's service number
    assert rows[1205].number_e164 == "+14155552671" and rows[1205].link_status == LinkStatus.unlinked
    assert rows[1201].rep_user_id == world.rep.id and rows[1201].division_id == world.division.id

    events = session.exec(select(TimelineEvent).where(TimelineEvent.customer_id == customer.id)).all()
    assert {e.source_id for e in events} == {rows[1201].id, rows[1202].id}
    alerts = session.exec(select(CaptureAlert)).all()
    assert [(a.keyword, a.source_id) for a in alerts] == [("折扣", rows[1201].id)]
    assert "95折" in alerts[0].context


def test_golden_call_batch(client: TestClient, world: World, session: Session, factory: Factory) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, "+8613912345678")
    response = client.post(
        "/api/v1/ingest/calls", json=_golden("calls_batch.json"), headers=world.device_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 8
    calls = {c.source_id: c for c in session.exec(select(CapturedCall))}
    assert calls[501].duration_s == 185 and calls[501].answered and calls[501].name == "王经理"
    assert calls[502].number_e164 == "+862112345678" and calls[502].type == "missed"
    assert calls[503].customer_id == customer.id  # 17951 IP-dial prefix removed before linking
    assert calls[504].number_raw == "" and calls[504].link_status == LinkStatus.unlinkable  # hidden number
    assert calls[505].link_status == LinkStatus.unlinkable  # 400 service number


def test_resending_a_batch_changes_nothing(client: TestClient, world: World, session: Session) -> None:
    batch = _golden("sms_batch.json")
    first = client.post("/api/v1/ingest/sms", json=batch, headers=world.device_headers).json()
    counts = [_count(session, m) for m in (CapturedSms, TimelineEvent, CaptureAlert)]
    again = client.post("/api/v1/ingest/sms", json=batch, headers=world.device_headers).json()
    assert again["duplicate"] == first["accepted"] == 7 and again["accepted"] == 0
    assert all(r["status"] == "duplicate" and "id" not in r for r in again["results"])
    assert [_count(session, m) for m in (CapturedSms, TimelineEvent, CaptureAlert)] == counts


def test_same_record_twice_in_one_batch(client: TestClient, world: World) -> None:
    record = sms(1, "13812345678", "hello", ago(hours=1))
    body = client.post(
        "/api/v1/ingest/sms", json={"records": [record, record]}, headers=world.device_headers
    ).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]


def test_reused_source_id_after_factory_reset_is_a_new_record(
    client: TestClient, world: World, session: Session
) -> None:
    before = sms(1, "13812345678", "before the reset", ago(days=30))
    after = sms(1, "13812345678", "after the reset", ago(hours=1))
    for record in (before, after):
        result = client.post("/api/v1/ingest/sms", json={"records": [record]}, headers=world.device_headers)
        assert result.json()["accepted"] == 1
    assert _count(session, CapturedSms) == 2


def test_restored_backup_with_new_ids_is_a_duplicate(client: TestClient, world: World) -> None:
    at = ago(days=3)
    client.post(
        "/api/v1/ingest/sms",
        json={"records": [sms(7, "13812345678", "hi", at)]},
        headers=world.device_headers,
    )
    restored = sms(1007, "13812345678", "hi", at, read=False)
    body = client.post(
        "/api/v1/ingest/sms", json={"records": [restored]}, headers=world.device_headers
    ).json()
    assert body["duplicate"] == 1


def test_every_bad_input_class_is_rejected_quarantined_and_the_rest_kept(
    client: TestClient, world: World, session: Session
) -> None:
    cases = _golden("bad_sms_records.json")["cases"]
    records = []
    for case in cases:
        record = case["record"]
        if isinstance(record, dict) and record.get("occurred_at") == "FUTURE":
            record["occurred_at"] = iso(ago(days=-3))
        if isinstance(record, dict) and record.get("body") == "LONG":
            record["body"] = "长" * 20_001
        records.append(record)
    good = sms(100, "13812345678", "fine", ago(hours=2))
    payload = json.dumps(
        {"records": [*records, good]}, ensure_ascii=True
    )  # keeps the lone surrogate as \ud800
    headers = world.device_headers | {"Content-Type": "application/json"}

    body = client.post("/api/v1/ingest/sms", content=payload, headers=headers).json()
    results = body["results"]
    assert body["rejected"] == len(cases) and body["accepted"] == 1
    for case, result in zip(cases, results, strict=False):
        assert result["status"] == "rejected", case["case"]
        assert result.get("field") == case["field"], (case["case"], result)
        assert result["reason"], case["case"]
    assert results[-1]["status"] == "accepted"
    quarantined = session.exec(select(QuarantinedRecord)).all()
    assert len(quarantined) == len(cases)
    reasons = " | ".join(q.reason for q in quarantined)
    assert "NUL character" in reasons and "unicode string" in reasons and "in the future" in reasons
    assert all(q.payload.isascii() for q in quarantined)

    client.post("/api/v1/ingest/sms", content=payload, headers=headers)
    assert _count(session, QuarantinedRecord) == len(cases)  # a re-sent bad batch is quarantined once


def test_call_specific_bad_inputs(client: TestClient, world: World) -> None:
    bad = [
        {"source_id": 1, "number": "138", "occurred_at": iso(ago(hours=1)), "duration": -5, "type_code": 1},
        {
            "source_id": 2,
            "number": "138",
            "occurred_at": iso(ago(hours=1)),
            "duration": 90_000,
            "type_code": 1,
        },
        {
            "source_id": 3,
            "number": "138",
            "occurred_at": iso(ago(hours=1)),
            "duration": 0,
            "type_code": 1,
            "answered": True,
        },
    ]
    results = client.post("/api/v1/ingest/calls", json={"records": bad}, headers=world.device_headers).json()
    assert [(r["status"], r.get("field")) for r in results["results"]] == [
        ("rejected", "duration"),
        ("rejected", "duration"),
        ("rejected", None),
    ]
    assert "answered" in results["results"][2]["reason"]


def test_batch_level_errors_store_nothing(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    too_many = {"records": [sms(i, "13812345678", "x", ago(hours=1)) for i in range(5001)]}
    response = client.post("/api/v1/ingest/sms", json=too_many, headers=world.device_headers)
    assert response.status_code == 413 and response.json()["field"] == "records"
    assert (
        client.post("/api/v1/ingest/sms", json={"rows": []}, headers=world.device_headers).status_code == 422
    )
    json_headers = world.device_headers | {"Content-Type": "application/json"}
    malformed = client.post("/api/v1/ingest/sms", content=b'{"records": [', headers=json_headers)
    assert malformed.status_code == 422 and "JSON" in malformed.json()["detail"]
    assert client.post("/api/v1/ingest/sms", json={"records": []}).status_code == 401
    user_token = factory.headers(world.rep)
    assert client.post("/api/v1/ingest/sms", json={"records": []}, headers=user_token).status_code == 401
    assert _count(session, CapturedSms) == 0 and _count(session, QuarantinedRecord) == 0


def test_concurrent_identical_batches_store_each_record_once(
    live_server: str, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, "+8613812345678")
    batches = {
        "sms": {"records": [sms(i, "13812345678", f"第{i}条", ago(minutes=i + 1)) for i in range(300)]},
        "calls": _golden("calls_batch.json"),
    }
    outcomes: list[tuple[str, dict]] = []

    def send(path: str) -> None:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            response = http.post(f"/api/v1/ingest/{path}", json=batches[path], headers=world.device_headers)
            outcomes.append((path, response.json()))

    threads = [threading.Thread(target=send, args=(path,)) for path in ("sms", "calls") for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for path, expected in (("sms", 300), ("calls", 8)):
        mine = [body for p, body in outcomes if p == path]
        assert len(mine) == 3
        assert sum(body["accepted"] for body in mine) == expected
        assert sum(body["duplicate"] for body in mine) == 2 * expected
    assert _count(session, CapturedSms) == 300 and _count(session, CapturedCall) == 8
    events = session.execute(
        select(func.count()).select_from(TimelineEvent).where(TimelineEvent.customer_id == customer.id)
    ).scalar_one()
    linked_calls = session.exec(select(CapturedCall).where(CapturedCall.customer_id == customer.id)).all()
    assert len(linked_calls) == 4  # 501, 506, 507, 508 are with 138 1234 5678
    assert events == 300 + len(linked_calls)  # each linked record projected once


def test_resent_sms_that_left_the_outbox_updates_its_stored_row(
    client: TestClient, world: World, session: Session
) -> None:
    at = ago(hours=2)
    queued = sms(41, "13812345678", "报价单已发送", at, type_code=4)
    first = client.post("/api/v1/ingest/sms", json={"records": [queued]}, headers=world.device_headers).json()
    row_id = first["results"][0]["id"]
    timeline_before = _count(session, TimelineEvent)

    sent = sms(41, "13812345678", "报价单已发送", at, type_code=2, status=0)
    body = client.post("/api/v1/ingest/sms", json={"records": [sent]}, headers=world.device_headers).json()
    assert body["results"] == [
        {"index": 0, "source_id": 41, "status": "accepted", "id": row_id, "updated": True}
    ]
    session.expire_all()
    stored = session.get(CapturedSms, row_id)
    assert (stored.type, stored.type_code, stored.status, stored.direction) == ("sent", 2, 0, "outgoing")
    assert _count(session, CapturedSms) == 1 and _count(session, TimelineEvent) == timeline_before

    again = client.post("/api/v1/ingest/sms", json={"records": [sent]}, headers=world.device_headers).json()
    assert again["results"][0]["status"] == "duplicate" and "updated" not in again["results"][0]
