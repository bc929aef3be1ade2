"""The command channel: IT asks for an action on a phone, the agent that holds the phone's token
claims it on its next poll, runs it and reports back.

Claiming is one conditional ``UPDATE … WHERE state = 'queued'``: of two agents polling for the
same phone, on SQLite or PostgreSQL, exactly one changes the row and gets the command. Timeouts
are applied when someone looks (an agent's poll, a list, a read), so no scheduler job is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from crm.access import manages_division, scope
from crm.audit import record_audit
from crm.devices import Device
from crm.errors import Conflict, Forbidden, NotFound
from crm.org import Role, User
from server.agent_commands.models import (
    PENDING_STATES,
    AgentCommand,
    AgentPresence,
    CommandKind,
    CommandState,
)
from server.config import Settings

#: Roles that may send commands to agents (system admins anywhere, division admins in their division).
COMMAND_ROLES = (Role.sysadmin, Role.division_admin)
#: A command is run at most this many times when its agent keeps disappearing mid-run.
MAX_ATTEMPTS = 2
#: A presence report that changes nothing is written at most this often.
PRESENCE_WRITE_S = 15


@dataclass(frozen=True)
class Timeouts:
    lease_s: int
    queue_s: int

    @classmethod
    def of(cls, settings: Settings) -> Timeouts:
        return cls(settings.agent_command_lease_s, settings.agent_command_queue_timeout_s)


def may_command(actor: User, device: Device) -> bool:
    return Role(actor.role) in COMMAND_ROLES and manages_division(actor, device.division_id)


def request_command(
    session: Session, *, actor: User, device: Device, kind: CommandKind, ip: str, now: datetime
) -> tuple[AgentCommand, bool]:
    """Queue a command (audited); a command of that kind still pending for the phone is returned
    instead of a second one. Returns (command, whether it is new)."""
    if not may_command(actor, device):
        raise Forbidden("only system admins and the division's admins may send commands to its phones")
    if device.revoked_at is not None:
        raise Conflict("the phone is revoked: enrol it again first", field="device_id")
    pending = session.exec(
        select(AgentCommand)
        .where(AgentCommand.device_id == device.id, AgentCommand.kind == kind.value,
               col(AgentCommand.state).in_(PENDING_STATES))
        .order_by(col(AgentCommand.id))
    ).first()
    if pending is not None:
        return pending, False
    command = AgentCommand(
        device_id=device.id,  # type: ignore[arg-type]
        division_id=device.division_id,
        kind=kind.value,
        requested_by_user_id=actor.id,
        requested_at=now,
        queued_at=now,
    )
    session.add(command)
    session.flush()
    record_audit(
        session,
        action="device.command",
        actor_user_id=actor.id,
        target_type="device",
        target_id=device.id or "",
        division_id=device.division_id,
        ip=ip,
        detail={"kind": kind.value, "command_id": command.id},
    )
    session.commit()
    return command, True


def _lease_over(now: datetime) -> Any:
    return and_(AgentCommand.state == CommandState.claimed.value, col(AgentCommand.lease_until) < now)


def _queue_over(now: datetime, timeouts: Timeouts) -> Any:
    return and_(AgentCommand.state == CommandState.queued.value,
                col(AgentCommand.queued_at) < now - timedelta(seconds=timeouts.queue_s))


def _agent_gone(then: str) -> Any:
    return literal("the agent on ") + AgentCommand.claimed_by + literal(f" stopped answering{then}")


def expire_commands(session: Session, *, now: datetime, timeouts: Timeouts, device_ids: list[int] | None = None) -> int:
    """Re-queue commands whose agent stopped renewing them (fail them after the last attempt) and
    fail commands no agent claimed in time. Each change is one conditional UPDATE, so a command an
    agent renews or finishes at the same moment is never overwritten. Commits; returns how many."""
    mine = [] if device_ids is None else [col(AgentCommand.device_id).in_(device_ids)]
    due = or_(_lease_over(now), _queue_over(now, timeouts))
    if not session.exec(select(exists().where(due, *mine))).one():  # a read: no write lock when nothing is due
        return 0
    ended = {"finished_at": now, "lease_until": None, "state": CommandState.failed.value}
    changes = (
        (_queue_over(now, timeouts), ended | {"message": f"no agent picked it up within {timeouts.queue_s} s: is "
                                               "`fieldcrm agent watch` running on the PC this phone is plugged into?"}),
        (and_(_lease_over(now), AgentCommand.attempts >= MAX_ATTEMPTS), ended | {
            "message": _agent_gone(f" while running it ({MAX_ATTEMPTS} attempts)")}),
        (and_(_lease_over(now), AgentCommand.attempts < MAX_ATTEMPTS), {
            "state": CommandState.queued.value, "queued_at": now, "claimed_at": None, "lease_until": None,
            "claimed_by": "", "message": _agent_gone("; queued again")}),
    )
    changed = 0
    for where, values in changes:
        changed += session.execute(update(AgentCommand).where(where, *mine).values(**values)).rowcount  # type: ignore[attr-defined]
    session.commit()
    return changed


def list_commands(
    session: Session, *, actor: User, device: Device, now: datetime, timeouts: Timeouts, limit: int
) -> list[AgentCommand]:
    """The phone's commands, newest first."""
    expire_commands(session, now=now, timeouts=timeouts, device_ids=[device.id])  # type: ignore[list-item]
    statement = select(AgentCommand).where(AgentCommand.device_id == device.id)
    return list(session.exec(scope(statement, actor, AgentCommand).order_by(col(AgentCommand.id).desc()).limit(limit)))


