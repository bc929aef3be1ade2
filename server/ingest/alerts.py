"""Alert step: the division's keyword rules over SMS bodies and transcripts (``capture.keywords``)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from capture.keywords import DEFAULT_KEYWORDS, KeywordMatcher
from crm.communications import CaptureAlert, KeywordRule
from server.ingest.persist import insert_rows

CONTEXT_CHARS = 20


@lru_cache(maxsize=256)
def _matcher(keywords: frozenset[str]) -> KeywordMatcher:
    return KeywordMatcher(keywords)


def effective_keywords(session: Session, division_id: int) -> frozenset[str]:
    """The division's active keywords; the defaults while it has configured none."""
    rules = session.execute(
        select(KeywordRule.keyword, KeywordRule.is_active).where(KeywordRule.division_id == division_id)
    ).all()
    if not rules:
        return frozenset(DEFAULT_KEYWORDS)
    return frozenset(keyword for keyword, active in rules if active)


def matcher_for(session: Session, division_id: int) -> KeywordMatcher | None:
    keywords = effective_keywords(session, division_id)
    return _matcher(keywords) if keywords else None


def alert_rows(
    matcher: KeywordMatcher,
    text: str,
    *,
    source_table: str,
    source: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """One alert per keyword found in ``text`` (with the first occurrence's context).

    ``source`` is the stored row (``id``, ``division_id``, ``rep_user_id``, ``device_id``,
    ``occurred_at``).
    """
    seen: dict[str, str] = {}
    for match in matcher.find(text, CONTEXT_CHARS):
        seen.setdefault(match.keyword, match.context)
    return [
        {
            "division_id": source["division_id"],
            "rep_user_id": source["rep_user_id"],
            "device_id": source["device_id"],
            "source_table": source_table,
            "source_id": source["id"],
            "keyword": keyword,
            "context": context[:500],
            "occurred_at": source["occurred_at"],
            "status": "open",
            "created_at": now,
        }
        for keyword, context in seen.items()
    ]


def write_alerts(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, CaptureAlert.__table__, rows, ("source_table", "source_id", "keyword"))
