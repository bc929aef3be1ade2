"""Device fleet (IT): every enrolled phone, its adb state and health as the agent last reported them,
a checklist of what the server has seen arrive from it and of the last provisioning, and the
commands IT sends to the agent (sync now, re-provision) with their state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import manages_division, scope
from crm.devices import Device
from crm.locations import RepPosition
from crm.org import Division, Role, User
from crm.types import utcnow
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import user_names
from dashboard.nav import FLEET
from dashboard.web import render
from server.agent_commands.models import AgentCommand, AgentPresence
from server.agent_commands.service import latest_by_device, may_command, presence_by_device
from server.deps import SessionDep

router = APIRouter(include_in_schema=False)
FleetUser = Annotated[User, Depends(page_roles(*FLEET))]


@dataclass(frozen=True)
class Check:
    """``ok`` is None when the actor's role may not see the evidence (system admins see no positions)."""

    key: str
    ok: bool | None


@dataclass(frozen=True)
class AdbState:
    """How the agent last saw the phone through adb, when, and from which PC; ``fresh`` while an
    agent keeps reporting it (within the command lease)."""

    state: str
    seen_at: datetime
    host: str
    fresh: bool


@dataclass(frozen=True)
class Step:
    """One step of the agent's last provisioning report: ``ok`` True (done / already done), False
    (needs a human / failed) or None (not attempted)."""

    step: str
    ok: bool | None
    status: str
    detail: str


STEP_OK = {"done": True, "already done": True, "needs a human": False, "failed": False}


def provisioning_steps(command: AgentCommand | None) -> list[Step]:
    """The steps of a finished provisioning command's result (as the agent reported it; anything
    that is not a well-formed step is left out)."""
    steps = (command.result or {}).get("steps") if command is not None else None
    if not isinstance(steps, list):
        return []
    return [
        Step(s["step"][:32], STEP_OK.get(s["status"]), s["status"][:32], str(s.get("detail", ""))[:300])
        for s in steps[:20]
        if isinstance(s, dict) and isinstance(s.get("step"), str) and isinstance(s.get("status"), str)
    ]


@dataclass(frozen=True)
class FleetRow:
    device: Device
    rep_name: str
    division: str
    battery_pct: float | None
    charging: bool
    storage_free_gb: float | None
    last_sync: datetime | None
    last_fix: datetime | None
    checks: list[Check]
    may_revoke: bool
    adb: AdbState | None = None
    last_command: AgentCommand | None = None
    provisioning: AgentCommand | None = None
    steps: list[Step] = field(default_factory=list)
    may_command: bool = False


def _battery(status: dict[str, Any]) -> tuple[float | None, bool]:
    battery = status.get("battery") or {}
    if "level" not in battery:
        return None, False
    return round(100 * battery["level"] / (battery.get("scale") or 100)), bool(battery.get("plugged"))


def _free_gb(status: dict[str, Any]) -> float | None:
    storage = status.get("storage") or {}
    return round(storage["free_bytes"] / 2**30, 1) if "free_bytes" in storage else None


def _last_sync(status: dict[str, Any]) -> datetime | None:
    stamps = [datetime.fromisoformat(v) for v in (status.get("last_sync") or {}).values()]
    return max(stamps) if stamps else None


def _reported_adb(status: dict[str, Any]) -> tuple[str, datetime] | None:
    """The adb state of the agent's last device-status report (sent on state changes and syncs)."""
    state = (status.get("properties") or {}).get("agent.adb_state")
    return (state, datetime.fromisoformat(status["occurred_at"])) if state and status.get("occurred_at") else None


def _adb(device: Device, presence: AgentPresence | None, now: datetime, fresh_s: int) -> AdbState | None:
    """The newest of the agent's polls (presence) and its last device-status report."""
    seen = [(presence.reported_at, presence.adb_state, presence.agent_host)] if presence else []
    if reported := _reported_adb(device.status or {}):
        seen.append((reported[1], reported[0], ""))
    if not seen:
        return None
    at, state, host = max(seen, key=lambda s: s[0])
    return AdbState(state, at, host, (now - at).total_seconds() <= fresh_s)


PAGE_SIZE = 200


def fleet_rows(
    session: Session, actor: User, *, page: int = 0, now: datetime | None = None, fresh_s: int = 60
) -> tuple[list[FleetRow], int]:
    """One page of phones (active first, by serial) and how many the actor sees in all."""
    total = session.exec(scope(select(func.count()).select_from(Device), actor, Device)).one()
    ordered = select(Device).order_by(Device.revoked_at.is_not(None), Device.serial, Device.id)
    devices = list(session.exec(scope(ordered, actor, Device).offset(page * PAGE_SIZE).limit(PAGE_SIZE)))
    fixes = dict(
        session.exec(
            scope(select(RepPosition.device_id, RepPosition.time), actor, RepPosition).where(
                RepPosition.device_id.in_([d.id for d in devices])
            )
        ).all()
    )
    sees_positions = Role(actor.role) is not Role.sysadmin
    names = user_names(session, actor, (d.rep_user_id for d in devices))
    divisions = dict(session.exec(select(Division.id, Division.name)).all())
    ids = [d.id for d in devices if d.id is not None]
    presence = presence_by_device(session, ids)
    newest, provisioned = latest_by_device(session, ids)
    now = now or utcnow()
    rows = []
    for device in devices:
        status = device.status or {}
        battery, charging = _battery(status)
        last_sync, last_fix = _last_sync(status), fixes.get(device.id)
        active = device.revoked_at is None
        checks = [
            Check("enrolled", active),
            Check("assigned", device.rep_user_id is not None),
            Check("reporting", bool(status.get("received_at"))),
            Check("syncing", last_sync is not None),
            Check("location", (last_fix is not None) if sees_positions else None),
        ]
        rows.append(
            FleetRow(
                device=device,
                rep_name=names.get(device.rep_user_id or 0, ""),
                division=divisions.get(device.division_id, ""),
                battery_pct=battery,
                charging=charging,
                storage_free_gb=_free_gb(status),
                last_sync=last_sync,
                last_fix=last_fix,
                checks=checks,
                may_revoke=active and manages_division(actor, device.division_id),
                adb=_adb(device, presence.get(device.id), now, fresh_s),
                last_command=newest.get(device.id),
                provisioning=provisioned.get(device.id),
                steps=provisioning_steps(provisioned.get(device.id)),
                may_command=active and may_command(actor, device),
            )
        )
    return rows, total


@router.get("/fleet", response_class=HTMLResponse)
def fleet(
    request: Request, session: SessionDep, user: FleetUser, page: int = Query(default=0, ge=0)
) -> Response:
    t = Translator(request_locale(request, user))
    rows, total = fleet_rows(session, user, page=page,
                             fresh_s=request.app.state.settings.agent_command_lease_s)
    more = (page + 1) * PAGE_SIZE < total
    return render(
        request,
        "fleet.html",
        user=user,
        rows=rows,
        total=total,
        page=page,
        more=more,
        messages=t.messages("fleet"),
    )
