"""Phone numbers in user profiles are staff numbers: excluded at ingestion at once, listed on the
exclusion list by the scheduled sync (which purges what was captured before), removed with the user."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from crm.audit import AuditLog
from crm.communications import CapturedCall, CapturedSms, ExcludedNumber
from crm.org import Role, User
from crm.types import utcnow
from server.config import Settings
from server.ingest.staff import staff_numbers_job
from server.jobs import JOBS
from tests.factories import Factory
from tests.ingest.conftest import World, ago, call, sms

STAFF = "+8613700000007"


def test_profile_numbers_are_excluded_listed_purged_and_follow_the_user(
    client: TestClient, world: World, session: Session, factory: Factory, settings: Settings
) -> None:
    client.post(
        "/api/v1/ingest/sms",
        json={
            "records": [
                sms(1, "13700000007", "明天开会", ago(days=2)),
                sms(2, "13812345678", "报价", ago(days=2)),
            ]
        },
        headers=world.device_headers,
    )
    colleague = factory.user(Role.rep, world.division)
    colleague.phone = "137 0000 0007"
    session.add(colleague)
    session.commit()

    # excluded at once, before any sync
    body = client.post(
        "/api/v1/ingest/calls",
        json={"records": [call(1, "+86 137-0000-0007", ago(hours=1))]},
        headers=world.device_headers,
    ).json()
    assert body["excluded"] == 1 and session.exec(select(CapturedCall)).all() == []

    assert staff_numbers_job(session, utcnow(), settings) == 1
    row = session.exec(select(ExcludedNumber)).one()
    assert (row.e164, row.kind, row.division_id, row.user_id, row.from_profile) == (
        STAFF,
        "staff",
        None,
        colleague.id,
        True,
    )
    session.expire_all()
    assert [s.number_e164 for s in session.exec(select(CapturedSms))] == ["+8613812345678"]  # purged
    audit = session.exec(select(AuditLog).where(AuditLog.action == "capture.exclusion.profile")).one()
    assert audit.detail["sms"] == 1 and audit.target_id == str(colleague.id)
    assert staff_numbers_job(session, utcnow(), settings) == 0  # nothing more to do

    head = factory.headers(world.head)
    listed = client.get(
        "/api/v1/ingest/exclusions", headers=factory.headers(factory.user(Role.executive))
    ).json()
    assert [(e["e164"], e["from_profile"]) for e in listed] == [(STAFF, True)]
    removed = client.delete(
        f"/api/v1/ingest/exclusions/{row.id}", headers=factory.headers(factory.user(Role.executive))
    )
    assert removed.status_code == 409 and removed.json()["field"]
    assert (
        client.get("/api/v1/ingest/exclusions", headers=head).json() == []
    )  # company-wide: not the division's

    # the user leaves: the number is no longer a staff number
    colleague.is_active = False
    session.add(colleague)
    session.commit()
    assert staff_numbers_job(session, utcnow(), settings) == 1
    assert session.exec(select(ExcludedNumber)).all() == []
    body = client.post(
        "/api/v1/ingest/calls",
        json={"records": [call(2, "13700000007", ago(minutes=30))]},
        headers=world.device_headers,
    ).json()
    assert body["accepted"] == 1


def test_changed_or_invalid_profile_numbers(session: Session, factory: Factory, settings: Settings) -> None:
    user = factory.user(Role.division_head)
    user.phone = "13700000007"
    odd = factory.user(Role.rep)
    odd.phone = "not a number"
    session.add_all([user, odd])
    session.commit()
    staff_numbers_job(session, utcnow(), settings)
    user.phone = "13700000008"
    session.add(user)
    session.commit()
    assert staff_numbers_job(session, utcnow(), settings) == 2  # the old row goes, the new one comes
    assert [(r.e164, r.user_id) for r in session.exec(select(ExcludedNumber))] == [
        ("+8613700000008", user.id)
    ]
    assert session.get(User, odd.id).phone == "not a number"  # left as it is, not excluded
    assert any(job.name == "capture.staff_numbers" for job in JOBS)
