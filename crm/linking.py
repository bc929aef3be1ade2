"""Linking captured communications to customers by phone number.

A captured SMS, call or recording carries the other party's number (E.164 when it is a
subscriber number). It is linked to every customer of the same division that had the
number at the time (``contact_phone``): one → ``linked``; several → ``ambiguous``,
linked to all, the rep's own customer preferred as ``customer_id``; none → ``unlinked``,
kept with its number and linked by :func:`relink_number` when a contact gets it.

The links *are* the ``timeline_event`` rows of the communication (one per customer), so
the timeline and the link set can never disagree.

Validity periods: a ``contact_phone`` row holds its number until ``valid_to``. Its
``valid_from`` bounds it only when an earlier holder of the same number gave it up
(``valid_to <= valid_from``, a recycled number); otherwise the row also covers the
communications from before the contact was entered, which is what makes a late-added
contact pick up its earlier calls.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    DateTime,
    Select,
    String,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    null,
    select,
    type_coerce,
    update,
)
from sqlmodel import Session

from crm.communications import (
    CALL_TABLE,
    RECORDING_TABLE,
    SMS_TABLE,
    CapturedCall,
    CapturedSms,
    LinkStatus,
    Recording,
)
from crm.customers import ContactPhone, Customer
from crm.timeline import TimelineEvent

CAPTURE_TABLES: dict[str, Any] = {
    SMS_TABLE: CapturedSms,
    CALL_TABLE: CapturedCall,
    RECORDING_TABLE: Recording,
}
EVENT_KIND = {SMS_TABLE: "sms", CALL_TABLE: "call", RECORDING_TABLE: "recording"}
_CHUNK = 500
SUMMARY_CHARS = 200


class Holder(NamedTuple):
    """One customer's claim on a number; ``start`` None means open to the past."""

    customer_id: int
    owner_id: int | None
    start: datetime | None
    end: datetime | None

    def holds_at(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


class Link(NamedTuple):
    status: LinkStatus
    customer_ids: tuple[int, ...] = ()  # preferred customer first

    @property
    def primary(self) -> int | None:
        return self.customer_ids[0] if self.customer_ids else None


UNLINKABLE = Link(LinkStatus.unlinkable)
UNLINKED = Link(LinkStatus.unlinked)


class PhoneBook:
    """Who held which number in which division, for the numbers of one batch."""

    def __init__(self, holders: Mapping[tuple[int, str], list[Holder]]) -> None:
        self._holders = holders

    def resolve(self, *, division_id: int, e164: str, at: datetime, rep_user_id: int | None) -> Link:
        holders = self._holders.get((division_id, e164))
        if not holders:
            return UNLINKED
        if len(holders) == 1:  # the common case, kept short: one holder (there is nobody to prefer)
            holder = holders[0]
            return Link(LinkStatus.linked, (holder.customer_id,)) if holder.holds_at(at) else UNLINKED
        found: dict[int, Holder] = {}
        for holder in holders:
            if holder.holds_at(at):
                found.setdefault(holder.customer_id, holder)
        if not found:
            return UNLINKED
        ordered = sorted(
            found.values(), key=lambda h: (rep_user_id is None or h.owner_id != rep_user_id, h.customer_id)
        )
        status = LinkStatus.linked if len(ordered) == 1 else LinkStatus.ambiguous
        return Link(status, tuple(h.customer_id for h in ordered))


def _listed(dialect_name: str) -> Any:
    """The values of the JSON array in parameter ``numbers``, as a subquery: one short parameter
    whatever their count (JSON text is built by C code, unlike an array's elements)."""
    numbers = bindparam("numbers", type_=String)
    if dialect_name == "postgresql":
        return select(func.json_array_elements_text(cast(numbers, JSON)))
    return select(func.json_each(numbers).table_valued("value").c.value)


@lru_cache
def _phone_book_query(dialect_name: str) -> Select[Any]:
    """Holders of the numbers in parameter ``numbers`` (JSON array) in divisions ``division_ids``.

    On PostgreSQL the numbers become one array that a single index scan walks in order
    (``e164 = ANY(ARRAY(...))``), not a hashed subquery with one index descent per number;
    merged-away customers are left out by a probe of the small partial index
    ``ix_customer_merged``, and a holder's owner (which only decides between several holders of
    a number) is read only for numbers with several holders: a heap fetch of the customer per
    holder was a third of the statement's time. On SQLite ``customer`` is a rowid table, where
    the join is one seek per holder and cheaper than the window and the probe.
    """
    phone, customer = ContactPhone.__table__, Customer.__table__  # Core: rows are plain tuples
    number = (phone.c.division_id, phone.c.e164)
    first_end = func.min(phone.c.valid_to).over(partition_by=number)
    bounded = case((first_end <= phone.c.valid_from, phone.c.valid_from), else_=null())
    listed = _listed(dialect_name)
    if dialect_name == "postgresql":
        wanted = phone.c.e164 == any_(func.array(listed.scalar_subquery()))
        owner = select(customer.c.owner_id).where(customer.c.id == phone.c.customer_id).scalar_subquery()
        owner_id = case((func.count().over(partition_by=number) > 1, owner), else_=null())
        merged = customer.alias("merged")
        live = ~exists().where(merged.c.id == phone.c.customer_id, merged.c.merged_into_id.is_not(None))
        holders = phone
        # psycopg's aware datetimes compare correctly in any zone: no conversion to UTC per row
        times: Any = DateTime(timezone=True)
    else:
        wanted = phone.c.e164.in_(listed)
        owner_id = customer.c.owner_id
        live = customer.c.merged_into_id.is_(None)
        holders = phone.join(customer, customer.c.id == phone.c.customer_id)
        times = phone.c.valid_from.type  # SQLite's text needs UTCDateTime's parsing
    return (
        select(
            phone.c.division_id,
            phone.c.e164,
            phone.c.customer_id,
            owner_id.label("owner_id"),
            type_coerce(bounded, times).label("start"),
            type_coerce(phone.c.valid_to, times).label("valid_to"),
        )
        .select_from(holders)
        .where(wanted, phone.c.division_id.in_(bindparam("division_ids", expanding=True)), live)
    )


def load_phone_book(session: Session, numbers: Collection[str], division_ids: Collection[int]) -> PhoneBook:
    """The holders of ``numbers`` in ``division_ids`` (merged-away customers left out), in one query.

    A claim's ``valid_from`` bounds it only when a holder of the same number (in the same
    division) gave it up no later (``valid_to <= valid_from``: a recycled number); the
    database works that out over each number's claims, so the usual answer (no dates at
    all) needs no work here. The statement is built once per dialect; its numbers travel as
    one JSON text parameter (planned as one index look-up per number whatever their count).
    """
    wanted = sorted(set(numbers))
    if not wanted:
        return PhoneBook({})
    connection = session.connection()
    rows = connection.execute(
        _phone_book_query(connection.dialect.name),
        {"numbers": json.dumps(wanted), "division_ids": sorted(set(division_ids))},
    ).all()
    holders: dict[tuple[int, str], list[Holder]] = defaultdict(list)
    for division_id, e164, customer_id, owner_id, start, end in rows:
        holders[(division_id, e164)].append(Holder(customer_id, owner_id, start, end))
    return PhoneBook(holders)


def event_content(source_table: str, row: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Summary and data of the ``timeline_event`` that projects a captured row onto a customer."""
    number = row["number_e164"] or row["number_raw"]
    data: dict[str, Any] = {"direction": row["direction"], "number": number}
    if source_table == SMS_TABLE:
        summary = (row["body"] or "")[:SUMMARY_CHARS]
    elif source_table == CALL_TABLE:
        minutes, seconds = divmod(int(row["duration_s"]), 60)
        data |= {"type": row["type"], "duration_s": row["duration_s"], "answered": row["answered"]}
        summary = f"{row['direction']} call ({row['type']}), {minutes}:{seconds:02d}"
    else:
        data["duration_s"] = row["duration_s"]
        summary = row["file_name"]
    return summary, data


def timeline_columns(
    source_table: str, rows: Sequence[Mapping[str, Any]], customer_ids: Sequence[Iterable[int]], now: datetime
) -> dict[str, list[Any]]:
    """``timeline_event`` rows projecting captured communications (``rows[i]`` onto each of
    ``customer_ids[i]``), as columns: the shape batches are inserted in."""
    kind = EVENT_KIND[source_table]
    events: list[tuple[Any, ...]] = []
    for row, customers in zip(rows, customer_ids, strict=True):
        summary, data = event_content(source_table, row)
        shared = (row["division_id"], row["occurred_at"], kind, source_table, row["id"], row["rep_user_id"])
        events += [(customer_id, *shared, summary, data, now) for customer_id in customers]
    if not events:
        return {}
    return dict(zip(_EVENT_COLUMNS, map(list, zip(*events, strict=True)), strict=True))


_EVENT_COLUMNS = (
    "customer_id",
    "division_id",
    "occurred_at",
    "kind",
    "source_table",
    "source_id",
    "actor_user_id",
    "summary",
    "data",
    "created_at",
)


def timeline_rows(
    source_table: str, row: Mapping[str, Any], customer_ids: Iterable[int], now: datetime
) -> list[dict[str, Any]]:
    """``timeline_event`` rows projecting one captured communication onto each linked customer."""
    columns = timeline_columns(source_table, [row], [customer_ids], now)
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def write_timeline(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert projected events in one statement (the caller's transaction commits them)."""
    if rows:
        session.execute(insert(TimelineEvent.__table__), rows)  # Core executemany, not ORM bulk


def wants_events(source_table: str, row: Mapping[str, Any]) -> bool:
    """A recording matched to its call shows on the call's event, not on one of its own."""
    return not (source_table == RECORDING_TABLE and row.get("call_id") is not None)


def sync_links(
    session: Session, source_table: str, rows: list[Mapping[str, Any]], book: PhoneBook, *, now: datetime
) -> int:
    """Bring the links (status, preferred customer, timeline events) of stored rows up to date.

    Returns how many rows changed. Rows that were never linkable stay as they are.
    """
    model = CAPTURE_TABLES[source_table]
    ids = [row["id"] for row in rows]
    have: dict[int, dict[int, int]] = defaultdict(dict)
    for i in range(0, len(ids), _CHUNK):
        events = session.execute(
            select(TimelineEvent.id, TimelineEvent.source_id, TimelineEvent.customer_id).where(
                TimelineEvent.source_table == source_table, TimelineEvent.source_id.in_(ids[i : i + _CHUNK])
            )
        )
        for event_id, source_id, customer_id in events:
            have[source_id][customer_id] = event_id
    changed = 0
    new_events: list[dict[str, Any]] = []
    stale_events: list[int] = []
    for row in rows:
        if row["link_status"] == LinkStatus.unlinkable or row["number_e164"] is None:
            continue
        link = book.resolve(
            division_id=row["division_id"],
            e164=row["number_e164"],
            at=row["occurred_at"],
            rep_user_id=row["rep_user_id"],
        )
        current = have.get(row["id"], {})
        wanted = set(link.customer_ids) if wants_events(source_table, row) else set()
        added = [c for c in link.customer_ids if c in wanted and c not in current]
        removed = [event_id for customer_id, event_id in current.items() if customer_id not in wanted]
        if (
            not added
            and not removed
            and row["link_status"] == link.status
            and row["customer_id"] == link.primary
        ):
            continue
        changed += 1
        new_events += timeline_rows(source_table, row, added, now)
        stale_events += removed
        session.execute(
            update(model)
            .where(model.id == row["id"])
            .values(link_status=link.status, customer_id=link.primary)
        )
    for i in range(0, len(stale_events), _CHUNK):
        session.execute(delete(TimelineEvent).where(TimelineEvent.id.in_(stale_events[i : i + _CHUNK])))
    write_timeline(session, new_events)
    return changed


def relink_number(session: Session, e164: str, *, now: datetime) -> int:
    """Re-link every captured SMS, call and recording with this number; returns how many changed.

    Call it after a contact phone with ``e164`` was added, changed or ended (after the
    ``contact_phone`` row is flushed, in the same transaction); it only flushes, the
    caller commits. Previously unlinked communications gain their customer(s) and
    timeline events; linked ones become ambiguous, or move, when holders change.
    """
    changed = 0
    for source_table, model in CAPTURE_TABLES.items():
        rows = list(session.execute(select(model.__table__).where(model.number_e164 == e164)).mappings())
        if not rows:
            continue
        book = load_phone_book(session, [e164], {row["division_id"] for row in rows})
        changed += sync_links(session, source_table, rows, book, now=now)
    session.flush()
    return changed
