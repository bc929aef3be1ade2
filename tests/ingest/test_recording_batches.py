"""Several whole recordings in one request: a manifest line, then the files framed by their sizes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from capture.audio import audio_duration
from crm.communications import ExcludedCapture, LinkStatus, QuarantinedRecord, Recording
from crm.devices import Device
from crm.types import utcnow
from server.app import create_app
from server.auth.service import issue_device_token
from server.config import Settings
from server.ingest.recording_batch import MANIFEST_MAX_BYTES, MAX_FILES
from server.recordings.store import get_store
from tests.factories import Factory
from tests.ingest.conftest import AUDIO, MP3, World, add_phone, ago, iso, upload

URL = "/api/v1/ingest/recording-batches"
AMR = (AUDIO / "call_1000ms.amr").read_bytes()
WAV = (AUDIO / "call_500ms.wav").read_bytes()


def declaration(content: bytes, name: str, **extra: object) -> dict:
    return {"sha256": hashlib.sha256(content).hexdigest(), "size_bytes": len(content), "file_name": name} | extra


def body(declarations: list[dict], *files: bytes) -> bytes:
    return json.dumps({"recordings": declarations}).encode() + b"\n" + b"".join(files)


def send(client: TestClient, world: World, content: bytes | Iterator[bytes], **headers: str):
    return client.post(URL, content=content, headers=world.device_headers | headers)


def test_a_batch_stores_each_file_links_it_and_answers_each(
    client: TestClient, world: World, session: Session, factory: Factory, settings: Settings
) -> None:
    customer = factory.customer(world.division, world.rep)
    add_phone(session, customer, "+8613812345678")
    files = [
        (MP3, declaration(MP3, "通话录音@王经理(13812345678)_20240501143015.mp3", started_at=iso(ago(hours=3)))),
        (AMR, declaration(AMR, "13900001111_20240501150000.amr")),
        (WAV, declaration(WAV, "no-number.wav")),
    ]
    answer = send(client, world, body([d for _, d in files], *(content for content, _ in files)))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [(0, "complete"), (1, "complete"), (2, "complete")]

    store = get_store(settings)
    for (content, meta), result in zip(files, results, strict=True):
        recording = session.get(Recording, result["recording_id"])
        assert recording.sha256 == meta["sha256"] and recording.size_bytes == len(content)
        with store.local_path(recording.sha256) as path:
            assert path.read_bytes() == content
    linked = session.get(Recording, results[0]["recording_id"])
    assert linked.customer_id == customer.id and linked.link_status == LinkStatus.linked
    assert linked.duration_s == audio_duration(AUDIO / "call_1500ms.mp3")
    assert not list((settings.recordings_dir / "staging").iterdir())  # nothing left behind

    again = send(client, world, body([d for _, d in files], *(content for content, _ in files))).json()["results"]
    assert [(r["status"], r["recording_id"]) for r in again] == [("duplicate", r["recording_id"]) for r in results]
    assert upload(client, world.device_headers, MP3)["status"] == "duplicate"  # the per-file route agrees


def test_each_file_gets_its_own_answer(
    client: TestClient, world: World, session: Session, factory: Factory, settings: Settings
) -> None:
    client.post("/api/v1/ingest/exclusions", json={"number": "13700000000"}, headers=factory.headers(world.rep))
    wav_bad = WAV[:-1] + bytes([WAV[-1] ^ 0xFF])
    declarations = [
        {"sha256": "XYZ", "size_bytes": 5, "file_name": "a.mp3"},  # refused: quarantined, bytes read past
        declaration(AMR, "13700000000_20240501150000.amr"),  # an excluded number: not kept
        declaration(WAV, "13812345678_20240501160000.wav"),  # bytes that do not have the declared SHA-256
        declaration(MP3, "13812345678_20240501170000.mp3"),
    ]
    answer = send(client, world, body(declarations, b"12345", AMR, wav_bad, MP3))
    assert answer.status_code == 200, answer.text
    rejected, excluded, mismatch, complete = answer.json()["results"]
    assert (rejected["status"], rejected["field"]) == ("rejected", "sha256")
    assert excluded["status"] == "excluded"
    assert (mismatch["status"], mismatch["field"]) == ("retry", "sha256")
    assert complete["status"] == "complete"
    assert [r.sha256 for r in session.exec(select(Recording))] == [declarations[3]["sha256"]]
    assert session.exec(select(QuarantinedRecord)).one().field == "sha256"
    assert session.exec(select(ExcludedCapture)).one().source_key == declarations[1]["sha256"]
    store = get_store(settings)
    assert not store.has(declarations[1]["sha256"]) and not store.has(declarations[2]["sha256"])


@pytest.mark.parametrize(
    ("content", "status", "field"),
    [
        (b"not json\n" + MP3, 422, "recordings"),
        (b'{"recordings": []}\n', 422, "recordings"),
        (b'[{"size_bytes": 3}]\n123', 422, "recordings"),
        (b'{"recordings": [{"sha256": "' + b"0" * 64 + b'"}]}\n', 422, "recordings.0.size_bytes"),
        (b'{"recordings": [{"size_bytes": -4}]}\n', 422, "recordings.0.size_bytes"),
        (b'{"recordings": [{"size_bytes": 1.5}]}\n', 422, "recordings.0.size_bytes"),
        (b'{"recordings": [{"size_bytes": true}]}\n', 422, "recordings.0.size_bytes"),
        (b'{"recordings": "x"}\n', 422, "recordings"),
        (b'{"recordings": [{"size_bytes": 3}]}', 422, "recordings"),  # no newline: the body ends first
        (b"", 422, "recordings"),
        (b"\xff\xfe\n", 422, "recordings"),
        (b"{" * (MANIFEST_MAX_BYTES + 10), 413, "recordings"),
        (json.dumps({"recordings": [{"size_bytes": 1}] * (MAX_FILES + 1)}).encode() + b"\n", 413, "recordings"),
    ],
)
def test_a_body_that_cannot_be_framed_is_refused_whole(
    client: TestClient, world: World, session: Session, content: bytes, status: int, field: str
) -> None:
    answer = send(client, world, content)
    assert (answer.status_code, answer.json()["field"]) == (status, field), answer.text
    assert session.exec(select(Recording)).all() == []


def test_a_body_longer_or_shorter_than_its_manifest_is_refused_whole(
    client: TestClient, world: World, session: Session
) -> None:
    declarations = [declaration(MP3, "13812345678_20240501170000.mp3")]
    longer = send(client, world, body(declarations, MP3, b"extra"))
    assert longer.status_code == 422 and "Content-Length" in longer.json()["detail"]
    streamed = send(client, world, iter([body(declarations, MP3), b"extra"]))  # chunked: no Content-Length
    assert (streamed.status_code, streamed.json()["detail"]) == (422, "more bytes than the manifest declares")
    shorter = send(client, world, body(declarations, MP3[:-1]))
    assert shorter.status_code == 422
    assert session.exec(select(Recording)).all() == []


def test_files_whose_bytes_arrived_whole_are_kept_when_the_body_ends_early(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    declarations = [declaration(MP3, "13812345678_20240501170000.mp3"), declaration(AMR, "13812345678_1.amr")]
    answer = send(client, world, iter([body(declarations, MP3, AMR[:100])]))
    whole, cut = answer.json()["results"]
    assert whole["status"] == "complete" and (cut["status"], cut.get("field")) == ("retry", None)
    assert [r.sha256 for r in session.exec(select(Recording))] == [declarations[0]["sha256"]]
    assert not get_store(settings).has(declarations[1]["sha256"])


def test_content_stored_from_another_phone_is_registered_without_storing_it_again(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    assert upload(client, world.device_headers, MP3)["status"] == "complete"
    other = Device(serial="CAPTURE-2", division_id=world.division.id, rep_user_id=world.other_rep.id)
    session.add(other)
    session.flush()
    headers = {"Authorization": f"Bearer {issue_device_token(session, device=other, now=utcnow())}"}
    session.commit()
    wrong_size = declaration(MP3, "x.mp3") | {"size_bytes": len(MP3) - 1}
    [refused] = client.post(URL, content=body([wrong_size], MP3[:-1]), headers=headers).json()["results"]
    assert (refused["status"], refused["field"]) == ("rejected", "size_bytes")
    declarations = [declaration(MP3, "13812345678_20240501170000.mp3")]
    [result] = client.post(URL, content=body(declarations, MP3), headers=headers).json()["results"]
    assert result["status"] == "complete"
    assert session.get(Recording, result["recording_id"]).device_id == other.id
    with get_store(settings).local_path(declarations[0]["sha256"]) as path:
        assert path.read_bytes() == MP3


def test_batches_over_their_body_limit_and_without_a_device_token_are_refused(
    client: TestClient, world: World, settings: Settings, db: Engine, session: Session
) -> None:
    declarations = [declaration(MP3, "13812345678_20240501170000.mp3")]
    assert client.post(URL, content=body(declarations, MP3)).status_code == 401
    assert client.post(URL, content=body(declarations, MP3), headers={"Authorization": "Bearer fcd_x"}).status_code == 401
    small = settings.model_copy(update={"max_recording_batch_bytes": 1000})
    with TestClient(create_app(small, db), base_url="http://testserver") as small_client:
        assert send(small_client, world, body(declarations, MP3)).status_code == 413
    assert session.exec(select(Recording)).all() == []


_SIZES = st.one_of(st.integers(-5, 5_000), st.just(10**13), st.floats(allow_nan=False), st.text(max_size=3), st.none())
_FILES = st.lists(
    st.tuples(
        st.binary(max_size=300),
        st.one_of(st.none(), _SIZES),  # None: the content's own size
        st.one_of(st.none(), st.text(max_size=70)),  # None: the content's own SHA-256
        st.text(max_size=40),
    ),
    min_size=1,
    max_size=4,
)


@fuzz_settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_FILES, tail=st.one_of(st.none(), st.integers(-50, 50)))
def test_hostile_batches_get_an_answer_never_a_server_error(
    client: TestClient, world: World, session: Session, settings: Settings, files: list, tail: int | None
) -> None:
    declarations = [
        {
            "sha256": hashlib.sha256(content).hexdigest() if sha is None else sha,
            "size_bytes": len(content) if size is None else size,
            "file_name": name,
        }
        for content, size, sha, name in files
    ]
    content = body(declarations, *(data for data, _, _, _ in files))
    if tail is not None:  # cut short or followed by stray bytes
        content = content[:tail] if tail < 0 else content + bytes(tail)
    answer = send(client, world, content)
    assert answer.status_code in (200, 413, 422), answer.text
    if answer.status_code != 200:
        return
    results = answer.json()["results"]
    assert [r["index"] for r in results] == list(range(len(files)))
    store = get_store(settings)
    for result in results:
        assert result["status"] in ("complete", "duplicate", "excluded", "rejected", "retry")
        if result["status"] == "complete":  # only bytes that have the declared SHA-256 are kept
            recording = session.get(Recording, result["recording_id"])
            with store.local_path(recording.sha256) as path:
                assert hashlib.sha256(path.read_bytes()).hexdigest() == recording.sha256
