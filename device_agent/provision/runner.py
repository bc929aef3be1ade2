"""Provisioning and decommissioning whole phones, one or many at a time."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.text import decode_text
from device_agent.agent import Agent, Busy
from device_agent.errors import AgentError, DeviceGone, ServerError
from device_agent.fleet import resolve
from device_agent.provision.results import Status, StepResult
from device_agent.provision.steps import STEPS, OnStep, Run, Target, run_step
from device_agent.sync import upload_pending


@dataclass
class PhoneReport:
    adb_serial: str
    device: str = ""
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.status.ok for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "adb_serial": self.adb_serial,
            "device": self.device,
            "ok": self.ok,
            "steps": [{"step": s.step, "status": s.status.value, "detail": s.detail} for s in self.steps],
        }


def provision_phone(agent: Agent, target: Target, on_step: OnStep) -> PhoneReport:
    report = PhoneReport(target.adb_serial)
    with agent.api() as api:
        run = Run(agent, api, target, on_step)
        first_name, first_step, _ = STEPS[0]
        report.steps.append(run_step(run, first_name, first_step))
        report.device = run.device
        if not report.steps[0].status.ok:
            report.steps += [StepResult(name, Status.SKIPPED) for name, _, _ in STEPS[1:]]
            return report
        try:
            with agent.device_lock(run.device):
                _rest(run, report)
        except Busy as exc:
            report.steps.append(StepResult("lock", Status.FAILED, str(exc)))
    return report


def _rest(run: Run, report: PhoneReport) -> None:
    blocked = ""
    for name, step, required in STEPS[1:]:
        if blocked:
            report.steps.append(StepResult(name, Status.SKIPPED, f"needs '{blocked}' first"))
            continue
        result = run_step(run, name, step)
        report.steps.append(result)
        if required and not result.status.ok:
            blocked = name


def provision_many(agent: Agent, targets: list[Target], on_step: OnStep) -> list[PhoneReport]:
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(agent.settings.parallel, len(targets))) as pool:
        return list(pool.map(lambda target: provision_phone(agent, target, on_step), targets))


def read_roster(agent: Agent, path: Path) -> tuple[list[Target], list[str]]:
    """``serial,rep[,code]`` rows (header required) → targets among attached phones, and problems."""
    try:
        text = decode_text(path.read_bytes())
    except OSError as exc:
        raise AgentError(f"cannot read roster {path}: {exc.strerror}") from exc
    if text is None:
        raise AgentError(f"roster {path} is neither UTF-8 nor GB18030 text: save it from Excel as CSV")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if rows and not {"serial", "rep"} <= set(rows[0]):
        raise AgentError(f"roster {path} needs the columns serial,rep (and optionally code)")
    targets: list[Target] = []
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        serial = (row.get("serial") or "").strip()
        if not serial:
            problems.append(f"line {line}: no serial")
            continue
        adb_serial = resolve(agent, serial)
        if adb_serial is None:
            problems.append(f"line {line}: {serial} is not connected")
            continue
        targets.append(Target(adb_serial, (row.get("rep") or "").strip() or None, (row.get("code") or "").strip() or None))
    return targets, problems


# --- decommission -----------------------------------------------------------------------------


def decommission(agent: Agent, serial: str, *, force: bool = False) -> PhoneReport:
    """Upload what is pending, revoke the token, remove the tracker from the phone, forget the phone."""
    adb_serial = resolve(agent, serial)
    report = PhoneReport(adb_serial or "")
    phone = agent.adb.phone(adb_serial) if adb_serial else None
    device = phone.props().get("ro.serialno", serial) if phone else serial
    report.device = device
    credential = agent.credentials.get(device)
    if credential is None:
        report.steps.append(StepResult("revoke", Status.FAILED, f"{device} has no token in the local store"))
        return report
    flushed = upload_pending(agent, device)
    left = sum(flushed.pending.values())
    if left and not force:
        report.steps.append(StepResult("upload", Status.FAILED, f"{left} item(s) could not be uploaded "
                                                                f"({flushed.message}); use --force to drop them"))
        return report
    dropped = f"; {left} item(s) dropped (--force)" if left else ""
    report.steps.append(StepResult("upload", Status.DONE, f"uploaded {sum(flushed.uploaded.values())}{dropped}"))
    admin = agent.settings.admin_token
    if not admin:
        report.steps.append(StepResult("revoke", Status.FAILED, "revoking needs FIELDCRM_AGENT_ADMIN_TOKEN"))
        return report
    try:
        with agent.api() as api:
            api.revoke(credential.device_id, admin)
    except ServerError as exc:
        report.steps.append(StepResult("revoke", Status.FAILED, str(exc)))
        return report
    report.steps.append(StepResult("revoke", Status.DONE, f"device {credential.device_id} revoked on the server"))
    report.steps.append(_remove_tracker(agent, phone))
    agent.credentials.remove(device)
    agent.store.forget_device(device)
    agent.store.drop_outbox(device)
    report.steps.append(StepResult("forget", Status.DONE, "token and watermarks removed from the local store"))
    return report


def _remove_tracker(agent: Agent, phone: Any) -> StepResult:
    if phone is None:
        return StepResult("remove", Status.HUMAN, "the phone is not connected: uninstall the tracker on it")
    package = agent.settings.tracker_package
    try:
        out = phone.shell(f"pm uninstall {package}")
    except DeviceGone as exc:
        return StepResult("remove", Status.FAILED, str(exc))
    if "Success" in out:
        return StepResult("remove", Status.DONE, f"{package} and its configuration removed from the phone")
    return StepResult("remove", Status.ALREADY, f"{package} is not installed")
