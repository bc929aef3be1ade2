"""Daily per-rep totals of calls, talk time, SMS and visits, kept for finished days so that a
month's leaderboard reads a few rows per rep instead of every call.

``rep_activity_day`` holds the totals of one local day (in a time zone) per division and rep;
``rep_activity_rollup`` says which days are rolled up and whether they still are: database
triggers (migration ``crm_0010``) add one to ``changes`` of a rolled-up day whenever a call,
SMS or visit/check-in event of that day is written, changed or deleted. A day's totals are used
only while ``rolled_changes`` equals ``changes``; otherwise the day is counted from the source
rows again (and rolled up anew). Days are rolled up, once they are over, by the scheduled job
``crm.activity_rollup`` (the last two months) or when a report first needs them; today is
always counted live.

Rolling up holds the day's ``rep_activity_rollup`` rows locked (PostgreSQL; the write lock on
SQLite) from reading ``changes`` until the totals are stored, so a row written meanwhile either
is counted or leaves the day marked changed.

The totals are the same as :func:`crm.activity_stats.rep_stats` counts for a whole division;
visits are distinct customers per day, which add up over days because a customer's events all
carry the customer's division.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Index, Integer, String, and_, cast, func, null, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from crm.access import scope_clause
from crm.communications import CapturedCall, CapturedSms
from crm.customers import Customer
from crm.locations import Checkin
from crm.org import Division, User
from crm.rows import column_rows
from crm.timeline import TimelineEvent
from crm.types import UTCDateTime

VISIT_KINDS = ("visit", "checkin")
# Days rolled up in one transaction (writers of those days wait for it).
BATCH_DAYS = 31
# How far back the scheduled job keeps days rolled up (this month and last month's reports).
JOB_DAYS = 62

# What counting a period reads, as index-only scans by division and time (created by crm_0010).
Index(
    "ix_captured_call_activity",
    CapturedCall.__table__.c.division_id,  # type: ignore[attr-defined]
    CapturedCall.__table__.c.occurred_at,  # type: ignore[attr-defined]
    CapturedCall.__table__.c.rep_user_id,  # type: ignore[attr-defined]
    CapturedCall.__table__.c.duration_s,  # type: ignore[attr-defined]
)
Index(
    "ix_captured_sms_activity",
    CapturedSms.__table__.c.division_id,  # type: ignore[attr-defined]
    CapturedSms.__table__.c.occurred_at,  # type: ignore[attr-defined]
    CapturedSms.__table__.c.rep_user_id,  # type: ignore[attr-defined]
)
# Counted from the rows over any period: customers created and check-ins per rep.
Index(
    "ix_customer_division_created_by",
    Customer.__table__.c.division_id,  # type: ignore[attr-defined]
    Customer.__table__.c.created_at,  # type: ignore[attr-defined]
    Customer.__table__.c.created_by_user_id,  # type: ignore[attr-defined]
    Customer.__table__.c.merged_into_id,  # type: ignore[attr-defined]
)
Index(
    "ix_checkin_division_time_rep",
    Checkin.__table__.c.division_id,  # type: ignore[attr-defined]
    Checkin.__table__.c.occurred_at,  # type: ignore[attr-defined]
    Checkin.__table__.c.rep_user_id,  # type: ignore[attr-defined]
)
Index(
    "ix_timeline_event_kind_time",
    TimelineEvent.__table__.c.kind,  # type: ignore[attr-defined]
    TimelineEvent.__table__.c.occurred_at,  # type: ignore[attr-defined]
    TimelineEvent.__table__.c.division_id,  # type: ignore[attr-defined]
    TimelineEvent.__table__.c.actor_user_id,  # type: ignore[attr-defined]
    TimelineEvent.__table__.c.customer_id,  # type: ignore[attr-defined]
)


class RepActivityDay(SQLModel, table=True):
    """One rep's totals of one local day in one division (only reps with activity that day)."""

    __tablename__ = "rep_activity_day"
    __owner_column__ = "user_id"

    zone: str = Field(sa_type=String(64), primary_key=True)
    day: date = Field(sa_type=Date, primary_key=True)
    division_id: int = Field(foreign_key="division.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    calls: int = 0
    talk_time_s: int = 0
    sms: int = 0
    visits: int = 0


class RepActivityRollup(SQLModel, table=True):
    """A local day whose totals are (or are being) rolled up, with its UTC bounds for the triggers."""

    __tablename__ = "rep_activity_rollup"
    __scope__ = "org"

    zone: str = Field(sa_type=String(64), primary_key=True)
    day: date = Field(sa_type=Date, primary_key=True)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime, index=True)
    changes: int = Field(default=0, description="Source rows of the day written since it was first rolled up.")
    rolled_changes: int | None = Field(default=None, description="``changes`` when the totals were stored.")


