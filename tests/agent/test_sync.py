"""Capture against simulated phones through the real adb server, uploads to a real server process."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, select

from capture import RECORDING_EXTENSIONS
from crm.communications import CapturedSms, Recording
from crm.devices import Device
from device_agent import server_api
from device_agent.agent import Agent
from device_agent.collect.context import Outcome
from device_agent.simulator.phone import SimulatedPhone
from device_agent.sync import sync_many, sync_phone
from tests.agent.conftest import server_counts


def phone_files(phone: SimulatedPhone) -> dict[str, str]:
    """Every file on the phone with its SHA-256 (to prove that capture changed nothing)."""
    root = phone.core.fs.host_path("/sdcard")
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def recording_count(phone: SimulatedPhone) -> int:
    return sum(1 for name in phone_files(phone) if Path(name).suffix.lower() in RECORDING_EXTENSIONS)


def phone_counts(phone: SimulatedPhone) -> dict[str, int]:
    return {"sms": len(phone.state.sms), "calls": len(phone.state.calls), "recordings": recording_count(phone)}


def total(*phones: SimulatedPhone) -> dict[str, int]:
    counts = [phone_counts(p) for p in phones]
    return {k: sum(c[k] for c in counts) for k in ("sms", "calls", "recordings")}


def test_incremental_sync_of_three_brands_moves_only_new_records(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phones = [new_phone("xiaomi", 1), new_phone("samsung", 2), new_phone("huawei", 1)]
    for phone in phones:
        enrol(phone)
    before = {p.serial: (phone_files(p), len(p.state.sms), len(p.state.calls)) for p in phones}

    first = sync_many(agent, [p.address for p in phones])
    assert [r.result for r in first] == ["ok", "ok", "ok"], [r.message for r in first]
    assert server_counts(session) == total(*phones)
    assert {p.serial: (phone_files(p), len(p.state.sms), len(p.state.calls)) for p in phones} == before

    added = [phone.advance(20 * 3600) for phone in phones]  # to 14:00 the next day
    assert sum(a.sms + a.calls for a in added) > 0
    second = sync_many(agent, [p.address for p in phones])
    for report, new in zip(second, added, strict=True):
        assert report.result == "ok", report.message
        assert report.uploaded.get("sms", 0) == new.sms
        assert report.uploaded.get("calls", 0) == new.calls
        assert report.uploaded.get("recording", 0) == new.recordings
    assert server_counts(session) == total(*phones)

    third = sync_phone(agent, phones[0].address)
    assert {k: v for k, v in third.uploaded.items() if k in ("sms", "calls", "recording")} == {}
    assert agent.store.pending_counts() == {}


def test_device_status_records_both_clocks(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("samsung", 2)
    credential = enrol(phone)
    report = sync_phone(agent, phone.address)
    assert report.result == "ok"
    skew = phone.state.clock_ms / 1000 - time.time()
    assert abs(report.clock_skew_s - skew) < 30
    session.expire_all()
    status = session.get(Device, credential.device_id).status
    assert status["properties"]["ro.serialno"] == phone.serial
    assert abs(int(status["properties"]["agent.clock_skew_s"]) - skew) < 30
    assert status["battery"]["level"] == phone.state.battery.level
    assert set(status["last_sync"]) == {"contacts", "sms", "calls", "recordings", "location"}


def test_a_refused_provider_is_reported_and_the_rest_is_captured(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("huawei", 1)
    phone.state.provider_access["sms"] = False  # Android < 10: the shell user may not read SMS
    enrol(phone)
    report = sync_phone(agent, phone.address)
    assert report.result == "partial"
    sms = next(s for s in report.sources if s.source == "sms")
    assert sms.outcome is Outcome.REFUSED and "Permission Denial" in sms.detail
    counts = server_counts(session)
    assert counts["sms"] == 0
    assert counts["calls"] == len(phone.state.calls) and counts["recordings"] == recording_count(phone)


def test_unplugged_mid_pull_resumes_next_time(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("samsung", 2)
    enrol(phone)
    phone.faults.disconnect_after_bytes = 4_000
    cut = sync_phone(agent, phone.address)
    assert cut.result == "gone"
    assert "resumes" in cut.message
    assert not list((agent.settings.staging_dir / phone.serial).glob("*.part"))
    assert server_counts(session)["recordings"] < recording_count(phone)

    resumed = None
    for _ in range(50):  # adb notices the dropped connection and the phone reconnects
        agent.adb.connect(phone.address)
        resumed = sync_phone(agent, phone.address)
        if resumed.result != "not_ready":
            break
        time.sleep(0.1)
    assert resumed is not None and resumed.result == "ok", resumed
    assert server_counts(session) == phone_counts(phone)


def test_a_new_phone_behind_the_same_serial_is_read_from_the_start(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    old = new_phone("xiaomi", 1, days=1)
    enrol(old)
    assert sync_phone(agent, old.address).result == "ok"
    old.stop(save=False)

    replacement = new_phone("oppo", 1, days=2)  # same serial, its own _id sequence from 1 again
    assert replacement.serial == old.serial
    report = sync_phone(agent, replacement.address)
    assert report.result == "ok", report.message
    assert report.uploaded["sms"] == len(replacement.state.sms)
    assert report.uploaded["calls"] == len(replacement.state.calls)

    def sms_keys(phone: SimulatedPhone) -> set[tuple[object, ...]]:
        return {(row["date"], row["address"], row["body"]) for row in phone.state.sms}

    def call_keys(phone: SimulatedPhone) -> set[tuple[object, ...]]:
        return {(row["date"], row["number"], row["duration"], row["type"]) for row in phone.state.calls}

    counts = server_counts(session)
    assert counts["sms"] == len(sms_keys(old) | sms_keys(replacement)) > len(sms_keys(old))
    assert counts["calls"] == len(call_keys(old) | call_keys(replacement)) > len(call_keys(old))


def test_full_host_disk_stops_cleanly_and_loses_nothing(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("huawei", 1)
    enrol(phone)
    agent.settings.min_free_bytes = 2**62
    full = sync_phone(agent, phone.address)
    assert full.result == "disk_full"
    assert "disk nearly full" in full.message and "nothing was lost" in full.message
    assert server_counts(session)["recordings"] == 0

    agent.settings.min_free_bytes = 0
    again = sync_phone(agent, phone.address)
    assert again.result == "ok"
    assert server_counts(session) == phone_counts(phone)


def test_outbox_keeps_records_while_the_server_is_down(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("xiaomi", 1)
    enrol(phone)
    server_url = agent.settings.server_url
    agent.settings.server_url = "http://127.0.0.1:9"  # nothing listens there
    down = sync_phone(agent, phone.address)
    assert down.result == "server"
    assert "wait in the outbox" in down.message
    assert down.pending["sms"] == len(phone.state.sms)

    agent.settings.server_url = server_url
    up = sync_phone(agent, phone.address)
    assert up.result == "ok"
    assert up.uploaded["sms"] == len(phone.state.sms)
    assert server_counts(session) == phone_counts(phone)


class _CaptivePortal(BaseHTTPRequestHandler):
    """What a hotel or office network's login page answers to every request."""

    def _page(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = "<html><body>请先登录 Wi-Fi</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _page

    def log_message(self, *_args: object) -> None:
        pass


def test_a_page_that_is_not_the_server_keeps_everything_in_the_outbox(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("oppo", 1)
    enrol(phone)
    portal = ThreadingHTTPServer(("127.0.0.1", 0), _CaptivePortal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    server_url = agent.settings.server_url
    agent.settings.server_url = f"http://127.0.0.1:{portal.server_address[1]}"
    try:
        wrong = sync_phone(agent, phone.address)
    finally:
        portal.shutdown()
    assert wrong.result == "server"
    assert "is not fieldcrm's (200, text/html" in wrong.message
    assert wrong.pending["sms"] == len(phone.state.sms) and not wrong.uploaded.get("sms")

    agent.settings.server_url = server_url
    assert sync_phone(agent, phone.address).result == "ok"
    assert server_counts(session) == phone_counts(phone)


def test_a_record_the_server_refuses_is_kept_aside_not_retried(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("samsung", 2)
    enrol(phone)
    far_future = int((time.time() + 10 * 86400) * 1000)
    phone.core.add_sms("13800138000", "明天见", time_ms=far_future)
    report = sync_phone(agent, phone.address)
    assert report.rejected == {"sms": 1}
    [kept] = agent.store.rejected(phone.serial)
    assert kept["kind"] == "sms" and kept["field"] == "occurred_at"
    assert server_counts(session)["sms"] == len(phone.state.sms) - 1
    assert agent.store.pending_counts() == {}
    assert sync_phone(agent, phone.address).rejected == {}


def test_recordings_arrive_intact(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("xiaomi", 1)
    enrol(phone)
    agent.settings.chunk_bytes = 64 * 1024
    assert sync_phone(agent, phone.address).result == "ok"
    on_phone = {Path(name).name: sha for name, sha in phone_files(phone).items()
                if Path(name).suffix.lower() in RECORDING_EXTENSIONS}
    stored = {r.file_name: r.sha256 for r in session.exec(select(Recording))}
    assert stored == on_phone


@pytest.mark.parametrize("cut", [False, True], ids=["changed", "cut short"])
@pytest.mark.parametrize("batch_bytes", [16 << 20, 0], ids=["in batches", "one by one"])
def test_a_damaged_staged_copy_is_pulled_again(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session, batch_bytes: int,
    cut: bool,
) -> None:
    phone = new_phone("xiaomi", 1)
    enrol(phone)
    agent.settings.recording_batch_bytes = batch_bytes
    server_url = agent.settings.server_url
    agent.settings.server_url = "http://127.0.0.1:9"  # capture into the outbox only
    assert sync_phone(agent, phone.address).result == "server"
    staged = [Path(item.payload["local_path"]) for item in agent.store.pending(phone.serial, "recording", 100)]
    damaged = bytearray(staged[0].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # same size, other content (a bad sector)
    staged[0].write_bytes(damaged[: len(damaged) // 3] if cut else damaged)  # or cut short by a power cut

    agent.settings.server_url = server_url
    # the damaged copy is dropped and its file read again: in the same sync when that is found before the
    # recordings are listed, else in the next
    first = sync_phone(agent, phone.address)
    again = sync_phone(agent, phone.address)
    assert first.result == again.result == "ok"
    assert first.uploaded["recording"] + again.uploaded.get("recording", 0) == len(staged)
    assert server_counts(session) == phone_counts(phone)


def test_a_server_without_recording_batches_gets_them_one_by_one(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an older server: it answers 404 to the batch route
    monkeypatch.setattr(server_api, "RECORDING_BATCHES_PATH", "/api/v1/ingest/recording-batches-unknown")
    phone = new_phone("xiaomi", 1)
    enrol(phone)
    assert sync_phone(agent, phone.address).result == "ok"
    assert server_counts(session) == phone_counts(phone)


def test_sms_on_their_way_are_read_again_until_they_settle(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("pixel", 2)
    enrol(phone)
    sending = phone.core.add_sms("13800138000", "报价已发，请查收", sms_type=4)  # outbox
    failing = phone.core.add_sms("13900139000", "明天上午拜访", sms_type=6)  # queued
    assert sync_phone(agent, phone.address).result == "ok"
    assert set(agent.store.watermark(phone.serial, "sms")["watch"]) == {str(sending), str(failing)}

    phone.core.move_sms(sending, 2)
    phone.core.move_sms(failing, 5, error_code=1)
    newer = phone.core.add_sms("13800138000", "收到", sms_type=1)
    again = sync_phone(agent, phone.address)
    assert again.uploaded["sms"] == 3  # both new versions and the new message
    assert agent.store.watermark(phone.serial, "sms")["watch"] == {str(failing): "5"}  # a failed one may be retried
    assert agent.store.watermark(phone.serial, "sms")["id"] == newer
    session.expire_all()
    types = {row.source_id: (row.type, row.error_code) for row in session.exec(select(CapturedSms))}
    assert (types[sending], types[failing]) == (("sent", 0), ("failed", 1))  # the server applied them

    week = phone.advance(8 * 86400)  # a week later the failed message is left as it is
    settled = sync_phone(agent, phone.address)
    assert settled.uploaded.get("sms", 0) == week.sms
    assert "watch" not in agent.store.watermark(phone.serial, "sms")
    assert server_counts(session)["sms"] == len(phone.state.sms)


def test_a_recording_that_changes_during_its_pull_waits_for_the_next_sync(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("xiaomi", 1)
    enrol(phone)
    recordings = ["/sdcard/" + name for name in phone_files(phone)
                  if Path(name).suffix.lower() in RECORDING_EXTENSIONS]
    parts = {hashlib.sha256(path.encode()).hexdigest()[:32] + ".part": path for path in recordings}
    staging = agent.settings.staging_dir / phone.serial
    phone.faults.link_rate = 5_000  # bytes/s: the first recording (3-8 KB) takes about a second to arrive
    changed: list[str] = []

    def change_the_first_file_pulled() -> None:
        deadline = time.monotonic() + 60
        while not changed and time.monotonic() < deadline:
            pulling = [parts[p.name] for p in staging.glob("*.part") if p.name in parts]
            if pulling:
                path = pulling[0]
                phone.core.fs.write_bytes(path, phone.core.fs.read_bytes(path) + b"\0" * 4096)
                changed.append(path)
                phone.faults.link_rate = None
            time.sleep(0.005)

    watcher = threading.Thread(target=change_the_first_file_pulled)
    watcher.start()
    first = sync_phone(agent, phone.address)
    watcher.join()
    assert changed and first.result == "ok", first
    detail = next(s for s in first.sources if s.source == "recordings").detail
    assert detail.startswith("1 file(s) changing"), detail
    assert server_counts(session)["recordings"] == len(recordings) - 1

    assert sync_phone(agent, phone.address).uploaded.get("recording") == 1
    stored = {r.file_name: r.sha256 for r in session.exec(select(Recording))}
    name = Path(changed[0]).name
    assert stored[name] == hashlib.sha256(phone.core.fs.read_bytes(changed[0])).hexdigest()
