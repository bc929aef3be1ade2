"""Normalise step: raw numbers → E.164 and kind (``capture.phone``), and the exclusion list
(including staff numbers from user profiles)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import or_, select
from sqlmodel import Session

from capture.phone import NormalisedNumber, normalise
from crm.communications import ExcludedNumber
from crm.org import User

# Numbers repeat heavily (the same customers call again); phonenumbers costs ~50 µs a number.
_CACHE_SIZE = 200_000


@lru_cache(maxsize=_CACHE_SIZE)
def normalised(raw: str | None, region: str) -> NormalisedNumber:
    return normalise(raw, region)


def excluded_numbers(session: Session, division_id: int, region: str) -> frozenset[str]:
    """E.164 numbers not captured for this division: its own list, the company-wide one, and the
    phone numbers in active users' profiles (also before ``server.ingest.staff`` lists them)."""
    stmt = select(ExcludedNumber.e164).where(
        or_(ExcludedNumber.division_id.is_(None), ExcludedNumber.division_id == division_id)
    )
    listed = session.connection().execute(stmt).scalars()  # Core: no ORM layer on a per-batch read
    return frozenset(listed) | frozenset(profile_numbers(session, region).values())


def profile_numbers(session: Session, region: str) -> dict[int, str]:
    """E.164 of the phone number in each active user's profile (users without a valid one left out)."""
    stmt = select(User.id, User.phone).where(
        User.phone.is_not(None), User.phone != "", User.is_active.is_(True)
    )
    found = {}
    for user_id, phone in session.connection().execute(stmt):
        e164 = normalised(phone, region).e164
        if e164 is not None:
            found[user_id] = e164
    return found
