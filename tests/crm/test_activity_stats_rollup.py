"""Per-rep activity over a period, with finished days read from the daily rollup, always equals
the same figures counted directly from the calls, SMS and visit events — also after late,
changed and deleted rows, across local midnights, for partial days and for every role."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from crm.activity_rollup import RepActivityDay, RepActivityRollup, roll_up_recent_days
from crm.activity_stats import rep_stats
from crm.communications import CapturedCall, CapturedSms
from crm.customers import Customer
from crm.devices import Device
from crm.org import Division, User
from crm.targets import leaderboard
from crm.timeline import TimelineEvent, add_timeline_event
from server.jobs import JOBS
from tests.crm.conftest import Org, make_customer

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
# A month that is over: every day of it can be rolled up.
MONTH_START = datetime(2026, 3, 1, tzinfo=TZ)
MONTH_END = datetime(2026, 4, 1, tzinfo=TZ)


def _direct(session: Session, division_ids: set[int], start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """Calls, talk time, SMS and visits (distinct customer-days) per rep, from every row of the period."""
    out: dict[int, dict[str, int]] = defaultdict(lambda: {"calls": 0, "talk_time_s": 0, "sms": 0, "visits": 0})
    for call in session.exec(select(CapturedCall)):
        if call.division_id in division_ids and start <= call.occurred_at < end and call.rep_user_id:
            out[call.rep_user_id]["calls"] += 1
            out[call.rep_user_id]["talk_time_s"] += call.duration_s or 0
    for sms in session.exec(select(CapturedSms)):
        if sms.division_id in division_ids and start <= sms.occurred_at < end and sms.rep_user_id:
            out[sms.rep_user_id]["sms"] += 1
    visited: dict[int, set[tuple[int, date]]] = defaultdict(set)
    for event in session.exec(select(TimelineEvent).where(TimelineEvent.kind.in_(("visit", "checkin")))):
        if event.division_id in division_ids and start <= event.occurred_at < end and event.actor_user_id:
            visited[event.actor_user_id].add((event.customer_id, event.occurred_at.astimezone(TZ).date()))
    for user_id, pairs in visited.items():
        out[user_id]["visits"] = len(pairs)
    return dict(out)


def _counted(stats: dict) -> dict[int, dict[str, int]]:
    keys = ("calls", "talk_time_s", "sms", "visits")
    return {
        user_id: {k: asdict(s)[k] for k in keys}
        for user_id, s in stats.items()
        if any(asdict(s)[k] for k in keys)
    }


class Activity:
    """Writes calls, SMS and visits of an organisation's reps, the way ingestion stores them."""

    def __init__(self, session: Session, org: Org) -> None:
        self.session, self.org = session, org
        self.devices: dict[int, int] = {}
        self.customers: dict[int, list[Customer]] = {}
        self.serial = 0
        for rep in (org.rep1, org.rep2, org.rep_b):
            device = Device(serial=f"R{rep.id}", division_id=rep.division_id, rep_user_id=rep.id)
            session.add(device)
            session.flush()
            self.devices[rep.id] = device.id  # type: ignore[assignment]
            self.customers[rep.id] = [
                make_customer(session, rep, f"客户{rep.id}-{k}", phone=f"138{rep.id % 10000:04d}{k:04d}") for k in range(3)
            ]
        session.commit()

    def call(self, rep: User, at: datetime, seconds: int) -> CapturedCall:
        self.serial += 1
        call = CapturedCall(
            device_id=self.devices[rep.id], division_id=rep.division_id, rep_user_id=rep.id,
            source_key=f"c{self.serial}", source_id=self.serial, number_e164="+8613800000009",
            number_kind="mobile", occurred_at=at, direction="outgoing", type="outgoing", type_code=2,
            duration_s=seconds, answered=seconds > 0,
        )
        self.session.add(call)
        self.session.commit()
        return call

    def sms(self, rep: User, at: datetime) -> None:
        self.serial += 1
        self.session.add(CapturedSms(
            device_id=self.devices[rep.id], division_id=rep.division_id, rep_user_id=rep.id,
            source_key=f"s{self.serial}", source_id=self.serial, number_e164="+8613800000009",
            number_kind="mobile", occurred_at=at, direction="outbound", type="sent", type_code=2, body="您好",
        ))
        self.session.commit()

    def visit(self, rep: User, customer: int, at: datetime, kind: str = "checkin") -> None:
        self.serial += 1
        add_timeline_event(self.session, customer_id=self.customers[rep.id][customer].id,  # type: ignore[arg-type]
                           division_id=rep.division_id, occurred_at=at, kind=kind, source_table=kind,  # type: ignore[arg-type]
                           source_id=self.serial, actor_user_id=rep.id)
        self.session.commit()

    def random_month(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(120):
            rep = rng.choice((self.org.rep1, self.org.rep2, self.org.rep_b))
            at = MONTH_START + timedelta(seconds=rng.uniform(0, (MONTH_END - MONTH_START).total_seconds()))
            what = rng.random()
            if what < 0.5:
                self.call(rep, at, rng.choice((0, 30, 65, 300)))
            elif what < 0.7:
                self.sms(rep, at)
            else:
                self.visit(rep, rng.randrange(3), at, rng.choice(("checkin", "visit")))


@pytest.fixture
def activity(session: Session, org: Org) -> Activity:
    return Activity(session, org)


def _check(session: Session, org: Org, start: datetime = MONTH_START, end: datetime = MONTH_END) -> None:
    for actor, divisions in ((org.head, {org.a.id}), (org.admin, {org.a.id}), (org.head_b, {org.b.id}),
                             (org.executive, {org.a.id, org.b.id})):
        got = _counted(rep_stats(session, actor=actor, start=start, end=end, zone=ZONE))
        assert got == _direct(session, divisions, start, end), actor.role


def _rollup(session: Session, day: date) -> RepActivityRollup | None:
    return session.get(RepActivityRollup, (ZONE, day))


def test_a_finished_month_is_rolled_up_and_equals_the_rows(session: Session, org: Org, activity: Activity) -> None:
    activity.random_month(seed=3)
    _check(session, org)
    days = session.exec(select(RepActivityRollup).where(RepActivityRollup.zone == ZONE)).all()
    assert len(days) == 31
    assert all(d.rolled_changes == d.changes for d in days)
    assert session.exec(select(RepActivityDay)).first() is not None
    _check(session, org)  # now read from the rollup


def test_late_changed_and_deleted_rows_are_counted(session: Session, org: Org, activity: Activity) -> None:
    activity.random_month(seed=4)
    _check(session, org)
    day = date(2026, 3, 10)
    noon = datetime(2026, 3, 10, 12, tzinfo=TZ)
    before = _rollup(session, day)
    assert before is not None and before.rolled_changes == before.changes
    changes = before.changes

    late = activity.call(org.rep1, noon, 95)  # a phone that was offline syncs a call of that day
    session.expire_all()
    assert _rollup(session, day).changes == changes + 1  # type: ignore[union-attr]
    _check(session, org)

    late.duration_s = 10  # changed
    late.occurred_at = datetime(2026, 3, 12, 9, tzinfo=TZ)  # and moved to another day
    session.add(late)
    session.commit()
    _check(session, org)

    activity.visit(org.rep2, 1, noon)
    activity.visit(org.rep2, 1, noon + timedelta(hours=1), "visit")  # the same customer that day: one visit
    _check(session, org)

    session.delete(late)
    session.commit()
    for sms in session.exec(select(CapturedSms)).all()[:3]:
        session.delete(sms)
    session.commit()
    _check(session, org)


def test_visits_are_counted_per_local_day_across_midnight(session: Session, org: Org, activity: Activity) -> None:
    midnight = datetime(2026, 3, 5, tzinfo=TZ)
    activity.visit(org.rep1, 0, midnight - timedelta(minutes=1))
    activity.visit(org.rep1, 0, midnight + timedelta(minutes=1))  # next local day: another visit
    activity.visit(org.rep1, 0, midnight + timedelta(hours=3), "visit")
    activity.call(org.rep1, midnight - timedelta(seconds=1), 60)
    activity.call(org.rep1, midnight, 60)
    stats = rep_stats(session, actor=org.head, start=MONTH_START, end=MONTH_END, zone=ZONE)
    assert (stats[org.rep1.id].visits, stats[org.rep1.id].calls) == (2, 2)
    again = rep_stats(session, actor=org.head, start=MONTH_START, end=MONTH_END, zone=ZONE)
    assert (again[org.rep1.id].visits, again[org.rep1.id].calls) == (2, 2)
    # in UTC the three visits fall on one day (rolled up separately per time zone)
    utc = rep_stats(session, actor=org.head, start=MONTH_START, end=MONTH_END, zone="UTC")
    assert utc[org.rep1.id].visits == 1


def test_partial_days_and_today_are_counted_from_the_rows(session: Session, org: Org, activity: Activity) -> None:
    activity.random_month(seed=5)
    now = datetime.now(UTC)
    for at in (now - timedelta(hours=30), now - timedelta(minutes=5)):  # yesterday and today
        activity.call(org.rep2, at, 42)
        activity.visit(org.rep2, 2, at)
    _check(session, org, MONTH_START, MONTH_END)
    _check(session, org, MONTH_START + timedelta(hours=7, minutes=30), MONTH_END - timedelta(hours=13))
    _check(session, org, now - timedelta(days=3), now + timedelta(days=1))
    assert _rollup(session, now.astimezone(TZ).date()) is None  # today is not over


def test_reps_rank_their_division_and_see_only_themselves(session: Session, org: Org, activity: Activity) -> None:
    activity.random_month(seed=6)
    board = leaderboard(session, actor=org.rep1, start=MONTH_START, end=MONTH_END, sort="calls")
    direct = _direct(session, {org.a.id}, MONTH_START, MONTH_END)
    assert {r.user_id: r.calls for r in board} == {u: d["calls"] for u, d in direct.items()}
    mine = _counted(rep_stats(session, actor=org.rep1, start=MONTH_START, end=MONTH_END, zone=ZONE))
    assert set(mine) <= {org.rep1.id}
    assert mine.get(org.rep1.id, {}).get("calls", 0) == direct.get(org.rep1.id, {}).get("calls", 0)
    assert rep_stats(session, actor=org.sysadmin, start=MONTH_START, end=MONTH_END, zone=ZONE) == {}


def test_a_division_sees_only_its_own_rolled_up_days(session: Session, org: Org, activity: Activity) -> None:
    activity.random_month(seed=7)
    assert set(rep_stats(session, actor=org.head_b, start=MONTH_START, end=MONTH_END, zone=ZONE)) <= {org.rep_b.id}
    other = session.get(Division, org.b.id)
    assert other is not None
    assert org.rep1.id not in rep_stats(session, actor=org.head_b, start=MONTH_START, end=MONTH_END, zone=ZONE)


def test_the_scheduled_job_rolls_up_the_last_two_months_ahead(
    session: Session, org: Org, activity: Activity
) -> None:
    activity.random_month(seed=8)
    now = datetime(2026, 4, 10, 3, tzinfo=UTC)  # 11:00 on 10 April in Shanghai
    job = next(j for j in JOBS if j.name == "crm.activity_rollup")
    assert roll_up_recent_days(session, now, ZONE) == 61  # the whole days from 8 February to 9 April
    rolled = session.exec(select(RepActivityRollup).where(RepActivityRollup.zone == ZONE)).all()
    assert min(d.day for d in rolled) == date(2026, 2, 8) and max(d.day for d in rolled) == date(2026, 4, 9)
    assert all(d.rolled_changes == d.changes for d in rolled)
    assert roll_up_recent_days(session, now, ZONE) == 0  # nothing changed since
    activity.call(org.rep2, datetime(2026, 3, 20, 15, tzinfo=TZ), 80)
    assert roll_up_recent_days(session, now, ZONE) == 1  # the day of the late call
    assert job.every.total_seconds() == 3600
    _check(session, org)
