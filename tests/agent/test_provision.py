"""Provisioning simulated phones of three brands against a real server, through adb and uiautomator2."""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from crm.devices import Device
from crm.org import Division, Role, User
from device_agent.agent import Agent
from device_agent.cli import app
from device_agent.errors import AgentError
from device_agent.provision.results import Status
from device_agent.provision.runner import (
    PhoneReport,
    decommission,
    provision_many,
    provision_phone,
    read_roster,
)
from device_agent.provision.steps import OWNTRACKS, Target
from device_agent.simulator.apk import make_apk
from device_agent.simulator.phone import SimulatedPhone
from tests.agent.conftest import Fleet
from tests.factories import Factory

LOCATION = ("android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION",
            "android.permission.ACCESS_BACKGROUND_LOCATION")


@pytest.fixture
def settings(settings):
    settings.tracking_hours = "always"
    settings.tracking_days = "1-7"
    return settings


@pytest.fixture
def rep(factory: Factory, admin: tuple[User, str], session: Session) -> User:
    return factory.user(Role.rep, session.get(Division, admin[0].division_id), username="wang.lei")


@pytest.fixture
def tracker_apk(agent: Agent, tmp_path: Path) -> Path:
    path = tmp_path / "owntracks.apk"
    path.write_bytes(make_apk(OWNTRACKS, label="OwnTracks", version_name="2.5.3", version_code=420503,
                              permissions=(*LOCATION, "android.permission.INTERNET")))
    agent.settings.tracker_apk = path
    return path


def statuses(report: PhoneReport) -> dict[str, Status]:
    return {step.step: step.status for step in report.steps}


def keep_time(phone: SimulatedPhone, *, last_fix_age_s: int = 0) -> SimulatedPhone:
    """Set the phone's clock to now, as a real phone's is (the templates live in the past, and the server
    keeps fixes days old off the map), with a last known fix `last_fix_age_s` old; from then on the phone
    changes only when the test says so."""
    now_ms = int(time.time() * 1000)
    with phone.core.lock:
        phone.state.generator = None
        phone.state.clock_ms = now_ms
        phone.core.add_fix(31.2304, 121.4737, time_ms=now_ms - last_fix_age_s * 1000)
    return phone


def test_provisioning_three_brands_then_again(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], tracker_apk: Path, factory: Factory,
    admin: tuple[User, str], session: Session
) -> None:
    phones = [keep_time(new_phone(oem, seed)) for oem, seed in (("xiaomi", 1), ("samsung", 2), ("huawei", 1))]
    division = session.get(Division, admin[0].division_id)  # Android 13, 13, 10; one rep each
    reps = [factory.user(Role.rep, division, username=f"rep.{phone.state.identity.oem}") for phone in phones]
    agent.settings.verify_timeout_s = 20
    events: list[tuple[str, str, Status]] = []
    reports = provision_many(agent, [Target(p.address, r.username) for p, r in zip(phones, reps, strict=True)],
                             lambda serial, step, status, detail: events.append((serial, step, status)))

    for phone, report, rep in zip(phones, reports, reps, strict=True):
        got = statuses(report)
        assert report.device == phone.serial
        assert got["adb"] is Status.ALREADY
        assert {got[s] for s in ("enrol", "install", "battery", "configure")} == {Status.DONE}, report.steps
        assert got["permissions"] in (Status.DONE, Status.ALREADY)  # `pm install -g` may have granted all
        assert got["consents"] in (Status.DONE, Status.ALREADY)
        assert got["verify"] is Status.DONE, report.steps[-1]  # the phone's OwnTracks posted its last fix
        assert "owntracks fix received" in report.steps[-1].detail

        package = phone.state.packages[OWNTRACKS]
        assert set(LOCATION) <= set(package.granted_permissions)
        assert OWNTRACKS in phone.state.deviceidle_whitelist
        credential = agent.credentials.get(phone.serial)
        assert credential is not None and credential.rep_user_id == rep.id
        assert package.config is not None
        assert package.config["password"] == credential.token
        assert package.config["url"] == f"{agent.settings.server_url}/api/v1/trackers/owntracks"
        assert session.get(Device, credential.device_id).serial == phone.serial
    assert (phones[0].address, "verify", Status.WAITING) in events

    mode = stat.S_IMODE(agent.settings.credentials_path.stat().st_mode)
    assert mode == 0o600
    tokens = [agent.credentials.get(p.serial).token for p in phones]
    assert not any(token in json.dumps([r.as_dict() for r in reports]) for token in tokens)

    agent.settings.verify_timeout_s = 0
    again = provision_phone(agent, Target(phones[0].address, reps[0].username), lambda *a: None)
    got = statuses(again)
    assert {got[s] for s in ("adb", "enrol", "install", "permissions", "battery", "consents", "configure")} == {
        Status.ALREADY}
    assert got["verify"] is Status.ALREADY  # a fresh OwnTracks fix of this phone is on the live map
    assert agent.credentials.get(phones[0].serial).token == tokens[0]