def get_command(session: Session, *, actor: User, command_id: int, now: datetime, timeouts: Timeouts) -> AgentCommand:
    command = session.exec(scope(select(AgentCommand).where(AgentCommand.id == command_id), actor, AgentCommand)).first()
    if command is None:
        raise NotFound("no such command", field="command_id")
    if command.state in PENDING_STATES and expire_commands(
        session, now=now, timeouts=timeouts, device_ids=[command.device_id]
    ):
        session.refresh(command)
    return command


@dataclass(frozen=True)
class Poll:
    """What an agent says when it asks for work for one phone."""

    adb_state: str
    adb_serial: str
    host: str
    running: list[int]
    claim: bool


def record_presence(session: Session, *, device: Device, poll: Poll, now: datetime) -> None:
    """Note how the agent sees the phone; an unchanged state is rewritten only every PRESENCE_WRITE_S.
    One upsert, so two agents reporting the same phone for the first time do not collide."""
    row = session.get(AgentPresence, device.id)
    if row is not None and (row.adb_state, row.adb_serial, row.agent_host) == (
        poll.adb_state, poll.adb_serial, poll.host
    ) and now - row.reported_at < timedelta(seconds=PRESENCE_WRITE_S):
        return
    values = {"adb_state": poll.adb_state, "adb_serial": poll.adb_serial, "agent_host": poll.host,
              "division_id": device.division_id, "reported_at": now}
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
    statement = insert(AgentPresence).values(device_id=device.id, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["device_id"], set_=values))


def _renew(session: Session, *, device: Device, running: list[int], now: datetime, timeouts: Timeouts) -> None:
    if running:
        session.execute(
            update(AgentCommand)
            .where(col(AgentCommand.id).in_(running), AgentCommand.device_id == device.id,
                   AgentCommand.state == CommandState.claimed.value)
            .values(lease_until=now + timedelta(seconds=timeouts.lease_s))
        )


def _claim_next(session: Session, *, device: Device, host: str, now: datetime, timeouts: Timeouts) -> int | None:
    """Take the oldest queued command of the phone; None when there is none (or others took them all)."""
    while True:
        candidate = session.exec(
            select(AgentCommand.id)
            .where(AgentCommand.device_id == device.id, AgentCommand.state == CommandState.queued.value)
            .order_by(col(AgentCommand.id))
            .limit(1)
        ).first()
        if candidate is None:
            return None
        taken = session.execute(
            update(AgentCommand)
            .where(AgentCommand.id == candidate, AgentCommand.state == CommandState.queued.value)
            .values(state=CommandState.claimed.value, claimed_at=now, claimed_by=host[:100],
                    lease_until=now + timedelta(seconds=timeouts.lease_s), attempts=AgentCommand.attempts + 1)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return candidate
        session.commit()  # another agent was faster: look again with a fresh snapshot


def poll_commands(
    session: Session, *, device: Device, poll: Poll, now: datetime, timeouts: Timeouts
) -> AgentCommand | None:
    """An agent's poll for one phone: presence noted, leases of its running commands renewed,
    timeouts applied, and (when it asks) the next queued command claimed for it."""
    expire_commands(session, now=now, timeouts=timeouts, device_ids=[device.id])  # type: ignore[list-item]
    record_presence(session, device=device, poll=poll, now=now)
    _renew(session, device=device, running=poll.running, now=now, timeouts=timeouts)
    claimed = _claim_next(session, device=device, host=poll.host, now=now, timeouts=timeouts) if poll.claim else None
    session.commit()
    return None if claimed is None else session.get(AgentCommand, claimed, populate_existing=True)


def finish_command(
    session: Session,
    *,
    device: Device,
    command_id: int,
    state: CommandState,
    message: str,
    result: dict[str, Any],
    now: datetime,
) -> AgentCommand:
    """The agent's report on a command it ran for this phone (a conditional UPDATE: a command that
    timed out at the same moment is not finished twice)."""
    finished = session.execute(
        update(AgentCommand)
        .where(AgentCommand.id == command_id, AgentCommand.device_id == device.id,
               col(AgentCommand.state).in_(PENDING_STATES))
        .values(state=state.value, finished_at=now, lease_until=None, message=message[:500], result=result)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    command = session.get(AgentCommand, command_id, populate_existing=True)
    if command is None or command.device_id != device.id:
        raise NotFound("no such command for this phone", field="command_id")
    if not finished:
        raise Conflict(f"the command is already {command.state}", field="command_id")
    return command


def _newest(session: Session, device_ids: list[int], *where: Any) -> dict[int, AgentCommand]:
    newest_ids = (
        select(func.max(AgentCommand.id)).where(col(AgentCommand.device_id).in_(device_ids), *where)
        .group_by(AgentCommand.device_id)
    )
    return {c.device_id: c for c in session.exec(select(AgentCommand).where(col(AgentCommand.id).in_(newest_ids)))}


def latest_by_device(
    session: Session, device_ids: list[int]
) -> tuple[dict[int, AgentCommand], dict[int, AgentCommand]]:
    """Per phone: its newest command, and its newest finished provisioning (for the checklist)."""
    if not device_ids:
        return {}, {}
    finished_provisioning = _newest(
        session, device_ids, AgentCommand.kind == CommandKind.provision.value,
        col(AgentCommand.state).in_((CommandState.done.value, CommandState.failed.value)),
    )
    return _newest(session, device_ids), finished_provisioning


def presence_by_device(session: Session, device_ids: list[int]) -> dict[int, AgentPresence]:
    if not device_ids:
        return {}
    return {p.device_id: p for p in session.exec(select(AgentPresence).where(col(AgentPresence.device_id).in_(device_ids)))}
