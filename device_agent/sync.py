"""One sync of one phone: collectors fill the outbox while uploader threads drain it.

Contacts then SMS, call log then last-known location, and recordings are read in three lanes
side by side, each on its own adb connection; then comes the device-status report
(battery, storage, properties, clocks, last successful sync per source). Each collector is
isolated: a provider the phone refuses is reported and the others go on; an unplugged phone
or a full host disk stops collecting, keeps what arrived, and the next sync resumes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from device_agent.agent import Agent, Busy
from device_agent.collect.contacts import collect_contacts
from device_agent.collect.context import Collected, Outcome, SyncContext, now_utc
from device_agent.collect.health import (
    collect_location,
    device_report,
    enqueue_status,
    read_clocks,
    status_report,
)
from device_agent.collect.providers import CALLS, SMS, collect_provider
from device_agent.collect.recordings import collect_recordings
from device_agent.errors import AgentError, DeviceGone, DeviceNotReady, HostDiskFull, NotEnrolled, ServerError
from device_agent.logs import log_event
from device_agent.phone import Phone
from device_agent.server_api import ServerApi
from device_agent.uploader import RECORD_KINDS, Uploader

SyncProgress = Callable[[str, str, str], None]
"""``progress(adb_serial, source, message)``."""

COLLECTORS: tuple[tuple[str, Callable[[SyncContext], Collected]], ...] = (
    ("contacts", collect_contacts),
    ("sms", lambda ctx: collect_provider(ctx, SMS)),
    ("calls", lambda ctx: collect_provider(ctx, CALLS)),
    ("recordings", collect_recordings),
    ("location", collect_location),
)
#: Collectors that run one after the other; the lanes run side by side, each on its own adb connection,
#: so that the phone prints one provider while the agent decodes another and recordings stream meanwhile.
LANES = (("contacts", "sms"), ("calls", "location"), ("recordings",))
#: Outcomes that leave a sync ``ok`` (a source switched off in the settings is not a problem).
FINE = {Outcome.OK, Outcome.SKIPPED}


@dataclass
class SyncReport:
    adb_serial: str
    device: str = ""
    result: str = "ok"  # ok | partial | gone | not_ready | not_enrolled | busy | disk_full | server | failed
    message: str = ""
    sources: list[Collected] = field(default_factory=list)
    uploaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    clock_skew_s: float | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _UploadThread(threading.Thread):
    """Drains some kinds of the outbox while collectors fill it; stops on the first server failure."""

    def __init__(self, uploader: Uploader, kinds: tuple[str, ...], collecting_done: threading.Event) -> None:
        super().__init__(daemon=True, name=f"upload-{uploader.device}-{kinds[0]}")
        self.uploader = uploader
        self.kinds = kinds
        self.collecting_done = collecting_done
        self.error: AgentError | None = None

    def run(self) -> None:
        try:
            while True:
                finished = self.collecting_done.is_set()
                sent = self.uploader.drain(self.kinds)
                if finished and not sent:
                    return
                if not sent:
                    self.collecting_done.wait(0.2)
        except AgentError as exc:
            self.error = exc


def _identity(props: dict[str, str]) -> dict[str, Any]:
    sdk = props.get("ro.build.version.sdk", "")
    return {
        "serial": props.get("ro.serialno", ""),
        "brand": props.get("ro.product.brand", ""),
        "model": props.get("ro.product.model", ""),
        "android_release": props.get("ro.build.version.release", ""),
        "sdk": int(sdk) if sdk.isdigit() else None,
    }


def identify(agent: Agent, phone: Phone) -> tuple[str, dict[str, str]]:
    """The phone's own serial (``ro.serialno``; the adb serial of a TCP phone is only its address)."""
    props = phone.props()
    device = props.get("ro.serialno") or phone.serial
    agent.store.note_device(device, phone.serial, _identity(props))
    return device, props


def _last_sync(agent: Agent, device: str, sources: Iterable[Collected], now: str) -> dict[str, str]:
    marks = {s.source: now for s in sources if s.outcome is Outcome.OK}
    if marks:
        agent.store.enqueue(device, [], watermarks={f"synced:{k}": v for k, v in marks.items()})
    return agent.store.synced(device)


