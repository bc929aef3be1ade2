"""Contacts capture against simulated phones through the real adb server, uploads to a real server process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from capture import normalise
from device_agent.agent import Agent
from device_agent.collect.context import Outcome
from device_agent.simulator.phone import SimulatedPhone
from device_agent.sync import SyncReport, sync_phone


def server_entries(agent: Agent, **params: Any) -> list[dict[str, Any]]:
    """The server's phone-book entries of every phone, read over HTTP as the admin."""
    answer = httpx.get(f"{agent.settings.server_url}/api/v1/ingest/phone-book", params={"limit": 500, **params},
                       headers={"Authorization": f"Bearer {agent.settings.admin_token}"})
    answer.raise_for_status()
    return answer.json()


def phone_book(agent: Agent) -> dict[int, dict[str, Any]]:
    """The entries of the one phone of a test, by the phone's contact ``_id``."""
    return {entry["source_id"]: entry for entry in server_entries(agent)}


def on_phone(phone: SimulatedPhone) -> dict[int, tuple[Any, ...]]:
    """The phone's contacts as (name, company, numbers in E.164 as the server shows them)."""
    return {int(c["_id"]): (c["display_name"], c.get("company"),  # type: ignore[arg-type]
                            [normalise(str(n["number"])).e164 or n["number"] for n in c["numbers"]])  # type: ignore[index, union-attr]
            for c in phone.state.contacts}


def content(entry: dict[str, Any]) -> tuple[Any, ...]:
    return entry["name"], entry["company"], [n["number"] for n in entry["numbers"]]


def on_server(agent: Agent) -> dict[int, tuple[Any, ...]]:
    return {source_id: content(e) for source_id, e in phone_book(agent).items()}


def contacts_of(report: SyncReport) -> Any:
    return next(s for s in report.sources if s.source == "contacts")


def test_contacts_arrive_and_only_changes_move_later(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable
) -> None:
    phone = new_phone("xiaomi", 1)
    enrol(phone)
    first = sync_phone(agent, phone.address)
    assert first.result == "ok", first.message
    assert first.uploaded["contacts"] == len(phone.state.contacts)
    assert on_server(agent) == on_phone(phone)
    assert all(e["version"] == 1 for e in phone_book(agent).values())

    nothing = sync_phone(agent, phone.address)
    assert contacts_of(nothing).new == 0 and "contacts" not in nothing.uploaded

    phone.advance(600)
    customer = next(c for c in phone.state.contacts if c.get("company"))
    edited = phone.core.put_contact("王经理 新号", [{"number": "+86 139 0000 1234", "type": 2},
                                                    {"number": "021-5555 0001", "type": 0, "label": "工地, 仓库"}],
                                    company=str(customer["company"]), contact_id=int(customer["_id"]))  # type: ignore[arg-type]
    added = phone.core.put_contact("李工", [{"number": "13700001111", "type": 2}])
    second = sync_phone(agent, phone.address)
    assert second.result == "ok", second.message
    assert second.uploaded["contacts"] == 2
    assert on_server(agent) == on_phone(phone)
    entries = phone_book(agent)
    assert entries[edited]["version"] == 2 and entries[added]["version"] == 1
    assert {n["label"] for n in entries[edited]["numbers"]} == {None, "工地, 仓库"}
    assert "contacts" not in sync_phone(agent, phone.address).uploaded


def deleted_on_server(agent: Agent) -> dict[int, str | None]:
    """The entries the server holds as deleted on the phone, with their deletion times."""
    return {entry["source_id"]: entry["deleted_at"] for entry in server_entries(agent, deleted=True)}


def synced_once(agent: Agent, phone: SimulatedPhone, enrol: Callable) -> dict[str, Any]:
    """Enrol and sync the phone; its contacts watermark after that."""
    enrol(phone)
    assert sync_phone(agent, phone.address).result == "ok"
    return agent.store.watermark(phone.serial, "contacts")


def test_a_deleted_watermark_contact_rereads_everything_and_sends_only_the_deletion(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable
) -> None:
    phone = new_phone("samsung", 2)
    mark = synced_once(agent, phone, enrol)
    phone.core.delete_contact(int(mark["id"]))
    again = sync_phone(agent, phone.address)
    assert again.result == "ok"
    assert again.uploaded["contacts"] == 1  # the deletion; the others are unchanged
    assert agent.store.watermark(phone.serial, "contacts")["id"] != mark["id"]
    assert on_server(agent) == on_phone(phone)
    assert list(deleted_on_server(agent)) == [int(mark["id"])]


def test_deleted_contacts_leave_the_phone_book_once(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable
) -> None:
    phone = new_phone("xiaomi", 1)
    mark = synced_once(agent, phone, enrol)
    phone.advance(600)
    doomed = [int(c["_id"]) for c in phone.state.contacts if c["_id"] != mark["id"]][:2]  # type: ignore[arg-type]
    for contact_id in doomed:
        phone.core.delete_contact(contact_id)
    added = phone.core.put_contact("新客户", [{"number": "13700002222", "type": 2}])
    assert added not in doomed  # ids are never reused
    second = sync_phone(agent, phone.address)
    assert second.result == "ok" and second.uploaded["contacts"] == 3
    assert on_server(agent) == on_phone(phone)
    deleted = deleted_on_server(agent)
    assert sorted(deleted) == sorted(doomed) and all(deleted.values())  # with the phone's deletion times
    assert "contacts" not in sync_phone(agent, phone.address).uploaded  # reported once


def test_a_phone_without_update_times_is_read_whole_and_only_changes_are_sent(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable
) -> None:
    phone = new_phone("huawei", 1)
    phone.state.identity.sdk = 17  # Android 4.2: no contact_last_updated_timestamp
    phone.state.provider_access["sms"] = True
    enrol(phone)
    first = sync_phone(agent, phone.address)
    assert first.uploaded["contacts"] == len(phone.state.contacts)
    assert "all read" in contacts_of(first).detail
    contact = phone.state.contacts[0]
    phone.core.put_contact("改名了", contact["numbers"], contact_id=int(contact["_id"]))  # type: ignore[arg-type]
    second = sync_phone(agent, phone.address)
    assert second.uploaded["contacts"] == 1
    assert on_server(agent) == on_phone(phone)
    gone = int(phone.state.contacts[-1]["_id"])  # type: ignore[arg-type]
    phone.core.delete_contact(gone)  # no deletion log before Android 4.3: missing from the whole read
    assert sync_phone(agent, phone.address).uploaded["contacts"] == 1
    assert on_server(agent) == on_phone(phone) and list(deleted_on_server(agent)) == [gone]


def test_contacts_refused_or_switched_off(
    agent: Agent, new_phone: Callable[..., SimulatedPhone], enrol: Callable
) -> None:
    phone = new_phone("oppo", 3)
    phone.state.provider_access["com.android.contacts"] = False
    enrol(phone)
    refused = sync_phone(agent, phone.address)
    assert refused.result == "partial"
    assert contacts_of(refused).outcome is Outcome.REFUSED and "Permission Denial" in contacts_of(refused).detail
    assert refused.uploaded["sms"] == len(phone.state.sms)

    phone.state.provider_access["com.android.contacts"] = True
    agent.settings.capture_contacts = False
    off = sync_phone(agent, phone.address)
    assert off.result == "ok", off.message
    assert contacts_of(off).outcome is Outcome.SKIPPED
    assert phone_book(agent) == {}
