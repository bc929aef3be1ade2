"""Tables of the server→agent command channel."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class CommandKind(StrEnum):
    sync = "sync"
    provision = "provision"


class CommandState(StrEnum):
    queued = "queued"
    claimed = "claimed"
    done = "done"
    failed = "failed"


PENDING_STATES = (CommandState.queued.value, CommandState.claimed.value)


class AgentCommand(SQLModel, table=True):
    """One action requested for a phone, carried out by the agent holding that phone's token.

    ``queued`` → ``claimed`` (one agent took it; its lease is renewed while it runs) → ``done`` or
    ``failed`` with the agent's message and result. A lease that runs out puts the command back in
    the queue (or fails it after its last attempt); a command no agent claims in time fails.
    """

    __tablename__ = "agent_command"
    __table_args__ = (Index("ix_agent_command_device_state", "device_id", "state", "id"),)
    __scope__ = "org"

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    kind: str = Field(max_length=16)
    state: str = Field(default=CommandState.queued.value, max_length=16)
    requested_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str = Field(default="", max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message: str = Field(default="", max_length=500)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AgentPresence(SQLModel, table=True):
    """How the agent last saw a phone through adb (``device``, ``unauthorized``, ``offline``, ``gone``)
    and when: every poll of the agent carries it, so its age says whether an agent is there at all."""

    __tablename__ = "agent_presence"
    __scope__ = "org"

    device_id: int = Field(foreign_key="device.id", primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    adb_state: str = Field(max_length=32)
    adb_serial: str = Field(default="", max_length=64)
    agent_host: str = Field(default="", max_length=100)
    reported_at: datetime = Field(sa_type=UTCDateTime)
