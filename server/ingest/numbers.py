"""Normalise step: raw numbers → E.164 and kind (``capture.phone``), and the exclusion list
(including staff numbers from user profiles)."""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import bindparam, or_, select
from sqlmodel import Session

from capture.phone import NormalisedNumber, normalise
from crm.communications import ExcludedNumber
from crm.org import User

# Numbers repeat heavily (the same customers call again); phonenumbers costs ~50 µs a number.
_CACHE_SIZE = 200_000


@lru_cache(maxsize=_CACHE_SIZE)
def normalised(raw: str | None, region: str) -> NormalisedNumber:
    return normalise(raw, region)


# Built once and run through Core (no ORM layer): they are read for every batch, where building and
# keying two statements cost 0.2 ms a time.
_LISTED = select(ExcludedNumber.e164).where(
    or_(ExcludedNumber.division_id.is_(None), ExcludedNumber.division_id == bindparam("division_id"))
)
_PROFILE_PHONES = select(User.id, User.phone).where(
    User.phone.is_not(None), User.phone != "", User.is_active.is_(True)
)


def excluded_numbers(session: Session, division_id: int, region: str) -> frozenset[str]:
    """E.164 numbers not captured for this division: its own list, the company-wide one, and the
    phone numbers in active users' profiles (also before ``server.ingest.staff`` lists them)."""
    listed = session.connection().execute(_LISTED, {"division_id": division_id}).scalars()
    return frozenset(listed) | frozenset(profile_numbers(session, region).values())


def profile_numbers(session: Session, region: str) -> dict[int, str]:
    """E.164 of the phone number in each active user's profile (users without a valid one left out)."""
    found = {}
    for user_id, phone in session.connection().execute(_PROFILE_PHONES):
        e164 = normalised(phone, region).e164
        if e164 is not None:
            found[user_id] = e164
    return found


def payload_numbers(payload: str, region: str) -> set[str]:
    """E.164 of the numbers a quarantined record's payload (JSON) holds — an SMS address, a call's
    or recording's number, a phone-book entry's numbers — whatever else the record got wrong."""
    try:
        record = json.loads(payload)
    except ValueError:
        return set()
    if not isinstance(record, dict):
        return set()
    found = [record.get("address"), record.get("number")]
    if isinstance(entries := record.get("numbers"), list):
        found += [entry.get("number") for entry in entries if isinstance(entry, dict)]
    numbers = {normalised(raw, region).e164 for raw in found if isinstance(raw, str)}
    return {e164 for e164 in numbers if e164 is not None}
