"""Contacts collector: the phone's address book (``content://com.android.contacts``), for the server's
phone book of the rep (``POST /api/v1/ingest/contacts``).

``content query`` prints values unescaped, so each read has its one free-text column last:

1. ``contacts``: ``_id, contact_last_updated_timestamp, display_name`` of the contacts changed since
   the watermark;
2. ``data``: ``_id, contact_id, mimetype, data2, data1`` of their phone numbers (``phone_v2``: number,
   type) and organisation (``organization``: company) — Android has no URI of its own for
   organisations, so both come from ``data`` filtered by ``mimetype``;
3. ``data/phones``: ``_id, data3`` (the label) only for numbers of the custom type (``data2`` = 0),
   usually none, and then this read is skipped.

Contacts change in place, so ``_id`` is no watermark. ``contact_last_updated_timestamp`` (Android 4.3+,
the phone's clock, set on every change) is: the watermark ``{"ts": T, "id": N}`` remembers the newest
timestamp read and a contact that has it; the next sync reads ``timestamp >= T OR _id = N``. When
contact ``N`` is gone or older than ``T`` (deleted, a factory reset, a new phone behind the same serial)
everything is read again. The contacts are read before their details: a contact edited between
the two reads has a timestamp above the new watermark and is read again next time.

A digest of each contact's content (name, company, numbers — what the server compares) is kept
locally with the outbox row in one transaction: a contact read again without a change (the ones at
exactly ``T``, a full re-read, a phone without the timestamp column where every sync reads
everything) is not queued again.

Deleted contacts the server has are sent as deletions (``{"source_id": N, "deleted": true}``): those
in ``deleted_contacts`` (``contact_id, contact_deleted_timestamp``, Android 4.3+, kept about 30 days)
since the watermark's ``deleted_ts``, and, whenever every contact was read, those sent before and no
longer there (older phones, or a log that no longer reaches back far enough).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from capture import ContentQueryFormatError, ProviderError, ProviderErrorKind, QueryResult
from device_agent.collect.context import Collected, Outcome, SyncContext
from device_agent.collect.providers import query_rows
from device_agent.logs import log_event
from device_agent.store import NewItem

SOURCE = "contacts"
CONTACTS_URI = "content://com.android.contacts/contacts"
DELETED_URI = "content://com.android.contacts/deleted_contacts"
DELETED_STAMP = "contact_deleted_timestamp"
#: The local digest of a contact sent as deleted.
DELETED = "deleted"
DATA_URI = "content://com.android.contacts/data"
PHONES_URI = "content://com.android.contacts/data/phones"
PHONE_MIME = "vnd.android.cursor.item/phone_v2"
ORGANIZATION_MIME = "vnd.android.cursor.item/organization"
STAMP = "contact_last_updated_timestamp"
CUSTOM_TYPE = 0  # Phone.TYPE_CUSTOM: the label (data3) names the number
#: Up to this many changed contacts their details are read by ``contact_id IN (...)``; more: all details.
ID_LIST_MAX = 500


@dataclass
class Contact:
    source_id: int
    name: str | None
    updated_ms: int | None
    numbers: list[dict[str, Any]] = field(default_factory=list)
    company: str | None = None

    def content(self) -> list[Any]:
        """What the server compares to tell a new version from a duplicate (not the timestamp)."""
        return [self.name, self.company, [[n["number"], n["type"], n["label"]] for n in self.numbers]]

    def digest(self) -> str:
        text = json.dumps(self.content(), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def payload(self) -> dict[str, Any]:
        updated = None if self.updated_ms is None else datetime.fromtimestamp(self.updated_ms / 1000, UTC)
        return {"source_id": self.source_id, "name": self.name, "company": self.company,
                "numbers": self.numbers, "updated_at": None if updated is None else updated.isoformat()}


class _Cut(Exception):
    """A read came back incomplete; nothing of this sync's contacts is kept."""


def _read(
    ctx: SyncContext, uri: str, projection: tuple[str, ...], where: str | None, sort: str = "_id ASC"
) -> QueryResult:
    result = query_rows(ctx, uri, projection, where, sort)
    if result.truncated:
        raise _Cut(f"{uri}: {result.problem}")
    return result


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _changed(ctx: SyncContext, mark: dict[str, Any] | None) -> tuple[dict[int, Contact], bool, bool]:
    """Contacts changed since ``mark`` (all of them on a reset or without timestamps); whether the phone
    has the timestamp column, and whether every contact was read."""
    projection = ("_id", STAMP, "display_name")
    whole = True
    try:
        if mark and mark.get("ts") is not None:
            since, probe = int(mark["ts"]), int(mark.get("id") or 0)
            rows = _read(ctx, CONTACTS_URI, projection, f"{STAMP} >= {since} OR _id = {probe}").rows
            at_mark = next((r for r in rows if _int(r["_id"]) == probe), None)
            if probe and (at_mark is None or (_int(at_mark[STAMP]) or 0) < since):
                log_event("agent.sync.watermark_reset", device=ctx.device, source=SOURCE, last_id=probe)
                ctx.progress(SOURCE, f"contact {probe} is gone or older: reading every contact again")
                rows = _read(ctx, CONTACTS_URI, projection, None).rows
            else:
                rows = [r for r in rows if (_int(r[STAMP]) or 0) >= since]
                whole = False
        else:
            rows = _read(ctx, CONTACTS_URI, projection, None).rows
        stamped = True
    except ProviderError as exc:
        if exc.kind is not ProviderErrorKind.BAD_QUERY:
            raise
        rows = _read(ctx, CONTACTS_URI, ("_id", "display_name"), None).rows  # Android < 4.3: no timestamp
        stamped = False
    contacts: dict[int, Contact] = {}
    for row in rows:
        source_id = _int(row["_id"])
        if source_id is not None:
            contacts[source_id] = Contact(source_id, row["display_name"], _int(row.get(STAMP)))
    return contacts, stamped, whole


