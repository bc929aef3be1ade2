"""Lost reasons: a configurable list per division. Losing an opportunity picks one of them,
or "other" (no reason id) with a text that says why."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy import Index
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from crm.access import scope
from crm.actors import acting_division, require_manager
from crm.config_audit import audit_config
from crm.errors import DomainError
from crm.names import clean_text
from crm.org import User
from crm.schemas import Input, View
from crm.types import UTCDateTime

OTHER_WORDS = {"其他", "其它", "other"}
MAX_REASONS = 50


class LostReason(SQLModel, table=True):
    """One reason of a division's list; removed reasons are retired (opportunities keep them)."""

    __tablename__ = "lost_reason"
    __table_args__ = (Index("ix_lost_reason_division_position", "division_id", "position"),)

    id: int | None = SQLField(default=None, primary_key=True)
    division_id: int = SQLField(foreign_key="division.id")
    label: str = SQLField(max_length=100)
    position: int = 0
    retired_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)


class LostReasonsIn(Input):
    reasons: list[str] = Field(max_length=MAX_REASONS, description="Labels in display order.")


class LostReasonView(View):
    id: int
    label: str
    position: int


def active_reasons(session: Session, division_id: int) -> list[LostReason]:
    return list(
        session.exec(
            select(LostReason)
            .where(LostReason.division_id == division_id, LostReason.retired_at.is_(None))
            .order_by(LostReason.position, LostReason.id)
        )
    )


def list_lost_reasons(
    session: Session, *, actor: User, division_id: int | None = None
) -> list[LostReasonView]:
    """The division's list (everyone of the division reads it: the pipeline board offers it)."""
    division = acting_division(session, actor, division_id if division_id is not None else actor.division_id)
    rows = session.exec(
        scope(select(LostReason), actor, LostReason)
        .where(LostReason.division_id == division, LostReason.retired_at.is_(None))
        .order_by(LostReason.position, LostReason.id)
    )
    return [LostReasonView.model_validate(r) for r in rows]


def _clean_labels(labels: list[str]) -> list[str]:
    cleaned = [clean_text(label) for label in labels]
    if any(not label or len(label) > 100 for label in cleaned):
        raise DomainError("a lost reason has 1 to 100 characters", field="reasons", code="lost_reason.length")
    if any(label.casefold() in OTHER_WORDS for label in cleaned):
        raise DomainError(
            '"other" (with a text) is always offered; do not list it',
            field="reasons",
            code="lost_reason.other_implicit",
        )
    if len({label.casefold() for label in cleaned}) != len(cleaned):
        raise DomainError("the lost reasons must be different", field="reasons", code="lost_reason.duplicate")
    return cleaned


def set_lost_reasons(
    session: Session, *, actor: User, division_id: int, data: LostReasonsIn, now: datetime, ip: str = ""
) -> list[LostReasonView]:
    """Replace the division's list: kept labels keep their id, removed ones are retired."""
    require_manager(actor, division_id)
    labels = _clean_labels(data.reasons)
    current = {r.label.casefold(): r for r in active_reasons(session, division_id)}
    before = [r.label for r in current.values()]
    for position, label in enumerate(labels):
        reason = current.pop(label.casefold(), None) or LostReason(division_id=division_id, label=label)
        reason.label, reason.position = label, position
        session.add(reason)
    for retired in current.values():
        retired.retired_at = now
        session.add(retired)
    audit_config(
        session,
        actor=actor,
        action="lost_reasons.set",
        target_type="division",
        target_id=division_id,
        division_id=division_id,
        detail={"before": before, "after": labels},
        ip=ip,
    )
    session.commit()
    return [LostReasonView.model_validate(r) for r in active_reasons(session, division_id)]


def resolve_lost_reason(
    session: Session, division_id: int, reason_id: int | None, text: str
) -> tuple[int | None, str]:
    """(reason id, the text stored on the opportunity): a listed reason (an optional remark
    follows its label), or "other" without an id, which needs the text."""
    text = text.strip()
    if reason_id is None:
        if not text:
            raise DomainError(
                "pick a lost reason, or say why it was lost (other)",
                field="lost_reason",
                code="lost_reason.required",
            )
        return None, text[:200]
    reason = session.get(LostReason, reason_id)
    if reason is None or reason.division_id != division_id or reason.retired_at is not None:
        raise DomainError(
            "not a lost reason of this division", field="lost_reason_id", code="lost_reason.unknown"
        )
    return reason.id, (f"{reason.label}: {text}" if text else reason.label)[:200]
