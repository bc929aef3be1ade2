"""Customers and their contacts, phones, e-mails and addresses: create, change, read, list.

Reads go through ``crm.access``; phone numbers in views are masked unless
``sees_full_numbers`` says otherwise. Lists always mask for non-owners; the detail view
shows full numbers to those allowed and audits it when they are not the owner.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, Select, String, cast, or_
from sqlmodel import Session, select

from crm.access import get_visible, scope, sees_full_numbers
from crm.actors import acting_division, is_manager
from crm.audit import record_audit
from crm.customers import Contact, ContactEmail, ContactPhone, Customer, CustomerAddress, CustomerKind
from crm.dedupe import Candidate, Probe, find_duplicates
from crm.errors import Conflict, DomainError, Forbidden, NotFound
from crm.grades import check_grade, default_grade
from crm.names import clean_text, company_domain, normalise_email, normalise_name
from crm.org import User
from crm.ownership import Handover, OwnershipReason, record_handovers
from crm.paging import Page, Sort, fetch_page, pick_sort
from crm.phones import DEFAULT_REGION, add_phone, end_phone, parse_phone, shown
from crm.schemas import Input, View
from lbs.cells import cell_of
from lbs.errors import LbsError

SORTS = {
    "name": Sort(Customer.name, Customer.id),
    "-name": Sort(Customer.name, Customer.id, descending=True),
    "created": Sort(Customer.created_at, Customer.id),
    "-created": Sort(Customer.created_at, Customer.id, descending=True),
    "updated": Sort(Customer.updated_at, Customer.id),
    "-updated": Sort(Customer.updated_at, Customer.id, descending=True),
}


# --- inputs -------------------------------------------------------------------------------------


class PhoneIn(Input):
    number: str = Field(min_length=1, max_length=64)
    label: str = Field(default="", max_length=30)


class ContactIn(Input):
    name: str = Field(min_length=1, max_length=100)
    title: str = Field(default="", max_length=100)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)
    is_primary: bool = False
    note: str = Field(default="", max_length=1000)


class AddressIn(Input):
    address: str = Field(min_length=1, max_length=300)
    label: str = Field(default="", max_length=50)
    lat: float | None = None
    lon: float | None = None
    is_primary: bool = False


class CustomerCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    kind: CustomerKind = CustomerKind.company
    grade: str | None = None
    source: str = Field(default="", max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=50)
    region: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=2000)
    division_id: int | None = None
    owner_id: int | None = Field(default=None, description="Managers only; reps own what they create.")
    to_pool: bool = Field(default=False, description="Managers: create straight into the public pool.")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20, description="Company numbers.")
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    allow_duplicate: bool = Field(default=False, description="Create even when duplicates were found.")


class CustomerUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: CustomerKind | None = None
    grade: str | None = None
    source: str | None = Field(default=None, max_length=64)
    tags: list[str] | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    allow_duplicate: bool = False


class CustomerFilter(Input):
    q: str | None = Field(default=None, max_length=100, description="Name fragment or a phone number.")
    grade: list[str] | None = None
    tag: str | None = Field(default=None, max_length=50)
    owner_id: int | None = None
    in_pool: bool | None = None
    source: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    division_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


# --- views --------------------------------------------------------------------------------------


class PhoneView(View):
    id: int
    number: str
    label: str = ""
    contact_id: int | None


class ContactView(View):
    id: int
    name: str
    title: str
    is_primary: bool
    note: str
    emails: list[str]
    phones: list[PhoneView]


class AddressView(View):
    id: int
    label: str
    address: str
    lat: float | None
    lon: float | None
    is_primary: bool


class CustomerSummary(View):
    id: int
    division_id: int
    owner_id: int | None
    kind: CustomerKind
    name: str
    grade: str
    source: str
    tags: list[str]
    region: str
    address: str
    lat: float | None
    lon: float | None
    last_activity_at: datetime | None
    created_at: datetime
    updated_at: datetime
    phones: list[str] = Field(default_factory=list, description="Masked unless the viewer may see them.")
    numbers_masked: bool = True


class CustomerDetail(CustomerSummary):
    note: str
    owned_since: datetime | None
    last_deal_at: datetime | None
    released_at: datetime | None
    pool_id: int | None
    contacts: list[ContactView]
    company_phones: list[PhoneView]
    addresses: list[AddressView]


class DuplicateView(View):
    customer_id: int
    reasons: list[str]
    visible: bool
    name: str | None = Field(description="Only when the actor may see the customer.")
    owner_id: int | None


class DuplicateFound(Conflict):
    """Creating/renaming would duplicate existing customers."""

    def __init__(self, duplicates: list[DuplicateView]) -> None:
        ids = ", ".join(str(d.customer_id) for d in duplicates[:5])
        reasons = sorted({r.split(":")[0] for d in duplicates for r in d.reasons})
        super().__init__(
            f"possible duplicate of customer {ids} (same {', '.join(reasons)})",
            field="name",
            code="customer.duplicate",
            params={"ids": ids, "reasons": ", ".join(reasons)},
        )
        self.duplicates = duplicates


# --- helpers ------------------------------------------------------------------------------------


def visible_customer(session: Session, actor: User, customer_id: int) -> Customer:
    customer = get_visible(session, actor, Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound("no such customer", field="customer_id", code="customer.not_found")
    return customer


def editable_customer(session: Session, actor: User, customer_id: int) -> Customer:
    """A customer the actor may change: their own, or any visible one for managers."""
    customer = visible_customer(session, actor, customer_id)
    if not (is_manager(actor) or customer.owner_id == actor.id):
        raise Forbidden(
            "claim the customer before changing it", field="customer_id", code="customer.claim_first"
        )
    return customer


def _active_owner(session: Session, user_id: int, division_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.division_id != division_id or not user.is_active or user.frozen_at is not None:
        raise DomainError(
            "the owner must be an active user of the customer's division",
            field="owner_id",
            code="customer.owner_invalid",
        )
    return user


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        text = clean_text(tag)[:50]
        if text:
            seen.setdefault(text)
    return list(seen)


def _geocell(lat: float | None, lon: float | None, field: str) -> int | None:
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise DomainError("give both lat and lon, or neither", field=field, code="geo.lat_lon_pair")
    try:
        return cell_of(lat, lon)
    except LbsError as exc:
        raise DomainError(
            f"invalid coordinates: {exc}",
            field=field,
            code="geo.invalid_coordinates",
            params={"reason": str(exc)},
        ) from exc


def duplicate_views(session: Session, actor: User, candidates: list[Candidate]) -> list[DuplicateView]:
    views = []
    for candidate in candidates:
        customer = session.get(Customer, candidate.customer_id)
        if customer is None:
            continue
        seen = get_visible(session, actor, Customer, customer.id) is not None
        views.append(
            DuplicateView(
                customer_id=customer.id,  # type: ignore[arg-type]
                reasons=candidate.reasons,
                visible=seen,
                name=customer.name if seen else None,
                owner_id=customer.owner_id,
            )
        )
    return views


def _probe(data: CustomerCreate, region: str) -> tuple[Probe, dict[int, list[str]], list[str], dict]:
    """Normalise every phone and e-mail of ``data``; errors name the field that is wrong."""
    contact_phones: dict[int, list[str]] = {}
    contact_emails: dict[int, list[str]] = {}
    for i, contact in enumerate(data.contacts):
        contact_phones[i] = [
            parse_phone(p.number, region=region, field=f"contacts.{i}.phones.{j}")
            for j, p in enumerate(contact.phones)
        ]
        contact_emails[i] = [
            normalise_email(e, field=f"contacts.{i}.emails.{j}") for j, e in enumerate(contact.emails)
        ]
    company = [parse_phone(p.number, region=region, field=f"phones.{j}") for j, p in enumerate(data.phones)]
    all_phones = [*company, *(n for ns in contact_phones.values() for n in ns)]
    domains = {d for es in contact_emails.values() for e in es if (d := company_domain(e))}
    probe = Probe(normalise_name(data.name), all_phones, domains)
    return probe, contact_phones, company, contact_emails


# --- create / change ----------------------------------------------------------------------------


def check_duplicates(
    session: Session, *, actor: User, data: CustomerCreate, region: str = DEFAULT_REGION
) -> list[DuplicateView]:
    """What creating ``data`` would duplicate (for a check before saving)."""
    division_id = acting_division(session, actor, data.division_id)
    probe, *_ = _probe(data, region)
    return duplicate_views(session, actor, find_duplicates(session, division_id=division_id, probe=probe))


def _initial_owner(session: Session, actor: User, data: CustomerCreate, division_id: int) -> int | None:
    if data.to_pool or data.owner_id is not None:
        if not is_manager(actor) and data.owner_id != actor.id:
            raise Forbidden(
                "only managers place customers in the pool or with another owner",
                field="owner_id",
                code="customer.placement_managers_only",
            )
        if data.to_pool:
            return None
        return _active_owner(session, data.owner_id, division_id).id  # type: ignore[arg-type]
    return actor.id


def create_customer(
    session: Session,
    *,
    actor: User,
    data: CustomerCreate,
    now: datetime,
    region: str = DEFAULT_REGION,
    reason: OwnershipReason = OwnershipReason.created,
    commit: bool = True,
) -> Customer:
    """Create a customer with contacts, phones (linked to earlier captured calls/SMS) and addresses."""
    division_id = acting_division(session, actor, data.division_id)
    grade = (
        check_grade(session, division_id, data.grade) if data.grade else default_grade(session, division_id)
    )
    probe, contact_phones, company_phones, contact_emails = _probe(data, region)
    if not data.allow_duplicate:
        found = find_duplicates(session, division_id=division_id, probe=probe)
        if found:
            raise DuplicateFound(duplicate_views(session, actor, found))
    owner_id = _initial_owner(session, actor, data, division_id)
    customer = Customer(
        division_id=division_id,
        owner_id=owner_id,
        kind=data.kind,
        name=clean_text(data.name)[:200],
        name_normalised=probe.name_normalised,
        grade=grade,
        source=clean_text(data.source)[:64],
        tags=_clean_tags(data.tags),
        region=clean_text(data.region)[:64],
        note=data.note,
        created_by_user_id=actor.id,
        owned_since=now if owner_id is not None else None,
        released_at=None if owner_id is not None else now,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    cid = customer.id
    assert cid is not None
    for i, contact_in in enumerate(data.contacts):
        add_contact_row(session, customer, contact_in, contact_phones[i], contact_emails[i], now=now)
    for phone_in, e164 in zip(data.phones, company_phones, strict=True):
        add_phone(
            session,
            customer_id=cid,
            division_id=division_id,
            e164=e164,
            raw=phone_in.number,
            label=phone_in.label,
            now=now,
        )
    for j, address in enumerate(data.addresses):
        _add_address(session, customer, address, field=f"addresses.{j}", primary=j == 0)
    if owner_id is not None:
        record_handovers(
            session,
            [Handover(cid, division_id, None, owner_id)],
            reason=reason,
            actor_user_id=actor.id,
            now=now,
        )
    if commit:
        session.commit()
    return customer


def add_contact_row(
    session: Session,
    customer: Customer,
    data: ContactIn,
    phones: list[str],
    emails: list[str],
    *,
    now: datetime,
) -> Contact:
    contact = Contact(
        customer_id=customer.id,  # type: ignore[arg-type]
        division_id=customer.division_id,
        name=clean_text(data.name)[:100],
        title=clean_text(data.title)[:100],
        email=emails[0] if emails else "",
        is_primary=data.is_primary,
        note=data.note,
        created_at=now,
    )
    session.add(contact)
    session.flush()
    for phone_in, e164 in zip(data.phones, phones, strict=True):
        add_phone(
            session,
            customer_id=customer.id,  # type: ignore[arg-type]
            division_id=customer.division_id,
            e164=e164,
            raw=phone_in.number,
            contact_id=contact.id,
            label=phone_in.label,
            now=now,
        )
    for email in emails:
        _add_email(session, customer, contact, email)
    return contact


def _add_email(session: Session, customer: Customer, contact: Contact, email: str) -> ContactEmail:
    row = ContactEmail(
        email=email,
        domain=email.rpartition("@")[2],
        customer_id=customer.id,  # type: ignore[arg-type]
        contact_id=contact.id,  # type: ignore[arg-type]
        division_id=customer.division_id,
    )
    session.add(row)
    return row


def _add_address(
    session: Session, customer: Customer, data: AddressIn, *, field: str, primary: bool
) -> CustomerAddress:
    cell = _geocell(data.lat, data.lon, field)
    address = CustomerAddress(
        customer_id=customer.id,  # type: ignore[arg-type]
        division_id=customer.division_id,
        label=clean_text(data.label)[:50],
        address=clean_text(data.address)[:300],
        lat=data.lat,
        lon=data.lon,
        geocell=cell,
        is_primary=primary or data.is_primary,
    )
    session.add(address)
    if address.is_primary:
        customer.address, customer.lat, customer.lon, customer.geocell = (
            address.address,
            data.lat,
            data.lon,
            cell,
        )
        session.add(customer)
    return address


def update_customer(
    session: Session, *, actor: User, customer_id: int, data: CustomerUpdate, now: datetime
) -> Customer:
    customer = editable_customer(session, actor, customer_id)
    changes = data.model_dump(exclude_unset=True, exclude={"allow_duplicate"})
    if "name" in changes and changes["name"] is not None:
        name = clean_text(changes["name"])[:200]
        normalised = normalise_name(name)
        if normalised != customer.name_normalised and not data.allow_duplicate:
            found = find_duplicates(
                session,
                division_id=customer.division_id,
                probe=Probe(name_normalised=normalised),
                exclude_ids={customer_id},
            )
            if found:
                raise DuplicateFound(duplicate_views(session, actor, found))
        customer.name, customer.name_normalised = name, normalised
    if changes.get("grade") is not None:
        customer.grade = check_grade(session, customer.division_id, changes["grade"])
    if changes.get("kind") is not None:
        customer.kind = changes["kind"]
    for key in ("source", "region", "note"):
        if changes.get(key) is not None:
            setattr(customer, key, clean_text(changes[key]) if key != "note" else changes[key])
    if changes.get("tags") is not None:
        customer.tags = _clean_tags(changes["tags"])
    customer.updated_at = now
    session.add(customer)
    session.commit()
    return customer


def add_contact(
    session: Session,
    *,
    actor: User,
    customer_id: int,
    data: ContactIn,
    now: datetime,
    region: str = DEFAULT_REGION,
) -> Contact:
    customer = editable_customer(session, actor, customer_id)
    phones = [parse_phone(p.number, region=region, field=f"phones.{j}") for j, p in enumerate(data.phones)]
    emails = [normalise_email(e, field=f"emails.{j}") for j, e in enumerate(data.emails)]
    contact = add_contact_row(session, customer, data, phones, emails, now=now)
    customer.updated_at = now
    session.add(customer)
    session.commit()
    return contact


def add_customer_phone(
    session: Session,
    *,
    actor: User,
    customer_id: int,
    data: PhoneIn,
    contact_id: int | None,
    now: datetime,
    region: str = DEFAULT_REGION,
) -> ContactPhone:
    customer = editable_customer(session, actor, customer_id)
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.customer_id != customer.id:
            raise NotFound("no such contact of this customer", field="contact_id", code="contact.not_found")
    e164 = parse_phone(data.number, region=region, field="number")
    phone = add_phone(
        session,
        customer_id=customer_id,
        division_id=customer.division_id,
        e164=e164,
        raw=data.number,
        contact_id=contact_id,
        label=data.label,
        now=now,
    )
    session.commit()
    return phone


def remove_customer_phone(
    session: Session, *, actor: User, customer_id: int, phone_id: int, now: datetime
) -> None:
    editable_customer(session, actor, customer_id)
    phone = session.get(ContactPhone, phone_id)
    if phone is None or phone.customer_id != customer_id or phone.valid_to is not None:
        raise NotFound("no such phone of this customer", field="phone_id", code="phone.not_found")
    end_phone(session, phone, now=now)
    session.commit()


def add_customer_address(
    session: Session, *, actor: User, customer_id: int, data: AddressIn, now: datetime
) -> CustomerAddress:
    customer = editable_customer(session, actor, customer_id)
    if data.is_primary:
        for other in session.exec(select(CustomerAddress).where(CustomerAddress.customer_id == customer_id)):
            other.is_primary = False
            session.add(other)
    has_any = session.exec(
        select(CustomerAddress.id).where(CustomerAddress.customer_id == customer_id)
    ).first()
    address = _add_address(session, customer, data, field="address", primary=has_any is None)
    customer.updated_at = now
    session.commit()
    return address


# --- reading ------------------------------------------------------------------------------------


def active_phones(session: Session, customer_ids: list[int]) -> dict[int, list[ContactPhone]]:
    by_customer: dict[int, list[ContactPhone]] = defaultdict(list)
    if customer_ids:
        for phone in session.exec(
            select(ContactPhone)
            .where(ContactPhone.customer_id.in_(customer_ids), ContactPhone.valid_to.is_(None))
            .order_by(ContactPhone.id)
        ):
            by_customer[phone.customer_id].append(phone)
    return by_customer


def summaries(session: Session, actor: User, customers: list[Customer]) -> list[CustomerSummary]:
    """List rows: numbers masked for everyone but the owner (full numbers leave only via audited paths)."""
    phones = active_phones(session, [c.id for c in customers if c.id is not None])
    out = []
    for customer in customers:
        full = customer.owner_id is not None and customer.owner_id == actor.id
        view = CustomerSummary.model_validate(customer)
        view.phones = [shown(p.e164, full=full) for p in phones.get(customer.id, [])]  # type: ignore[arg-type]
        view.numbers_masked = not full
        out.append(view)
    return out


def get_customer(session: Session, *, actor: User, customer_id: int, ip: str = "") -> CustomerDetail:
    """The full record; full numbers for those allowed, audited when the viewer is not the owner."""
    customer = visible_customer(session, actor, customer_id)
    full = sees_full_numbers(actor, customer.owner_id)
    phones = active_phones(session, [customer_id]).get(customer_id, [])
    contacts = session.exec(
        select(Contact)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.is_primary.desc(), Contact.id)
    ).all()
    emails: dict[int, list[str]] = defaultdict(list)
    for row in session.exec(
        select(ContactEmail).where(ContactEmail.customer_id == customer_id).order_by(ContactEmail.id)
    ):
        emails[row.contact_id].append(row.email)

    def phone_view(p: ContactPhone) -> PhoneView:
        return PhoneView(
            id=p.id, number=shown(p.e164, full=full), label=p.extra.get("label", ""), contact_id=p.contact_id
        )  # type: ignore[arg-type]

    detail = CustomerDetail.model_validate(
        {
            **{k: getattr(customer, k) for k in CustomerDetail.model_fields if hasattr(customer, k)},
            "phones": [shown(p.e164, full=full) for p in phones],
            "numbers_masked": not full,
            "contacts": [
                ContactView(
                    id=c.id,  # type: ignore[arg-type]
                    name=c.name,
                    title=c.title,
                    is_primary=c.is_primary,
                    note=c.note,
                    emails=emails.get(c.id, []) if full else [],  # type: ignore[arg-type]
                    phones=[phone_view(p) for p in phones if p.contact_id == c.id],
                )
                for c in contacts
            ],
            "company_phones": [phone_view(p) for p in phones if p.contact_id is None],
            "addresses": list(
                session.exec(
                    select(CustomerAddress)
                    .where(CustomerAddress.customer_id == customer_id)
                    .order_by(CustomerAddress.is_primary.desc(), CustomerAddress.id)
                )
            ),
        }
    )
    if full and phones and customer.owner_id != actor.id:
        record_audit(
            session,
            action="customer.unmask",
            actor_user_id=actor.id,
            target_type="customer",
            target_id=customer_id,
            division_id=customer.division_id,
            ip=ip,
            detail={"numbers": len(phones)},
        )
        session.commit()
    return detail


def tag_clause(tag: str, column: Any = Customer.tags) -> ColumnElement[bool]:
    """Rows whose JSON tag list holds ``tag`` (stored ASCII-escaped, so match that form)."""
    return cast(column, String).contains(json.dumps(clean_text(tag)), autoescape=True)


def customer_query(
    session: Session, actor: User, filters: CustomerFilter, *, region: str = DEFAULT_REGION
) -> Select:
    """The scoped SELECT behind the customer list, search and export."""
    stmt = scope(select(Customer), actor, Customer).where(Customer.merged_into_id.is_(None))
    f = filters
    if f.q:
        text = clean_text(f.q)
        digits = sum(ch.isdigit() for ch in text)
        if digits >= 7 and digits >= len(text.replace(" ", "")) - 2:
            try:
                e164 = parse_phone(text, region=region, field="q")
            except DomainError:
                e164 = None
            if e164 is not None:
                holders = select(ContactPhone.customer_id).where(
                    ContactPhone.e164 == e164, ContactPhone.valid_to.is_(None)
                )
                stmt = stmt.where(Customer.id.in_(holders))
        else:
            stmt = stmt.where(
                or_(
                    Customer.name.contains(text, autoescape=True),
                    Customer.name_normalised.contains(normalise_name(text), autoescape=True),
                )
            )
    if f.grade:
        stmt = stmt.where(Customer.grade.in_([g.upper() for g in f.grade]))
    if f.tag:
        stmt = stmt.where(tag_clause(f.tag))
    if f.owner_id is not None:
        stmt = stmt.where(Customer.owner_id == f.owner_id)
    if f.in_pool is not None:
        stmt = stmt.where(Customer.owner_id.is_(None) if f.in_pool else Customer.owner_id.is_not(None))
    if f.source:
        stmt = stmt.where(Customer.source == f.source)
    if f.region:
        stmt = stmt.where(Customer.region.startswith(f.region, autoescape=True))
    if f.division_id is not None:
        stmt = stmt.where(Customer.division_id == f.division_id)
    if f.created_from is not None:
        stmt = stmt.where(Customer.created_at >= f.created_from)
    if f.created_to is not None:
        stmt = stmt.where(Customer.created_at < f.created_to)
    return stmt


def list_customers(
    session: Session,
    *,
    actor: User,
    filters: CustomerFilter,
    sort: str = "-updated",
    cursor: str | None = None,
    limit: int = 50,
    region: str = DEFAULT_REGION,
) -> Page[CustomerSummary]:
    stmt = customer_query(session, actor, filters, region=region)
    page = fetch_page(session, stmt, pick_sort(SORTS, sort), cursor=cursor, limit=limit)
    return Page(summaries(session, actor, page.items), page.next_cursor)
