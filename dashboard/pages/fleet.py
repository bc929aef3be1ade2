"""Device fleet (IT): every enrolled phone, its health as the agent last reported it, and a checklist
of what the server has seen arrive from it."""

from __future__ import annotations

from dataclasses import dataclass
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
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import user_names
from dashboard.nav import FLEET
from dashboard.web import render
from server.deps import SessionDep

router = APIRouter(include_in_schema=False)
FleetUser = Annotated[User, Depends(page_roles(*FLEET))]


@dataclass(frozen=True)
class Check:
    """``ok`` is None when the actor's role may not see the evidence (system admins see no positions)."""

    key: str
    ok: bool | None


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


PAGE_SIZE = 200


def fleet_rows(session: Session, actor: User, *, page: int = 0) -> tuple[list[FleetRow], int]:
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
            )
        )
    return rows, total


@router.get("/fleet", response_class=HTMLResponse)
def fleet(
    request: Request, session: SessionDep, user: FleetUser, page: int = Query(default=0, ge=0)
) -> Response:
    t = Translator(request_locale(request, user))
    rows, total = fleet_rows(session, user, page=page)
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
