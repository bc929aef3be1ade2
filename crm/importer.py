"""Import of customers, contacts and leads from .xlsx or CSV, with a row-level report.

Columns are matched by their header (Chinese or English names, or an explicit mapping);
every row ends up ``created``, ``updated`` (same customer name), ``merged`` (same phone
or company e-mail domain as an existing customer, or as an earlier row of the file) or
``rejected`` with the reason and the column. Everything is written in one transaction:
a dry run rolls it back, an error rolls it back, and ``all_or_nothing`` rolls it back
when any row was rejected. Customers are written in bulk (50,000 rows in seconds).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, BinaryIO

from pydantic import Field
from sqlalchemy import select, union
from sqlmodel import Session

from crm.access import get_visible
from crm.actors import acting_division, is_manager
from crm.audit import record_audit
from crm.bulk import insert_ids, insert_rows
from crm.communications import CapturedCall, CapturedSms, Recording
from crm.customers import Contact, ContactEmail, ContactPhone, Customer, CustomerKind
from crm.dedupe import DivisionIndex, Probe
from crm.errors import DomainError
from crm.grades import default_grade, division_grades
from crm.leads import Lead
from crm.linking import relink_number
from crm.names import clean_text, company_domain, normalise_email, normalise_name
from crm.org import User
from crm.ownership import Handover, OwnershipReason, record_handovers
from crm.phones import DEFAULT_REGION, parse_phone
from crm.schemas import Input, View
from crm.spreadsheet import Sheet, read_sheet

_CHUNK = 1000
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_LIST_SPLIT = re.compile(r"[,，;；、|/\s]+")
_VALUES_SPLIT = re.compile(
    r"[,，;；、|/\n]+"
)  # several phones or e-mails in one cell (not spaces: "138 0013 8000")
_HEADER_NOISE = re.compile(r"[\s*:：()（）\[\]【】]|必填|选填")


class ImportKind(StrEnum):
    customers = "customers"
    contacts = "contacts"
    leads = "leads"


COMMON = {
    "title": ("职务", "职位", "title", "position"),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "电话号码",
        "座机",
        "固话",
        "办公电话",
        "mobile",
        "phone",
        "tel",
        "telephone",
    ),
    "email": ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"),
    "note": ("备注", "说明", "note", "notes", "remark"),
}
ALIASES: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.customers: {
        "name": (
            "客户名称",
            "客户名",
            "公司名称",
            "公司",
            "单位名称",
            "企业名称",
            "名称",
            "客户",
            "company",
            "customer",
            "name",
        ),
        "kind": ("客户类型", "类型", "type", "kind"),
        "grade": ("客户等级", "等级", "级别", "grade", "level"),
        "source": ("客户来源", "来源", "source"),
        "tags": ("标签", "tags", "tag"),
        "region": ("地区", "区域", "省市", "城市", "所在地区", "region", "city"),
        "address": ("地址", "详细地址", "公司地址", "address"),
        "contact_name": ("联系人", "联系人姓名", "姓名", "contact"),
        "owner": ("负责人", "销售", "业务员", "归属人", "owner"),
        **COMMON,
    },
    ImportKind.contacts: {
        "customer": ("客户名称", "客户", "公司名称", "公司", "customer", "company"),
        "name": ("联系人", "联系人姓名", "姓名", "name", "contact"),
        **COMMON,
    },
    ImportKind.leads: {
        "name": ("姓名", "联系人", "name", "contact"),
        "company": ("公司名称", "公司", "单位", "客户名称", "company"),
        "source": ("线索来源", "来源", "source"),
        "region": ("地区", "区域", "省市", "城市", "region", "city"),
        "owner": ("负责人", "销售", "业务员", "owner"),
        **COMMON,
    },
}
REQUIRED = {ImportKind.customers: "name", ImportKind.contacts: "name", ImportKind.leads: "name"}
MULTI = {"phone", "email"}  # several columns may feed these


class ImportOptions(Input):
    kind: ImportKind = ImportKind.customers
    mapping: dict[str, str] | None = Field(
        default=None, description="Field → header text, overriding detection."
    )
    dry_run: bool = True
    all_or_nothing: bool = False
    division_id: int | None = None
    owner_id: int | None = Field(
        default=None, description="Owner of rows without one (managers); default: pool."
    )


class RowOutcome(View):
    row: int
    action: str  # created, updated, merged, rejected
    id: int | None = None
    reason: str = ""
    field: str | None = None


class ImportReport(View):
    kind: ImportKind
    dry_run: bool
    committed: bool
    header_row: int
    mapping: dict[str, list[str]]
    counts: dict[str, int]
    rows: list[RowOutcome]


class RowRejected(Exception):
    def __init__(self, reason: str, field: str | None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


def _norm_header(text: str) -> str:
    return _HEADER_NOISE.sub("", text.casefold())


def _alias_lookup(kind: ImportKind) -> dict[str, str]:
    return {_norm_header(alias): key for key, aliases in ALIASES[kind].items() for alias in aliases}


def _candidates(header: str) -> list[str]:
    group, _, sub = header.rpartition("/")
    return [_norm_header(x) for x in (header, sub, group) if x]


def resolve_mapping(sheet: Sheet, kind: ImportKind, mapping: dict[str, str] | None) -> dict[str, list[int]]:
    """Column indexes per field, from an explicit mapping or from the header names."""
    columns: dict[str, list[int]] = {}
    if mapping:
        known = ALIASES[kind]
        for key, header in mapping.items():
            if key not in known:
                raise DomainError(
                    f"unknown field {key!r}; fields are {', '.join(known)}",
                    field="mapping",
                    code="import.unknown_field",
                    params={"field": key, "known": ", ".join(known)},
                )
            wanted = _norm_header(header)
            found = [i for i, h in enumerate(sheet.headers) if wanted in _candidates(h)]
            if not found:
                raise DomainError(
                    f"no column {header!r} in the file",
                    field="mapping",
                    code="import.no_such_column",
                    params={"header": header},
                )
            columns[key] = found if key in MULTI else found[:1]
        return columns
    lookup = _alias_lookup(kind)
    for i, header in enumerate(sheet.headers):
        key = next((lookup[c] for c in _candidates(header) if c in lookup), None)
        if key is not None and (key in MULTI or key not in columns):
            columns.setdefault(key, []).append(i)
    if REQUIRED[kind] not in columns:
        raise DomainError(
            f"no column for {REQUIRED[kind]!r}; map it explicitly",
            field="mapping",
            code="import.required_column_missing",
            params={"field": REQUIRED[kind]},
        )
    return columns


def _values(row: list[object], indexes: Iterable[int]) -> list[object]:
    return [row[i] for i in indexes if i < len(row) and row[i] is not None and clean_text(row[i]) != ""]


def _text(row: list[object], columns: dict[str, list[int]], key: str) -> str:
    values = _values(row, columns.get(key, ()))
    if not values:
        return ""
    value = values[0]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


def _phones(row: list[object], columns: dict[str, list[int]], region: str) -> list[tuple[str, str]]:
    found = []
    for value in _values(row, columns.get("phone", ())):
        for part in _VALUES_SPLIT.split(str(value)) if isinstance(value, str) else [value]:
            text = clean_text(part)
            if not text:
                continue
            if _SCIENTIFIC.match(text):
                raise RowRejected(
                    f"phone {text} was stored in scientific notation and lost digits; format the column as text",
                    "phone",
                )
            try:
                found.append((parse_phone(part, region=region), text))
            except DomainError as exc:
                raise RowRejected(exc.detail, "phone") from exc
    return list({e164: (e164, raw) for e164, raw in found}.values())


def _emails(row: list[object], columns: dict[str, list[int]]) -> list[str]:
    emails = []
    for value in _values(row, columns.get("email", ())):
        for part in _VALUES_SPLIT.split(str(value)):
            if part.strip():
                try:
                    emails.append(normalise_email(part))
                except DomainError as exc:
                    raise RowRejected(exc.detail, "email") from exc
    return list(dict.fromkeys(emails))


@dataclass
class _Context:
    session: Session
    actor: User
    division_id: int
    region: str
    now: datetime
    options: ImportOptions
    users: dict[str, int] = field(default_factory=dict)

    def owner(self, text: str) -> int | None:
        if text:
            if text.casefold() not in self.users:
                raise RowRejected(f"no active user {text!r} in the division", "owner")
            owner = self.users[text.casefold()]
            if owner != self.actor.id and not is_manager(self.actor):
                raise RowRejected("reps import customers for themselves only", "owner")
            return owner
        if not is_manager(self.actor):
            return self.actor.id
        return self.options.owner_id


def _division_users(session: Session, division_id: int) -> dict[str, int]:
    users: dict[str, int] = {}
    for user in session.scalars(
        select(User).where(User.division_id == division_id, User.is_active, User.frozen_at.is_(None))
    ):
        users[user.username.casefold()] = user.id  # type: ignore[assignment]
        if user.display_name:
            users.setdefault(user.display_name.casefold(), user.id)  # type: ignore[arg-type]
    return users


# --- customers ----------------------------------------------------------------------------------


@dataclass
class _NewCustomer:
    row: dict[str, Any]
    contacts: list[dict[str, Any]] = field(default_factory=list)  # each with "phones" and "emails"
    company_phones: list[tuple[str, str]] = field(default_factory=list)


_KIND_WORDS = {"个人": CustomerKind.person, "person": CustomerKind.person, "individual": CustomerKind.person}


def _import_customers(ctx: _Context, sheet: Sheet, columns: dict[str, list[int]]) -> list[RowOutcome]:
    session = ctx.session
    index = DivisionIndex.load(session, ctx.division_id)
    grades = division_grades(session, ctx.division_id)
    fallback_grade = default_grade(session, ctx.division_id)
    pending: dict[int, _NewCustomer] = {}  # provisional id (negative) → customer to create
    outcomes: list[RowOutcome] = []
    targets: list[int | None] = []  # per outcome: the customer (provisional when negative)
    existing_updates: dict[int, _NewCustomer] = {}
    for number, row in sheet.rows:
        try:
            name = _text(row, columns, "name")
            if not name:
                raise RowRejected("the customer name is empty", "name")
            grade = _text(row, columns, "grade").upper() or fallback_grade
            if grade not in grades:
                raise RowRejected(f"unknown grade {grade!r}; this division uses {', '.join(grades)}", "grade")
            phones = _phones(row, columns, ctx.region)
            emails = _emails(row, columns)
            owner = ctx.owner(_text(row, columns, "owner"))
            contact_name = _text(row, columns, "contact_name")
            probe = Probe(
                normalise_name(name), [p for p, _ in phones], {d for e in emails if (d := company_domain(e))}
            )
            contact = (
                {
                    "name": (contact_name or name)[:100],
                    "title": _text(row, columns, "title")[:100],
                    "phones": phones,
                    "emails": emails,
                }
                if contact_name or phones or emails
                else None
            )
            matches = index.find(probe)
            if matches:
                target, reasons = matches[0].customer_id, matches[0].reasons
                if target > 0 and not is_manager(ctx.actor):
                    owner_now = session.get(Customer, target).owner_id  # type: ignore[union-attr]
                    if owner_now not in (None, ctx.actor.id):
                        raise RowRejected(f"duplicate of customer {target}, which another rep owns", "name")
                plan = (
                    pending.get(target)
                    if target < 0
                    else existing_updates.setdefault(target, _NewCustomer({}))
                )
                if contact is not None:
                    plan.contacts.append(contact)  # type: ignore[union-attr]
                plan.row.setdefault("tags", []).extend(_LIST_SPLIT.split(_text(row, columns, "tags")))  # type: ignore[union-attr]
                index.add(target, probe)
                action = "updated" if "name" in reasons else "merged"
                outcomes.append(RowOutcome(row=number, action=action, reason="; ".join(reasons)))
                targets.append(target)
                continue
            provisional = -(len(pending) + 1)
            kind = _KIND_WORDS.get(_text(row, columns, "kind").casefold(), CustomerKind.company)
            pending[provisional] = _NewCustomer(
                {
                    "division_id": ctx.division_id,
                    "owner_id": owner,
                    "kind": kind,
                    "name": name[:200],
                    "name_normalised": probe.name_normalised,
                    "grade": grade,
                    "source": _text(row, columns, "source")[:64],
                    "tags": [t for t in _LIST_SPLIT.split(_text(row, columns, "tags")) if t][:50],
                    "region": _text(row, columns, "region")[:64],
                    "address": _text(row, columns, "address")[:300],
                    "note": _text(row, columns, "note")[:2000],
                    "created_by_user_id": ctx.actor.id,
                    "owned_since": ctx.now if owner is not None else None,
                    "released_at": None if owner is not None else ctx.now,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                },
                contacts=[contact] if contact is not None else [],
            )
            index.add(provisional, probe)
            outcomes.append(RowOutcome(row=number, action="created"))
            targets.append(provisional)
        except RowRejected as exc:
            outcomes.append(RowOutcome(row=number, action="rejected", reason=exc.reason, field=exc.field))
            targets.append(None)
    real = _write_new_customers(ctx, pending)
    _write_updates(ctx, existing_updates)
    for outcome, target in zip(outcomes, targets, strict=True):
        if target is not None:
            outcome.id = real.get(target, target)
    return outcomes


def _contact_rows(
    ctx: _Context, customer_id: int, contacts: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[tuple[list[tuple[str, str]], list[str]]]]:
    rows, extras = [], []
    for contact in contacts:
        rows.append(
            {
                "customer_id": customer_id,
                "division_id": ctx.division_id,
                "name": contact["name"],
                "title": contact["title"],
                "email": contact["emails"][0] if contact["emails"] else "",
                "created_at": ctx.now,
                "is_primary": False,
                "note": "",
            }
        )
        extras.append((contact["phones"], contact["emails"]))
    return rows, extras


def _write_contacts(ctx: _Context, per_customer: list[tuple[int, list[dict[str, Any]]]]) -> list[str]:
    """Insert contacts with their phones and e-mails; returns the numbers written."""
    contact_rows, extras, owners = [], [], []
    for customer_id, contacts in per_customer:
        rows, more = _contact_rows(ctx, customer_id, contacts)
        contact_rows += rows
        extras += more
        owners += [customer_id] * len(rows)
    contact_ids = insert_ids(ctx.session, Contact, contact_rows)
    phones, emails = [], []
    for contact_id, customer_id, (contact_phones, contact_emails) in zip(
        contact_ids, owners, extras, strict=True
    ):
        phones += [
            {
                "e164": e164,
                "raw": raw[:64],
                "customer_id": customer_id,
                "contact_id": contact_id,
                "division_id": ctx.division_id,
                "valid_from": ctx.now,
                "extra": {},
            }
            for e164, raw in contact_phones
        ]
        emails += [
            {
                "email": e,
                "domain": e.rpartition("@")[2],
                "customer_id": customer_id,
                "contact_id": contact_id,
                "division_id": ctx.division_id,
            }
            for e in contact_emails
        ]
    insert_rows(ctx.session, ContactPhone, phones)
    insert_rows(ctx.session, ContactEmail, emails)
    return [p["e164"] for p in phones]


def _fresh_contacts(
    contacts: list[dict[str, Any]], phones: set[str], names: set[str]
) -> list[dict[str, Any]]:
    """Drop numbers the customer has already; keep a contact if it brings a number, an e-mail or a new name."""
    fresh = []
    for contact in contacts:
        contact["phones"] = [(e164, raw) for e164, raw in contact["phones"] if e164 not in phones]
        phones |= {e164 for e164, _ in contact["phones"]}
        if contact["phones"] or contact["emails"] or contact["name"] not in names:
            names.add(contact["name"])
            fresh.append(contact)
    return fresh


def _write_new_customers(ctx: _Context, pending: dict[int, _NewCustomer]) -> dict[int, int]:
    provisional = list(pending)
    for plan in pending.values():
        plan.row["tags"] = list(dict.fromkeys(t for t in plan.row["tags"] if t))[:50]
        plan.contacts = _fresh_contacts(plan.contacts, set(), set())
    ids = insert_ids(ctx.session, Customer, [pending[p].row for p in provisional])
    real = dict(zip(provisional, ids, strict=True))
    numbers = _write_contacts(ctx, [(real[p], pending[p].contacts) for p in provisional])
    handovers = [
        Handover(real[p], ctx.division_id, None, pending[p].row["owner_id"])
        for p in provisional
        if pending[p].row["owner_id"] is not None
    ]
    record_handovers(
        ctx.session, handovers, reason=OwnershipReason.imported, actor_user_id=ctx.actor.id, now=ctx.now
    )
    _relink(ctx, numbers)
    return real


def _write_updates(ctx: _Context, updates: dict[int, _NewCustomer]) -> None:
    """Rows that matched existing customers add their contacts, phones and tags to them."""
    per_customer = []
    for customer_id, plan in updates.items():
        customer = ctx.session.get(Customer, customer_id)
        new_tags = [t for t in plan.row.get("tags", []) if t and t not in customer.tags]  # type: ignore[union-attr]
        if new_tags:
            customer.tags = [*customer.tags, *dict.fromkeys(new_tags)][:50]  # type: ignore[union-attr]
        customer.updated_at = ctx.now  # type: ignore[union-attr]
        ctx.session.add(customer)
        phones = set(
            ctx.session.scalars(
                select(ContactPhone.e164).where(
                    ContactPhone.customer_id == customer_id, ContactPhone.valid_to.is_(None)
                )
            )
        )
        names = set(ctx.session.scalars(select(Contact.name).where(Contact.customer_id == customer_id)))
        fresh = _fresh_contacts(plan.contacts, phones, names)
        per_customer.append((customer_id, fresh))
    ctx.session.flush()
    _relink(ctx, _write_contacts(ctx, per_customer))


def _relink(ctx: _Context, numbers: list[str]) -> None:
    """Link earlier captured calls/SMS to the imported numbers (only numbers that have any)."""
    wanted = sorted(set(numbers))
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        captured = union(
            *(
                select(m.number_e164).where(m.number_e164.in_(chunk))
                for m in (CapturedCall, CapturedSms, Recording)
            )
        )
        for (e164,) in ctx.session.execute(captured):
            relink_number(ctx.session, e164, now=ctx.now)


# --- contacts and leads -------------------------------------------------------------------------


def _import_contacts(ctx: _Context, sheet: Sheet, columns: dict[str, list[int]]) -> list[RowOutcome]:
    """Contacts of existing customers, found by customer name (or id); others are rejected."""
    outcomes = []
    by_name: dict[str, int] = {}
    for customer_id, name in ctx.session.execute(
        select(Customer.id, Customer.name_normalised).where(
            Customer.division_id == ctx.division_id, Customer.merged_into_id.is_(None)
        )
    ):
        by_name.setdefault(name, customer_id)
    updates: dict[int, _NewCustomer] = {}
    for number, row in sheet.rows:
        try:
            name = _text(row, columns, "name")
            if not name:
                raise RowRejected("the contact name is empty", "name")
            customer_text = _text(row, columns, "customer")
            customer_id = (
                int(customer_text) if customer_text.isdigit() else by_name.get(normalise_name(customer_text))
            )
            customer = get_visible(ctx.session, ctx.actor, Customer, customer_id) if customer_id else None
            if customer is None or customer.division_id != ctx.division_id:
                raise RowRejected(f"no customer {customer_text!r} that you can see", "customer")
            if customer.owner_id != ctx.actor.id and not is_manager(ctx.actor):
                raise RowRejected("the customer is not yours", "customer")
            contact = {
                "name": name[:100],
                "title": _text(row, columns, "title")[:100],
                "phones": _phones(row, columns, ctx.region),
                "emails": _emails(row, columns),
            }
            updates.setdefault(customer.id, _NewCustomer({})).contacts.append(contact)  # type: ignore[arg-type]
            outcomes.append(RowOutcome(row=number, action="created", id=customer.id))
        except RowRejected as exc:
            outcomes.append(RowOutcome(row=number, action="rejected", reason=exc.reason, field=exc.field))
    per_customer = [(cid, plan.contacts) for cid, plan in updates.items()]
    _relink(ctx, _write_contacts(ctx, per_customer))
    return outcomes


def _import_leads(ctx: _Context, sheet: Sheet, columns: dict[str, list[int]]) -> list[RowOutcome]:
    """Leads; a phone that an existing lead of the division has already is reported as merged."""
    outcomes, rows = [], []
    seen = set(
        ctx.session.scalars(
            select(Lead.phone_e164).where(Lead.division_id == ctx.division_id, Lead.phone_e164.is_not(None))
        )
    )
    for number, row in sheet.rows:
        try:
            name = _text(row, columns, "name")
            if not name:
                raise RowRejected("the lead's name is empty", "name")
            phones = _phones(row, columns, ctx.region)
            emails = _emails(row, columns)
            phone = phones[0][0] if phones else None
            if phone is not None and phone in seen:
                outcomes.append(
                    RowOutcome(row=number, action="merged", reason=f"phone:{phone} is a known lead")
                )
                continue
            seen.add(phone)
            rows.append(
                {
                    "division_id": ctx.division_id,
                    "owner_id": ctx.owner(_text(row, columns, "owner")),
                    "name": name[:100],
                    "company": _text(row, columns, "company")[:200],
                    "title": _text(row, columns, "title")[:100],
                    "phone_e164": phone,
                    "phone_raw": phones[0][1][:64] if phones else "",
                    "email": emails[0] if emails else "",
                    "source": _text(row, columns, "source")[:64],
                    "region": _text(row, columns, "region")[:64],
                    "note": _text(row, columns, "note")[:2000],
                    "status": "new",
                    "disqualify_reason": "",
                    "created_by_user_id": ctx.actor.id,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
            outcomes.append(RowOutcome(row=number, action="created"))
        except RowRejected as exc:
            outcomes.append(RowOutcome(row=number, action="rejected", reason=exc.reason, field=exc.field))
    ids = iter(insert_ids(ctx.session, Lead, rows))
    for outcome in outcomes:
        if outcome.action == "created":
            outcome.id = next(ids)
    return outcomes


IMPORTERS = {
    ImportKind.customers: _import_customers,
    ImportKind.contacts: _import_contacts,
    ImportKind.leads: _import_leads,
}


def import_table(
    session: Session,
    *,
    actor: User,
    content: bytes | BinaryIO,
    filename: str,
    options: ImportOptions,
    now: datetime,
    region: str = DEFAULT_REGION,
    ip: str = "",
) -> ImportReport:
    """Read, validate and (unless a dry run) write one file; the report lists every row."""
    division_id = acting_division(session, actor, options.division_id)
    if options.owner_id is not None:
        owner = session.get(User, options.owner_id)
        if owner is None or owner.division_id != division_id or not is_manager(actor):
            raise DomainError(
                "the default owner must be a user of the division (managers only)",
                field="owner_id",
                code="import.owner_invalid",
            )
    lookup = _alias_lookup(options.kind)
    sheet = read_sheet(content, filename, lambda header: any(c in lookup for c in _candidates(header)))
    columns = resolve_mapping(sheet, options.kind, options.mapping)
    ctx = _Context(session, actor, division_id, region, now, options, _division_users(session, division_id))
    try:
        outcomes = IMPORTERS[options.kind](ctx, sheet, columns)
        counts = Counter(o.action for o in outcomes)
        commit = not options.dry_run and not (options.all_or_nothing and counts["rejected"])
        if commit:
            record_audit(
                session,
                action="import",
                actor_user_id=actor.id,
                target_type=str(options.kind),
                division_id=division_id,
                ip=ip,
                detail={"file": filename[:200], "counts": dict(counts)},
            )
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    if not commit:  # rows created in a rolled-back transaction have no id
        for outcome in outcomes:
            if outcome.action == "created" and options.kind != ImportKind.contacts:
                outcome.id = None
    return ImportReport(
        kind=options.kind,
        dry_run=options.dry_run,
        committed=commit,
        header_row=sheet.header_row,
        mapping={key: [sheet.headers[i] for i in idx] for key, idx in columns.items()},
        counts={k: counts.get(k, 0) for k in ("created", "updated", "merged", "rejected")},
        rows=outcomes,
    )
