"""Location tables: raw fixes, latest position per rep, check-ins, dispatch tasks, route plans.

Everything is WGS-84. ``location_fix`` is the only large table: one row per fix, unique on
``(device_id, time, lat, lon)`` (re-sent fixes are no-ops; that index also serves every
query by device and time). Filtered fixes are stored with their ``status``; only fixes
outside tracking hours are not stored, just counted in ``location_discard``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm import geo as _geo  # noqa: F401  (the index on customer positions that nearby queries read)
from crm.types import UTCDateTime, utcnow

#: 64-bit ids on PostgreSQL; SQLite keeps INTEGER PRIMARY KEY (the rowid, already 64-bit).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LocationFix(SQLModel, table=True):
    """One position report as received; ``status`` is the filter verdict (lbs.filtering.FixStatus)."""

    __tablename__ = "location_fix"
    __owner_column__ = "rep_user_id"
    __table_args__ = (Index("ux_location_fix_device_time", "device_id", "time", "lat", "lon", unique=True),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id")
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    time: datetime = Field(sa_type=UTCDateTime)
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    charging: bool | None = None
    mock: bool = False
    source: str = Field(sa_type=String(16), description="agent, owntracks, osmand, traccar_json, dumpsys")
    provider: str | None = Field(default=None, max_length=32)
    status: str = Field(sa_type=String(16))
    received_at: datetime = Field(sa_type=UTCDateTime)


class LocationDiscard(SQLModel, table=True):
    """Fixes not stored (outside tracking hours), counted per device and local day."""

    __tablename__ = "location_discard"
    __owner_column__ = "rep_user_id"
    __table_args__ = (UniqueConstraint("device_id", "day", "reason", name="uq_location_discard_device_day"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    day: date
    reason: str = Field(sa_type=String(16))
    count: int = 0


class RepPosition(SQLModel, table=True):
    """The newest good fix of each rep, for the live map and dispatch.

    ``anchor_*``/``still_since``: where the rep has stayed within the stop radius since when
    (moving when that is shorter than the minimum stop duration).
    """

    __tablename__ = "rep_position"
    __owner_column__ = "rep_user_id"

    rep_user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    device_id: int = Field(foreign_key="device.id")
    time: datetime = Field(sa_type=UTCDateTime)
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    battery_pct: float | None = None
    charging: bool | None = None
    source: str = Field(sa_type=String(16))
    anchor_lat: float
    anchor_lon: float
    still_since: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Checkin(SQLModel, table=True):
    """A rep's check-in at a customer, verified against the customer's geofence; never refused."""

    __tablename__ = "checkin"
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        Index("ix_checkin_rep_time", "rep_user_id", "occurred_at"),
        Index("ix_checkin_customer_time", "customer_id", "occurred_at"),
        UniqueConstraint("rep_user_id", "client_key", name="uq_checkin_rep_client_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int = Field(foreign_key="app_user.id")
    customer_id: int = Field(foreign_key="customer.id")
    client_key: str | None = Field(default=None, max_length=64, description="The phone's id for retries.")
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lat: float
    lon: float
    accuracy_m: float | None = None
    mock: bool = False
    status: str = Field(sa_type=String(20), description="lbs.checkin.CheckinStatus, or unverified (no site)")
    distance_m: float | None = None
    radius_m: float | None = None
    reason: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=1000)
    photo_sha256: str | None = Field(default=None, max_length=64)
    photo_type: str | None = Field(default=None, max_length=32)


class TaskStatus(StrEnum):
    assigned = "assigned"
    accepted = "accepted"
    done = "done"
    cancelled = "cancelled"


OPEN_TASK_STATUSES = (TaskStatus.assigned.value, TaskStatus.accepted.value)


class DispatchTask(SQLModel, table=True):
    """A request handed to a field rep; an open task makes the rep busy for dispatch."""

    __tablename__ = "dispatch_task"
    __owner_column__ = "rep_user_id"
    __table_args__ = (Index("ix_dispatch_task_rep_status", "rep_user_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int = Field(foreign_key="app_user.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    ref: str = Field(default="", max_length=64, description="What it serves, e.g. ticket:42.")
    title: str = Field(max_length=200)
    note: str = Field(default="", max_length=1000)
    lat: float
    lon: float
    status: str = Field(default=TaskStatus.assigned.value, sa_type=String(16))
    distance_m: float | None = Field(default=None, description="From the rep's position when assigned.")
    travel_s: float | None = None
    assigned_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoutePlan(SQLModel, table=True):
    """A rep's planned day; saving a new plan for the same rep and day supersedes the old one."""

    __tablename__ = "route_plan"
    __owner_column__ = "rep_user_id"
    __table_args__ = (Index("ix_route_plan_rep_day", "rep_user_id", "day", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int = Field(foreign_key="app_user.id")
    day: date
    active: bool = True
    solver: str = Field(max_length=32)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    shift_start: datetime = Field(sa_type=UTCDateTime)
    shift_end: datetime = Field(sa_type=UTCDateTime)
    depart: datetime = Field(sa_type=UTCDateTime)
    arrive_end: datetime = Field(sa_type=UTCDateTime)
    travel_s: int = 0
    distance_m: int = 0
    unassigned: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RoutePlanStop(SQLModel, table=True):
    """One planned visit; ``windows`` are ``[[start, end], ...]`` as ISO-8601 UTC strings."""

    __tablename__ = "route_plan_stop"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="route_plan.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    seq: int
    customer_id: int = Field(foreign_key="customer.id", index=True)
    arrival: datetime = Field(sa_type=UTCDateTime)
    start: datetime = Field(sa_type=UTCDateTime)
    departure: datetime = Field(sa_type=UTCDateTime)
    travel_s: int
    distance_m: int
    service_s: int
    windows: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class GeocodeCache(SQLModel, table=True):
    """Answers of the geocoding provider (found or not), so an address is asked once."""

    __tablename__ = "geocode_cache"
    __scope__ = "org"
    __division_column__ = None
    __table_args__ = (UniqueConstraint("provider", "query_hash", name="uq_geocode_cache_provider_query"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=64)
    query_hash: str = Field(max_length=64)
    query: str = Field(max_length=300)
    lat: float | None = None
    lon: float | None = None
    found: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
