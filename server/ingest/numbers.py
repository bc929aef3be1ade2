"""Normalise step: raw numbers → E.164 and kind (``capture.phone``), and the exclusion list."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import or_, select
from sqlmodel import Session

from capture.phone import NormalisedNumber, normalise
from crm.communications import ExcludedNumber

# Numbers repeat heavily (the same customers call again); phonenumbers costs ~50 µs a number.
_CACHE_SIZE = 200_000


@lru_cache(maxsize=_CACHE_SIZE)
def normalised(raw: str | None, region: str) -> NormalisedNumber:
    return normalise(raw, region)


def excluded_numbers(session: Session, division_id: int) -> frozenset[str]:
    """E.164 numbers not captured for this division (its own list plus the company-wide one)."""
    stmt = select(ExcludedNumber.e164).where(
        or_(ExcludedNumber.division_id.is_(None), ExcludedNumber.division_id == division_id)
    )
    return frozenset(session.execute(stmt).scalars())
