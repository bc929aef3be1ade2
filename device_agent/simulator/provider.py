"""Content providers (sms, call_log, contacts) backed by an in-memory SQLite,
answering `content query` exactly the way Android's `content` tool prints."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .state import PhoneState, Value

SMS_COLUMNS = {
    "_id": "INTEGER PRIMARY KEY", "thread_id": "INTEGER", "address": "TEXT", "person": "INTEGER",
    "date": "INTEGER", "date_sent": "INTEGER", "protocol": "INTEGER", "read": "INTEGER",
    "status": "INTEGER", "type": "INTEGER", "reply_path_present": "INTEGER", "subject": "TEXT",
    "body": "TEXT", "service_center": "TEXT", "locked": "INTEGER", "sub_id": "INTEGER",
    "error_code": "INTEGER", "creator": "TEXT", "seen": "INTEGER",
}
CALL_COLUMNS = {
    "_id": "INTEGER PRIMARY KEY", "number": "TEXT", "date": "INTEGER", "duration": "INTEGER",
    "type": "INTEGER", "new": "INTEGER", "name": "TEXT", "numbertype": "INTEGER", "numberlabel": "TEXT",
    "countryiso": "TEXT", "geocoded_location": "TEXT", "presentation": "INTEGER",
    "subscription_id": "TEXT", "is_read": "INTEGER", "last_modified": "INTEGER",
}
CONTACT_COLUMNS = {
    "_id": "INTEGER PRIMARY KEY", "display_name": "TEXT", "has_phone_number": "INTEGER",
    "times_contacted": "INTEGER", "last_time_contacted": "INTEGER", "starred": "INTEGER",
    "contact_last_updated_timestamp": "INTEGER",
}
#: ``content://com.android.contacts/data``: one row per detail (phone numbers, the organisation).
DATA_COLUMNS = {
    "_id": "INTEGER PRIMARY KEY", "contact_id": "INTEGER", "raw_contact_id": "INTEGER",
    "display_name": "TEXT", "mimetype": "TEXT", "data1": "TEXT", "data2": "INTEGER", "data3": "TEXT",
    "data4": "TEXT",
}
#: ``content://com.android.contacts/deleted_contacts``: the contacts deleted lately (Android keeps 30 days).
DELETED_CONTACT_COLUMNS = {"contact_id": "INTEGER PRIMARY KEY", "contact_deleted_timestamp": "INTEGER"}
#: Contacts before Android 4.3 (SDK 18) have no ``contact_last_updated_timestamp`` and no ``deleted_contacts``.
LAST_UPDATED_SINCE_SDK = 18

_SMS_BOXES = {"inbox": 1, "sent": 2, "draft": 3, "outbox": 4, "failed": 5, "queued": 6}
PHONE_MIME = "vnd.android.cursor.item/phone_v2"
ORGANIZATION_MIME = "vnd.android.cursor.item/organization"


@dataclass(frozen=True, slots=True)
class Table:
    authority: str
    table: str
    columns: Mapping[str, str]
    default_sort: str
    provider_class: str
    permission: str
    condition: str | None = None


def _resolve(uri: str) -> Table | None:
    match = re.fullmatch(r"content://([^/]+)(/.*)?", uri)
    if not match:
        return None
    authority, path = match.group(1), (match.group(2) or "").strip("/")
    if authority == "sms":
        sms = ("sms", "sms", SMS_COLUMNS, "date DESC", "com.android.providers.telephony.SmsProvider",
               "android.permission.READ_SMS or android.permission.WRITE_SMS")
        if path == "":
            return Table(*sms)
        if path in _SMS_BOXES:
            return Table(*sms, condition=f"type={_SMS_BOXES[path]}")
    elif authority == "call_log" and path == "calls":
        return Table("call_log", "calls", CALL_COLUMNS, "date DESC", "com.android.providers.contacts.CallLogProvider",
                     "android.permission.READ_CALL_LOG or android.permission.WRITE_CALL_LOG")
    elif authority == "com.android.contacts":
        provider = ("com.android.providers.contacts.ContactsProvider2",
                    "android.permission.READ_CONTACTS or android.permission.WRITE_CONTACTS")
        if path == "contacts":
            return Table(authority, "contacts", CONTACT_COLUMNS, "display_name ASC", *provider)
        if path == "data":
            return Table(authority, "data", DATA_COLUMNS, "display_name ASC", *provider)
        if path == "deleted_contacts":
            return Table(authority, "deleted_contacts", DELETED_CONTACT_COLUMNS, "contact_deleted_timestamp ASC",
                         *provider)
        if path == "data/phones":
            return Table(authority, "data", DATA_COLUMNS, "display_name ASC", *provider,
                         condition=f"mimetype='{PHONE_MIME}'")
    return None


def _authority(uri: str) -> str:
    match = re.match(r"content://([^/]*)", uri)
    return match.group(1) if match else ""


class ProviderError(Exception):
    """Printed by `content` as `Error while accessing provider:<authority>` + a Java stack trace."""

    def __init__(self, authority: str, java_exception: str, frames: Iterable[str]) -> None:
        super().__init__(java_exception)
        self.authority = authority
        self.java_exception = java_exception
        self.frames = tuple(frames)

    def render(self) -> str:
        lines = [f"Error while accessing provider:{self.authority}", self.java_exception]
        lines += [f"\tat {frame}" for frame in self.frames]
        return "\n".join(lines) + "\n"


_BINDER_FRAMES = (
    "android.os.Parcel.createExceptionOrNull(Parcel.java:3011)",
    "android.os.Parcel.createException(Parcel.java:2995)",
    "android.os.Parcel.readException(Parcel.java:2978)",
    "android.os.Parcel.readException(Parcel.java:2920)",
)
_QUERY_FRAMES = (
    *_BINDER_FRAMES,
    "android.content.ContentProviderProxy.query(ContentProviderNative.java:479)",
    "com.android.commands.content.Content$QueryCommand.onExecute(Content.java:641)",
    "com.android.commands.content.Content$Command.execute(Content.java:522)",
    "com.android.commands.content.Content.main(Content.java:741)",
    "com.android.internal.os.RuntimeInit.nativeFinishInit(Native Method)",
    "com.android.internal.os.RuntimeInit.main(RuntimeInit.java:355)",
)
_OPEN_FRAMES = (
    *_BINDER_FRAMES,
    "android.app.IActivityManager$Stub$Proxy.getContentProviderExternal(IActivityManager.java:7024)",
    "com.android.commands.content.Content$Command.execute(Content.java:507)",
    "com.android.commands.content.Content.main(Content.java:741)",
    "com.android.internal.os.RuntimeInit.nativeFinishInit(Native Method)",
    "com.android.internal.os.RuntimeInit.main(RuntimeInit.java:355)",
)


def format_value(value: object) -> str:
    """How Android's `content` tool prints one cursor value (unescaped)."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "BLOB"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def format_rows(columns: list[str], rows: Iterable[tuple[object, ...]]) -> str:
    """`Row: N col=val, col=val` lines, or `No result found.`; values are not escaped."""
    lines = [
        f"Row: {index} " + ", ".join(f"{name}={format_value(value)}" for name, value in zip(columns, row, strict=True))
        for index, row in enumerate(rows)
    ]
    return "\n".join(lines) + "\n" if lines else "No result found.\n"


