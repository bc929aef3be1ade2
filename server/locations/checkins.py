"""Check-ins: verified against the customer's geofence (lbs.checkin), stored with their status
whatever it is, and put on the customer's timeline in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm.access import get_visible, scope
from crm.customers import Customer
from crm.errors import NotFound
from crm.locations import Checkin
from crm.org import User
from crm.timeline import add_timeline_event
from lbs.checkin import CheckinPolicy, verify_checkin
from server.locations.photos import Photo, store_photo

UNVERIFIED = "unverified"
_LABELS = {"ok": "正常", "outside_geofence": "范围外", "low_accuracy": "精度低", "suspected_mock": "疑似虚拟定位",
           UNVERIFIED: "客户无坐标"}


@dataclass(frozen=True, slots=True)
class CheckinData:
    customer_id: int
    lat: float
    lon: float
    accuracy_m: float | None
    mock: bool
    occurred_at: datetime
    note: str = ""
    client_key: str | None = None
    photo: Photo | None = None


def _existing(session: Session, rep_id: int, client_key: str | None) -> Checkin | None:
    if client_key is None:
        return None
    return session.exec(
        select(Checkin).where(Checkin.rep_user_id == rep_id, Checkin.client_key == client_key)
    ).first()


def create_checkin(
    session: Session, *, actor: User, data: CheckinData, policy: CheckinPolicy, photo_root: Path, now: datetime
) -> tuple[Checkin, bool]:
    """Store a check-in; returns it and whether it is new (a retried ``client_key`` is not)."""
    if (found := _existing(session, actor.id, data.client_key)) is not None:  # type: ignore[arg-type]
        return found, False
    customer = get_visible(session, actor, Customer, data.customer_id)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound("no such customer", field="customer_id")
    row = Checkin(
        division_id=customer.division_id, rep_user_id=actor.id, customer_id=customer.id,  # type: ignore[arg-type]
        client_key=data.client_key, occurred_at=data.occurred_at, received_at=now, lat=data.lat, lon=data.lon,
        accuracy_m=data.accuracy_m, mock=data.mock, note=data.note,
    )
    if customer.lat is None or customer.lon is None:
        row.status, row.reason = UNVERIFIED, "customer has no coordinates"
    else:
        result = verify_checkin(
            data.lat, data.lon, data.accuracy_m, data.mock, customer.lat, customer.lon, policy,
            customer.checkin_radius_m,
        )
        row.status, row.reason = result.status.value, result.reason[:200]
        row.distance_m, row.radius_m = result.distance_m, result.radius_m
    if data.photo is not None:
        store_photo(photo_root, data.photo)
        row.photo_sha256, row.photo_type = data.photo.sha256, data.photo.content_type
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same client_key arrived twice at once
        session.rollback()
        return _existing(session, actor.id, data.client_key), False  # type: ignore[arg-type,return-value]
    distance = "" if row.distance_m is None else f" {row.distance_m:.0f} m"
    add_timeline_event(
        session, customer_id=customer.id, division_id=customer.division_id,  # type: ignore[arg-type]
        occurred_at=row.occurred_at, kind="checkin", source_table="checkin", source_id=row.id,  # type: ignore[arg-type]
        actor_user_id=actor.id, summary=f"签到 {_LABELS[row.status]}{distance}" + (f" · {row.note}" if row.note else ""),
        data={"status": row.status, "distance_m": row.distance_m, "radius_m": row.radius_m,
              "accuracy_m": row.accuracy_m, "photo": row.photo_sha256 is not None},
    )
    session.commit()
    return row, True


def list_checkins(
    session: Session, *, actor: User, rep_id: int | None = None, customer_id: int | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 200,
) -> list[Checkin]:
    stmt = select(Checkin).order_by(Checkin.occurred_at.desc(), Checkin.id.desc()).limit(limit)
    if rep_id is not None:
        stmt = stmt.where(Checkin.rep_user_id == rep_id)
    if customer_id is not None:
        stmt = stmt.where(Checkin.customer_id == customer_id)
    if since is not None:
        stmt = stmt.where(Checkin.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(Checkin.occurred_at < until)
    return list(session.exec(scope(stmt, actor, Checkin)))


def visible_checkin(session: Session, *, actor: User, checkin_id: int) -> Checkin:
    row = get_visible(session, actor, Checkin, checkin_id)
    if row is None:
        raise NotFound("no such check-in")
    return row
