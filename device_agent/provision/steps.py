"""Provisioning steps. Each is idempotent and ends as done, already done, needs a human, or failed.

A step that others depend on (adb state, enrolment, install) stops the run when it does not
succeed; the others are independent and all run, so the checklist shows everything that
still needs attention in one pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from device_agent.agent import Agent
from device_agent.config import AgentSettings
from device_agent.credentials import DeviceCredential
from device_agent.errors import AgentError, DeviceGone, NotEnrolled, ServerError
from device_agent.hashing import sha256_file
from device_agent.phone import Phone
from device_agent.provision.package_info import PackageInfo, parse_package, whitelisted
from device_agent.provision.results import Status, StepResult
from device_agent.provision.tracker import (
    config_fingerprint,
    config_link,
    open_link_command,
    owntracks_config,
)
from device_agent.provision.ui import SAVE, Screen
from device_agent.provision.verify import Baseline, take_baseline, wait_for_fix
from device_agent.server_api import ServerApi

BACKGROUND = "android.permission.ACCESS_BACKGROUND_LOCATION"
LOCATION = ("android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION")
OWNTRACKS = "org.owntracks.android"
REMOTE_APK = "/data/local/tmp/fieldcrm-tracker.apk"


OnStep = Callable[[str, str, Status, str], None]
"""``on_step(adb_serial, step, status, detail)``: also called with RUNNING/WAITING while a step works."""


@dataclass
class Target:
    """One phone to provision: its adb serial and whom it belongs to."""

    adb_serial: str
    rep: str | None = None
    code: str | None = None


@dataclass
class Run:
    agent: Agent
    api: ServerApi
    target: Target
    on_step: OnStep
    phone: Phone | None = None
    device: str = ""
    props: dict[str, str] = field(default_factory=dict)
    credential: DeviceCredential | None = None
    screen: Screen | None = None
    tracker_baseline: Baseline | None = None

    @property
    def settings(self) -> AgentSettings:
        return self.agent.settings

    def say(self, step: str, status: Status, detail: str = "") -> None:
        self.on_step(self.target.adb_serial, step, status, detail)

    def need_phone(self) -> Phone:
        assert self.phone is not None
        return self.phone

    def package(self) -> PackageInfo:
        return parse_package(self.need_phone().shell(f"dumpsys package {self.settings.tracker_package}"))

    def ui(self) -> Screen:
        if self.screen is None:
            self.screen = Screen(self.need_phone().device)
        return self.screen

    def remember(self, key: str, value: Any) -> None:
        self.agent.store.enqueue(self.device, [], watermarks={f"provision:{key}": value})

    def remembered(self, key: str) -> Any:
        return self.agent.store.watermark(self.device, f"provision:{key}")


# --- 1. adb state -----------------------------------------------------------------------------


def step_adb(run: Run) -> StepResult:
    serial = run.target.adb_serial
    state = run.agent.adb.state_of(serial)
    if state == "unauthorized":
        run.say("adb", Status.WAITING, "unlock the phone and tap Allow on 'Allow USB debugging?'")
        deadline = time.monotonic() + run.settings.auth_timeout_s
        while state == "unauthorized" and time.monotonic() < deadline:
            time.sleep(0.5)
            state = run.agent.adb.state_of(serial)
        if state == "unauthorized":
            return StepResult("adb", Status.HUMAN, "unlock the phone and tap Allow on 'Allow USB debugging?', "
                                                   "then run provision again")
        authorised = True
    else:
        authorised = False
    if state != "device":
        return StepResult("adb", Status.FAILED, f"the phone is {state}: reconnect it")
    run.phone = run.agent.adb.phone(serial)
    run.props = run.phone.props()
    run.device = run.props.get("ro.serialno") or serial
    identity = f"{run.props.get('ro.product.brand', '?')} {run.props.get('ro.product.model', '?')}, " \
               f"Android {run.props.get('ro.build.version.release', '?')}"
    run.agent.store.note_device(run.device, serial, {
        "serial": run.device, "brand": run.props.get("ro.product.brand", ""),
        "model": run.props.get("ro.product.model", ""),
        "android_release": run.props.get("ro.build.version.release", ""),
        "sdk": int(run.props.get("ro.build.version.sdk", "0") or 0) or None,
    })
    if authorised:
        return StepResult("adb", Status.DONE, f"authorised on the phone; {identity}")
    return StepResult("adb", Status.ALREADY, f"authorised; {identity}")


# --- 2. enrolment -----------------------------------------------------------------------------


def _rep_id(run: Run) -> int | None:
    if not run.target.rep:
        return None
    admin = run.settings.admin_token
    if not admin:
        raise AgentError("--rep needs an admin token (FIELDCRM_AGENT_ADMIN_TOKEN); or use an enrolment code")
    return run.api.user_id(run.target.rep, admin)


def step_enrol(run: Run) -> StepResult:
    code = run.target.code or run.settings.enrolment_code
    rep_id = None if code else _rep_id(run)  # an enrolment code names its rep itself
    current = run.agent.credentials.get(run.device)
    if current is not None:
        try:
            me = run.api.me(current.token)
        except NotEnrolled:
            me = None
        if me is not None and me["serial"] == run.device and (rep_id is None or me["rep_user_id"] == rep_id):
            run.credential = current
            return StepResult("enrol", Status.ALREADY, f"enrolled as device {me['id']}")
    admin = None if code else run.settings.admin_token
    if not code and not admin:
        return StepResult("enrol", Status.FAILED, "no credential: set FIELDCRM_AGENT_ADMIN_TOKEN or give --code")
    sdk = run.props.get("ro.build.version.sdk", "")
    identity: dict[str, Any] = {
        "serial": run.device,
        "brand": run.props.get("ro.product.brand", "")[:64],
        "model": run.props.get("ro.product.model", "")[:64],
        "android_release": run.props.get("ro.build.version.release", "")[:16],
        "sdk": int(sdk) if sdk.isdigit() else None,
    }
    if rep_id is not None and admin:
        identity["rep_user_id"] = rep_id
    enrolled = run.api.enrol(identity, admin_token=admin, code=code)
    device = enrolled["device"]
    run.credential = DeviceCredential(
        serial=run.device, device_id=int(device["id"]), token=enrolled["token"],
        division_id=device.get("division_id"), rep_user_id=device.get("rep_user_id"),
        enrolled_at=str(device.get("enrolled_at", "")),
    )
    run.agent.credentials.put(run.credential)
    rep = f" for {run.target.rep}" if run.target.rep else ""
    return StepResult("enrol", Status.DONE, f"enrolled as device {device['id']}{rep}; token kept in the local store")


# --- 3. install, permissions, battery -----------------------------------------------------------


def step_install(run: Run) -> StepResult:
    package = run.settings.tracker_package
    info = run.package()
    apk = run.settings.tracker_apk
    if apk is None:
        if info.installed:
            return StepResult("install", Status.ALREADY, f"{package} is installed (no APK configured to update)")
        return StepResult("install", Status.FAILED, f"{package} is not installed and no APK is configured "
                                                    "(FIELDCRM_AGENT_TRACKER_APK or --apk)")
    if not apk.is_file():
        return StepResult("install", Status.FAILED, f"APK not found: {apk}")
    sha = sha256_file(apk)
    if info.installed and run.remembered("apk") == {"sha256": sha, "installed": info.first_install}:
        return StepResult("install", Status.ALREADY, f"{package} {apk.name} is installed")
    phone = run.need_phone()
    phone.push_bytes(apk.read_bytes(), REMOTE_APK)
    out = phone.shell(f"pm install -r -t -g {REMOTE_APK}")
    phone.shell(f"rm -f {REMOTE_APK} 2>/dev/null || true")
    if "Success" not in out:
        failure = next((line for line in out.splitlines() if "Failure" in line or "Error" in line), out.strip())
        return StepResult("install", Status.FAILED, f"pm install: {failure[:200]}")
    info = run.package()
    if not info.installed:
        return StepResult("install", Status.FAILED, f"pm install said Success but {package} is not installed")
    run.remember("apk", {"sha256": sha, "installed": info.first_install})
    return StepResult("install", Status.DONE, f"installed {apk.name} (version {info.version_code})")


def _wanted(run: Run, info: PackageInfo) -> list[str]:
    return [p for p in run.settings.tracker_permissions if p in info.requested and p in info.runtime]


def step_permissions(run: Run) -> StepResult:
    info = run.package()
    missing = [p for p in _wanted(run, info) if not info.granted(p)]
    if not missing:
        return StepResult("permissions", Status.ALREADY, "all runtime permissions granted")
    refused: list[str] = []
    for permission in missing:
        out = run.need_phone().shell(f"pm grant {run.settings.tracker_package} {permission} 2>&1")
        if "Exception" in out or "Error" in out:
            refused.append(permission.rsplit(".", 1)[-1])
    granted = len(missing) - len(refused)
    detail = f"granted {granted}"
    if refused:
        detail += f"; refused by pm grant: {', '.join(refused)} (left to the consent step)"
    return StepResult("permissions", Status.DONE, detail)


def step_battery(run: Run) -> StepResult:
    package = run.settings.tracker_package
    phone = run.need_phone()
    if whitelisted(phone.shell("cmd deviceidle whitelist"), package):
        return StepResult("battery", Status.ALREADY, "exempt from battery optimisation")
    phone.shell(f"cmd deviceidle whitelist +{package}")
    if whitelisted(phone.shell("cmd deviceidle whitelist"), package):
        return StepResult("battery", Status.DONE, "exempt from battery optimisation")
    phone.shell(f"am start -a android.settings.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS -d package:{package}")
    run.ui().tap_first(("Allow", "允许"), timeout=5)
    if whitelisted(phone.shell("cmd deviceidle whitelist"), package):
        return StepResult("battery", Status.DONE, "exempt from battery optimisation (confirmed on screen)")
    return StepResult("battery", Status.HUMAN, "on the phone: Settings › Battery › unrestricted for the tracker")


# --- 4. consents on the screen ------------------------------------------------------------------


def step_consents(run: Run) -> StepResult:
    package = run.settings.tracker_package
    sdk = int(run.props.get("ro.build.version.sdk", "0") or 0)
    info = run.package()
    missing = [p for p in _wanted(run, info) if not info.granted(p)]
    if not missing:
        return StepResult("consents", Status.ALREADY, "location allowed all the time")
    phone = run.need_phone()
    screen = run.ui()
    phone.shell(f"monkey -p {package} -c android.intent.category.LAUNCHER 1")
    tapped = screen.answer_permission_dialogs()
    info = run.package()
    if BACKGROUND in _wanted(run, info) and not info.granted(BACKGROUND) and sdk >= 29:
        phone.shell(f"am start -a android.settings.APPLICATION_DETAILS_SETTINGS -d package:{package}")
        if screen.allow_background_location():
            tapped.append("Allow all the time")
    screen.home()
    info = run.package()
    missing = [p.rsplit(".", 1)[-1] for p in _wanted(run, info) if not info.granted(p)]
    if missing:
        return StepResult("consents", Status.HUMAN, f"still missing {', '.join(missing)}: on the phone open "
                                                    "Settings › Apps › the tracker › Permissions › Location › "
                                                    "Allow all the time")
    return StepResult("consents", Status.DONE, "tapped " + ", ".join(f"'{t}'" for t in tapped))


# --- 5. tracker configuration -------------------------------------------------------------------


def step_configure(run: Run) -> StepResult:
    package = run.settings.tracker_package
    if package != OWNTRACKS:
        return StepResult("configure", Status.HUMAN, f"{package} has no configuration link: set its server URL "
                                                     "and device identifier by hand (docs/agent.md)")
    assert run.credential is not None
    config = owntracks_config(url=run.settings.owntracks_url, device=run.device, token=run.credential.token)
    info = run.package()
    applied = {"config": config_fingerprint(config), "installed": info.first_install}
    if run.remembered("tracker") == applied:
        return StepResult("configure", Status.ALREADY, f"OwnTracks reports to {run.settings.owntracks_url}")
    run.tracker_baseline = take_baseline(run.api, run.settings, run.credential)
    out = run.need_phone().shell(open_link_command(config_link(config)))
    if "Error" in out:
        return StepResult("configure", Status.FAILED, "the phone did not open the OwnTracks configuration link")
    if run.ui().tap_first(SAVE, timeout=10) is None:
        return StepResult("configure", Status.HUMAN, "tap Save on the OwnTracks 'Import configuration' screen")
    run.ui().home()
    run.remember("tracker", applied)
    return StepResult("configure", Status.DONE, f"OwnTracks reports to {run.settings.owntracks_url}")


# --- 6. verification ----------------------------------------------------------------------------


def step_verify(run: Run) -> StepResult:
    assert run.credential is not None
    run.say("verify", Status.WAITING, f"waiting up to {run.settings.verify_timeout_s:.0f} s for a fix")
    return wait_for_fix(run.api, run.settings, run.credential, baseline=run.tracker_baseline)


STEPS: tuple[tuple[str, Callable[[Run], StepResult], bool], ...] = (
    ("adb", step_adb, True),
    ("enrol", step_enrol, True),
    ("install", step_install, True),
    ("permissions", step_permissions, False),
    ("battery", step_battery, False),
    ("consents", step_consents, False),
    ("configure", step_configure, True),
    ("verify", step_verify, False),
)
"""(name, step, whether the later steps need it to succeed)."""


def run_step(run: Run, name: str, step: Callable[[Run], StepResult]) -> StepResult:
    run.say(name, Status.RUNNING)
    try:
        result = step(run)
    except DeviceGone as exc:
        result = StepResult(name, Status.FAILED, f"the phone disconnected: {exc}")
    except ServerError as exc:
        result = StepResult(name, Status.FAILED, f"server: {exc}")
    except AgentError as exc:
        result = StepResult(name, Status.FAILED, str(exc))
    run.say(name, result.status, result.detail)
    return result
