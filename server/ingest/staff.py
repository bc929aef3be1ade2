"""Staff numbers from user profiles on the exclusion list.

The phone number in an active user's profile is a staff line: its calls and SMS are not
customer communications. Ingestion excludes these numbers at once (``excluded_numbers``);
this keeps the list itself in step (company-wide ``staff`` rows marked ``from_profile``, so
managers see them) and purges what was captured with a number before it became a staff number
(``server.ingest.purge``). A row goes when its user leaves or changes number; it is never
edited through the exclusion API. Run by the scheduler (``capture.staff_numbers``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from crm.audit import record_audit
from crm.communications import ExcludedNumber, ExclusionKind
from server.config import Settings, get_settings
from server.ingest.numbers import profile_numbers
from server.ingest.purge import purge_number
from server.recordings.store import RecordingStore, get_store

LABEL = "user profile"


def sync_staff_numbers(session: Session, now: datetime, *, region: str, store: RecordingStore) -> int:
    """Bring the ``from_profile`` exclusions in line with the profiles; returns how many rows changed."""
    wanted = profile_numbers(session, region)
    have = {
        (user_id, e164): row_id
        for row_id, user_id, e164 in session.execute(
            select(ExcludedNumber.id, ExcludedNumber.user_id, ExcludedNumber.e164).where(
                ExcludedNumber.from_profile.is_(True)
            )
        )
    }
    stale = [row_id for (user_id, e164), row_id in have.items() if wanted.get(user_id) != e164]
    added = sorted((user_id, e164) for user_id, e164 in wanted.items() if (user_id, e164) not in have)
    if stale:
        session.execute(delete(ExcludedNumber).where(ExcludedNumber.id.in_(stale)))
    orphaned: list[str] = []
    for user_id, e164 in added:
        session.add(
            ExcludedNumber(
                e164=e164,
                division_id=None,
                kind=ExclusionKind.staff,
                user_id=user_id,
                label=LABEL,
                from_profile=True,
                created_at=now,
            )
        )
        purged = purge_number(session, e164, None, region=region, now=now)
        orphaned += purged.orphaned_files
        record_audit(
            session,
            action="capture.exclusion.profile",
            actor_label="staff numbers",
            target_type="app_user",
            target_id=user_id,
            detail={**purged.counts, "files": len(purged.orphaned_files)},
        )
    for row_id in stale:
        record_audit(
            session,
            action="capture.exclusion.profile_removed",
            actor_label="staff numbers",
            target_type="capture_exclusion",
            target_id=row_id,
        )
    session.commit()
    for sha256 in orphaned:
        store.delete(sha256)
    return len(stale) + len(added)


def staff_numbers_job(session: Session, now: datetime, settings: Settings | None = None) -> int:
    """The scheduled job: the server's settings give the default region and the recording store."""
    settings = settings or get_settings()
    return sync_staff_numbers(session, now, region=settings.default_region, store=get_store(settings))
