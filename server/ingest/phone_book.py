"""The reps' phone books (captured contacts) for users: lists, labels for unlinked numbers, and
turning an entry into a customer.

Entries are owned by the phone's rep (``crm.access`` business scope: a rep sees their own,
managers their division's). Numbers are shown in full to the entry's rep and to managers,
masked for anyone else. Reading someone else's phone book is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from pydantic import Field
from sqlalchemy import and_, exists, select
from sqlmodel import Session

from capture.phone import NumberKind
from crm.access import get_visible, scope, sees_full_numbers
from crm.actors import is_manager
from crm.audit import record_audit
from crm.communications import CapturedContact, CapturedContactNumber
from crm.customer_service import ContactIn, CustomerCreate, PhoneIn, create_customer
from crm.customers import ContactPhone, Customer, CustomerKind
from crm.errors import DomainError, NotFound
from crm.org import User
from crm.phones import shown
from crm.schemas import Input, View

LINKABLE_KINDS = (NumberKind.MOBILE.value, NumberKind.FIXED_LINE.value, NumberKind.OTHER.value)
LABEL_PREFIX = "phone contact: "


class EntryNumberView(View):
    number: str
    kind: str
    type: int | None
    label: str | None


class EntryView(View):
    id: int
    device_id: int
    rep_user_id: int | None
    source_id: int
    name: str | None
    company: str | None
    version: int
    excluded_numbers: int
    changed_at: datetime
    deleted_at: datetime | None = Field(description="Deleted on the phone (listed with ``deleted=true`` only).")
    matched: bool = Field(description="Some number of the entry belongs to a customer of the division.")
    numbers: list[EntryNumberView]


class EntryToCustomer(Input):
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Default: company, else name."
    )
    kind: CustomerKind | None = Field(default=None, description="Default: company when the entry names one.")
    allow_duplicate: bool = False


_NUMBER, _ENTRY = CapturedContactNumber.__table__, CapturedContact.__table__


def _held(number: object) -> object:
    """SQL: a current customer of the number's division holds the number."""
    return exists().where(
        ContactPhone.e164 == number.c.number_e164,  # type: ignore[attr-defined]
        ContactPhone.division_id == number.c.division_id,  # type: ignore[attr-defined]
        ContactPhone.valid_to.is_(None),
        Customer.id == ContactPhone.customer_id,
        Customer.merged_into_id.is_(None),
    )


def _linkable(number: object) -> object:
    return and_(number.c.number_kind.in_(LINKABLE_KINDS), number.c.number_e164.is_not(None))  # type: ignore[attr-defined]


def _matched_entry() -> object:
    """SQL: some number of the entry (``captured_contact`` row) is held by a customer."""
    number = _NUMBER.alias("held_number")
    return exists().where(number.c.contact_id == CapturedContact.id, _linkable(number), _held(number))


def _unmatched_entry() -> object:
    """SQL: the entry has a number a customer could have, and none of its numbers is held yet."""
    number = _NUMBER.alias("own_number")
    return and_(
        exists().where(number.c.contact_id == CapturedContact.id, _linkable(number)), ~_matched_entry()
    )


def list_entries(
    session: Session,
    *,
    actor: User,
    unmatched: bool = False,
    deleted: bool = False,
    rep_user_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
    ip: str = "",
) -> list[EntryView]:
    """Phone-book entries visible to ``actor``, newest first; ``unmatched``: only those a customer could
    be made of (a linkable number that no customer of the division holds); ``deleted``: instead of the
    phone book, the entries deleted on the phones."""
    stmt = (
        select(CapturedContact, _matched_entry().label("matched"))
        .where(CapturedContact.deleted_at.is_not(None) if deleted else CapturedContact.deleted_at.is_(None))
        .order_by(CapturedContact.id.desc())
        .limit(limit)
    )
    if unmatched:
        stmt = stmt.where(_unmatched_entry())
    if rep_user_id is not None:
        stmt = stmt.where(CapturedContact.rep_user_id == rep_user_id)
    if before_id is not None:
        stmt = stmt.where(CapturedContact.id < before_id)
    rows = session.execute(scope(stmt, actor, CapturedContact)).all()
    numbers: dict[int, list[CapturedContactNumber]] = defaultdict(list)
    if rows:
        query = (
            select(CapturedContactNumber)
            .where(CapturedContactNumber.contact_id.in_([entry.id for entry, _ in rows]))
            .order_by(CapturedContactNumber.contact_id, CapturedContactNumber.position)
        )
        for number in session.execute(query).scalars():
            numbers[number.contact_id].append(number)
    views = [_view(entry, matched, numbers[entry.id], actor) for entry, matched in rows]  # type: ignore[index]
    _audit_others(session, actor, [entry for entry, _ in rows], ip)
    return views