@dataclass(frozen=True, slots=True)
class DaySpan:
    day: date
    start: datetime
    end: datetime


@dataclass
class Totals:
    calls: int = 0
    talk_time_s: int = 0
    sms: int = 0
    visits: int = 0


def finished_days(start: datetime, end: datetime, zone: str, now: datetime) -> list[DaySpan]:
    """The local days lying wholly inside [start, end) that were over by ``now``."""
    tz = ZoneInfo(zone)
    day = start.astimezone(tz).date()
    if datetime.combine(day, time(0), tz) < start:
        day += timedelta(days=1)
    limit = min(end, now)
    out = []
    while (following := datetime.combine(day + timedelta(days=1), time(0), tz)) <= limit:
        out.append(DaySpan(day, datetime.combine(day, time(0), tz), following))
        day += timedelta(days=1)
    return out


def _batches(days: Sequence[DaySpan]) -> Iterator[list[DaySpan]]:
    it = iter(days)
    while batch := list(islice(it, BATCH_DAYS)):
        yield batch


def _day_totals(session: Session, span: DaySpan) -> dict[tuple[int, int], Totals]:
    """Totals per (division, rep) of one day over every division (the rows are read back scoped)."""
    totals: dict[tuple[int, int], Totals] = {}
    divisions = select(Division.id).scalar_subquery()  # so that the indexes by division serve

    def at(division_id: int, user_id: int) -> Totals:
        return totals.setdefault((division_id, user_id), Totals())

    calls = (
        select(
            CapturedCall.division_id,
            CapturedCall.rep_user_id,
            func.count(),
            func.coalesce(func.sum(CapturedCall.duration_s), 0),
        )
        .where(CapturedCall.division_id.in_(divisions), CapturedCall.rep_user_id.is_not(None))
        .where(CapturedCall.occurred_at >= span.start, CapturedCall.occurred_at < span.end)
        .group_by(CapturedCall.division_id, CapturedCall.rep_user_id)
    )
    for division_id, user_id, count, seconds in session.execute(calls):
        at(division_id, user_id).calls, at(division_id, user_id).talk_time_s = count, int(seconds)
    sms = (
        select(CapturedSms.division_id, CapturedSms.rep_user_id, func.count())
        .where(CapturedSms.division_id.in_(divisions), CapturedSms.rep_user_id.is_not(None))
        .where(CapturedSms.occurred_at >= span.start, CapturedSms.occurred_at < span.end)
        .group_by(CapturedSms.division_id, CapturedSms.rep_user_id)
    )
    for division_id, user_id, count in session.execute(sms):
        at(division_id, user_id).sms = count
    visits = (
        select(
            TimelineEvent.division_id,
            TimelineEvent.actor_user_id,
            func.count(func.distinct(TimelineEvent.customer_id)),
        )
        .where(
            TimelineEvent.kind.in_(VISIT_KINDS),
            TimelineEvent.occurred_at >= span.start,
            TimelineEvent.occurred_at < span.end,
            TimelineEvent.actor_user_id.is_not(None),
        )
        .group_by(TimelineEvent.division_id, TimelineEvent.actor_user_id)
    )
    for division_id, user_id, count in session.execute(visits):
        at(division_id, user_id).visits = count
    return totals


def _state(session: Session, zone: str, days: Sequence[DaySpan]) -> dict[date, tuple[int, int | None]]:
    rows = session.execute(
        select(RepActivityRollup.day, RepActivityRollup.changes, RepActivityRollup.rolled_changes).where(
            RepActivityRollup.zone == zone, RepActivityRollup.day.between(days[0].day, days[-1].day)
        )
    )
    return {day: (changes, rolled) for day, changes, rolled in rows}


