"""Recordings: resumable verified uploads, content stored once, call matching, duration, playback."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from capture.audio import audio_duration
from capture.transcribe import Transcript
from crm.audit import AuditLog
from crm.communications import CaptureAlert, LinkStatus, Recording, TranscriptStatus
from crm.devices import Device
from crm.org import Role
from crm.types import utcnow
from server.auth.service import issue_device_token
from server.config import Settings
from server.ingest.transcription import transcribe_one, transcribe_pending
from server.recordings.staging import Staging
from server.recordings.store import get_store
from tests.factories import Factory
from tests.ingest.conftest import AUDIO, MP3, World, add_phone, ago, call, declare, iso, put_bytes, upload

NUMBER = "+8613812345678"


def test_resumable_upload_matches_its_call_and_lands_on_the_timeline(
    client: TestClient, world: World, session: Session, factory: Factory, settings: Settings
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, NUMBER)
    started = ago(hours=3)
    [call_result] = client.post(
        "/api/v1/ingest/calls",
        headers=world.device_headers,
        json={"records": [call(1, "13812345678", started.replace(second=started.second), duration=90)]},
    ).json()["results"]

    state = declare(client, world.device_headers, MP3, started_at=iso(started))
    assert (state["status"], state["offset"]) == ("upload", 0)
    upload_id = state["upload_id"]
    half = len(MP3) // 2
    assert put_bytes(client, world.device_headers, upload_id, 0, MP3[:half]).json()["offset"] == half
    wrong = put_bytes(client, world.device_headers, upload_id, 10, MP3[10:20])
    assert wrong.status_code == 409 and str(half) in wrong.json()["detail"]
    # the agent restarts: declaring again resumes the same upload
    again = declare(client, world.device_headers, MP3, started_at=iso(started))
    assert (again["upload_id"], again["offset"]) == (upload_id, half)
    assert (
        client.get(f"/api/v1/ingest/recordings/{upload_id}", headers=world.device_headers).json()["offset"]
        == half
    )
    done = put_bytes(client, world.device_headers, upload_id, half, MP3[half:]).json()
    assert done["status"] == "complete" and done["offset"] == len(MP3)

    recording = session.get(Recording, done["recording_id"])
    assert recording.call_id == call_result["id"] and recording.customer_id == customer.id
    assert recording.duration_s == audio_duration(AUDIO / "call_1500ms.mp3") and recording.problems == {}
    assert recording.transcript_status == TranscriptStatus.none  # no engine configured: no transcript
    assert get_store(settings).has(recording.sha256)
    timeline = client.get(
        f"/api/v1/customers/{customer.id}/timeline", headers=factory.headers(world.rep)
    ).json()
    [event] = timeline["events"]
    assert event["kind"] == "call" and event["recording"]["id"] == recording.id
    duplicate = declare(client, world.device_headers, MP3)
    assert (duplicate["status"], duplicate["recording_id"]) == ("duplicate", recording.id)


def test_call_arriving_after_its_recording_is_matched(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, NUMBER)
    started = ago(hours=2)
    state = upload(client, world.device_headers, MP3, started_at=iso(started))
    assert (
        client.get(f"/api/v1/customers/{customer.id}/timeline", headers=factory.headers(world.rep)).json()[
            "events"
        ][0]["kind"]
        == "recording"
    )
    client.post(
        "/api/v1/ingest/calls",
        headers=world.device_headers,
        json={"records": [call(9, "13812345678", ago(hours=2, seconds=-40))]},
    )
    session.expire_all()
    recording = session.get(Recording, state["recording_id"])
    assert recording.call_id is not None
    events = client.get(
        f"/api/v1/customers/{customer.id}/timeline", headers=factory.headers(world.rep)
    ).json()
    assert [e["kind"] for e in events["events"]] == ["call"]  # the recording shows on its call


def test_same_content_from_two_phones_is_stored_once(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    upload(client, world.device_headers, MP3)
    second = Device(serial="CAPTURE-2", division_id=world.division.id, rep_user_id=world.other_rep.id)
    session.add(second)
    session.flush()
    token = issue_device_token(session, device=second, now=utcnow())
    session.commit()
    state = declare(client, {"Authorization": f"Bearer {token}"}, MP3)
    assert state["status"] == "complete" and state["offset"] == len(MP3)  # no bytes needed
    assert session.execute(select(func.count()).select_from(Recording)).scalar_one() == 2
    stored = [p for p in (settings.recordings_dir / "sha256").rglob("*") if p.is_file()]
    assert len(stored) == 1


def test_bytes_for_an_upload_another_request_is_writing_get_409(
    client: TestClient, world: World, settings: Settings
) -> None:
    state = declare(client, world.device_headers, MP3)
    with Staging(settings.recordings_dir / "staging").open(state["upload_id"]):
        busy = put_bytes(client, world.device_headers, state["upload_id"], 0, MP3)
    assert busy.status_code == 409 and busy.json()["field"] == "Upload-Offset"
    done = put_bytes(client, world.device_headers, state["upload_id"], 0, MP3).json()
    assert done["status"] == "complete" and get_store(settings).has(hashlib.sha256(MP3).hexdigest())


def test_wrong_sha256_restarts_the_upload_and_stores_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    state = declare(client, world.device_headers, MP3)
    corrupted = MP3[:-1] + bytes([MP3[-1] ^ 0xFF])
    response = put_bytes(client, world.device_headers, state["upload_id"], 0, corrupted)
    assert response.status_code == 422 and response.json()["field"] == "sha256"
    assert (
        client.get(f"/api/v1/ingest/recordings/{state['upload_id']}", headers=world.device_headers).json()[
            "offset"
        ]
        == 0
    )
    too_many = put_bytes(client, world.device_headers, state["upload_id"], 0, MP3 + b"extra")
    assert too_many.status_code == 413
    assert session.exec(select(Recording)).all() == []


def test_corrupt_audio_is_kept_without_duration_and_unmatched_stays_visible(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    junk = (AUDIO / "not_audio.mp3").read_bytes()
    state = upload(client, world.device_headers, junk, file_name="weird name.mp3")
    recording = session.get(Recording, state["recording_id"])
    assert recording.duration_s is None and "duration" in recording.problems
    assert recording.time_known is False and recording.call_id is None
    listed = client.get(
        "/api/v1/recordings", params={"unmatched": "true"}, headers=factory.headers(world.head)
    )
    assert [r["id"] for r in listed.json()] == [recording.id]


def test_bad_declarations_are_quarantined(client: TestClient, world: World) -> None:
    bad = client.post(
        "/api/v1/ingest/recording-uploads",
        headers=world.device_headers,
        json={"sha256": "XYZ", "size_bytes": 10, "file_name": "a.mp3"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "sha256"
    huge = client.post(
        "/api/v1/ingest/recording-uploads",
        headers=world.device_headers,
        json={"sha256": "0" * 64, "size_bytes": 10**13, "file_name": "a.mp3"},
    )
    assert huge.status_code == 422 and huge.json()["field"] == "size_bytes"


def test_excluded_number_recording_is_not_uploaded(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    client.post(
        "/api/v1/ingest/exclusions", json={"number": "13812345678"}, headers=factory.headers(world.rep)
    )
    assert declare(client, world.device_headers, MP3)["status"] == "excluded"
    assert session.exec(select(Recording)).all() == []


def test_playback_with_ranges_is_audited_and_scoped(
    client: TestClient, world: World, session: Session, factory: Factory
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, NUMBER)
    recording_id = upload(client, world.device_headers, MP3)["recording_id"]
    url = f"/api/v1/recordings/{recording_id}/audio"
    rep = factory.headers(world.rep)
    whole = client.get(url, headers=rep)
    assert whole.status_code == 200 and whole.content == MP3 and whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers=rep | {"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == MP3[:10]
    assert part.headers["content-range"] == f"bytes 0-9/{len(MP3)}"
    tail = client.get(url, headers=rep | {"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == MP3[-100:]
    middle = client.get(url, headers=rep | {"Range": f"bytes=100-{len(MP3) + 50}"})
    assert middle.content == MP3[100:]
    outside = client.get(url, headers=rep | {"Range": f"bytes={len(MP3)}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{len(MP3)}"
    plays = session.exec(select(AuditLog).where(AuditLog.action == "recording.play")).all()
    assert len(plays) == 2 and {p.actor_user_id for p in plays} == {world.rep.id}  # from byte 0 only
    details = client.get(f"/api/v1/recordings/{recording_id}", headers=rep).json()
    assert details["number"] == NUMBER and details["customer_id"] == customer.id
    outsider = factory.user(Role.division_head, factory.division())
    assert client.get(url, headers=factory.headers(outsider)).status_code == 404
    assert client.get(url, headers=factory.headers(world.other_rep)).status_code == 404


class _FixedText:
    """A speech engine stand-in returning a known text (the real engine needs a downloaded model)."""

    def transcribe(self, path: object) -> Transcript:
        assert Path(str(path)).is_file()
        return Transcript(text="这个价格是最低价了", engine="fixed")


def test_transcripts_raise_keyword_alerts_and_misconfiguration_touches_nothing(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    recording_id = upload(client, world.device_headers, MP3)["recording_id"]
    recording = session.get(Recording, recording_id)
    recording.transcript_status = TranscriptStatus.pending
    session.add(recording)
    session.commit()
    broken = settings.model_copy(update={"transcription_engine": "vosk", "transcription_model_dir": None})
    assert transcribe_pending(session, utcnow(), broken) == 0
    assert session.get(Recording, recording_id).transcript_status == TranscriptStatus.pending
    transcribe_one(session, recording, _FixedText(), get_store(settings), utcnow())
    session.expire_all()
    recording = session.get(Recording, recording_id)
    assert (
        recording.transcript_status == TranscriptStatus.done and recording.transcript == "这个价格是最低价了"
    )
    [alert] = session.exec(select(CaptureAlert)).all()
    assert (alert.keyword, alert.source_table, alert.source_id) == ("最低价", "recording", recording_id)
    assert recording.link_status == LinkStatus.unlinked