def _add_details(ctx: SyncContext, contacts: dict[int, Contact], everything: bool) -> None:
    """Numbers (with custom labels) and company of ``contacts``, in ``data`` row order."""
    where = f"mimetype IN ('{PHONE_MIME}', '{ORGANIZATION_MIME}')"
    if not everything:
        where += f" AND contact_id IN ({_ids(contacts)})"
    rows = _read(ctx, DATA_URI, ("_id", "contact_id", "mimetype", "data2", "data1"), where).rows
    custom = [_int(r["_id"]) for r in rows if r["mimetype"] == PHONE_MIME and _int(r["data2"]) == CUSTOM_TYPE]
    labels: dict[int | None, str | None] = {}
    if custom:
        found = _read(ctx, PHONES_URI, ("_id", "data3"), f"_id IN ({_ids(i for i in custom if i is not None)})")
        labels = {_int(r["_id"]): r["data3"] for r in found.rows}
    for row in rows:
        contact = contacts.get(_int(row["contact_id"]) or -1)
        value = row["data1"]
        if contact is None or not value:
            continue
        if row["mimetype"] == ORGANIZATION_MIME:
            contact.company = contact.company or value
            continue
        number = {"number": value, "type": _int(row["data2"]), "label": labels.get(_int(row["_id"]))}
        if number not in contact.numbers:  # the same number in two linked raw contacts
            contact.numbers.append(number)


def _deleted_since(ctx: SyncContext, since: int) -> dict[int, int | None]:
    """``{contact_id: deletion time}`` from the phone's log of deleted contacts (none before Android 4.3)."""
    try:
        rows = _read(
            ctx, DELETED_URI, ("contact_id", DELETED_STAMP), f"{DELETED_STAMP} > {since}", f"{DELETED_STAMP} ASC"
        ).rows  # the log has no _id
    except ProviderError as exc:
        if exc.kind is not ProviderErrorKind.BAD_QUERY:
            raise
        return {}
    found = {_int(row["contact_id"]): _int(row[DELETED_STAMP]) for row in rows}
    return {contact_id: at for contact_id, at in found.items() if contact_id is not None}


def _deletion(source_id: int, at_ms: int | None) -> dict[str, Any]:
    at = None if at_ms is None else datetime.fromtimestamp(at_ms / 1000, UTC).isoformat()
    return {"source_id": source_id, "deleted": True, "updated_at": at}


def _next_mark(
    contacts: dict[int, Contact], mark: dict[str, Any] | None, deleted: dict[int, int | None]
) -> dict[str, Any]:
    """The newest timestamp read and a contact that has it (a read since ``T`` holds ``T`` or newer), and the
    newest deletion read."""
    deleted_ts = max([(mark or {}).get("deleted_ts") or 0, *(at or 0 for at in deleted.values())])
    stamped = [c for c in contacts.values() if c.updated_ms is not None]
    if not stamped:
        return {"ts": 0, "id": 0, **(mark or {}), "deleted_ts": deleted_ts}
    newest = max(stamped, key=lambda c: (c.updated_ms or 0, c.source_id))
    return {"ts": newest.updated_ms, "id": newest.source_id, "deleted_ts": deleted_ts}


def collect_contacts(ctx: SyncContext) -> Collected:
    if not ctx.settings.capture_contacts:
        return Collected(SOURCE, Outcome.SKIPPED, detail="contacts capture is off (FIELDCRM_AGENT_CAPTURE_CONTACTS)")
    mark = ctx.store.watermark(ctx.device, SOURCE)
    try:
        contacts, stamped, whole = _changed(ctx, mark)
        if contacts:
            _add_details(ctx, contacts, whole or len(contacts) > ID_LIST_MAX)
        deleted = _deleted_since(ctx, int((mark or {}).get("deleted_ts") or 0)) if stamped else {}
    except ProviderError as exc:
        outcome = Outcome.REFUSED if exc.permission_denied else Outcome.FAILED
        return Collected(SOURCE, outcome, detail=f"the phone refused {CONTACTS_URI}: {exc.reason}")
    except ContentQueryFormatError as exc:
        return Collected(SOURCE, Outcome.FAILED, detail=f"unreadable output of {CONTACTS_URI}: {exc}")
    except _Cut as exc:
        return Collected(SOURCE, Outcome.CUT, detail=f"output cut, read again next time: {exc}")
    known = ctx.store.seen_contacts(ctx.device)
    gone = {i: None for i, digest in known.items() if digest != DELETED and i not in contacts} if whole else {}
    gone |= {i: at for i, at in deleted.items() if known.get(i) not in (None, DELETED) and i not in contacts}
    changed = [(c, c.digest()) for c in contacts.values()]
    changed = [(c, digest) for c, digest in changed if known.get(c.source_id) != digest]
    items = [NewItem(SOURCE, f"{c.source_id}:{digest[:16]}", c.payload()) for c, digest in changed]
    items += [NewItem(SOURCE, f"{i}:{DELETED}", _deletion(i, at)) for i, at in gone.items()]
    watermarks = {SOURCE: _next_mark(contacts, mark, deleted)} if stamped else {}
    seen = [(c.source_id, digest) for c, digest in changed] + [(i, DELETED) for i in gone]
    added = ctx.store.enqueue(ctx.device, items, watermarks=watermarks, seen_contacts=seen)
    ctx.progress(SOURCE, f"{added} new, changed or deleted of {len(contacts)} read")
    return Collected(SOURCE, Outcome.OK, added, "" if stamped else "no update times on this phone: all read")