class Providers:
    """All content providers of one phone. Thread-safe."""

    def __init__(self, state: PhoneState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        for name, columns in (("sms", SMS_COLUMNS), ("calls", CALL_COLUMNS),
                              ("contacts", CONTACT_COLUMNS), ("data", DATA_COLUMNS),
                              ("deleted_contacts", DELETED_CONTACT_COLUMNS)):
            self._db.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        older = [c for c in CONTACT_COLUMNS if c != "contact_last_updated_timestamp"]
        self._db.execute(f"CREATE VIEW contacts_pre18 AS SELECT {', '.join(older)} FROM contacts")
        for row in state.sms:
            self._insert("sms", SMS_COLUMNS, row)
        for row in state.calls:
            self._insert("calls", CALL_COLUMNS, row)
        for contact in state.contacts:
            self._insert_contact(contact)
        for row in state.deleted_contacts:
            self._insert("deleted_contacts", DELETED_CONTACT_COLUMNS, row)

    def _insert(self, table: str, columns: Mapping[str, str], row: Mapping[str, Value]) -> int:
        unknown = set(row) - set(columns)
        if unknown:
            raise ValueError(f"{table} row has unknown column(s): {', '.join(sorted(unknown))}")
        names = list(row)
        cursor = self._db.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[name] for name in names])
        return int(cursor.lastrowid or 0)

    def _insert_contact(self, contact: Mapping[str, object]) -> None:
        numbers = contact.get("numbers") or []
        assert isinstance(numbers, list)
        updated = contact.get("updated_ms", self._state.boot_time_ms)
        self._insert("contacts", CONTACT_COLUMNS, {
            "_id": contact["_id"], "display_name": contact["display_name"],
            "has_phone_number": int(bool(numbers)), "times_contacted": 0,
            "last_time_contacted": 0, "starred": 0, "contact_last_updated_timestamp": updated})
        common = {"contact_id": contact["_id"], "raw_contact_id": contact["_id"],
                  "display_name": contact["display_name"]}
        for number in numbers:
            self._insert("data", DATA_COLUMNS, {
                **common, "mimetype": PHONE_MIME, "data1": number.get("number"),
                "data2": number.get("type", 2), "data3": number.get("label")})
        if contact.get("company"):
            self._insert("data", DATA_COLUMNS, {
                **common, "mimetype": ORGANIZATION_MIME, "data1": contact["company"], "data2": 1,
                "data4": contact.get("title")})

    def add(self, table: str, row: dict[str, Value]) -> int:
        """Insert a new sms/calls row; assigns and returns its `_id`."""
        columns, rows = {"sms": (SMS_COLUMNS, self._state.sms), "calls": (CALL_COLUMNS, self._state.calls)}[table]
        with self._lock:
            row = {k: v for k, v in row.items() if k != "_id"}
            row["_id"] = self._insert(table, columns, row)
            self._db.commit()
            rows.append(row)
            return row["_id"]

    def update(self, table: str, row_id: int, changes: dict[str, Value]) -> None:
        """Change columns of an sms/calls row in place (Android updates a message's ``type`` when it is sent)."""
        columns, rows = {"sms": (SMS_COLUMNS, self._state.sms), "calls": (CALL_COLUMNS, self._state.calls)}[table]
        unknown = set(changes) - set(columns) | ({"_id"} & set(changes))
        if unknown:
            raise ValueError(f"cannot change {table} column(s): {', '.join(sorted(unknown))}")
        with self._lock:
            row = next((r for r in rows if r.get("_id") == row_id), None)
            if row is None:
                raise KeyError(f"no {table} row with _id {row_id}")
            names = list(changes)
            self._db.execute(f"UPDATE {table} SET {', '.join(f'{n} = ?' for n in names)} WHERE _id = ?",
                             [*(changes[n] for n in names), row_id])
            self._db.commit()
            row.update(changes)

    def put_contact(self, contact: dict[str, Value | list[dict[str, Value]]]) -> None:
        """Add or replace a contact (its ``_id``) with its numbers and company, as the Contacts app saves it."""
        with self._lock:
            self._db.execute("DELETE FROM data WHERE contact_id = ?", (contact["_id"],))
            self._db.execute("DELETE FROM contacts WHERE _id = ?", (contact["_id"],))
            self._insert_contact(contact)
            self._db.commit()
            kept = [c for c in self._state.contacts if c.get("_id") != contact["_id"]]
            self._state.contacts[:] = [*kept, contact]

    def delete_contact(self, contact_id: int, at_ms: int) -> None:
        """Remove a contact and note it in ``deleted_contacts`` (at ``at_ms``, the phone's clock)."""
        with self._lock:
            self._db.execute("DELETE FROM data WHERE contact_id = ?", (contact_id,))
            self._db.execute("DELETE FROM contacts WHERE _id = ?", (contact_id,))
            row = {"contact_id": contact_id, "contact_deleted_timestamp": at_ms}
            self._db.execute("DELETE FROM deleted_contacts WHERE contact_id = ?", (contact_id,))
            self._insert("deleted_contacts", DELETED_CONTACT_COLUMNS, row)
            self._db.commit()
            self._state.contacts[:] = [c for c in self._state.contacts if c.get("_id") != contact_id]
            kept = [d for d in self._state.deleted_contacts if d["contact_id"] != contact_id]
            self._state.deleted_contacts[:] = [*kept, row]

    def is_allowed(self, authority: str) -> bool:
        default = self._state.identity.sdk >= 29 if authority == "sms" else True
        return self._state.provider_access.get(authority, default)

    def query(self, uri: str, projection: list[str] | None, where: str | None, sort: str | None,
              fault: str | None = None) -> str:
        """Rows as Android prints them; raises ProviderError for what Android reports as errors."""
        authority = _authority(uri)
        table = _resolve(uri)
        if table is None and authority not in ("sms", "call_log", "com.android.contacts"):
            raise ProviderError(authority, f"java.lang.IllegalStateException: Could not find provider: {authority}",
                                _OPEN_FRAMES)
        if table is None:
            raise ProviderError(authority, f"java.lang.IllegalArgumentException: Unknown URL {uri}", _QUERY_FRAMES)
        if not self.is_allowed(table.authority):
            raise ProviderError(authority, (
                f"java.lang.SecurityException: Permission Denial: opening provider {table.provider_class} "
                f"from (null) (pid=12415, uid=2000) requires {table.permission}"), _OPEN_FRAMES)
        if fault:
            raise ProviderError(authority, fault, _QUERY_FRAMES)
        if self._state.identity.sdk < LAST_UPDATED_SINCE_SDK and table.table == "deleted_contacts":
            raise ProviderError(authority, f"java.lang.IllegalArgumentException: Unknown URL {uri}", _QUERY_FRAMES)
        if table.table == "contacts" and self._state.identity.sdk < LAST_UPDATED_SINCE_SDK:
            table = replace(table, table="contacts_pre18")
        columns = ", ".join(projection) if projection else "*"
        conditions = [c for c in (table.condition, where) if c]
        sql = f"SELECT {columns} FROM {table.table}"
        if conditions:
            sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
        sql += f" ORDER BY {sort or table.default_sort}"
        with self._lock:
            try:
                cursor = self._db.execute(sql)
                names = [d[0] for d in cursor.description]
                return format_rows(names, cursor.fetchall())
            except (sqlite3.Error, sqlite3.Warning) as exc:
                raise ProviderError(authority, (
                    f"android.database.sqlite.SQLiteException: {exc} (code 1 SQLITE_ERROR): , "
                    f"while compiling: {sql}"), _QUERY_FRAMES) from exc