def _lane(ctx: SyncContext, collectors: list[tuple[str, Callable[[SyncContext], Collected]]]
          ) -> tuple[list[Collected], tuple[str, str] | None]:
    """Run collectors in order; an unplugged phone or a full disk stops the lane (result, message)."""
    done: list[Collected] = []
    for name, collector in collectors:
        ctx.progress(name, "reading")
        try:
            collected = collector(ctx)
        except DeviceGone as exc:
            done.append(Collected(name, Outcome.CUT, detail=str(exc)))
            return done, ("gone", f"{exc}; the next sync resumes where this one stopped")
        except HostDiskFull as exc:
            done.append(Collected(name, Outcome.FAILED, detail=str(exc)))
            return done, ("disk_full", str(exc))
        done.append(collected)
        ctx.progress(name, f"{collected.outcome.value}: {collected.new} new" + (
            f" ({collected.detail})" if collected.detail else ""))
    return done, None


def _collect(ctx: SyncContext, lane_phones: list[Phone], report: SyncReport) -> None:
    """The lanes side by side, the first on ``ctx.phone`` and each other on a connection of its own."""
    by_name = dict(COLLECTORS)
    with ThreadPoolExecutor(max_workers=len(LANES), thread_name_prefix=f"collect-{ctx.device}") as pool:
        lanes = [pool.submit(_lane, replace(ctx, phone=phone), [(name, by_name[name]) for name in lane])
                 for phone, lane in zip([ctx.phone, *lane_phones], LANES, strict=True)]
        done = [lane.result() for lane in lanes]
    order = [name for name, _ in COLLECTORS]
    report.sources = sorted((s for sources, _ in done for s in sources), key=lambda s: order.index(s.source))
    stop = next((stop for _, stop in done if stop is not None), None)
    if stop is not None:
        report.result, report.message = stop


def sync_phone(agent: Agent, adb_serial: str, progress: SyncProgress | None = None) -> SyncReport:
    """Capture everything new on one phone and upload it (and whatever earlier syncs left)."""
    started = time.monotonic()
    report = SyncReport(adb_serial)
    say: SyncProgress = progress or (lambda serial, source, message: None)
    try:
        phone = agent.adb.phone(adb_serial)
        device, props = identify(agent, phone)
        report.device = device
        credential = agent.credentials.get(device)
        if credential is None:
            raise NotEnrolled(f"{device} is not enrolled: run `fieldcrm agent provision {adb_serial}` first")
        log_event("agent.sync.start", device=device, serial=adb_serial)
        try:
            with agent.device_lock(device), agent.api() as api:
                _run(agent, api, phone, device, props, credential.token, report, say)
        finally:
            phone.close()
    except DeviceNotReady as exc:
        report.result, report.message = "not_ready", str(exc)
    except NotEnrolled as exc:
        report.result, report.message = "not_enrolled", str(exc)
    except Busy as exc:
        report.result, report.message = "busy", str(exc)
    except DeviceGone as exc:
        report.result, report.message = "gone", str(exc)
    except AgentError as exc:
        report.result, report.message = "failed", str(exc)
    report.pending = agent.store.pending_counts(report.device) if report.device else {}
    report.seconds = round(time.monotonic() - started, 3)
    log_event("agent.sync.done", device=report.device, serial=adb_serial, result=report.result,
              uploaded=report.uploaded, pending=report.pending, seconds=report.seconds)
    return report


def new_uploader(
    agent: Agent, api: ServerApi, device: str, token: str, progress: Callable[[str, str], None] | None = None
) -> Uploader:
    s = agent.settings
    return Uploader(api, agent.store, device, token, batch_size=s.batch_size, chunk_bytes=s.chunk_bytes,
                    file_workers=s.upload_workers, batch_bytes=s.recording_batch_bytes,
                    batch_files=s.recording_batch_files, progress=progress or (lambda source, message: None))