def _view(
    entry: CapturedContact, matched: bool, numbers: list[CapturedContactNumber], actor: User
) -> EntryView:
    full = sees_full_numbers(actor, entry.rep_user_id)
    return EntryView(
        id=entry.id,  # type: ignore[arg-type]
        device_id=entry.device_id,
        rep_user_id=entry.rep_user_id,
        source_id=entry.source_id,
        name=entry.name,
        company=entry.company,
        version=entry.version,
        excluded_numbers=entry.excluded_numbers,
        changed_at=entry.changed_at,
        deleted_at=entry.deleted_at,
        matched=bool(matched),
        numbers=[
            EntryNumberView(
                number=shown(n.number_e164, full=full) if n.number_e164 else _raw_shown(n.number_raw, full),
                kind=n.number_kind,
                type=n.type,
                label=n.label,
            )
            for n in numbers
        ],
    )


def _raw_shown(raw: str, full: bool) -> str:
    return raw if full or len(raw) <= 5 else "*" * (len(raw) - 4) + raw[-4:]


def _audit_others(session: Session, actor: User, entries: list[CapturedContact], ip: str) -> None:
    """Reading another person's phone book is audited (one row per rep read)."""
    others = sorted({(e.rep_user_id or 0, e.division_id) for e in entries if e.rep_user_id != actor.id})
    for rep_id, division_id in others:
        record_audit(
            session,
            action="capture.phone_book.read",
            actor_user_id=actor.id,
            target_type="app_user",
            target_id=rep_id or "",
            division_id=division_id,
            ip=ip,
        )
    if others:
        session.commit()


def phone_contact_labels(session: Session, wanted: Collection[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """``phone contact: <name>`` for (device, E.164) pairs: how that phone's own phone book calls the
    number (name, else company; the lowest ``_id`` when several entries have it)."""
    if not wanted:
        return {}
    devices = sorted({device for device, _ in wanted})
    numbers = sorted({e164 for _, e164 in wanted})
    stmt = (
        select(_NUMBER.c.device_id, _NUMBER.c.number_e164, _ENTRY.c.name, _ENTRY.c.company)
        .join(_ENTRY, _ENTRY.c.id == _NUMBER.c.contact_id)
        .where(_NUMBER.c.device_id.in_(devices), _NUMBER.c.number_e164.in_(numbers), _ENTRY.c.deleted_at.is_(None))
        .order_by(_ENTRY.c.source_id.desc())
    )
    labels: dict[tuple[int, str], str] = {}
    for device_id, e164, name, company in session.execute(stmt):
        shown_name = (name or "").strip() or (company or "").strip()
        if shown_name and (device_id, e164) in wanted:
            labels[(device_id, e164)] = LABEL_PREFIX + shown_name
    return labels


def customer_from_entry(
    session: Session,
    *,
    actor: User,
    entry_id: int,
    data: EntryToCustomer,
    now: datetime,
    region: str,
    ip: str = "",
) -> Customer:
    """A customer made of a phone-book entry: the entry's person as its contact with the entry's
    linkable numbers; the calls and SMS already captured with those numbers are linked to it
    (``crm.phones.add_phone`` → ``crm.linking.relink_number``), in the same transaction."""
    entry = get_visible(session, actor, CapturedContact, entry_id)
    if entry is None:
        raise NotFound("no such phone-book entry")
    numbers = session.execute(
        select(CapturedContactNumber)
        .where(CapturedContactNumber.contact_id == entry.id)
        .order_by(CapturedContactNumber.position)
    ).scalars()
    phones = [
        PhoneIn(number=n.number_e164, label=(n.label or "")[:30])
        for n in numbers
        if n.number_e164 and n.number_kind in LINKABLE_KINDS
    ]
    if not phones:
        raise DomainError("the entry has no number a customer can have", field="numbers")
    person = (entry.name or "").strip()
    company = (entry.company or "").strip()
    name = data.name or company or person
    if not name:
        raise DomainError("the entry has no name: give one", field="name")
    kind = data.kind or (CustomerKind.company if company else CustomerKind.person)
    owner = entry.rep_user_id if is_manager(actor) else None
    customer = create_customer(
        session,
        actor=actor,
        data=CustomerCreate(
            name=name[:200],
            kind=kind,
            source="phone_book",
            division_id=entry.division_id,
            owner_id=owner,
            contacts=[ContactIn(name=(person or name)[:100], phones=phones, is_primary=True)],
            allow_duplicate=data.allow_duplicate,
        ),
        now=now,
        region=region,
        commit=False,
    )
    record_audit(
        session,
        action="capture.phone_book.to_customer",
        actor_user_id=actor.id,
        target_type="captured_contact",
        target_id=entry_id,
        division_id=entry.division_id,
        ip=ip,
        detail={"customer_id": customer.id},
    )
    session.commit()
    return customer
