"""A phone's behaviour without the network: state, files, providers, clock, faults, screen."""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from . import audio
from .faults import Faults
from .generate import CallEvent, SmsEvent, day_events
from .oem import OEMS
from .provider import Providers
from .state import FS_DIR, STATE_FILE, Fix, PhoneState, StateError, load_state, save_state
from .vfs import SDCARD, FileSystem


@dataclass
class AdvanceReport:
    """What a clock advance added."""

    sms: int = 0
    calls: int = 0
    recordings: int = 0
    fixes: int = 0


class AppObserver(Protocol):
    """An app on the phone reacting to what happens (see owntracks.py). Called with the core's lock held:
    it must only take note (e.g. queue work for its own thread), never block."""

    def fix_recorded(self, fix: Fix) -> None: ...

    def app_configured(self, package: str) -> None: ...


class PhoneCore:
    """Everything a phone is and does, thread-safe behind one lock."""

    def __init__(self, phone_dir: Path, state: PhoneState | None = None) -> None:
        from .ui.controller import UiController  # the screens read the core

        self.dir = phone_dir
        self.state = state or load_state(phone_dir / STATE_FILE)
        self.fs = FileSystem(phone_dir / FS_DIR)
        try:
            self.providers = Providers(self.state)
        except ValueError as exc:
            raise StateError(f"{phone_dir / STATE_FILE}: {exc}") from exc
        self.lock = threading.RLock()
        self.faults = Faults()
        self.ui = UiController(self)
        self.ui_server_ports: dict[int, int] = {}
        self._threads: dict[str, int] | None = None
        self.tz = ZoneInfo(self.state.timezone)
        self.observers: list[AppObserver] = []

    def configured(self, package: str) -> None:
        """An app saved a new configuration."""
        for observer in self.observers:
            observer.app_configured(package)

    def _record_fix(self, fix: Fix) -> None:
        self.state.fixes.append(fix)
        for observer in self.observers:
            observer.fix_recorded(fix)

    # --- clock ---------------------------------------------------------------------
    def now_ms(self) -> int:
        return self.state.clock_ms

    def local(self, ms: float) -> datetime:
        return datetime.fromtimestamp(ms / 1000, self.tz)

    def advance(self, seconds: float) -> AdvanceReport:
        """Move the clock forward, adding the calls, SMS, recordings and fixes that happen meanwhile."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        return self.advance_to(self.state.clock_ms + int(seconds * 1000))

    def advance_to(self, target_ms: int) -> AdvanceReport:
        report = AdvanceReport()
        with self.lock:
            start = self.state.clock_ms
            if target_ms <= start:
                return report
            day: date = self.local(start).date()
            last = self.local(target_ms).date()
            while day <= last:
                for event in day_events(self.state, day):
                    if start < event.time_ms <= target_ms:
                        self._apply(event, report)
                day += timedelta(days=1)
            self.state.clock_ms = target_ms
            self._update_battery()
        return report

    def _apply(self, event: CallEvent | SmsEvent | Fix, report: AdvanceReport) -> None:
        if isinstance(event, Fix):
            self._record_fix(event)
            report.fixes += 1
        elif isinstance(event, SmsEvent):
            self.add_sms(event.address, event.body, sms_type=event.type, time_ms=event.time_ms,
                         person=None if event.contact is None else int(event.contact["_id"]))
            report.sms += 1
        else:
            self.add_call(event.number, event.duration, call_type=event.type, time_ms=event.time_ms,
                          name=None if event.contact is None else str(event.contact["display_name"]),
                          geocoded=event.geocoded, recording_seconds=event.recording_seconds)
            report.calls += 1
            report.recordings += event.recording_seconds is not None

    @staticmethod
    def _thread_key(address: object) -> str:
        text = str(address)
        return "".join(ch for ch in text if ch.isdigit())[-8:] or text

    def _thread_id(self, address: str) -> int:
        if self._threads is None:
            self._threads = {self._thread_key(r.get("address")): int(r["thread_id"] or 0) for r in self.state.sms}
        key = self._thread_key(address)
        if key not in self._threads:
            self._threads[key] = 1 + max(self._threads.values(), default=0)
        return self._threads[key]

    # --- data the phone records -----------------------------------------------------
    def add_sms(self, address: str, body: str, *, sms_type: int = 1, time_ms: int | None = None,
                read: bool | None = None, person: int | None = None) -> int:
        """Store an SMS (type 1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed, 6 queued); returns its _id."""
        if sms_type not in range(1, 7):
            raise ValueError("sms_type must be 1..6")
        with self.lock:
            t = self.state.clock_ms if time_ms is None else time_ms
            inbox = sms_type == 1
            return self.providers.add("sms", {
                "thread_id": self._thread_id(address), "address": address, "person": person, "date": t,
                "date_sent": t - 4000 if inbox else 0, "protocol": 0 if inbox else None,
                "read": int(read if read is not None else not inbox or t < self.state.clock_ms - 3_600_000),
                "status": -1, "type": sms_type, "reply_path_present": 0 if inbox else None, "subject": None,
                "body": body, "service_center": "+8613800210500" if inbox else None, "locked": 0, "sub_id": 1,
                "error_code": 0, "creator": None if inbox else "com.android.mms", "seen": 1})

    def move_sms(self, sms_id: int, sms_type: int, *, error_code: int = 0) -> None:
        """What Android's ``Sms.moveMessageToFolder`` does when an outgoing message is sent or fails: the row
        keeps its ``_id`` and ``date``; ``type``, ``read`` and ``error_code`` change."""
        if sms_type not in range(1, 7):
            raise ValueError("sms_type must be 1..6")
        changes: dict[str, int] = {"type": sms_type, "error_code": error_code}
        if sms_type in (2, 4):
            changes["read"] = 1
        elif sms_type in (5, 6):
            changes["read"] = 0
        with self.lock:
            self.providers.update("sms", sms_id, changes)  # type: ignore[arg-type]

    def put_contact(self, display_name: str, numbers: list[dict[str, str | int | None]], *,
                    company: str | None = None, contact_id: int | None = None) -> int:
        """Save a contact as the Contacts app does: a new one (``contact_id`` None) or an edit replacing
        the contact's name, numbers (``{number, type, label}``) and company. Its
        ``contact_last_updated_timestamp`` becomes the phone's clock. Returns the ``_id``."""
        with self.lock:
            if contact_id is None:  # ids are never reused, not even those of deleted contacts
                used = [int(c["_id"]) for c in self.state.contacts]  # type: ignore[arg-type]
                contact_id = 1 + max([*used, *(d["contact_id"] for d in self.state.deleted_contacts)], default=0)
            old = next((c for c in self.state.contacts if c.get("_id") == contact_id), {})
            contact = {**old, "_id": contact_id, "display_name": display_name, "company": company,
                       "numbers": [{"number": n.get("number"), "type": n.get("type", 2), "label": n.get("label")}
                                   for n in numbers], "updated_ms": self.state.clock_ms}
            self.providers.put_contact(contact)  # type: ignore[arg-type]
            return contact_id

    def delete_contact(self, contact_id: int) -> None:
        """Delete a contact as the Contacts app does: it is noted in ``deleted_contacts`` at the phone's clock."""
        with self.lock:
            self.providers.delete_contact(contact_id, self.state.clock_ms)

    def add_call(self, number: str, duration: int, *, call_type: int = 1, time_ms: int | None = None,
                 name: str | None = None, geocoded: str | None = None,
                 recording_seconds: float | None = None) -> int:
        """Store a call-log entry, and its recording when recording_seconds is given; returns its _id."""
        if call_type not in range(1, 8):
            raise ValueError("call_type must be 1..7")
        if duration < 0:
            raise ValueError("duration must be >= 0")
        with self.lock:
            t = self.state.clock_ms if time_ms is None else time_ms
            call_id = self.providers.add("calls", {
                "number": number, "date": t, "duration": duration, "type": call_type,
                "new": int(call_type == 3), "name": name, "numbertype": 2 if name else None,
                "numberlabel": None, "countryiso": "CN", "geocoded_location": geocoded, "presentation": 1,
                "subscription_id": "1", "is_read": int(call_type != 3), "last_modified": t + duration * 1000})
            if recording_seconds is not None:
                self._write_recording(number, name, t, duration, recording_seconds)
            return call_id

    def _write_recording(self, number: str, name: str | None, start_ms: int, duration: int, seconds: float) -> str:
        profile = OEMS[self.state.identity.oem]
        folder = profile.recorder_folder(self.state.identity.sdk)
        filename = profile.recording_name(name, number, self.local(start_ms))
        gen = self.state.generator
        fmt = (gen.recording_format if gen else None) or profile.audio_format
        if fmt != profile.audio_format:
            filename = filename.rsplit(".", 1)[0] + "." + fmt
        seed = int.from_bytes(hashlib.sha256(f"{number}:{start_ms}".encode()).digest()[:4], "little")
        path = f"{SDCARD}/{folder}/{filename}"
        self.fs.write_bytes(path, audio.encode(fmt, seconds, seed), mtime=(start_ms + duration * 1000) / 1000)
        return path

    def add_fix(self, lat: float, lon: float, *, accuracy: float = 8.0, time_ms: int | None = None,
                mock: bool = False, provider: str = "gps") -> None:
        with self.lock:
            t = self.state.clock_ms if time_ms is None else time_ms
            self._record_fix(Fix(time_ms=t, lat=lat, lon=lon, accuracy=accuracy, mock=mock,
                                 provider=provider))  # type: ignore[arg-type]

    def _update_battery(self) -> None:
        """Charge overnight, drain through the working day."""
        hour = self.local(self.state.clock_ms).hour + self.local(self.state.clock_ms).minute / 60
        battery = self.state.battery
        if hour >= 22 or hour < 7:
            battery.plugged, battery.status = "ac", 2 if battery.level < 100 else 5
            battery.level = min(100, 60 + int((hour + 2) % 24 * 5))
        else:
            battery.plugged, battery.status = "", 3
            # the wobble must not take a full battery past 100 just after 07:00 (a state the model refuses)
            battery.level = max(5, min(100, int(100 - (hour - 7) * 6.5 + 3 * math.sin(self.state.clock_ms / 9e6))))
        battery.temperature = 280 + int(20 * math.sin(self.state.clock_ms / 7e6))
        battery.voltage = 3600 + battery.level * 6

    # --- what the system reports ----------------------------------------------------
    def props(self) -> dict[str, str]:
        ident = self.state.identity
        fingerprint = (f"{ident.brand}/{ident.product}/{ident.device}:{ident.android_release}/{ident.build_id}/"
                       f"V{ident.sdk}.0.1:user/release-keys")
        props = {
            "ro.product.model": ident.model, "ro.product.brand": ident.brand, "ro.product.name": ident.product,
            "ro.product.device": ident.device, "ro.product.manufacturer": ident.manufacturer,
            "ro.build.version.release": ident.android_release, "ro.build.version.sdk": str(ident.sdk),
            "ro.build.id": ident.build_id, "ro.build.display.id": ident.build_id, "ro.build.fingerprint": fingerprint,
            "ro.build.type": "user", "ro.build.tags": "release-keys", "ro.serialno": ident.serial,
            "ro.boot.serialno": ident.serial, "ro.product.cpu.abi": ident.abi,
            "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi", "ro.product.locale": "zh-CN",
            "persist.sys.timezone": self.state.timezone, "gsm.operator.alpha": "中国移动",
            "gsm.sim.operator.numeric": "46000", "gsm.sim.state": "READY", "ro.debuggable": "0",
            "sys.boot_completed": "1", "ro.sf.lcd_density": "440", "ro.build.version.security_patch": "2023-05-01",
            "ro.product.first_api_level": str(min(ident.sdk, 29)), "ro.hardware": "qcom",
        }
        extra = {"xiaomi": {"ro.miui.ui.version.name": "V140"}, "huawei": {"ro.build.version.emui": "EmotionUI_12.0.0"},
                 "oppo": {"ro.build.version.opporom": "V13.0"}, "vivo": {"ro.vivo.os.version": "13.0"},
                 "oneplus": {"ro.oxygen.version": "13.1"}, "samsung": {"ro.build.version.oneui": "50100"}}
        props.update(extra.get(ident.oem, {}))
        return props

    def environment(self) -> dict[str, str]:
        return {"PATH": "/product/bin:/apex/com.android.runtime/bin:/system/bin:/system/xbin", "HOME": "/",
                "USER": "shell", "EXTERNAL_STORAGE": "/sdcard", "ANDROID_DATA": "/data",
                "ANDROID_ROOT": "/system", "TMPDIR": "/data/local/tmp", "HOSTNAME": self.state.identity.device}

    def free_bytes(self) -> int:
        if self.faults.storage_free_bytes is not None:
            return self.faults.storage_free_bytes
        state = self.state
        return max(0, state.storage_total_bytes - state.storage_system_bytes - self.fs.used_bytes())

    def save(self) -> None:
        with self.lock:
            save_state(self.state, self.dir / STATE_FILE)
