"""Customer phone numbers: normalised to E.164 with capture.phone, linked to captured data, masked."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import lru_cache

from sqlmodel import Session

from capture.phone import NumberKind, mask, normalise
from crm.customers import ContactPhone
from crm.errors import DomainError
from crm.linking import relink_number

DEFAULT_REGION = "CN"
_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_SEPARATORS = re.compile(r"[\s\-.()]+")


def parse_phone(raw: object, *, region: str = DEFAULT_REGION, field: str = "phone") -> str:
    """E.164 of a subscriber number a contact can have; raises DomainError otherwise.

    Spreadsheet cells holding numbers (``13800138000.0``) are accepted; service numbers
    (95588, 400/800) are refused because captured calls to them are never linked.
    """
    text = _cell_text(raw)
    if region == "CN" and (
        mobile := _CN_MOBILE.match(_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)))
    ):
        return "+86" + mobile.group(1)  # the common case, without a full libphonenumber parse
    number = normalise(text, region)
    if number.kind is NumberKind.SERVICE:
        raise DomainError(f"{text!r} is a service number, not a contact's phone", field=field)
    if not number.linkable or number.e164 is None:
        raise DomainError(f"not a valid phone number: {text!r}", field=field)
    return number.e164


def _cell_text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return "" if raw is None else str(raw)


def add_phone(
    session: Session,
    *,
    customer_id: int,
    division_id: int,
    e164: str,
    raw: str = "",
    contact_id: int | None = None,
    label: str = "",
    now: datetime,
) -> ContactPhone:
    """Store a number and link the captured calls/SMS that already have it (same transaction)."""
    phone = ContactPhone(
        e164=e164,
        raw=raw[:64],
        customer_id=customer_id,
        contact_id=contact_id,
        division_id=division_id,
        valid_from=now,
        extra={"label": label} if label else {},
    )
    session.add(phone)
    session.flush()
    relink_number(session, e164, now=now)
    return phone


def end_phone(session: Session, phone: ContactPhone, *, now: datetime) -> None:
    """A number no longer belongs to the contact: close its validity and re-link its communications."""
    phone.valid_to = now
    session.add(phone)
    session.flush()
    relink_number(session, phone.e164, now=now)


@lru_cache(maxsize=100_000)
def masked(e164: str) -> str:
    """``capture.phone.mask`` parses the number each time; lists mask thousands of the same numbers."""
    return mask(e164)


def shown(e164: str, *, full: bool) -> str:
    return e164 if full else masked(e164)
