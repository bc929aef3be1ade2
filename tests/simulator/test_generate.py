"""Generated phones: deterministic, realistic, with playable recordings; the clock adds activity."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path

import av
import pytest

from device_agent.simulator import GenerateError, PhoneCore, SimulatedPhone, StateError, generate_phone
from device_agent.simulator.oem import OEMS
from device_agent.simulator.state import STATE_FILE

from .conftest import NOW


def _recordings(core: PhoneCore) -> list[str]:
    folder = OEMS[core.state.identity.oem].recorder_folder(core.state.identity.sdk)
    return [e.path for e in core.fs.listdir(f"/sdcard/{folder}")]


def test_same_seed_same_phone(tmp_path: Path, phone_templates: dict[str, Path]) -> None:
    generate_phone(tmp_path / "again", seed=11, oem="xiaomi", days=2, now=NOW)
    assert (tmp_path / "again" / STATE_FILE).read_text() == (phone_templates["xiaomi"] / STATE_FILE).read_text()


def test_numbers_bodies_and_fixes_look_like_the_field(phone_templates: dict[str, Path]) -> None:
    core = PhoneCore(phone_templates["samsung"])
    state = core.state
    numbers = [n["number"] for c in state.contacts for n in c["numbers"]]  # type: ignore[union-attr]
    assert any(n.startswith("+86") for n in numbers)
    assert any(re.fullmatch(r"1[3-9]\d{9}", n) for n in numbers)
    bodies = [str(r["body"]) for r in state.sms]
    assert any("\n" in b for b in bodies) or any("," in b or "=" in b for b in bodies)
    assert any(re.search(r"[\u4e00-\u9fff]", b) for b in bodies)
    assert [r["_id"] for r in state.sms] == sorted(r["_id"] for r in state.sms)
    assert any(f.accuracy > 500 for f in state.fixes)
    moving = [f for f in state.fixes if f.speed]
    assert moving and all(5 < f.speed < 13 for f in moving)


def test_recordings_are_playable_and_match_answered_calls(phone_templates: dict[str, Path]) -> None:
    for name, ext in (("xiaomi", ".mp3"), ("samsung", ".m4a")):
        core = PhoneCore(phone_templates[name])
        recordings = _recordings(core)
        answered = [c for c in core.state.calls if c["duration"]]
        assert len(recordings) == len(answered)
        for path in recordings[:3]:
            assert path.endswith(ext)
            with av.open(str(core.fs.host_path(path))) as container:
                seconds = sum(f.samples / f.sample_rate for f in container.decode(audio=0))
            assert 1.5 < seconds < 5


def test_advancing_the_clock_adds_rows_with_new_ids_and_recordings(tmp_path: Path) -> None:
    generate_phone(tmp_path / "p", seed=3, oem="oneplus", days=0, now=NOW.replace(hour=7))
    core = PhoneCore(tmp_path / "p")
    last_sms = max((r["_id"] for r in core.state.sms), default=0)
    sms_before = len(core.state.sms)
    before_recordings = len(_recordings(core)) if core.state.calls else 0
    report = core.advance(timedelta(hours=12).total_seconds())
    assert report.fixes > 50 and report.calls >= 1
    assert core.state.clock_ms == int((NOW.replace(hour=19)).timestamp() * 1000)
    assert len(core.state.sms) == sms_before + report.sms
    assert all(r["_id"] > last_sms for r in core.state.sms[sms_before:])
    assert len(_recordings(core)) == before_recordings + report.recordings
    assert all(name.endswith(".amr") for name in _recordings(core))
    assert core.advance(0).fixes == 0


def test_bad_parameters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="unknown brand"):
        generate_phone(tmp_path / "x", seed=1, oem="nokia", now=NOW)
    with pytest.raises(GenerateError, match="days"):
        generate_phone(tmp_path / "y", seed=1, days=-1, now=NOW)


def test_broken_state_files_get_clear_errors(tmp_path: Path, phone_templates: dict[str, Path]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(phone_templates["xiaomi"], broken)
    (broken / STATE_FILE).write_text("{not json")
    with pytest.raises(StateError, match="not valid JSON"):
        PhoneCore(broken)
    state = json.loads((phone_templates["xiaomi"] / STATE_FILE).read_text())
    state["identity"]["imei"] = "12"
    (broken / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(StateError, match=r"identity\.imei"):
        PhoneCore(broken)
    state = json.loads((phone_templates["xiaomi"] / STATE_FILE).read_text())
    state["sms"][0]["colour"] = "blue"
    (broken / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(StateError, match="unknown column"):
        PhoneCore(broken)


def test_a_running_clock_keeps_adding_activity(tmp_path: Path, phone_templates: dict[str, Path]) -> None:
    shutil.copytree(phone_templates["samsung"], tmp_path / "live")
    with SimulatedPhone(tmp_path / "live") as phone:
        start, fixes = phone.state.clock_ms, len(phone.state.fixes)
        phone.run_clock(speed=20_000, tick=0.05)  # a simulated working day in a few seconds
        deadline = time.monotonic() + 30
        while phone.state.clock_ms < start + 86_400_000 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert phone.state.clock_ms >= start + 86_400_000
    assert len(phone.state.fixes) > fixes


def test_the_battery_never_reads_above_100_percent(tmp_path: Path) -> None:
    """Just after 07:00 a full battery wobbles: it must stay at 100 (a state over it is refused)."""
    generate_phone(tmp_path / "p", seed=5, oem="xiaomi", days=0, now=NOW.replace(hour=6))
    core = PhoneCore(tmp_path / "p")
    levels = []
    for day in range(7):
        for minute in range(0, 30, 2):
            at = NOW.replace(hour=7, minute=0) + timedelta(days=day, minutes=minute)
            core.advance_to(int(at.timestamp() * 1000))
            levels.append(core.state.battery.level)
    assert max(levels) == 100 and min(levels) > 90
