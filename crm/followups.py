"""The follow-up rule: every open lead and opportunity gets an activity at least every N days.

Past N days without one, the owner is reminded; ``escalate_after_days`` later, the
division heads too. Reminders are keyed by the item and its last activity, so the job
may run any number of times and a new activity starts a new cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from crm.leads import OPEN_LEAD_STATUSES, Lead
from crm.notifications import Notification, division_heads, notify
from crm.pipeline import Opportunity, OpportunityStatus

DEFAULT_DAYS = 30
DEFAULT_ESCALATE_AFTER_DAYS = 7


def _stale(session: Session, model: type, open_clause, cutoff: datetime) -> list[tuple]:  # type: ignore[no-untyped-def]
    last = func.coalesce(model.last_activity_at, model.created_at)
    return list(
        session.execute(
            select(model.id, model.division_id, model.owner_id, model.name, last)
            .where(open_clause, model.owner_id.is_not(None), last <= cutoff)
            .order_by(model.id)
        )
    )


def remind_followups(
    session: Session,
    now: datetime,
    *,
    days: int = DEFAULT_DAYS,
    escalate_after_days: int = DEFAULT_ESCALATE_AFTER_DAYS,
) -> int:
    """Notify owners (then division heads) of open leads/opportunities without a recent activity."""
    kinds = (
        ("lead", "线索", Lead, Lead.status.in_(OPEN_LEAD_STATUSES)),
        ("opportunity", "商机", Opportunity, Opportunity.status == OpportunityStatus.open),
    )
    existing = set(
        session.scalars(
            select(Notification.dedupe_key).where(Notification.dedupe_key.like("followup%"))
        ).all()
    )
    heads: dict[int, list[int]] = {}
    sent = 0
    for kind, label, model, open_clause in kinds:
        for item_id, division_id, owner_id, name, last in _stale(
            session, model, open_clause, now - timedelta(days=days)
        ):
            cycle = f"{kind}:{item_id}:{last:%Y%m%d%H%M%S}"
            idle = (now - last).days
            recipients = [("followup", owner_id)]
            if now - last >= timedelta(days=days + escalate_after_days):
                if division_id not in heads:
                    heads[division_id] = [u.id for u in division_heads(session, division_id)]  # type: ignore[misc]
                recipients += [
                    ("followup-escalated", head) for head in heads[division_id] if head != owner_id
                ]
            for key_kind, user_id in recipients:
                key = f"{key_kind}:{cycle}:{user_id}"
                if key in existing:
                    continue
                notify(
                    session,
                    user_id=user_id,
                    division_id=division_id,
                    kind=key_kind,
                    title=f"{label}「{name}」已 {idle} 天没有跟进",
                    body="请记录一次跟进行动" if key_kind == "followup" else "负责人提醒后仍未跟进",
                    now=now,
                    data={kind + "_id": item_id, "owner_id": owner_id, "idle_days": idle},
                    dedupe_key=key,
                )
                existing.add(key)
                sent += 1
    session.commit()
    return sent