def _roll_up_batch(session: Session, zone: str, batch: list[DaySpan]) -> None:
    days = [s.day for s in batch]
    which = (RepActivityRollup.zone == zone) & RepActivityRollup.day.in_(days)
    # Lock the days' rows first: a writer of those days waits until the totals are stored.
    session.execute(update(RepActivityRollup).where(which).values(rolled_changes=None))
    changes = dict(session.execute(select(RepActivityRollup.day, RepActivityRollup.changes).where(which)).all())
    session.execute(
        RepActivityDay.__table__.delete().where(  # type: ignore[attr-defined]
            (RepActivityDay.zone == zone) & RepActivityDay.day.in_(days)
        )
    )
    rows = [
        {"zone": zone, "day": span.day, "division_id": division_id, "user_id": user_id, **vars(t)}
        for span in batch
        for (division_id, user_id), t in _day_totals(session, span).items()
    ]
    if rows:
        session.execute(RepActivityDay.__table__.insert(), rows)  # type: ignore[attr-defined]
    for day, count in changes.items():
        session.execute(
            update(RepActivityRollup)
            .where((RepActivityRollup.zone == zone) & (RepActivityRollup.day == day))
            .values(rolled_changes=count)
        )
    session.commit()


def roll_up(session: Session, zone: str, days: Sequence[DaySpan]) -> int:
    """Roll up those of ``days`` (finished, in order) that are not rolled up or have changed since;
    returns how many. Commits."""
    if not days:
        return 0
    state = _state(session, zone, days)
    new = [s for s in days if s.day not in state]
    if new:
        session.add_all(RepActivityRollup(zone=zone, day=s.day, start_at=s.start, end_at=s.end) for s in new)
        try:
            session.commit()  # from now on the triggers count the changes of these days
        except IntegrityError:  # another request added some of them first
            session.rollback()
            state = _state(session, zone, days)
    stale = [s for s in days if s.day not in state or state[s.day][1] != state[s.day][0]]
    for batch in _batches(stale):
        _roll_up_batch(session, zone, batch)
    return len(stale)


def roll_up_recent_days(session: Session, now: datetime, zone: str) -> int:
    """Scheduled job: roll up the finished days of the last :data:`JOB_DAYS` that are missing or
    changed, so that reports find them ready; returns how many were rolled up."""
    return roll_up(session, zone, finished_days(now - timedelta(days=JOB_DAYS), now, zone, now))


def rolled_totals(
    session: Session, actor: User, zone: str, days: Sequence[DaySpan]
) -> tuple[dict[int, Totals], set[date]]:
    """Totals per rep over those of ``days`` whose rolled-up totals are current, and which days
    those are — read in one statement, so both come from the same moment."""
    if not days:
        return {}, set()
    current = (
        (RepActivityRollup.zone == zone)
        & RepActivityRollup.day.between(days[0].day, days[-1].day)
        & (RepActivityRollup.rolled_changes == RepActivityRollup.changes)
    )
    per_rep = (
        select(
            cast(null(), Date).label("day"),
            RepActivityDay.user_id,
            func.sum(RepActivityDay.calls),
            func.sum(RepActivityDay.talk_time_s),
            func.sum(RepActivityDay.sms),
            func.sum(RepActivityDay.visits),
        )
        .join(
            RepActivityRollup,
            and_(RepActivityRollup.zone == RepActivityDay.zone, RepActivityRollup.day == RepActivityDay.day),
        )
        .where(current, scope_clause(actor, RepActivityDay))
        .group_by(RepActivityDay.user_id)
    )
    covered = select(RepActivityRollup.day, *(cast(null(), Integer) for _ in range(5))).where(current)
    totals: dict[int, Totals] = {}
    days_covered: set[date] = set()
    for day, user_id, calls, talk, sms, visits in column_rows(session, union_all(per_rep, covered)):
        if user_id is None:
            days_covered.add(day)
        else:
            totals[user_id] = Totals(int(calls), int(talk), int(sms), int(visits))
    return totals, days_covered