def _run(
    agent: Agent,
    api: ServerApi,
    phone: Phone,
    device: str,
    props: dict[str, str],
    token: str,
    report: SyncReport,
    say: SyncProgress,
) -> None:
    clocks = read_clocks(phone)
    report.clock_skew_s = None if clocks.skew is None else round(clocks.skew.total_seconds(), 1)
    sync_id = agent.store.start_sync(
        device,
        None if clocks.phone is None else int(clocks.phone.timestamp() * 1000),
        int(clocks.host.timestamp() * 1000),
    )
    ctx = SyncContext(phone, agent.store, device, agent.settings, clocks,
                      lambda source, message: say(phone.serial, source, message))
    uploader = new_uploader(agent, api, device, token, ctx.progress)
    lane_phones = [agent.adb.phone(phone.serial) for _ in LANES[1:]]
    collecting_done = threading.Event()
    threads = [_UploadThread(uploader, RECORD_KINDS, collecting_done),
               _UploadThread(uploader, ("recording",), collecting_done)]
    for thread in threads:
        thread.start()
    try:
        _collect(ctx, lane_phones, report)
        if report.result == "ok":
            last_sync = _last_sync(agent, device, report.sources, clocks.host.isoformat())
            enqueue_status(agent.store, device, status_report(ctx, props, last_sync))
    finally:
        for extra in lane_phones:
            extra.close()
        collecting_done.set()
        for thread in threads:
            thread.join()
    error = next((thread.error for thread in threads if thread.error is not None), None)
    if error is None:
        try:
            uploader.drain()
        except AgentError as exc:
            error = exc
    report.uploaded, report.rejected = uploader.done.sent, uploader.done.rejected
    if error is not None and report.result == "ok":
        report.result = "not_enrolled" if isinstance(error, NotEnrolled) else "server"
        report.message = f"{error}; {sum(agent.store.pending_counts(device).values())} item(s) wait in the outbox"
    elif report.result == "ok" and any(s.outcome not in FINE for s in report.sources):
        report.result = "partial"
        report.message = "; ".join(f"{s.source}: {s.detail}" for s in report.sources if s.outcome not in FINE)
    agent.store.finish_sync(sync_id, device, report.result, {"sources": [asdict(s) for s in report.sources],
                                                              "uploaded": report.uploaded})


def sync_many(agent: Agent, serials: list[str], progress: SyncProgress | None = None) -> list[SyncReport]:
    """Sync several phones at once (``parallel`` at a time); reports in the order of ``serials``."""
    if not serials:
        return []
    with ThreadPoolExecutor(max_workers=min(agent.settings.parallel, len(serials))) as pool:
        return list(pool.map(lambda serial: sync_phone(agent, serial, progress), serials))


def ready_serials(agent: Agent) -> list[str]:
    return [d.serial for d in agent.adb.devices() if d.state == "device"]


def report_presence(agent: Agent, adb_serial: str, state: str) -> bool:
    """Tell the server how adb sees a phone that cannot be synced now (unauthorized, offline, gone),
    with its identity and last successful syncs; True when the server has it."""
    device = agent.store.device_for_adb_serial(adb_serial)
    if device is None or agent.credentials.get(device) is None:
        return False
    info = agent.store.fleet()[device]["info"]
    known = {"ro.serialno": device, "ro.product.brand": info.get("brand"), "ro.product.model": info.get("model"),
             "ro.build.version.release": info.get("android_release")}
    report = device_report(now_utc(), {k: str(v) for k, v in known.items() if v}, agent.store.synced(device),
                           adb_state=state)
    try:
        with agent.device_lock(device):  # a sync still running sends its own report
            enqueue_status(agent.store, device, report)
            return upload_pending(agent, device).result == "ok"
    except Busy:
        return False


def upload_pending(agent: Agent, device: str, kinds: tuple[str, ...] | None = None) -> SyncReport:
    """Upload what the outbox holds for a phone (only ``kinds`` when given) without touching the phone
    (e.g. before decommission)."""
    report = SyncReport(adb_serial="", device=device)
    credential = agent.credentials.get(device)
    if credential is None:
        report.result, report.message = "not_enrolled", f"{device} has no token in the local store"
        return report
    with agent.api() as api:
        uploader = new_uploader(agent, api, device, credential.token)
        try:
            uploader.drain() if kinds is None else uploader.drain(kinds)
        except (ServerError, NotEnrolled) as exc:
            report.result, report.message = "server", str(exc)
        report.uploaded, report.rejected = uploader.done.sent, uploader.done.rejected
    report.pending = agent.store.pending_counts(device)
    return report
