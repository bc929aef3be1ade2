"""Commands to the device agent: IT queues them for a phone; the agent holding the phone's token
polls for them, claims one at a time and reports how it ended (docs/agent.md, "Remote commands")."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field, field_validator

from crm.access import get_visible
from crm.devices import Device
from crm.errors import NotFound
from crm.types import utcnow
from server.agent_commands.models import AgentCommand, CommandKind, CommandState
from server.agent_commands.service import (
    Poll,
    Timeouts,
    finish_command,
    get_command,
    list_commands,
    poll_commands,
    request_command,
)
from server.deps import CurrentDevice, CurrentUser, SessionDep, SettingsDep, client_ip
from server.routes.schemas import Read, Strict

router = APIRouter(prefix="/api/v1", tags=["agent commands"])

MAX_RESULT_BYTES = 64 * 1024
ADB_STATE = r"^[a-z][a-z _-]{0,31}$"
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class CommandIn(Strict):
    kind: CommandKind = Field(description="sync: capture and upload now; provision: re-run the provisioning steps.")


class CommandRead(Read):
    id: int
    device_id: int
    kind: str
    state: str
    requested_by_user_id: int | None
    requested_at: datetime
    claimed_at: datetime | None
    claimed_by: str
    attempts: int
    finished_at: datetime | None
    message: str
    result: dict[str, Any]


class PollIn(Strict):
    adb_state: str = Field(pattern=ADB_STATE, description="How adb sees the phone: device, unauthorized, offline, gone.")
    adb_serial: str = Field(default="", max_length=64)
    host: str = Field(default="", max_length=100, description="The agent's PC (shown on the fleet page).")
    running: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=16, description="Commands it runs: leases renewed.")
    claim: bool = Field(default=True, description="False while the agent is busy with this phone.")


class PollOut(Read):
    command: CommandRead | None


class FinishIn(Strict):
    state: Literal["done", "failed"]
    message: str = Field(default="", max_length=500)
    result: dict[str, Any] = Field(default_factory=dict)

    @field_validator("result")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > MAX_RESULT_BYTES:
            raise ValueError(f"result is larger than {MAX_RESULT_BYTES} bytes of JSON")
        return value


def _visible_device(session: SessionDep, user: CurrentUser, device_id: int) -> Device:
    device = get_visible(session, user, Device, device_id)
    if device is None:
        raise NotFound("no such device", field="device_id")
    return device


@router.post("/devices/{device_id}/commands", response_model=CommandRead, status_code=201,
             responses={200: {"description": "A command of that kind was still pending: that one."}})
def post_command(
    device_id: RowId, body: CommandIn, request: Request, response: Response, session: SessionDep, user: CurrentUser
) -> AgentCommand:
    """Ask the agent holding this phone to sync or re-provision it (system and division admins; audited)."""
    device = _visible_device(session, user, device_id)
    command, created = request_command(
        session, actor=user, device=device, kind=body.kind, ip=client_ip(request), now=utcnow()
    )
    if not created:
        response.status_code = 200
    return command


@router.get("/devices/{device_id}/commands", response_model=list[CommandRead])
def get_device_commands(
    device_id: RowId,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    limit: int = Query(default=20, ge=1, le=200),
) -> list[AgentCommand]:
    """The phone's commands, newest first."""
    device = _visible_device(session, user, device_id)
    return list_commands(session, actor=user, device=device, now=utcnow(), timeouts=Timeouts.of(settings),
                         limit=limit)


@router.get("/agent-commands/{command_id}", response_model=CommandRead)
def get_agent_command(command_id: RowId, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> AgentCommand:
    return get_command(session, actor=user, command_id=command_id, now=utcnow(), timeouts=Timeouts.of(settings))


@router.post("/agent/commands/poll", response_model=PollOut)
def agent_poll(body: PollIn, device: CurrentDevice, session: SessionDep, settings: SettingsDep) -> PollOut:
    """The agent's poll for one phone (device token): how adb sees the phone, the commands it is
    running (their leases are renewed), and — when ``claim`` — the next queued command, now claimed."""
    poll = Poll(adb_state=body.adb_state, adb_serial=body.adb_serial, host=body.host, running=body.running,
                claim=body.claim)
    command = poll_commands(session, device=device, poll=poll, now=utcnow(), timeouts=Timeouts.of(settings))
    return PollOut(command=None if command is None else CommandRead.model_validate(command))


@router.post("/agent/commands/{command_id}/finish", response_model=CommandRead)
def agent_finish(command_id: RowId, body: FinishIn, device: CurrentDevice, session: SessionDep) -> AgentCommand:
    """How a claimed command ended, with the agent's message and result (device token)."""
    return finish_command(session, device=device, command_id=command_id, state=CommandState(body.state),
                          message=body.message, result=body.result, now=utcnow())