def test_verification_waits_for_the_trackers_next_fix(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], tracker_apk: Path, rep: User
) -> None:
    phone = keep_time(new_phone("pixel", 2), last_fix_age_s=600)  # parked for ten minutes: a stale fix
    agent.settings.verify_timeout_s = 20
    report = provision_phone(agent, Target(phone.address, rep.username), lambda *a: None)
    assert statuses(report)["verify"] is Status.DONE, report.steps[-1]
    assert phone.tracker.wait_idle(10) and phone.tracker.posted == 1  # the last known fix, once configured

    phone.faults.tracker_offline = True  # the rep drives off with no network: the app queues
    phone.core.add_fix(31.2330, 121.4760)
    assert phone.tracker.pending == 1

    def back_online(serial: str, step: str, status: Status, detail: str) -> None:
        if step == "verify" and status is Status.WAITING:
            phone.faults.tracker_offline = False

    again = provision_phone(agent, Target(phone.address, rep.username), back_online)
    assert statuses(again)["configure"] is Status.ALREADY
    assert statuses(again)["verify"] is Status.DONE, again.steps[-1]  # the stale fix was not enough
    assert "owntracks fix received" in again.steps[-1].detail
    assert phone.tracker.wait_idle(10) and phone.tracker.posted == 2


@pytest.fixture
def locked_phone(new_phone: Callable[..., SimulatedPhone], fleet: Fleet, tracker_apk: Path) -> SimulatedPhone:
    """A phone plugged into a computer whose key it has not accepted yet."""
    phone = new_phone("pixel", 2, plug=False)
    phone.require_auth()
    fleet.plug_unauthorized(phone)
    return phone


def test_unauthorized_phone_waits_for_the_prompt(agent: Agent, locked_phone: SimulatedPhone, rep: User) -> None:
    phone = locked_phone
    waiting = threading.Event()

    def on_step(serial: str, step: str, status: Status, detail: str) -> None:
        if step == "adb" and status is Status.WAITING:
            assert "tap Allow" in detail
            waiting.set()
            threading.Timer(0.3, phone.accept_auth).start()

    report = provision_phone(agent, Target(phone.address, rep.username), on_step)
    assert waiting.is_set()
    assert report.steps[0].status is Status.DONE and "authorised on the phone" in report.steps[0].detail
    assert statuses(report)["enrol"] is Status.DONE


def test_unauthorized_phone_that_nobody_accepts_needs_a_human(
    agent: Agent, locked_phone: SimulatedPhone, rep: User
) -> None:
    agent.settings.auth_timeout_s = 1
    report = provision_phone(agent, Target(locked_phone.address, rep.username), lambda *a: None)
    assert report.steps[0].status is Status.HUMAN
    assert {s.status for s in report.steps[1:]} == {Status.SKIPPED}
    assert agent.credentials.all() == {}


def test_enrolment_with_a_one_time_code(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], tracker_apk: Path, admin: tuple[User, str]
) -> None:
    phone = new_phone("pixel", 2)
    code = httpx.post(f"{agent.settings.server_url}/api/v1/enrolment-codes", json={
        "division_id": admin[0].division_id}, headers={"Authorization": f"Bearer {admin[1]}"}).json()["code"]
    agent.settings.admin_token = None
    report = provision_phone(agent, Target(phone.address, code=code), lambda *a: None)
    assert statuses(report)["enrol"] is Status.DONE
    assert statuses(report)["verify"] is Status.HUMAN  # no admin token to read the live map with


def test_decommission_revokes_and_removes(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], tracker_apk: Path, rep: User
) -> None:
    phone = new_phone("pixel", 2)
    agent.settings.verify_timeout_s = 0
    provision_phone(agent, Target(phone.address, rep.username), lambda *a: None)
    token = agent.credentials.get(phone.serial).token
    me = f"{agent.settings.server_url}/api/v1/devices/me"
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    report = decommission(agent, phone.serial)
    assert [s.status for s in report.steps] == [Status.DONE] * 4, report.steps
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert OWNTRACKS not in phone.state.packages
    assert agent.credentials.get(phone.serial) is None


def test_cli_provisions_a_roster_and_lists_what_it_cannot(
    cli_env: CliRunner, agent: Agent, new_phone: Callable[..., SimulatedPhone], tracker_apk: Path, rep: User,
    tmp_path: Path,
) -> None:
    phone = new_phone("huawei", 1)
    roster = tmp_path / "roster.csv"
    roster.write_text(f"serial,rep\n{phone.serial},{rep.username}\nNOT-HERE-1,{rep.username}\n", encoding="utf-8")
    result = cli_env.invoke(app, ["provision", "--roster", str(roster), "--apk", str(tracker_apk), "--json"])
    assert result.exit_code == 1  # one roster line names a phone that is not plugged in; verify cannot pass
    out = json.loads(result.stdout)
    assert out["roster_problems"] == ["line 3: NOT-HERE-1 is not connected"]
    [report] = out["phones"]
    steps = {s["step"]: s["status"] for s in report["steps"]}
    assert report["device"] == phone.serial
    assert steps["enrol"] == "done" and steps["configure"] == "done"
    assert agent.credentials.get(phone.serial).rep_user_id == rep.id
    assert agent.credentials.get(phone.serial).token not in result.stdout


def test_a_roster_saved_by_chinese_excel_is_read_and_a_binary_file_is_refused(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], tmp_path: Path
) -> None:
    phone = new_phone("vivo", 1)
    roster = tmp_path / "roster.csv"
    roster.write_bytes(f"serial,rep,姓名\r\n{phone.serial},wang.fang,王芳\r\nNOT-HERE-1,li.lei,李雷\r\n".encode("gbk"))
    targets, problems = read_roster(agent, roster)
    assert [(t.rep, t.code) for t in targets] == [("wang.fang", None)]
    assert problems == ["line 3: NOT-HERE-1 is not connected"]
    roster.write_bytes(b"serial,rep\n\x81\x30\xff\xfe\n")
    with pytest.raises(AgentError, match="neither UTF-8 nor GB18030"):
        read_roster(agent, roster)
