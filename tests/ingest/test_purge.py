"""Excluding a number purges what was captured with it before: content gone, counts kept, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.communications import (
    CaptureAlert,
    CapturedCall,
    CapturedContact,
    CapturedContactNumber,
    CapturedSms,
    ExcludedCapture,
    QuarantinedRecord,
    Recording,
    RecordingUpload,
)
from crm.devices import Device
from crm.org import Role
from crm.timeline import TimelineEvent
from crm.types import utcnow
from server.auth.service import issue_device_token
from server.config import Settings
from server.recordings.store import get_store
from tests.factories import Factory
from tests.ingest.conftest import MP3, World, add_phone, ago, call, iso, sms, upload
from tests.ingest.test_contacts import contact

PERSONAL = "+8613800000001"
PERSONAL_SMS_AT = ago(hours=5)  # re-sent after the purge: the same record, the same time
CUSTOMER = "+8613812345678"


def _count(session: Session, model: type, *where: object) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _capture(client: TestClient, headers: dict) -> None:
    started = ago(hours=3)
    assert (
        client.post(
            "/api/v1/ingest/sms",
            json={
                "records": [
                    sms(1, "13800000001", "私单的事今晚说", PERSONAL_SMS_AT),  # keyword → alert
                    sms(2, "13812345678", "报价单", ago(hours=4)),
                ]
            },
            headers=headers,
        ).json()["accepted"]
        == 2
    )
    assert (
        client.post(
            "/api/v1/ingest/calls",
            json={
                "records": [
                    call(1, "13800000001", started, duration=90),
                    call(2, "13812345678", ago(hours=2)),
                ]
            },
            headers=headers,
        ).json()["accepted"]
        == 2
    )
    future = datetime.now(UTC) + timedelta(days=30)  # refused: quarantined with its payload
    rejected = client.post(
        "/api/v1/ingest/sms",
        json={"records": [sms(3, "138 0000 0001", "私事", future), sms(4, "13812345678", "报价", future)]},
        headers=headers,
    ).json()
    assert rejected["rejected"] == 2
    recorded = upload(client, headers, MP3, started_at=iso(started), file_name="rec_13800000001.mp3")
    assert recorded["status"] == "complete", recorded
    client.post(
        "/api/v1/ingest/contacts",
        json={
            "records": [contact(1, "老婆", "13800000001"), contact(2, "客户", "13812345678", "13800000001")]
        },
        headers=headers,
    )


def test_excluding_a_number_purges_its_captured_content(
    client: TestClient, world: World, session: Session, factory: Factory, settings: Settings
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, PERSONAL)  # even a number a customer had: now personal
    add_phone(session, customer, CUSTOMER)
    _capture(client, world.device_headers)
    recording = session.exec(select(Recording)).one()
    assert recording.call_id is not None and recording.number_e164 == PERSONAL
    assert _count(session, CaptureAlert) == 1
    store, sha256 = get_store(settings), recording.sha256
    assert store.has(sha256)

    response = client.post(
        "/api/v1/ingest/exclusions", json={"number": "138 0000 0001"}, headers=factory.headers(world.rep)
    )
    assert response.status_code == 201, response.text

    assert [s.number_e164 for s in session.exec(select(CapturedSms))] == [CUSTOMER]
    assert [c.number_e164 for c in session.exec(select(CapturedCall))] == [CUSTOMER]
    assert _count(session, Recording) == 0 and _count(session, RecordingUpload) == 0
    assert not store.has(sha256)  # no other recording had this content
    assert _count(session, CaptureAlert) == 0
    events = session.exec(select(TimelineEvent).where(TimelineEvent.source_table != "ownership_change")).all()
    assert {e.data["number"] for e in events} == {CUSTOMER}
    # counts kept: the keys of what was purged, as for records excluded on arrival
    kept = session.exec(select(ExcludedCapture.source)).all()
    assert sorted(kept) == ["call", "recording", "sms"]
    # phone books: the number leaves the entries, counted; an entry left with no number goes
    entries = session.exec(select(CapturedContact)).all()
    assert [(e.name, e.excluded_numbers) for e in entries] == [("客户", 1)]
    assert session.exec(select(CapturedContactNumber.number_e164)).all() == [CUSTOMER]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "capture.exclusion.purge")).one()
    assert audit.actor_user_id == world.rep.id
    assert audit.detail["sms"] == audit.detail["call"] == audit.detail["recording"] == 1
    assert audit.detail["files"] == 1 and audit.detail["contacts"] == 1 and audit.detail["alerts"] == 1
    # the refused record with the number leaves the quarantine, the other stays
    assert audit.detail["quarantined"] == 1
    assert [q.source_id for q in session.exec(select(QuarantinedRecord))] == ["4"]

    # re-sent afterwards: answered excluded, nothing comes back
    again = client.post(
        "/api/v1/ingest/sms",
        json={"records": [sms(1, "13800000001", "私单的事今晚说", PERSONAL_SMS_AT)]},
        headers=world.device_headers,
    ).json()
    assert again["excluded"] == 1 and _count(session, CapturedSms) == 1
    session.expire_all()  # the same key was kept on purging as on arrival: still counted once
    assert sorted(session.exec(select(ExcludedCapture.source)).all()) == ["call", "recording", "sms"]


def test_purge_keeps_a_file_another_recording_needs_and_stays_in_its_division(
    client: TestClient, world: World, session: Session, factory: Factory, settings: Settings
) -> None:
    other_division = factory.division()
    device = Device(serial="CAPTURE-OTHER", division_id=other_division.id, rep_user_id=None)
    session.add(device)
    session.flush()
    other_headers = {"Authorization": f"Bearer {issue_device_token(session, device=device, now=utcnow())}"}
    session.commit()
    _capture(client, world.device_headers)
    _capture(client, other_headers)
    assert _count(session, Recording) == 2
    sha256 = session.exec(select(Recording.sha256)).first()

    head = factory.user(Role.division_head, world.division)
    response = client.post(
        "/api/v1/ingest/exclusions",
        json={"number": "13800000001", "kind": "staff"},
        headers=factory.headers(head),
    )
    assert response.status_code == 201, response.text
    assert _count(session, CapturedSms, CapturedSms.division_id == world.division.id) == 1
    assert _count(session, CapturedSms, CapturedSms.division_id == other_division.id) == 2  # untouched
    assert _count(session, Recording) == 1
    assert get_store(settings).has(sha256)  # the other division's recording still has this content

    executive = factory.user(Role.executive)
    client.post(
        "/api/v1/ingest/exclusions",
        json={"number": "13800000001", "kind": "staff", "division_id": None},
        headers=factory.headers(executive),
    )
    assert _count(session, Recording) == 0 and not get_store(settings).has(sha256)
    assert _count(session, CapturedSms) == 2
