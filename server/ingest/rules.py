"""Capture configuration: the exclusion list, keyword rules, and acknowledging alerts.

Reps declare their own personal numbers; division heads/admins manage their division's
staff numbers and keywords; executives and system admins may also add company-wide
exclusions (no division). Every change is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from capture.keywords import DEFAULT_KEYWORDS, KeywordMatcher
from capture.phone import normalise
from crm.access import get_visible, manages_division
from crm.audit import record_audit
from crm.communications import AlertStatus, CaptureAlert, ExcludedNumber, ExclusionKind, KeywordRule
from crm.errors import Conflict, DomainError, Forbidden, NotFound
from crm.org import Role, User
from server.ingest.alerts import effective_keywords
from server.ingest.purge import purge_number
from server.recordings.store import RecordingStore


def add_exclusion(
    session: Session,
    *,
    actor: User,
    number: str,
    kind: ExclusionKind,
    division_id: int | None,
    label: str,
    region: str,
    store: RecordingStore,
    now: datetime,
    ip: str = "",
) -> ExcludedNumber:
    """Put a number on the exclusion list and purge what was captured with it before
    (``server.ingest.purge``); both audited, one transaction. Stored files no recording needs
    any more are deleted once it is committed."""
    parsed = normalise(number, region)
    if parsed.e164 is None:
        raise DomainError("not a phone number that can be excluded", field="number")
    role = Role(actor.role)
    user_id: int | None = None
    if role is Role.rep:
        if kind is not ExclusionKind.personal:
            raise Forbidden("reps declare only their own personal numbers", field="kind")
        division_id, user_id = actor.division_id, actor.id
    elif division_id is None and role not in (Role.executive, Role.sysadmin):
        division_id = actor.division_id
    if not (role is Role.rep or manages_division(actor, division_id)):
        raise Forbidden("you do not administer that division", field="division_id")
    row = ExcludedNumber(
        e164=parsed.e164,
        division_id=division_id,
        kind=kind,
        user_id=user_id,
        label=label,
        created_by_user_id=actor.id,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        action="capture.exclusion.add",
        actor_user_id=actor.id,
        target_type="capture_exclusion",
        target_id=row.id or "",
        division_id=division_id,
        ip=ip,
        detail={"kind": kind},
    )
    purged = purge_number(session, parsed.e164, division_id, region=region, now=now)
    record_audit(
        session,
        action="capture.exclusion.purge",
        actor_user_id=actor.id,
        target_type="capture_exclusion",
        target_id=row.id or "",
        division_id=division_id,
        ip=ip,
        detail={**purged.counts, "files": len(purged.orphaned_files)},
    )
    session.commit()
    for sha256 in purged.orphaned_files:
        store.delete(sha256)
    return row


def remove_exclusion(session: Session, *, actor: User, exclusion_id: int, ip: str = "") -> None:
    row = get_visible(session, actor, ExcludedNumber, exclusion_id)
    if row is None:
        raise NotFound("no such exclusion")
    if row.from_profile:
        raise Conflict(
            "this number follows a user's profile: change the profile instead", field="exclusion_id"
        )
    own = Role(actor.role) is Role.rep and row.user_id == actor.id
    if not own and (Role(actor.role) is Role.rep or not manages_division(actor, row.division_id)):
        raise Forbidden("you may not remove this exclusion")
    record_audit(
        session,
        action="capture.exclusion.remove",
        actor_user_id=actor.id,
        target_type="capture_exclusion",
        target_id=exclusion_id,
        division_id=row.division_id,
        ip=ip,
    )
    session.delete(row)
    session.commit()


def _check_manager(actor: User, division_id: int) -> None:
    if Role(actor.role) is Role.rep or not manages_division(actor, division_id):
        raise Forbidden("you do not administer that division", field="division_id")


def keywords_of(session: Session, *, actor: User, division_id: int) -> list[str]:
    _check_manager(actor, division_id)
    return sorted(effective_keywords(session, division_id))


def set_keywords(
    session: Session, *, actor: User, division_id: int, keywords: list[str], ip: str = ""
) -> list[str]:
    """Make ``keywords`` the division's active set (an empty list turns keyword alerts off)."""
    _check_manager(actor, division_id)
    wanted = sorted({k.strip() for k in keywords if k.strip()})
    if wanted:
        try:
            KeywordMatcher(wanted)
        except ValueError as error:
            raise DomainError(str(error), field="keywords") from None
    rows = {
        r.keyword: r for r in session.exec(select(KeywordRule).where(KeywordRule.division_id == division_id))
    }
    known = set(rows) | set(wanted) | (set() if rows else set(DEFAULT_KEYWORDS))
    for keyword in known:
        row = rows.get(keyword) or KeywordRule(
            division_id=division_id, keyword=keyword, created_by_user_id=actor.id
        )
        row.is_active = keyword in wanted
        session.add(row)
    record_audit(
        session,
        action="capture.keywords.set",
        actor_user_id=actor.id,
        target_type="division",
        target_id=division_id,
        division_id=division_id,
        ip=ip,
        detail={"keywords": wanted},
    )
    session.commit()
    return wanted


def acknowledge_alert(session: Session, *, actor: User, alert_id: int, now: datetime) -> CaptureAlert:
    alert = get_visible(session, actor, CaptureAlert, alert_id)
    if alert is None:
        raise NotFound("no such alert")
    _check_manager(actor, alert.division_id)
    if alert.status != AlertStatus.acknowledged:
        alert.status = AlertStatus.acknowledged
        alert.acknowledged_by_user_id = actor.id
        alert.acknowledged_at = now
        session.add(alert)
        session.commit()
    return alert
