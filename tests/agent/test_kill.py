"""A killed agent loses nothing and duplicates nothing: SIGKILL at random moments of real syncs."""

from __future__ import annotations

import os
import random
import select as fdselect
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from crm.communications import CapturedCall, CapturedSms, Recording
from device_agent.agent import Agent
from device_agent.config import AgentSettings
from device_agent.server_api import ServerApi
from device_agent.simulator.phone import SimulatedPhone
from device_agent.sync import sync_many, sync_phone
from device_agent.uploader import Uploader
from tests.agent.conftest import server_counts
from tests.agent.test_contacts import content, on_phone, server_entries
from tests.agent.test_sync import phone_counts, phone_files

RUNS = 20


def _agent_env(settings: AgentSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_AGENT_")}
    env.update({
        "FIELDCRM_AGENT_SERVER_URL": settings.server_url,
        "FIELDCRM_AGENT_STATE_DIR": str(settings.state_dir),
        "FIELDCRM_AGENT_ADB_PORT": str(settings.adb_port),
        "FIELDCRM_AGENT_BACKOFF_S": "0.05",
        "FIELDCRM_AGENT_MIN_FREE_BYTES": "0",
        "FIELDCRM_AGENT_BATCH_SIZE": "4",
        "FIELDCRM_AGENT_RECORDING_BATCH_FILES": "2",
    })
    return env


def _sync_command(serial: str) -> list[str]:
    return [sys.executable, "-m", "device_agent", "--log-level", "INFO", "sync", serial, "--json"]


def _started(process: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    """When the agent process logged ``agent.sync.start`` (it has the phone and begins to work)."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fdselect.select([process.stderr], [], [], 0.1)[0]:
            line = process.stderr.readline()
            if b"agent.sync.start" in line:
                return time.monotonic()
            if not line:
                break
    raise AssertionError(f"the agent process never started syncing (exit code {process.poll()})")


def _assert_server_has_exactly(session: Session, agent: Agent, phones: list[SimulatedPhone]) -> None:
    assert server_counts(session) == {k: sum(phone_counts(p)[k] for p in phones) for k in ("sms", "calls",
                                                                                           "recordings")}
    on_phones_sms = sorted((row["date"], row["body"]) for p in phones for row in p.state.sms)
    stored_sms = sorted((round(r.occurred_at.timestamp() * 1000), r.body) for r in session.exec(select(CapturedSms)))
    assert stored_sms == on_phones_sms
    on_phones_calls = sorted((row["date"], row["duration"]) for p in phones for row in p.state.calls)
    stored_calls = sorted((round(c.occurred_at.timestamp() * 1000), c.duration_s)
                          for c in session.exec(select(CapturedCall)))
    assert stored_calls == on_phones_calls
    recordings = {name.rsplit("/", 1)[-1]: sha for p in phones for name, sha in phone_files(p).items()
                  if name.rsplit(".", 1)[-1] in ("mp3", "m4a", "amr")}
    assert {r.file_name: r.sha256 for r in session.exec(select(Recording))} == recordings
    on_phones_contacts = sorted(repr(entry) for p in phones for entry in on_phone(p).values())
    assert sorted(repr(content(e)) for e in server_entries(agent)) == on_phones_contacts


def test_sigkill_at_random_points_leaves_the_server_with_exactly_the_phones_data(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    """Four phones, each synced by its own agent process; every round the processes are killed at
    independent random moments (RUNS kills in all), new activity arrives every other round."""
    phones = [new_phone("xiaomi", 1), new_phone("samsung", 2), new_phone("huawei", 1), new_phone("pixel", 2)]
    for phone in phones:
        enrol(phone)
    env = _agent_env(agent.settings)
    rng = random.Random(20250312)
    killed = 0
    for round_ in range(RUNS // len(phones)):
        if round_ % 2 == 0:
            for phone in phones:
                phone.advance(6 * 3600)  # new SMS, calls and recordings keep arriving between kills
                contact = phone.state.contacts[round_]  # and contacts are edited
                phone.core.put_contact(f"{contact['display_name']} {round_}", contact["numbers"],  # type: ignore[arg-type]
                                       company=contact.get("company"), contact_id=int(contact["_id"]))  # type: ignore[arg-type]
        processes = [subprocess.Popen(_sync_command(phone.address), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE) for phone in phones]
        kills = sorted((_started(process) + rng.uniform(0.0, 0.6), index) for index, process in enumerate(processes))
        for at, index in kills:
            time.sleep(max(0.0, at - time.monotonic()))
            if processes[index].poll() is None:
                processes[index].kill()
                killed += 1
        for process in processes:
            process.wait()
            process.stderr.close()  # type: ignore[union-attr]
    assert killed >= RUNS // 2, f"only {killed} of {RUNS} runs were killed before they finished"

    finals = sync_many(agent, [phone.address for phone in phones])
    assert {r.result for r in finals} == {"ok"}, [r.message for r in finals]
    _assert_server_has_exactly(session, agent, phones)
    assert agent.store.pending_counts() == {}
    assert not any(any((agent.settings.staging_dir / p.serial).iterdir()) for p in phones)


class _ObservedApi(ServerApi):
    """The real HTTP client, noting the offsets it sends chunks from."""

    offsets: list[int]

    def put_chunk(self, token: str, upload_id: int, offset: int, data: bytes) -> dict[str, Any]:
        self.offsets.append(offset)
        return super().put_chunk(token, upload_id, offset, data)


def test_an_interrupted_recording_upload_resumes_from_the_servers_offset(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable, session: Session
) -> None:
    phone = new_phone("huawei", 1)
    credential = enrol(phone)
    live = agent.settings.server_url
    agent.settings.server_url = "http://127.0.0.1:9"  # the server is unreachable: capture only
    assert sync_phone(agent, phone.address).result == "server"
    item = agent.store.pending(phone.serial, "recording", 1)[0]
    data = Path(item.payload["local_path"]).read_bytes()
    meta = {k: v for k, v in item.payload.items() if k != "local_path" and v is not None}

    api = _ObservedApi(live)
    api.offsets = []
    state = api.declare_recording(credential.token, meta)
    half = len(data) // 2
    api.put_chunk(credential.token, state["upload_id"], 0, data[:half])  # then the connection "broke"

    api.offsets.clear()
    uploader = Uploader(api, agent.store, phone.serial, credential.token, batch_size=100, chunk_bytes=1 << 20)
    uploader.drain(("recording",))
    assert api.offsets[0] == half
    stored = {r.sha256 for r in session.exec(select(Recording))}
    assert item.payload["sha256"] in stored
    assert len(stored) == phone_counts(phone)["recordings"]
